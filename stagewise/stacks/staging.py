"""Stage 2 — partner testing: the MVP plus what external users need (seed stage 2).

- a separate partner Cloud Run service with its own account, its own prompt/model config version,
  only authenticated invokers, one API-key secret per partner, and more aggressive autoscaling;
- a logs/analytics bucket fed by a log sink of the partner service's traffic;
- IAM for the personas (developers, analysts, partners, admins) on the narrowest resources;
- versioned config: each version runs in its own revision at its own tag URL, side by side;
- a small test-inference VM (gpu-vm, or CPU-only), Spot, 0..1, reached privately.
"""

from __future__ import annotations

import pulumi

from stagewise.components.inference import InferenceEndpoint
from stagewise.components.log_sink import LogSink, LogSinkArgs
from stagewise.components.personas import PersonaAccess, PersonaTargets
from stagewise.stacks import common, partner_ranges
from stagewise.stacks.inference import InferencePlan, egress_for, inference_endpoint, plan_inference
from stagewise.stacks.network import vpc_network
from stagewise.stacks.releases import release_traffic
from stagewise.stacks.config import StackConfig, config_error
from stagewise.stacks.guardrails import guardrails
from stagewise.components.alerting import UsageDashboard
from stagewise.components.log_metrics import UsageLogMetrics, UsageLogMetricsArgs
from stagewise.stacks.config.partners import PartnerServiceConfig
from stagewise.stacks.config.releases import check_release
from stagewise.stacks.config.service import ServiceConfig


def _check(config: StackConfig) -> tuple[PartnerServiceConfig, str, InferencePlan, InferencePlan | None]:
    """Everything staging needs from the config, checked before the first resource."""
    stack = pulumi.get_stack()
    partners = config.partners
    if partners is None:
        raise config_error(stack, "stagewise:partners", "staging runs a partner service; add stagewise:partners with at least one partner")
    if partners.name == config.service.name:
        raise config_error(stack, "stagewise:partners.name", f"{partners.name!r} is the chat service's name; give the partner service its own")
    if partners.max_instances < config.service.max_instances:
        raise config_error(
            stack, "stagewise:partners.maxInstances",
            f"{partners.max_instances} is below the chat service's {config.service.max_instances}; partners get the more aggressive scaling: raise it",
        )
    analytics = [key for key, bucket in config.buckets.items() if bucket.bucket_class in ("analytics", "logs")]
    if not analytics:
        raise config_error(stack, "stagewise:buckets", "staging keeps partner traffic logs apart; add analytics: {class: analytics}")
    if config.release is not None:
        try:
            check_release(config.release, config.service.prompt_version, config.service.name, [config.gcp.region])
        except ValueError as exc:
            raise config_error(stack, "stagewise:release", str(exc)) from None
    try:
        check_release(partners.release, partners.prompt_version, partners.name, [config.gcp.region])
    except ValueError as exc:
        raise config_error(stack, "stagewise:partners.release", str(exc)) from None
    plan = plan_inference(config, config.inference)
    test_plan = None
    if config.test_inference is not None:
        test_plan = plan_inference(config, config.test_inference, "stagewise:testInference")
    if partners.use_test_inference and test_plan is None:
        raise config_error(stack, "stagewise:partners.useTestInference", "there is no test VM; add stagewise:testInference or set it false")
    return partners, analytics[0], plan, test_plan


def partner_service_config(config: StackConfig, partners: PartnerServiceConfig) -> ServiceConfig:
    """The partner service as a ServiceConfig: private, API keys per partner, its own version."""
    versions = [partners.prompt_version, *([partners.release.previous] if partners.release.previous else [])]
    return ServiceConfig(
        name=partners.name,
        min_instances=partners.min_instances,
        max_instances=partners.max_instances,
        concurrency=partners.concurrency,
        cpu=partners.cpu,
        memory=partners.memory,
        ingress="all",
        public=False,
        invokers=list(config.personas.partners),
        deletion_protection=config.service.deletion_protection,
        prompt_version=partners.prompt_version,
        allowed_prompt_versions=versions if len(versions) > 1 else [],
        allow_anonymous=False,
        secret_env=partners.secrets,
        image=config.service.image,
    )


