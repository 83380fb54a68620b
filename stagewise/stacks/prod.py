"""Stage 3 — production (seed stage 3): reliable and predictable.

- dedicated inference (mode from config) with a managed Gemini fallback the app switches to;
- the chat service in every region of `stagewise:failover.regions`, each with direct VPC egress
  (ALL_TRAFFIC), ingress from the load balancer only and the run.app URL disabled;
- the global HTTPS load balancer with Cloud Armor in front of them (canary/blue-green weights);
- the VPC (subnets, NAT, firewall baseline), alerting (channels, policies, uptime check, dashboard
  with tokens/cost/TTFT/errors by tenant and model, availability and latency SLOs with burn-rate
  alerts, a per-tenant spend alert);
- `data` / `logs` / `backups` buckets (logs kept 30 days, backups a year), the services' logs routed
  into `logs`; Firestore with point-in-time recovery and a daily backup schedule;
- deletion protection on everything that holds state or serves users.
"""

from __future__ import annotations

import pulumi

from stagewise.components.alerting import (
    Alerting,
    AlertingArgs,
    InferenceSignals,
    PagerDutyChannel,
    SlackChannel,
    Thresholds,
)
from stagewise.components.chat_service import ChatService
from stagewise.components.firestore_export import FirestoreExport
from stagewise.components.edge import ArmorSettings, EdgeBackend, EdgeLoadBalancer, EdgeLoadBalancerArgs, RateLimit, ServerlessTarget
from stagewise.components.inference import InferenceEndpoint
from stagewise.components.log_sink import LogSink, LogSinkArgs
from stagewise.components.log_metrics import UsageLogMetrics, UsageLogMetricsArgs
from stagewise.components.slo import SloTargets
from stagewise.stacks import common
from stagewise.stacks.inference import inference_endpoint, plan_inference
from stagewise.stacks.network import vpc_network
from stagewise.stacks.releases import release_traffic, revision_suffix
from stagewise.stacks.budget import billing_budget
from stagewise.stacks.config import StackConfig, config_error
from stagewise.stacks.config.alerting import AlertingConfig
from stagewise.stacks.config.edge import EdgeConfig
from stagewise.stacks.config.inference import ManagedInferenceConfig
from stagewise.stacks.config.network import NetworkConfig
from stagewise.stacks.config.releases import check_release
from stagewise.stacks.guardrails import guardrails

REQUIRED_BUCKETS = ("data", "logs", "backups")


class ProdSettings:
    """The parts of the config prod cannot run without, checked and narrowed (no Optionals left)."""

    def __init__(self, config: StackConfig) -> None:
        stack = pulumi.get_stack()

        def need(key: str, value: object, fix: str) -> None:
            if not value:
                raise config_error(stack, key, fix)

        need("stagewise:network", config.network, "prod runs in a VPC; add stagewise:network with a subnet per failover region")
        need("stagewise:edge", config.edge, "prod is reached through the HTTPS load balancer; add stagewise:edge with your domains")
        need("stagewise:alerting", config.alerting, "prod is watched; add stagewise:alerting with at least one email")
        need("stagewise:failover", config.failover, "prod runs in at least two regions; add stagewise:failover.regions: [us-central1, europe-west1]")
        assert config.network and config.edge and config.alerting and config.failover
        self.network: NetworkConfig = config.network
        self.edge: EdgeConfig = config.edge
        self.alerting: AlertingConfig = config.alerting
        self.regions: list[str] = list(config.failover.regions)
        missing = [region for region in self.regions if region not in self.network.subnets]
        need("stagewise:network.subnets", not missing, f"no subnet for failover region(s) {', '.join(missing)}; add one per region")
        classes = {bucket.bucket_class: key for key, bucket in config.buckets.items()}
        absent = [kind for kind in REQUIRED_BUCKETS if kind not in classes]
        need("stagewise:buckets", not absent, f"prod keeps data, logs and backups apart; add bucket(s) of class {', '.join(absent)}")
        self.logs_bucket = classes["logs"]
        firestore = config.firestore
        need("stagewise:firestore.pointInTimeRecovery", firestore.point_in_time_recovery, "set it true: prod must be able to undo a bad write")
        need("stagewise:firestore.backupRetentionDays", firestore.backup_retention_days, "set it (e.g. 30) for a daily scheduled backup")
        need("stagewise:firestore.deleteProtection", firestore.delete_protection, "set it true in prod")
        need("stagewise:service.deletionProtection", config.service.deletion_protection, "set it true in prod")
        inference = config.inference
        fallback = inference.fallback_model
        need(
            "stagewise:inference.fallbackModel", fallback,
            "prod keeps a fallback model the app switches to when the primary fails; set e.g. gemini-3.5-flash"
            if isinstance(inference, ManagedInferenceConfig) else "prod keeps managed Gemini behind the self-hosted model; set e.g. gemini-3.1-flash-lite",
        )
        versions = {revision_suffix(config.service.prompt_version)}
        if config.release is not None:
            try:
                check_release(config.release, config.service.prompt_version, config.service.name, self.regions)
            except ValueError as exc:
                raise config_error(stack, "stagewise:release", str(exc)) from None
            if config.release.previous:
                versions.add(revision_suffix(config.release.previous))
        for track_name, track in self.edge.tracks.items():
            if track.tag and track.service is None and track.tag not in versions:
                raise config_error(
                    stack, f"stagewise:edge.tracks.{track_name}.tag",
                    f"{track.tag!r} is not a revision tag of the chat service (tags: {', '.join(sorted(versions))}); "
                    "use one, or set stagewise:release.previous",
                )
        self.plan = plan_inference(config, inference)


