"""Every rule, through the real analyzer: the compliant baseline (test_policy_baseline.py) plus one or
more mutations here, each asserting the exact set of (rule, resource) verdicts it produces."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import policy_fixtures as f
import pulumi_gcp as gcp
import pytest
from policy_fixtures import compute, crun, logging, prod, secretmanager, storage

from stagewise.policy.analyzer import load_pack

STACK = ""  # stack-level verdicts carry no resource name


@dataclass(frozen=True)
class Case:
    id: str
    program: Callable[[], None]
    expected: set[tuple[str, str]]
    stage: str = "prod"
    overrides: Mapping[str, Any] = field(default_factory=dict)


def env(name: str, value: str) -> crun.ServiceTemplateContainerEnvArgs:
    return crun.ServiceTemplateContainerEnvArgs(name=name, value=value)


def with_container(**overrides: Any) -> crun.ServiceTemplateArgs:
    return f.template(containers=[f.container(**overrides)])


def scaling(minimum: int | None, maximum: int | None) -> crun.ServiceTemplateScalingArgs:
    return crun.ServiceTemplateScalingArgs(min_instance_count=minimum, max_instance_count=maximum)


def retention(days: int, locked: bool = False) -> storage.BucketRetentionPolicyArgs:
    return storage.BucketRetentionPolicyArgs(retention_period=str(days * f.DAY), is_locked=locked)


def tcp(*ports: str) -> list[compute.FirewallAllowArgs]:
    return [compute.FirewallAllowArgs(protocol="tcp", ports=list(ports) or None)]


def bucket_policy() -> None:
    document = {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allAuthenticatedUsers"]}]}
    storage.BucketIAMPolicy("data-policy", bucket="data", policy_data=json.dumps(document))


def metric_covered_service() -> None:
    f.cloud_run("chat", alert=False)
    logging.Metric("chat-errors", project=f.PROJECT, name="chat-errors",
                   filter='resource.type="cloud_run_revision" AND resource.labels.service_name="chat" AND severity>=ERROR')
    f.alert_policy("chat-errors-alert", 'metric.type="logging.googleapis.com/user/chat-errors" AND resource.type="cloud_run_revision"')


def frame_without(*names: str) -> Callable[[], None]:
    def program() -> None:
        f.audit_config()
        if "sink" not in names:
            f.bucket("frame-logs", "logs")
            logging.ProjectSink("frame-sink", project=f.PROJECT, name="all-logs", destination="storage.googleapis.com/frame-logs")
        else:
            f.bucket("frame-logs", "logs")
        if "budget" not in names:
            gcp.billing.Budget(
                "frame-budget",
                billing_account="000000-000000-000000",
                amount=gcp.billing.BudgetAmountArgs(specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(units="300")),
                threshold_rules=[] if "thresholds" in names else [gcp.billing.BudgetThresholdRuleArgs(threshold_percent=0.9)],
            )

    return program


def gpu_run(max_instances: int) -> None:
    f.cloud_run(
        "gpu-chat",
        template=f.template(
            containers=[f.container(resources=crun.ServiceTemplateContainerResourcesArgs(
                limits={"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}, cpu_idle=False))],
            node_selector=crun.ServiceTemplateNodeSelectorArgs(accelerator="nvidia-l4"),
            scaling=scaling(0, max_instances),
        ),
    )


DEFAULT_SA = "123456789012-compute@developer.gserviceaccount.com"
ALLOWED_DOMAINS = {"iam-allowed-domains": {"enforcementLevel": "mandatory", "allowedDomains": ["example.com"]}}

CASES = [
    # --- IAM -----------------------------------------------------------------------------------------
    Case("public-bucket-member", prod(lambda: storage.BucketIAMMember("public", bucket="data", role="roles/storage.objectViewer", member="allUsers")),
         {("iam-no-public-members", "public")}),
    Case("public-in-policy-json", prod(bucket_policy), {("iam-no-public-members", "data-policy")}),
    Case("editor-on-sa", prod(lambda: f.project_member("editor", "roles/editor")), {("iam-no-basic-roles", "editor")}),
    Case("owner-on-sa", prod(lambda: f.project_member("owner", "roles/owner")),
         {("iam-no-basic-roles", "owner"), ("iam-sa-no-admin-roles", "owner")}),
    Case("project-sa-user", prod(lambda: f.project_member("impersonate", "roles/iam.serviceAccountUser")),
         {("iam-no-project-impersonation", "impersonate")}),
    Case("project-token-creator", prod(lambda: f.project_member("tokens", "roles/iam.serviceAccountTokenCreator")),
         {("iam-no-project-impersonation", "tokens")}),
    Case("sa-admin", prod(lambda: f.project_member("admin", "roles/storage.admin")), {("iam-sa-no-admin-roles", "admin")}),
    Case("sa-admin-allowed", prod(lambda: f.project_member("admin", "roles/storage.admin")), set(),
         overrides={"iam-sa-no-admin-roles": {"enforcementLevel": "mandatory", "allowedAdminRoles": ["roles/storage.admin"]}}),
    Case("default-sa-grant", prod(lambda: f.project_member("default-sa", "roles/logging.logWriter", f"serviceAccount:{DEFAULT_SA}")),
         {("iam-no-default-service-accounts", "default-sa")}),
    Case("default-sa-on-run", prod(lambda: f.cloud_run(template=f.template(service_account=DEFAULT_SA))),
         {("iam-no-default-service-accounts", "chat"), ("run-dedicated-service-account", "chat")}),
    Case("default-sa-on-vm", prod(lambda: f.vm(service_account=compute.InstanceServiceAccountArgs(email=DEFAULT_SA, scopes=["cloud-platform"]))),
         {("iam-no-default-service-accounts", "vm")}),
    Case("sa-key", prod(lambda: gcp.serviceaccount.Key("key", service_account_id=f"projects/-/serviceAccounts/{f.SA_EMAIL}")),
         {("iam-no-service-account-keys", "key")}),
    Case("foreign-domain", prod(lambda: f.project_member("partner", "roles/logging.viewer", "group:ops@other.org")),
         {("iam-allowed-domains", "partner")}, overrides=ALLOWED_DOMAINS),
    Case("own-domain", prod(lambda: f.project_member("ops", "roles/logging.viewer", "group:ops@example.com")), set(), overrides=ALLOWED_DOMAINS),
    Case("consumer-account-without-allowlist", prod(lambda: gcp.storage.BucketIAMMember("gmail", bucket="data", role="roles/storage.objectViewer",
                                                                                       member="user:someone@gmail.com")),
         {("iam-allowed-domains", "gmail"), ("iam-no-user-principals", "gmail")}),
    Case("user-principal", prod(lambda: f.project_member("alice", "roles/logging.viewer", "user:alice@example.com")),
         {("iam-no-user-principals", "alice")}),
    Case("project-secret-accessor", prod(lambda: f.project_member("secrets-wide", "roles/secretmanager.secretAccessor")),
         {("iam-data-roles-resource-level", "secrets-wide")}),
    Case("project-object-viewer", prod(lambda: f.project_member("objects-wide", "roles/storage.objectViewer")),
         {("iam-data-roles-resource-level", "objects-wide")}),
    Case("authoritative-binding", prod(lambda: gcp.projects.IAMBinding("binding", project=f.PROJECT, role="roles/logging.viewer", members=["group:ops@example.com"])),
         {("iam-no-authoritative-project-iam", "binding")}),
    # --- storage -------------------------------------------------------------------------------------
    Case("public-bucket-acl", prod(lambda: storage.BucketACL("acl", bucket="data", role_entities=["OWNER:project-owners-1", "READER:allUsers"])),
         {("storage-no-public-acl", "acl")}),
    Case("public-object-default", prod(lambda: storage.DefaultObjectAccessControl("default-acl", bucket="data", entity="allAuthenticatedUsers", role="READER")),
         {("storage-no-public-acl", "default-acl")}),
    Case("predefined-public-read", prod(lambda: storage.BucketACL("acl", bucket="data", predefined_acl="publicRead")), {("storage-no-public-acl", "acl")}),
    Case("private-acl", prod(lambda: storage.BucketACL("acl", bucket="data", role_entities=["OWNER:project-owners-1"])), set()),
    Case("acl-bucket", prod(lambda: f.bucket("b", uniform_bucket_level_access=False)), {("storage-uniform-access", "b")}),
    Case("public-bucket", prod(lambda: f.bucket("b", public_access_prevention="inherited")), {("storage-public-access-prevention", "b")}),
    Case("unversioned-data", prod(lambda: f.bucket("b", versioning=storage.BucketVersioningArgs(enabled=False))), {("storage-versioning", "b")}),
    Case("short-log-retention", prod(lambda: f.bucket("l", "logs", retention_policy=retention(10))), {("storage-retention-minimum", "l")}),
    Case("no-backup-retention", prod(lambda: f.bucket("bk", "backups", retention_policy=None)),
         {("storage-retention-minimum", "bk"), ("storage-retention-locked", "bk")}),
    Case("unlocked-backups", prod(lambda: f.bucket("bk", "backups", retention_policy=retention(365))), {("storage-retention-locked", "bk")}),
    Case("delete-too-late", prod(lambda: f.bucket("b", lifecycle_rules=[f.delete_rule(5000)])), {("storage-lifecycle-delete-bounds", "b")}),
    Case("delete-undercuts-retention", prod(lambda: f.bucket("bk", "backups", lifecycle_rules=[f.delete_rule(100)])),
         {("storage-lifecycle-delete-bounds", "bk")}),
    Case("logs-never-expire", prod(lambda: f.bucket("l", "logs", lifecycle_rules=[])), {("storage-lifecycle-delete-bounds", "l")}),
    Case("no-cmek", prod(lambda: f.bucket("b", encryption=None)), {("storage-cmek", "b")}),
    Case("asia-bucket", prod(lambda: f.bucket("b", location="ASIA-EAST1")), {("storage-location-allowlist", "b")}),
    Case("force-destroy", prod(lambda: f.bucket("b", force_destroy=True)), {("storage-no-force-destroy", "b")}),
    Case("force-destroy-mvp", lambda: (f.frame("mvp"), f.bucket("b", stage="mvp", force_destroy=True)), set(), stage="mvp"),
    Case("no-soft-delete", prod(lambda: f.bucket("b", soft_delete_policy=storage.BucketSoftDeletePolicyArgs(retention_duration_seconds=0))),
         {("storage-soft-delete", "b")}),
    Case("no-pitr", prod(lambda: f.firestore_db(point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_DISABLED")), {("firestore-pitr", "db")}),
    Case("no-delete-protection", prod(lambda: f.firestore_db(delete_protection_state="DELETE_PROTECTION_DISABLED")),
         {("firestore-delete-protection", "db")}),
    Case("short-backups", prod(lambda: f.backup_schedule("short", f.firestore_db(schedule=False).name, days=3)),
         {("firestore-backup-retention", "short")}),
    Case("no-backup-schedule", prod(lambda: f.firestore_db(schedule=False)), {("firestore-backup-schedule", "db")}),
    # --- network and edge ----------------------------------------------------------------------------
    Case("ssh-from-world", prod(lambda: f.firewall("ssh-world", source_ranges=["0.0.0.0/0"], allows=tcp("22"))),
         {("net-no-world-ingress", "ssh-world"), ("net-admin-ports-iap-only", "ssh-world")}),
    Case("web-from-world", prod(lambda: f.firewall("web-world", source_ranges=["0.0.0.0/0"], allows=tcp("8080"))),
         {("net-no-world-ingress", "web-world")}),
    Case("ssh-from-office", prod(lambda: f.firewall("ssh-office", source_ranges=["203.0.113.0/24"], allows=tcp("20-25"))),
         {("net-admin-ports-iap-only", "ssh-office")}),
    Case("ssh-no-source-ranges", prod(lambda: f.firewall("ssh-implicit", source_ranges=None, allows=tcp("22"))),
         {("net-no-world-ingress", "ssh-implicit"), ("net-admin-ports-iap-only", "ssh-implicit")}),
    Case("ssh-from-bastion-tag", prod(lambda: f.firewall("ssh-bastion", source_ranges=None, source_tags=["bastion"], allows=tcp("22"))), set()),
    Case("rdp-iap-only", prod(lambda: f.firewall("rdp-iap", source_ranges=["35.235.240.0/20"], allows=tcp("3389"))), set()),
    Case("all-protocols", prod(lambda: f.firewall("internal-all", source_ranges=["10.0.0.0/8"], allows=[compute.FirewallAllowArgs(protocol="all")])),
         {("net-no-allow-all-ports", "internal-all"), ("net-admin-ports-iap-only", "internal-all")}),
    Case("tcp-no-ports", prod(lambda: f.firewall("tcp-any", allows=tcp())),
         {("net-no-allow-all-ports", "tcp-any"), ("net-admin-ports-iap-only", "tcp-any")}),
    Case("egress-rule-ignored", prod(lambda: f.firewall("egress", direction="EGRESS", source_ranges=None, destination_ranges=["0.0.0.0/0"], allows=tcp())),
         set()),
    Case("firewall-unlogged", prod(lambda: f.firewall(log_config=None)), {("net-firewall-logging", "allow-lb")}),
    Case("auto-mode-vpc", prod(lambda: f.network(auto_create_subnetworks=None)), {("net-no-default-network", "vpc")}),
    Case("default-network", prod(lambda: compute.Network("vpc", project=f.PROJECT, name="default", auto_create_subnetworks=False)), {("net-no-default-network", "vpc")}),
    Case("no-flow-logs", prod(lambda: f.subnet(log_config=None)), {("net-subnet-flow-logs", "subnet")}),
    Case("proxy-subnet-exempt", prod(lambda: f.subnet("proxy", purpose="REGIONAL_MANAGED_PROXY", role="ACTIVE", log_config=None,
                                                      private_ip_google_access=None)), set()),
    Case("no-private-google-access", prod(lambda: f.subnet(private_ip_google_access=False)), {("net-private-google-access", "subnet")}),
    Case("nat-unlogged", prod(lambda: f.nat(log_config=None)), {("net-nat-logging", "nat")}),
    Case("proxy-without-ssl-policy", prod(lambda: f.https_proxy(ssl_policy=None)), {("net-https-proxy-ssl-policy", "proxy")}),
    Case("tls10", prod(lambda: f.ssl_policy(min_tls_version="TLS_1_0")), {("net-ssl-policy-tls12", "tls")}),
    Case("compatible-profile", prod(lambda: f.ssl_policy(profile="COMPATIBLE")), {("net-ssl-policy-tls12", "tls")}),
    Case("backend-without-armor", prod(lambda: f.backend(security_policy=None)), {("lb-backend-cloud-armor", "backend")}),
    Case("internal-backend-no-armor", prod(lambda: f.backend(load_balancing_scheme="INTERNAL_MANAGED", security_policy=None)), set()),
    Case("backend-unlogged", prod(lambda: f.backend(log_config=None)), {("lb-backend-logging", "backend")}),
    Case("armor-without-waf", prod(lambda: f.armor(rules=[f.throttle_rule(), f.default_rule()])), {("armor-waf-rules", "armor")}),
    Case("waf-in-preview-only", prod(lambda: f.armor(rules=[
        compute.SecurityPolicyRuleArgs(action="deny(403)", priority=1000, preview=True,
                                       match=compute.SecurityPolicyRuleMatchArgs(expr=compute.SecurityPolicyRuleMatchExprArgs(
                                           expression="evaluatePreconfiguredWaf('sqli-v33-stable')"))),
        f.throttle_rule(), f.default_rule()])), {("armor-waf-rules", "armor")}),
    Case("waf-missing-required-set", prod(lambda: f.armor()), {("armor-waf-rules", "armor")},
         overrides={"armor-waf-rules": {"enforcementLevel": "mandatory", "requiredWafSets": ["sqli", "xss"]}}),
    Case("armor-without-rate-limit", prod(lambda: f.armor(rules=[f.waf_rule(), f.default_rule()])), {("armor-rate-limit", "armor")}),
    # --- Cloud Run ------------------------------------------------------------------------------------
    Case("ingress-all", prod(lambda: f.cloud_run(ingress="INGRESS_TRAFFIC_ALL")), {("run-ingress-restricted", "chat")}),
    Case("ingress-default", prod(lambda: f.cloud_run(ingress=None)), {("run-ingress-restricted", "chat")}),
    Case("public-invoker-prod", prod(lambda: f.invoker("chat-public", "allUsers")), {("run-invoker-not-public", "chat-public")}),
    Case("public-invoker-mvp", lambda: (f.frame("mvp"), f.invoker("chat-public", "allUsers")), set(), stage="mvp"),
    Case("public-invoker-behind-lb", prod(lambda: f.cloud_run(), lambda: f.invoker("chat-public", "allUsers")), set()),
    Case("public-invoker-open-ingress", prod(lambda: f.cloud_run(ingress="INGRESS_TRAFFIC_ALL"), lambda: f.invoker("chat-public", "allUsers")),
         {("run-ingress-restricted", "chat"), ("run-invoker-not-public", "chat-public")}),
    Case("public-invoker-by-dependency", prod(lambda: crun.ServiceIamMember(
        "chat-public", project=f.PROJECT, location=f.REGION, name=f.cloud_run("renamed", ingress="INGRESS_TRAFFIC_ALL").name,
        role="roles/run.invoker", member="allAuthenticatedUsers")),
         {("run-ingress-restricted", "renamed"), ("run-invoker-not-public", "chat-public")}),
    Case("invoker-check-disabled", prod(lambda: f.cloud_run(ingress="INGRESS_TRAFFIC_ALL", invoker_iam_disabled=True)),
         {("run-ingress-restricted", "chat"), ("run-invoker-not-public", "chat")}),
    Case("invoker-check-disabled-behind-lb", prod(lambda: f.cloud_run(invoker_iam_disabled=True)), set()),
    Case("literal-api-key", prod(lambda: f.cloud_run(template=with_container(envs=[env("OPENAI_API_KEY", "sk-proj-" + "A1b2C3d4" * 4)]))),
         {("run-secrets-from-secret-manager", "chat")}),
    Case("token-shaped-value", prod(lambda: f.cloud_run(template=with_container(envs=[env("UPSTREAM", "AIza" + "Sy9x" * 9)]))),
         {("run-secrets-from-secret-manager", "chat")}),
    Case("harmless-secret-names", prod(lambda: f.cloud_run(template=with_container(envs=[
        env("CHAT_TOKEN_LIMIT", "4096"), env("CHAT_SECRET_NAME", "chat-api-keys"), env("CHAT_MODEL", "gemini-2.5-flash")]))), set()),
    Case("deletion-protection-off", prod(lambda: f.cloud_run(deletion_protection=False)), {("run-deletion-protection", "chat")}),
    Case("no-vpc-egress", prod(lambda: f.cloud_run(template=f.template(vpc_access=None))), {("run-vpc-egress-all-traffic", "chat")}),
    Case("private-ranges-egress", prod(lambda: f.cloud_run(template=f.template(vpc_access=crun.ServiceTemplateVpcAccessArgs(
        egress="PRIVATE_RANGES_ONLY", network_interfaces=[crun.ServiceTemplateVpcAccessNetworkInterfaceArgs(network="vpc", subnetwork="run")])))),
         {("run-vpc-egress-all-traffic", "chat")}),
    Case("docker-hub-image", prod(lambda: f.cloud_run(template=with_container(image="nginx:latest"))),
         {("run-image-from-registry", "chat"), ("run-image-pinned", "chat")}),
    Case("tagged-image", prod(lambda: f.cloud_run(template=with_container(image=f"{f.REGION}-docker.pkg.dev/{f.PROJECT}/stagewise/chat:latest"))),
         {("run-image-pinned", "chat")}),
    Case("default-url-behind-lb", prod(lambda: f.cloud_run(default_uri_disabled=False)), {("run-default-url-disabled", "chat")}),
    Case("no-service-account", prod(lambda: f.cloud_run(template=f.template(service_account=None))),
         {("run-dedicated-service-account", "chat"), ("iam-no-default-service-accounts", "chat")}),
    Case("no-probes", prod(lambda: f.cloud_run(template=with_container(startup_probe=None, liveness_probe=None))), {("run-health-probes", "chat")}),
    # --- compute, GPU, Vertex -----------------------------------------------------------------------------
    Case("unshielded-vm", prod(lambda: f.vm(shielded_instance_config=None)), {("compute-shielded-vm", "vm")}),
    Case("no-os-login", prod(lambda: f.vm(metadata={"block-project-ssh-keys": "TRUE"})), {("compute-os-login", "vm")}),
    Case("project-ssh-keys", prod(lambda: f.vm(metadata={"enable-oslogin": "TRUE"})), {("compute-block-project-ssh-keys", "vm")}),
    Case("serial-port", prod(lambda: f.vm(metadata={"enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE", "serial-port-enable": "TRUE"})),
         {("compute-no-serial-port", "vm")}),
    Case("ip-forwarding", prod(lambda: f.vm(can_ip_forward=True)), {("compute-no-ip-forwarding", "vm")}),
    Case("external-ip", prod(lambda: f.vm(network_interfaces=[compute.InstanceNetworkInterfaceArgs(
        subnetwork="subnet", access_configs=[compute.InstanceNetworkInterfaceAccessConfigArgs()])])), {("compute-no-external-ip", "vm")}),
    Case("gpu-live-migrate", prod(lambda: f.vm(machine_type="g2-standard-8",
                                               guest_accelerators=[compute.InstanceGuestAcceleratorArgs(type="nvidia-l4", count=1)])),
         {("compute-gpu-terminate-on-maintenance", "vm"), ("cost-gpu-uptime-guard", "vm")}),
    Case("gpu-template-live-migrate", prod(lambda: f.gpu_group(template_overrides={"scheduling": None})),
         {("compute-gpu-terminate-on-maintenance", "gpu-template")}),
    Case("big-machine", prod(lambda: f.vm(machine_type="n1-highmem-96")), {("compute-machine-type-allowlist", "vm")}),
    Case("vertex-machine", prod(lambda: f.model_garden(machine="a3-highgpu-8g")), {("compute-machine-type-allowlist", "gemma")}),
    Case("h100", prod(lambda: f.model_garden(accelerator="NVIDIA_H100_80GB")), {("compute-accelerator-allowlist", "gemma")}),
    Case("two-gpus-per-replica", prod(lambda: f.model_garden(count=2)), {("compute-accelerator-allowlist", "gemma")}),
    Case("mig-without-autohealing", prod(lambda: f.gpu_group(auto_healing_policies=None)), {("compute-mig-autohealing", "gpu")}),
    Case("public-vertex-endpoint", prod(lambda: f.model_garden(private=False)), {("vertex-endpoint-private", "gemma")}),
    # --- secrets ----------------------------------------------------------------------------------------
    Case("auto-replication", prod(lambda: f.secret(replication=secretmanager.SecretReplicationArgs(auto=secretmanager.SecretReplicationAutoArgs()))),
         {("secret-replication-locations", "api-keys")}),
    Case("replica-abroad", prod(lambda: f.secret(replication=secretmanager.SecretReplicationArgs(
        user_managed=secretmanager.SecretReplicationUserManagedArgs(replicas=[secretmanager.SecretReplicationUserManagedReplicaArgs(location="asia-east1")])))),
         {("secret-replication-locations", "api-keys")}),
    Case("rotation-required-missing", prod(lambda: f.secret(labels=f.labels(rotation="required"))), {("secret-rotation", "api-keys")}),
    Case("rotation-too-slow", prod(lambda: f.secret(labels=f.labels(rotation="required"), topics=[secretmanager.SecretTopicArgs(name="projects/p/topics/rotate")],
                                                    rotation=secretmanager.SecretRotationArgs(rotation_period=f"{200 * f.DAY}s", next_rotation_time="2030-01-01T00:00:00Z"))),
         {("secret-rotation", "api-keys")}),
    Case("rotation-ok", prod(lambda: f.secret(labels=f.labels(rotation="required"), topics=[secretmanager.SecretTopicArgs(name="projects/p/topics/rotate")],
                                              rotation=secretmanager.SecretRotationArgs(rotation_period=f"{30 * f.DAY}s", next_rotation_time="2030-01-01T00:00:00Z"))),
         set()),
    Case("rotation-by-config", prod(lambda: f.secret()), {("secret-rotation", "api-keys")},
         overrides={"secret-rotation": {"enforcementLevel": "mandatory", "requiredSecretIds": ["api-keys"]}}),
    Case("inline-secret-version", prod(lambda: secretmanager.SecretVersion("v1", secret=f"projects/{f.PROJECT}/secrets/api-keys", secret_data="hunter2-value")),
         {("secret-no-inline-versions", "v1")}),
    # --- observability ------------------------------------------------------------------------------------
    Case("unwatched-service", prod(lambda: f.cloud_run(alert=False)), {("obs-alert-coverage", "chat")}),
    Case("watched-through-log-metric", prod(metric_covered_service), set()),
    Case("alert-disabled", prod(lambda: f.cloud_run(alert=False), lambda: f.alert_policy("chat-alert", 'resource.labels.service_name="chat"', enabled=False)),
         {("obs-alert-coverage", "chat"), ("obs-alert-has-channel", "chat-alert")}),
    Case("alert-for-other-service", prod(lambda: f.cloud_run(alert=False), lambda: f.alert_policy("other", 'resource.labels.service_name="chat-admin"')),
         {("obs-alert-coverage", "chat")}),
    Case("unwatched-gpu-group", prod(lambda: f.gpu_group(alert=False)), {("obs-alert-coverage", "gpu")}),
    Case("silent-alert", prod(lambda: f.cloud_run(), lambda: f.alert_policy("quiet", 'resource.labels.service_name="chat"', notification_channels=[])),
         {("obs-alert-has-channel", "quiet")}),
    Case("no-log-sink", frame_without("sink"), {("obs-log-sink-retained", STACK)}),
    Case("sink-to-unretained-bucket", lambda: (frame_without("sink")(), f.bucket("plain"),
                                               logging.ProjectSink("plain-sink", project=f.PROJECT, destination="storage.googleapis.com/plain")),
         {("obs-log-sink-retained", STACK)}),
    Case("sink-to-log-bucket", lambda: (frame_without("sink")(), f.log_bucket(), logging.ProjectSink(
        "log-sink", project=f.PROJECT, destination=f"logging.googleapis.com/projects/{f.PROJECT}/locations/global/buckets/stagewise")), set()),
    Case("short-log-bucket", prod(lambda: f.log_bucket(retention_days=7)), {("obs-log-bucket-retention", "log-bucket")}),
    Case("unlocked-log-bucket", prod(lambda: f.log_bucket()), {("obs-log-bucket-retention", "log-bucket")},
         overrides={"obs-log-bucket-retention": {"enforcementLevel": "mandatory", "lockRequired": True}}),
    Case("shared-writer-sink", prod(lambda: logging.ProjectSink("shared", project=f.PROJECT, destination="storage.googleapis.com/frame-logs",
                                                                unique_writer_identity=False)), {("obs-sink-unique-writer", "shared")}),
    Case("unlabelled-secret", prod(lambda: f.secret(labels={"env": "prod"})), {("obs-required-labels", "api-keys")}),
    Case("wrong-env-label", prod(lambda: f.secret(labels=f.labels("staging"))), {("obs-required-labels", "api-keys")}),
    # --- cost ---------------------------------------------------------------------------------------------
    Case("too-many-instances", prod(lambda: f.cloud_run(template=f.template(scaling=scaling(1, 80)))), {("cost-run-max-instances", "chat")}),
    Case("unbounded-instances", prod(lambda: f.cloud_run(template=f.template(scaling=scaling(1, None)))), {("cost-run-max-instances", "chat")}),
    Case("too-warm", prod(lambda: f.cloud_run(template=f.template(scaling=scaling(8, 10)))), {("cost-run-min-instances", "chat")}),
    Case("warm-in-staging", lambda: (f.frame("staging"), f.cloud_run(stage="staging")), {("cost-run-min-instances", "chat")}, stage="staging"),
    Case("cpu-always-on-staging", lambda: (f.frame("staging"), f.cloud_run(stage="staging", template=f.template(
        scaling=scaling(0, 5), containers=[f.container(resources=crun.ServiceTemplateContainerResourcesArgs(limits={"cpu": "1"}, cpu_idle=False))]))),
         {("cost-run-cpu-throttling", "chat")}, stage="staging"),
    Case("gpu-service-too-wide", prod(lambda: gpu_run(10)), {("cost-gpu-per-service", "gpu-chat"), ("cost-gpu-stack-total", STACK)}),
    Case("gpu-service-within-cap", prod(lambda: gpu_run(3)), set()),
    Case("gpus-add-up", prod(lambda: f.gpu_group(max_replicas=5), lambda: f.model_garden(max_replicas=4)), {("cost-gpu-stack-total", STACK)}),
    Case("mig-too-big", prod(lambda: f.gpu_group(max_replicas=7)), {("cost-mig-size-cap", "gpu-autoscaler")}),
    Case("gpu-vm-in-mvp", lambda: (f.frame("mvp"), f.vm(stage="mvp")), {("cost-resource-type-denylist", "vm")}, stage="mvp"),
    Case("run-in-asia", prod(lambda: f.cloud_run(location="asia-east1")), {("cost-region-allowlist", "chat")}),
    Case("vm-in-asia-zone", prod(lambda: f.vm(zone="asia-east1-b")), {("cost-region-allowlist", "vm")}),
    Case("no-budget", frame_without("budget"), {("cost-budget", STACK)}),
    Case("budget-without-thresholds", frame_without("thresholds"), {("cost-budget", "frame-budget")}),
    Case("registry-without-cleanup", prod(lambda: f.repository(cleanup_policies=None)), {("cost-registry-cleanup", "repo")}),
    Case("registry-cleanup-dry-run", prod(lambda: f.repository(cleanup_policy_dry_run=True)), {("cost-registry-cleanup", "repo")}),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exact_verdicts(case: Case) -> None:
    assert f.violations(case.program, case.stage, case.overrides) == case.expected


def test_every_rule_has_a_violating_case() -> None:
    import test_policy_evasions
    import test_policy_guardrails
    import test_policy_models
    import test_policy_new_rules
    import test_policy_partner_ranges
    import test_policy_slo

    every = [*CASES, *test_policy_evasions.CASES, *test_policy_new_rules.CASES, *test_policy_partner_ranges.CASES,
             *test_policy_guardrails.CASES, *test_policy_slo.CASES, *test_policy_models.CASES]
    covered = {rule for case in every for rule, _ in case.expected} | {"cost-resource-type-allowlist"}  # test_policy_allowlist.py
    missing = sorted({rule.name for rule in load_pack().RULES} - covered)
    assert not missing, f"rules without a violating case: {missing}"


def test_messages_name_the_resource_and_the_fix_and_never_echo_secrets() -> None:
    secret_value = "sk-proj-" + "Z9y8X7w6" * 4
    program = prod(
        lambda: f.cloud_run(template=with_container(envs=[env("OPENAI_API_KEY", secret_value)])),
        lambda: secretmanager.SecretVersion("v1", secret=f"projects/{f.PROJECT}/secrets/api-keys", secret_data="hunter2-value"),
    )
    verdicts = f.report(program).verdicts
    assert {v.policy for v in verdicts} == {"run-secrets-from-secret-manager", "secret-no-inline-versions"}
    for verdict in verdicts:
        assert verdict.message.startswith(f"{verdict.resource_name} (")
        assert "Fix: " in verdict.message
        assert secret_value not in verdict.message and "hunter2" not in verdict.message
    assert "OPENAI_API_KEY" in next(v.message for v in verdicts if v.policy == "run-secrets-from-secret-manager")