def compose(config: StackConfig) -> None:
    partners, analytics_key, plan, test_plan = _check(config)
    project = config.gcp.project
    region = config.gcp.region

    uses_vpc = config.network is not None
    apis = common.enable_apis(config, ("compute.googleapis.com",) if uses_vpc else ())
    common.audit_logs(config, apis)
    image = common.container_image(config, apis)
    database = common.firestore(config, apis)
    buckets = common.bucket_set(config, apis)
    secrets = common.secret_set(
        config, apis, [*config.service.secret_env.values(), *partners.secrets.values()], partner_ranges.secret_annotations(partners)
    )
    vpc = vpc_network(config, config.network, apis.ready) if config.network is not None else None
    endpoint = inference_endpoint("inference", config, plan, vpc, client_regions=[region], depends_on=apis.ready)
    test_endpoint = None
    if test_plan is not None:
        test_endpoint = inference_endpoint("test-inference", config, test_plan, vpc, client_regions=[region], depends_on=apis.ready)
    data_buckets = [key for key, bucket in config.buckets.items() if bucket.bucket_class == "data"]
    guard = guardrails(config, apis)

    release = config.release
    chat = common.chat_service(
        "chat", config, config.service,
        common.ServiceWiring(
            image=image, database=database, endpoint=endpoint, data_buckets=data_buckets, buckets=buckets, apis=apis,
            secrets=secrets, vpc_egress=egress_for(plan, vpc, region), guardrails=guard,
            traffic=release_traffic(config.service.name, release, config.service.prompt_version, region) if release else (),
        ),
    )

    partner_egress = egress_for(plan, vpc, region)
    # Each partner's allowedCidrs, checked by the app on the address Cloud Run's front end appends.
    extra_env: dict[str, pulumi.Input[str]] = partner_ranges.service_env(partners)
    also_calls: tuple[InferenceEndpoint, ...] = ()
    if partners.use_test_inference and test_endpoint is not None and test_plan is not None:
        # The test VM answers first; the stage's model (managed Gemini by default) stays the fallback.
        extra_env.update({k: v for k, v in test_endpoint.client_env.items() if k.startswith("CHAT_OPENAI_")})
        partner_egress = partner_egress or egress_for(test_plan, vpc, region)
        also_calls = (test_endpoint,)
    partner = common.chat_service(
        "partners", config, partner_service_config(config, partners),
        common.ServiceWiring(
            image=image, database=database, endpoint=endpoint, data_buckets=data_buckets, buckets=buckets, apis=apis,
            secrets=secrets, vpc_egress=partner_egress, extra_env=extra_env, also_calls=also_calls, guardrails=guard,
            traffic=release_traffic(partners.name, partners.release, partners.prompt_version, region),
        ),
    )

    analytics_bucket = buckets.buckets[analytics_key].name
    sink = LogSink(
        "partner-traffic",
        LogSinkArgs(
            project=project,
            bucket=analytics_bucket,
            service_names=[partner.service_name],
            description="partner service requests and app logs, kept apart for analytics",
        ),
    )
    PersonaAccess(
        "personas", project, config.personas.as_mapping(),
        PersonaTargets(
            services={"chat": chat},
            partner_service=partner,
            analytics_buckets={analytics_key: analytics_bucket},
            all_buckets={key: bucket.name for key, bucket in buckets.buckets.items()},
            partner_secrets={secret: secrets.ids[secret] for secret in partners.secrets.values()},
            region=region,
        ),
    )
    common.error_metric("chat-errors", config, chat)
    common.error_metric("partner-errors", config, partner)
    refusals = partner_ranges.refusal_metric(config, partners, partner)
    # Partners are tenants of the partner service (one key each): usage by tenant is usage by partner.
    usage = UsageLogMetrics(
        "partner-usage", UsageLogMetricsArgs(project=project, service_names=[partners.name], prefix="partner"),
        opts=pulumi.ResourceOptions(depends_on=apis.ready),
    )
    UsageDashboard("partner-usage-dashboard", project, "stagewise staging: partner traffic and cost", usage.metric_names,
                   opts=pulumi.ResourceOptions(depends_on=apis.ready))

    pulumi.export("stage", config.stage)
    common.export_services({
        config.service.name: (chat, chat.uri, region),
        partners.name: (partner, partner.uri, region),
    })
    pulumi.export("service_url", chat.uri)
    pulumi.export("partner_service_url", partner.uri)
    pulumi.export("partner_service_account", partner.service_account_email)
    pulumi.export("partner_secrets", sorted(partners.secrets.values()))
    if partners.source_ranges:
        pulumi.export("partner_source_ranges", partner_ranges.enforcement(partners, refusals))
    pulumi.export("analytics_bucket", analytics_bucket)
    pulumi.export("log_sink", sink.sink_name)
    pulumi.export("inference_mode", endpoint.mode_name)
    if test_endpoint is not None and test_endpoint.base_url is not None:
        pulumi.export("test_inference_url", test_endpoint.base_url)
    pulumi.export("firestore_database", database.name)
    pulumi.export("buckets", buckets.names)
    pulumi.export("image", image.ref)
    # What a later release names as its previous revision (stagewise/stacks/config/releases.py).
    pulumi.export("revisions", {config.service.name: chat.latest_revision, partners.name: partner.latest_revision})
    if guard is not None:
        pulumi.export("guardrails_template", guard.template_name)