def _alerting_args(
    config: StackConfig, settings: ProdSettings, endpoint: InferenceEndpoint, usage_metrics: dict[str, str] | None = None
) -> AlertingArgs:
    alerting = settings.alerting
    signals = None
    if endpoint.mode_name != "managed" and endpoint.metrics_target is not None:
        signals = InferenceSignals(mode=endpoint.mode_name, target=endpoint.metrics_target)
    return AlertingArgs(
        project=config.gcp.project,
        service_names=[config.service.name],
        max_instances=config.service.max_instances,
        emails=list(alerting.emails),
        slack=SlackChannel(alerting.slack.channel, alerting.slack.auth_token_secret) if alerting.slack else None,
        pagerduty=PagerDutyChannel(alerting.pagerduty.service_key_secret) if alerting.pagerduty else None,
        thresholds=Thresholds(**alerting.thresholds.model_dump()),
        inference=signals,
        uptime_host=settings.edge.domains[0],
        uptime_path=alerting.uptime_path,
        uptime_period_sec=alerting.uptime_period_sec,
        dashboard=alerting.dashboard,
        auto_close_days=alerting.auto_close_days,
        labels=config.all_labels,
        slo=SloTargets(**alerting.slo.model_dump()) if alerting.slo is not None else None,
        usage_metrics=usage_metrics,
        tenant_daily_spend_usd=alerting.tenant_daily_spend_usd,
    )


def _edge_args(config: StackConfig, edge: EdgeConfig, services: dict[str, ChatService]) -> EdgeLoadBalancerArgs:
    armor = edge.armor
    rate = armor.rate_limit
    backends = [
        EdgeBackend(
            key=name,
            targets=[
                ServerlessTarget(region=region, service=track.service or chat.service_name, tag=track.tag)
                for region, chat in services.items()
            ],
            weight=track.weight,
        )
        for name, track in edge.tracks.items()
    ]
    return EdgeLoadBalancerArgs(
        project=config.gcp.project,
        domains=list(edge.domains),
        backends=backends,
        ssl_profile=edge.ssl_profile,
        min_tls_version=edge.min_tls_version,
        http_redirect=edge.http_redirect,
        log_sample_rate=edge.log_sample_rate,
        armor=ArmorSettings(
            waf_rules=tuple(armor.waf_rules),
            waf_sensitivity=armor.waf_sensitivity,
            waf_preview=armor.waf_preview,
            rate_limit=RateLimit(
                action=rate.action, requests=rate.requests, interval_sec=rate.interval_sec,
                ban_duration_sec=rate.ban_duration_sec, enforce_on_key=rate.enforce_on_key,
                enforce_on_key_name=rate.enforce_on_key_name,
            ) if rate else None,
            adaptive_protection=armor.adaptive_protection,
            denied_ranges=tuple(armor.denied_ranges),
            free_text_paths=tuple(armor.free_text_paths),
        ),
        labels=config.all_labels,
    )


