"""Stage 1 — MVP: serverless and cheap. Cloud Run scaled to zero, a managed model over the API,
Firestore plus one data bucket for history and profile, logging from day one."""

from __future__ import annotations

import pulumi

from stagewise.stacks import common
from stagewise.stacks.budget import billing_budget
from stagewise.stacks.guardrails import guardrails
from stagewise.stacks.config import StackConfig


def compose(config: StackConfig) -> None:
    apis = common.enable_apis(config)
    common.audit_logs(config, apis)
    image = common.container_image(config, apis)
    database = common.firestore(config, apis)
    buckets = common.bucket_set(config, apis)
    secrets = common.secret_set(config, apis, list(config.service.secret_env.values()))
    endpoint = common.managed_model(config)
    guard = guardrails(config, apis)
    data_buckets = [key for key, bucket in config.buckets.items() if bucket.bucket_class == "data"]
    wiring = common.ServiceWiring(
        image=image, database=database, endpoint=endpoint, data_buckets=data_buckets, buckets=buckets, apis=apis, secrets=secrets,
        guardrails=guard,
    )
    chat = common.chat_service("chat", config, config.service, wiring)
    common.error_metric("chat-errors", config, chat)
    billing_budget(config, depends_on=apis.ready)

    pulumi.export("stage", config.stage)
    common.export_services({config.service.name: (chat, chat.uri, config.gcp.region)})
    pulumi.export("service_url", chat.uri)
    pulumi.export("service_account", chat.service_account_email)
    pulumi.export("firestore_database", database.name)
    pulumi.export("buckets", buckets.names)
    pulumi.export("image", image.ref)
    pulumi.export("revisions", {config.service.name: chat.latest_revision})
    if guard is not None:
        pulumi.export("guardrails_template", guard.template_name)
