"""Compliant resources for policy tests, in the style of Pulumi's compliance-policies: each factory
declares a resource that passes every rule under the prod config; a test mutates one argument and
asserts the exact set of (rule, resource) violations the real analyzer reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import billing, cloudrunv2 as crun, compute, firestore, logging, monitoring, secretmanager, storage, vertex

from stagewise.engine.record import ProgramRun, run_program
from stagewise.policy.config import load_config_file, parse_config
from stagewise.policy.analyzer import Analyzer, PolicyReport, stage_config_path

PROJECT = "stagewise-test"
REGION = "us-central1"
CONFIG = {"gcp:project": PROJECT, "gcp:region": REGION}
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"{REGION}-docker.pkg.dev/{PROJECT}/stagewise/chat@{DIGEST}"
SA_EMAIL = f"chat-run@{PROJECT}.iam.gserviceaccount.com"
SA_MEMBER = f"serviceAccount:{SA_EMAIL}"
KMS_KEY = f"projects/{PROJECT}/locations/{REGION}/keyRings/stagewise/cryptoKeys/data"
CHANNEL = f"projects/{PROJECT}/notificationChannels/123"
LB_RANGES = ["130.211.0.0/22", "35.191.0.0/16"]
DAY = 86_400
FRAME = {"frame-logs", "frame-sink", "frame-budget", "frame-audit", "frame-slo", "frame-slo-service", "frame-slo-burn"}

Pairs = set[tuple[str, str]]


def labels(stage: str = "prod", **extra: str) -> dict[str, str]:
    return {"env": stage, "owner": "chat-team", "cost-center": "llm-chat", **extra}


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    return {**base, **overrides}


# --- the stack frame every prod program needs (log sink to a retained bucket, a budget) -----------

def audit_config(name: str = "frame-audit") -> gcp.projects.IAMAuditConfig:
    return gcp.projects.IAMAuditConfig(
        name, project=PROJECT, service="allServices",
        audit_log_configs=[gcp.projects.IAMAuditConfigAuditLogConfigArgs(log_type=kind) for kind in ("ADMIN_READ", "DATA_READ", "DATA_WRITE")],
    )


def frame(stage: str = "prod", *, slo: bool | None = None) -> None:
    if slo if slo is not None else stage == "prod":  # obs-slo-required: prod watches Cloud Run against an SLO
        service_slo(None, name="frame-slo")
    audit_config()
    bucket("frame-logs", "logs", stage=stage)
    logging.ProjectSink(
        "frame-sink",
        project=PROJECT,
        name="all-logs",
        destination="storage.googleapis.com/frame-logs",
        unique_writer_identity=True,
    )
    billing.Budget(
        "frame-budget",
        billing_account="000000-000000-000000",
        amount=billing.BudgetAmountArgs(specified_amount=billing.BudgetAmountSpecifiedAmountArgs(currency_code="USD", units="300")),
        threshold_rules=[billing.BudgetThresholdRuleArgs(threshold_percent=0.5), billing.BudgetThresholdRuleArgs(threshold_percent=0.9)],
    )


def prod(*declare: Callable[[], object]) -> Callable[[], None]:
    """A prod program: the stack frame plus the given declarations."""

    def program() -> None:
        frame()
        for item in declare:
            item()

    return program


# --- storage --------------------------------------------------------------------------------------

RETENTION = {"logs": 30, "backups": 365}


def bucket(name: str, klass: str = "data", *, stage: str = "prod", **overrides: Any) -> storage.Bucket:
    retention_days = RETENTION.get(klass)
    base: dict[str, Any] = dict(
        name=name,
        project=PROJECT,
        location="US-CENTRAL1",
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning=storage.BucketVersioningArgs(enabled=klass in ("data", "backups")),
        retention_policy=storage.BucketRetentionPolicyArgs(
            retention_period=str(retention_days * DAY), is_locked=klass == "backups"
        ) if retention_days else None,
        lifecycle_rules=[
            storage.BucketLifecycleRuleArgs(
                action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=storage.BucketLifecycleRuleConditionArgs(age=max(retention_days or 0, 400)),
            )
        ],
        encryption=storage.BucketEncryptionArgs(default_kms_key_name=KMS_KEY),
        force_destroy=False,
        labels=labels(stage, **{"bucket-class": klass}),
    )
    return storage.Bucket(name, **merged(base, overrides))


def delete_rule(age: int) -> storage.BucketLifecycleRuleArgs:
    return storage.BucketLifecycleRuleArgs(
        action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
        condition=storage.BucketLifecycleRuleConditionArgs(age=age),
    )


def firestore_db(name: str = "db", *, schedule: bool = True, **overrides: Any) -> firestore.Database:
    base: dict[str, Any] = dict(
        project=PROJECT,
        name="(default)",
        location_id="nam5",
        type="FIRESTORE_NATIVE",
        point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED",
        delete_protection_state="DELETE_PROTECTION_ENABLED",
    )
    database = firestore.Database(name, **merged(base, overrides))
    if schedule:
        backup_schedule(f"{name}-backups", database.name)
    return database


def backup_schedule(name: str, database: pulumi.Input[str], days: int = 14) -> firestore.BackupSchedule:
    return firestore.BackupSchedule(
        name,
        project=PROJECT,
        database=database,
        retention=f"{days * DAY}s",
        daily_recurrence=firestore.BackupScheduleDailyRecurrenceArgs(),  # type: ignore[no-untyped-call]
    )


# --- Cloud Run --------------------------------------------------------------------------------------

def container(**overrides: Any) -> crun.ServiceTemplateContainerArgs:
    base: dict[str, Any] = dict(
        image=IMAGE,
        envs=[crun.ServiceTemplateContainerEnvArgs(name="CHAT_STORE", value="firestore")],
        resources=crun.ServiceTemplateContainerResourcesArgs(limits={"cpu": "1", "memory": "512Mi"}, cpu_idle=True),
        startup_probe=crun.ServiceTemplateContainerStartupProbeArgs(
            http_get=crun.ServiceTemplateContainerStartupProbeHttpGetArgs(path="/readyz", port=8080)
        ),
        liveness_probe=crun.ServiceTemplateContainerLivenessProbeArgs(
            http_get=crun.ServiceTemplateContainerLivenessProbeHttpGetArgs(path="/healthz", port=8080)
        ),
    )
    return crun.ServiceTemplateContainerArgs(**merged(base, overrides))


def template(**overrides: Any) -> crun.ServiceTemplateArgs:
    base: dict[str, Any] = dict(
        service_account=SA_EMAIL,
        containers=[container()],
        scaling=crun.ServiceTemplateScalingArgs(min_instance_count=1, max_instance_count=5),
        vpc_access=crun.ServiceTemplateVpcAccessArgs(
            egress="ALL_TRAFFIC",
            network_interfaces=[crun.ServiceTemplateVpcAccessNetworkInterfaceArgs(network="vpc", subnetwork="run")],
        ),
    )
    return crun.ServiceTemplateArgs(**merged(base, overrides))


def cloud_run(name: str = "chat", *, stage: str = "prod", alert: bool = True, **overrides: Any) -> crun.Service:
    base: dict[str, Any] = dict(
        name=name,
        project=PROJECT,
        location=REGION,
        ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        default_uri_disabled=True,
        deletion_protection=True,
        labels=labels(stage),
        template=template(),
    )
    service = crun.Service(name, **merged(base, overrides))
    if alert:
        alert_policy(f"{name}-alert", f'resource.type="cloud_run_revision" AND resource.labels.service_name="{name}"')
    return service


def service_slo(service: str | None, *, burn_alert: bool = True, name: str | None = None) -> monitoring.Slo:
    """An availability SLO on a Cloud Run service (None: on all of the project's) and its burn-rate
    alert, as stagewise/components/slo.py declares them."""
    key = name or f"{service or 'run'}-slo"
    run = 'resource.type="cloud_run_revision"' + (f' AND resource.labels.service_name="{service}"' if service else "")
    custom = monitoring.GenericService(f"{key}-service", project=PROJECT, service_id=key, display_name=key)
    objective = monitoring.Slo(
        key, project=PROJECT, service=custom.service_id, slo_id="availability", goal=0.995, rolling_period_days=28,
        request_based_sli=monitoring.SloRequestBasedSliArgs(good_total_ratio=monitoring.SloRequestBasedSliGoodTotalRatioArgs(
            bad_service_filter=f'{run} AND metric.type="run.googleapis.com/request_count" AND metric.labels.response_code_class="5xx"',
            total_service_filter=f'{run} AND metric.type="run.googleapis.com/request_count"',
        )),
    )
    if burn_alert:
        alert_policy(f"{key}-burn", f'select_slo_burn_rate("projects/{PROJECT}/services/{key}/serviceLevelObjectives/availability", "3600s")')
    return objective


def alert_policy(name: str, filter_text: str, **overrides: Any) -> monitoring.AlertPolicy:
    base: dict[str, Any] = dict(
        project=PROJECT,
        display_name=name,
        combiner="OR",
        conditions=[
            monitoring.AlertPolicyConditionArgs(
                display_name="errors",
                condition_threshold=monitoring.AlertPolicyConditionConditionThresholdArgs(
                    filter=filter_text, comparison="COMPARISON_GT", duration="60s", threshold_value=5
                ),
            )
        ],
        notification_channels=[CHANNEL],
        enabled=True,
    )
    return monitoring.AlertPolicy(name, **merged(base, overrides))


def invoker(name: str, member: str, service: str = "chat") -> crun.ServiceIamMember:
    return crun.ServiceIamMember(name, project=PROJECT, location=REGION, name=service, role="roles/run.invoker", member=member)


# --- IAM --------------------------------------------------------------------------------------------

def project_member(name: str, role: str, member: str = SA_MEMBER) -> gcp.projects.IAMMember:
    return gcp.projects.IAMMember(name, project=PROJECT, role=role, member=member)


# --- network and edge -------------------------------------------------------------------------------

def network(name: str = "vpc", **overrides: Any) -> compute.Network:
    base: dict[str, Any] = dict(project=PROJECT, name=f"stagewise-{name}", auto_create_subnetworks=False)
    return compute.Network(name, **merged(base, overrides))


def subnet(name: str = "subnet", **overrides: Any) -> compute.Subnetwork:
    base: dict[str, Any] = dict(
        project=PROJECT,
        region=REGION,
        network="stagewise-vpc",
        ip_cidr_range="10.10.0.0/24",
        private_ip_google_access=True,
        log_config=compute.SubnetworkLogConfigArgs(aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5),
    )
    return compute.Subnetwork(name, **merged(base, overrides))


def firewall(name: str = "allow-lb", **overrides: Any) -> compute.Firewall:
    base: dict[str, Any] = dict(
        project=PROJECT,
        network="stagewise-vpc",
        direction="INGRESS",
        source_ranges=LB_RANGES,
        allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["8080"])],
        log_config=compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
    )
    return compute.Firewall(name, **merged(base, overrides))


def nat(name: str = "nat", **overrides: Any) -> compute.RouterNat:
    base: dict[str, Any] = dict(
        project=PROJECT,
        region=REGION,
        router="router",
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        log_config=compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
    )
    return compute.RouterNat(name, **merged(base, overrides))


def ssl_policy(name: str = "tls", **overrides: Any) -> compute.SSLPolicy:
    base: dict[str, Any] = dict(project=PROJECT, min_tls_version="TLS_1_2", profile="MODERN")
    return compute.SSLPolicy(name, **merged(base, overrides))


def https_proxy(name: str = "proxy", **overrides: Any) -> compute.TargetHttpsProxy:
    base: dict[str, Any] = dict(
        project=PROJECT,
        url_map="projects/stagewise-test/global/urlMaps/chat",
        ssl_certificates=["projects/stagewise-test/global/sslCertificates/chat"],
        ssl_policy="projects/stagewise-test/global/sslPolicies/tls",
    )
    return compute.TargetHttpsProxy(name, **merged(base, overrides))


def backend(name: str = "backend", **overrides: Any) -> compute.BackendService:
    base: dict[str, Any] = dict(
        project=PROJECT,
        load_balancing_scheme="EXTERNAL_MANAGED",
        protocol="HTTPS",
        security_policy="projects/stagewise-test/global/securityPolicies/armor",
        log_config=compute.BackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
    )
    return compute.BackendService(name, **merged(base, overrides))


def waf_rule(priority: int = 1000, rule_set: str = "sqli-v33-stable", action: str = "deny(403)") -> compute.SecurityPolicyRuleArgs:
    return compute.SecurityPolicyRuleArgs(
        action=action,
        priority=priority,
        match=compute.SecurityPolicyRuleMatchArgs(
            expr=compute.SecurityPolicyRuleMatchExprArgs(expression=f"evaluatePreconfiguredWaf('{rule_set}')")
        ),
    )


def throttle_rule(priority: int = 2000) -> compute.SecurityPolicyRuleArgs:
    return compute.SecurityPolicyRuleArgs(
        action="throttle",
        priority=priority,
        match=compute.SecurityPolicyRuleMatchArgs(
            versioned_expr="SRC_IPS_V1", config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"])
        ),
        rate_limit_options=compute.SecurityPolicyRuleRateLimitOptionsArgs(
            conform_action="allow",
            exceed_action="deny(429)",
            enforce_on_key="IP",
            rate_limit_threshold=compute.SecurityPolicyRuleRateLimitOptionsRateLimitThresholdArgs(count=100, interval_sec=60),
        ),
    )


def default_rule() -> compute.SecurityPolicyRuleArgs:
    return compute.SecurityPolicyRuleArgs(
        action="allow",
        priority=2147483647,
        match=compute.SecurityPolicyRuleMatchArgs(
            versioned_expr="SRC_IPS_V1", config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"])
        ),
    )


def armor(name: str = "armor", **overrides: Any) -> compute.SecurityPolicy:
    base: dict[str, Any] = dict(project=PROJECT, rules=[waf_rule(), throttle_rule(), default_rule()])
    return compute.SecurityPolicy(name, **merged(base, overrides))


# --- compute, GPU, Vertex -----------------------------------------------------------------------------

def vm(name: str = "vm", *, stage: str = "prod", **overrides: Any) -> compute.Instance:
    base: dict[str, Any] = dict(
        project=PROJECT,
        zone=f"{REGION}-a",
        machine_type="e2-standard-4",
        boot_disk=compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(image="debian-cloud/debian-12"),
                                               kms_key_self_link=KMS_KEY),
        network_interfaces=[compute.InstanceNetworkInterfaceArgs(subnetwork="subnet")],
        shielded_instance_config=compute.InstanceShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True
        ),
        metadata={"enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE"},
        service_account=compute.InstanceServiceAccountArgs(email=f"vm@{PROJECT}.iam.gserviceaccount.com", scopes=["cloud-platform"]),
        labels=labels(stage),
    )
    return compute.Instance(name, **merged(base, overrides))


def gpu_template(name: str = "gpu-template", *, stage: str = "prod", **overrides: Any) -> compute.RegionInstanceTemplate:
    base: dict[str, Any] = dict(
        project=PROJECT,
        region=REGION,
        machine_type="g2-standard-8",
        disks=[compute.RegionInstanceTemplateDiskArgs(
            source_image="deeplearning-platform-release/common-cu123", boot=True,
            disk_encryption_key=compute.RegionInstanceTemplateDiskDiskEncryptionKeyArgs(kms_key_self_link=KMS_KEY))],
        network_interfaces=[compute.RegionInstanceTemplateNetworkInterfaceArgs(subnetwork="subnet")],
        guest_accelerators=[compute.RegionInstanceTemplateGuestAcceleratorArgs(type="nvidia-l4", count=1)],
        scheduling=compute.RegionInstanceTemplateSchedulingArgs(on_host_maintenance="TERMINATE", automatic_restart=True),
        shielded_instance_config=compute.RegionInstanceTemplateShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True
        ),
        metadata={"enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE"},
        labels=labels(stage),
    )
    return compute.RegionInstanceTemplate(name, **merged(base, overrides))


def gpu_group(name: str = "gpu", *, max_replicas: int = 2, alert: bool = True, template_overrides: Mapping[str, Any] | None = None,
              **overrides: Any) -> compute.RegionInstanceGroupManager:
    tmpl = gpu_template(f"{name}-template", **dict(template_overrides or {}))
    check = compute.HealthCheck(
        f"{name}-health", project=PROJECT, http_health_check=compute.HealthCheckHttpHealthCheckArgs(port=8000, request_path="/health")
    )
    base: dict[str, Any] = dict(
        project=PROJECT,
        region=REGION,
        base_instance_name=f"{name}-vm",
        versions=[compute.RegionInstanceGroupManagerVersionArgs(instance_template=tmpl.self_link, name="primary")],
        auto_healing_policies=compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(health_check=check.id, initial_delay_sec=300),
    )
    group = compute.RegionInstanceGroupManager(name, **merged(base, overrides))
    compute.RegionAutoscaler(
        f"{name}-autoscaler",
        project=PROJECT,
        region=REGION,
        target=group.id,
        # Scaled to zero outside working hours (cost-gpu-uptime-guard).
        autoscaling_policy=compute.RegionAutoscalerAutoscalingPolicyArgs(
            min_replicas=0, max_replicas=max_replicas,
            scaling_schedules=[compute.RegionAutoscalerAutoscalingPolicyScalingScheduleArgs(
                name="working-hours", schedule="0 8 * * MON-FRI", duration_sec=36000, min_required_replicas=1, time_zone="UTC")],
        ),
    )
    if alert:
        alert_policy(f"{name}-alert", f'resource.type="gce_instance" AND metadata.system_labels.name=starts_with("{name}-vm")')
    return group


def model_garden(name: str = "gemma", *, accelerator: str = "NVIDIA_L4", count: int = 1, max_replicas: int = 2,
                 machine: str = "g2-standard-12", private: bool = True) -> vertex.AiEndpointWithModelGardenDeployment:
    return vertex.AiEndpointWithModelGardenDeployment(
        name,
        project=PROJECT,
        location=REGION,
        publisher_model_name="publishers/google/models/gemma3@gemma-3-1b-it",
        model_config=vertex.AiEndpointWithModelGardenDeploymentModelConfigArgs(accept_eula=True),
        endpoint_config=vertex.AiEndpointWithModelGardenDeploymentEndpointConfigArgs(
            private_service_connect_config=vertex.AiEndpointWithModelGardenDeploymentEndpointConfigPrivateServiceConnectConfigArgs(
                enable_private_service_connect=True, project_allowlists=[PROJECT]
            ) if private else None,
        ),
        deploy_config=vertex.AiEndpointWithModelGardenDeploymentDeployConfigArgs(
            dedicated_resources=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesArgs(
                machine_spec=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesMachineSpecArgs(
                    machine_type=machine, accelerator_type=accelerator, accelerator_count=count
                ),
                min_replica_count=1,
                max_replica_count=max_replicas,
            )
        ),
    )


# --- secrets ------------------------------------------------------------------------------------------

def secret(name: str = "api-keys", *, stage: str = "prod", **overrides: Any) -> secretmanager.Secret:
    base: dict[str, Any] = dict(
        project=PROJECT,
        secret_id=name,
        replication=secretmanager.SecretReplicationArgs(
            user_managed=secretmanager.SecretReplicationUserManagedArgs(
                replicas=[secretmanager.SecretReplicationUserManagedReplicaArgs(location=REGION)]
            )
        ),
        labels=labels(stage),
    )
    return secretmanager.Secret(name, **merged(base, overrides))


def log_bucket(name: str = "log-bucket", **overrides: Any) -> logging.ProjectBucketConfig:
    base: dict[str, Any] = dict(project=PROJECT, location="global", bucket_id="stagewise", retention_days=30)
    return logging.ProjectBucketConfig(name, **merged(base, overrides))


def repository(name: str = "repo", **overrides: Any) -> gcp.artifactregistry.Repository:
    base: dict[str, Any] = dict(
        project=PROJECT,
        location=REGION,
        repository_id="stagewise",
        format="DOCKER",
        cleanup_policy_dry_run=False,
        cleanup_policies=[
            gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                id="keep-recent",
                action="KEEP",
                most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(keep_count=10),
            )
        ],
        labels=labels(),
    )
    return gcp.artifactregistry.Repository(name, **merged(base, overrides))


# --- running programs through the analyzer ------------------------------------------------------------

def run(program: Callable[[], None], stack: str = "prod") -> ProgramRun:
    return run_program(program, project="stagewise", stack=stack, config={**CONFIG, "stagewise:stage": stack})


@lru_cache(maxsize=None)
def stage_analyzer(stage: str) -> Analyzer:
    settings = load_config_file(stage_config_path(stage))
    settings.update(parse_config(ALLOWLIST_OFF))
    return Analyzer(settings, source=f"policies/config/{stage}.json")


# Rule tests declare every governed type in every stage; the per-stage type allowlist is tested on its own
# (tests/test_policy_allowlist.py), so these analyzers run with it off unless a test turns it on.
ALLOWLIST_OFF = {"cost-resource-type-allowlist": "disabled"}


def analyzer(stage: str = "prod", overrides: Mapping[str, Any] | None = None) -> Analyzer:
    if not overrides:
        return stage_analyzer(stage)
    settings = load_config_file(stage_config_path(stage))
    settings.update(parse_config({**ALLOWLIST_OFF, **overrides}))
    return Analyzer(settings, source=f"{stage}+overrides")


def report(program: Callable[[], None], stage: str = "prod", overrides: Mapping[str, Any] | None = None) -> PolicyReport:
    return analyzer(stage, overrides).evaluate(run(program, stage))


def violations(program: Callable[[], None], stage: str = "prod", overrides: Mapping[str, Any] | None = None) -> Pairs:
    """(rule, resource) of every verdict, any level — what each test compares exactly."""
    return report(program, stage, overrides).pairs()