def compose(config: StackConfig) -> None:
    settings = ProdSettings(config)
    project = config.gcp.project

    apis = common.enable_apis(config, ("compute.googleapis.com", "cloudscheduler.googleapis.com"))
    common.audit_logs(config, apis)
    image = common.container_image(config, apis)
    database = common.firestore(config, apis)
    buckets = common.bucket_set(config, apis)
    secrets = common.secret_set(config, apis, list(config.service.secret_env.values()))
    vpc = vpc_network(config, settings.network, apis.ready)
    endpoint = inference_endpoint(
        "inference", config, settings.plan, vpc, client_regions=settings.regions, depends_on=apis.ready
    )
    data_buckets = [key for key, bucket in config.buckets.items() if bucket.bucket_class == "data"]
    release = config.release
    version = config.service.prompt_version
    guard = guardrails(config, apis)

    services: dict[str, ChatService] = {}
    for region in settings.regions:
        services[region] = common.chat_service(
            f"chat-{region}", config, config.service,
            common.ServiceWiring(
                image=image, database=database, endpoint=endpoint, data_buckets=data_buckets, buckets=buckets,
                apis=apis, secrets=secrets, region=region, guardrails=guard,
                # Everything leaves through the VPC: the model, Google APIs via Private Google Access, NAT for the rest.
                vpc_egress=vpc.egress(region, all_traffic=True),
                ingress="internal-and-cloud-load-balancing",
                default_uri_disabled=True,
                account_id=f"{config.service.name}-{region}"[:30].rstrip("-"),
                # Cloud Run names each revision; the version rides on the traffic tag (a fixed revision
                # name would collide on the next template change: terraform-provider-google#14569).
                traffic=release_traffic(config.service.name, release, version, region) if release else (),
            ),
        )

    edge = EdgeLoadBalancer("edge", _edge_args(config, settings.edge, services), opts=pulumi.ResourceOptions(depends_on=apis.ready))
    usage = UsageLogMetrics("usage-metrics", UsageLogMetricsArgs(project=project, service_names=[config.service.name]),
                            opts=pulumi.ResourceOptions(depends_on=apis.ready))
    alerting = Alerting("alerting", _alerting_args(config, settings, endpoint, usage.metric_names),
                        opts=pulumi.ResourceOptions(depends_on=apis.ready))
    backups_bucket = next(key for key, bucket in config.buckets.items() if bucket.bucket_class == "backups")
    FirestoreExport(
        "firestore-export", project, config.gcp.region, database, buckets.buckets[backups_bucket].name,
        opts=pulumi.ResourceOptions(depends_on=apis.ready),
    )
    billing_budget(config, notification_channels=alerting.channel_ids, depends_on=apis.ready)
    logs = LogSink(
        "service-logs",
        LogSinkArgs(
            project=project,
            bucket=buckets.buckets[settings.logs_bucket].name,
            service_names=[config.service.name],
            description="chat service logs of every region, kept 30 days in the logs bucket",
        ),
    )
    # One log-based metric covers every region: it filters on the (shared) service name.
    common.error_metric("chat-errors", config, services[settings.regions[0]])

    pulumi.export("stage", config.stage)
    # Prod serves on its domain through the load balancer (the run.app URLs are turned off).
    public_url = f"https://{settings.edge.domains[0]}"
    common.export_services({f"{config.service.name}-{region}": (chat, public_url, region) for region, chat in services.items()})
    pulumi.export("regions", settings.regions)
    pulumi.export("load_balancer_ip", edge.address.address)
    pulumi.export("domains", list(settings.edge.domains))
    pulumi.export("service_accounts", {region: chat.service_account_email for region, chat in services.items()})
    # The revision serving each region, for stagewise:release.previousRevision on the next version.
    pulumi.export("revisions", {region: chat.latest_revision for region, chat in services.items()})
    pulumi.export("inference_mode", endpoint.mode_name)
    if endpoint.base_url is not None:
        pulumi.export("inference_url", endpoint.base_url)
    pulumi.export("alert_policies", alerting.policy_names)
    pulumi.export("log_sink", logs.sink_name)
    pulumi.export("firestore_database", database.name)
    pulumi.export("buckets", buckets.names)
    pulumi.export("image", image.ref)
    if guard is not None:
        pulumi.export("guardrails_template", guard.template_name)
