"""The fixtures issue 16's families still lacked (tests/test_policy_family_parity.py says which): mistakes
made through our components, and the raw pulumi_gcp counterparts. Where a component cannot express the
mistake (it has no option for it), the case is what a reviewer would actually write: a stack
transformation over the component's resources (pulumi.runtime.register_stack_transformation), or a raw
resource wired to the component's outputs. Each case asserts the exact (rule, resource) verdicts of the
real analyzer under the stage's config; preview cases run as `pulumi preview` of a first deploy does
(computed values unknown) and compare the "cannot verify" verdicts."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import policy_fixtures as f
import pulumi
import pulumi_gcp as gcp
import pytest
import test_policy_evasions as ev
import test_policy_new_rules as nr
from policy_fixtures import compute, crun, prod

from bootstrap.blocks import GithubFederation, GithubFederationArgs, PulumiBackend, PulumiBackendArgs
from stagewise.components.audit_logs import ProjectAuditLogs, ProjectAuditLogsArgs
from stagewise.components.buckets import BucketSet, BucketSetArgs, BucketSpec
from stagewise.components.chat_service import ChatService, ChatServiceArgs, VpcEgress
from stagewise.components.inference import CloudRunGpu, GpuVmPool, VertexModelGarden
from stagewise.components.firestore_export import FirestoreExport
from stagewise.components.personas import PersonaAccess, PersonaTargets
from stagewise.engine.record import run_program
from stagewise.policy.allowlist import RULE as ALLOWLIST
from stagewise.policy.analyzer import stage_config_path

STACK = ""


@dataclass(frozen=True)
class Case:
    id: str
    program: Callable[[], None]
    expected: set[tuple[str, str]]
    stage: str = "prod"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    families: tuple[str, ...] = ()
    preview: bool = False


# --- how a reviewer changes what a component declares ------------------------------------------------------

def transformed(program: Callable[[], object], type_token: str, change: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
    """``program`` with a stack transformation that edits every ``type_token`` resource's inputs in place."""

    def transformation(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != type_token:
            return None
        props = dict(args.props)
        change(props)
        return pulumi.ResourceTransformationResult(props, args.opts)

    def run() -> None:
        pulumi.runtime.register_stack_transformation(transformation)
        program()

    return run


def captured(type_token: str) -> tuple[list[pulumi.Resource], Callable[[], None]]:
    """A list that collects each ``type_token`` resource as components declare it, and the registration."""
    found: list[pulumi.Resource] = []

    def transformation(args: pulumi.ResourceTransformationArgs) -> None:
        if args.type_ == type_token:
            found.append(args.resource)
        return None

    return found, lambda: pulumi.runtime.register_stack_transformation(transformation)


def set_in(value: Any, name: str, item: Any) -> None:
    pulumi.set(value, name, item)


# --- components the cases use ----------------------------------------------------------------------------

SCHEDULED_POOL = GpuVmPool(model="google/gemma-3-4b-it", region=f.REGION, network=ev.NETWORK, min_replicas=0, max_replicas=2,
                           schedule=ev.WORKING_HOURS, fallback=ev.FALLBACK)


def scheduled_pool() -> None:
    ev.inference(SCHEDULED_POOL)()
    f.alert_policy("llm-alert", 'metadata.system_labels.name=starts_with("llm-vm")')


def cloudrun_gpu() -> None:
    ev.inference(CloudRunGpu(model="google/gemma-3-4b-it", region=f.REGION, max_instances=3, fallback=ev.FALLBACK,
                             server_image=ev.PINNED_SERVER, vpc_egress=ev.EGRESS, deletion_protection=True))()
    f.alert_policy("llm-alert", 'resource.labels.service_name="inference"')


def from_component_template(**overrides: Any) -> Callable[[], None]:
    """An InstanceFromTemplate made from the GPU pool's own template (its output, as a reviewer wires it)."""

    def program() -> None:
        templates, register = captured("gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")
        register()
        scheduled_pool()
        compute.InstanceFromTemplate("vm-from-pool", project=f.PROJECT, zone=f"{f.REGION}-a",
                                     source_instance_template=templates[0].self_link,  # type: ignore[attr-defined]
                                     **overrides)

    return program


def keyed_template_disks(props: dict[str, Any]) -> None:
    for disk in props["disks"]:
        set_in(disk, "disk_encryption_key", compute.RegionInstanceTemplateDiskDiskEncryptionKeyArgs(kms_key_self_link=f.KMS_KEY))


def without_accelerators(props: dict[str, Any]) -> None:
    props["guest_accelerators"] = None


def buckets(**specs: BucketSpec) -> Callable[[], None]:
    return lambda: BucketSet("buckets", BucketSetArgs(project=f.PROJECT, name_prefix="stagewise-", labels=f.labels(), buckets=specs))


LOGS = BucketSpec(bucket_class="logs", location="US-CENTRAL1", retention_days=30, delete_after_days=30, kms_key=f.KMS_KEY)
DATA_NO_KEY = BucketSpec(bucket_class="data", location="US-CENTRAL1")


def relabelled(props: dict[str, Any]) -> None:
    props["labels"] = {**props["labels"], "bucket-class": "Logs"}


def personas(**members: list[str]) -> Callable[[], None]:
    def program() -> None:
        ev.chat()()
        PersonaAccess("personas", f.PROJECT, members, PersonaTargets(services={}, partner_service=None, analytics_buckets={},
                                                                     all_buckets={}, partner_secrets={}, region=f.REGION))

    return program


def raise_people_to_security_admin(props: dict[str, Any]) -> None:
    """A persona's project-level viewer grant, raised by hand (the component has no admin role to give)."""
    if str(props.get("member", "")).startswith("group:"):
        props["role"] = "roles/iam.securityAdmin"


def frame_without_audit(stage: str = "prod") -> None:
    f.bucket("frame-logs", "logs", stage=stage)
    gcp.logging.ProjectSink("frame-sink", project=f.PROJECT, name="all-logs", destination="storage.googleapis.com/frame-logs",
                            unique_writer_identity=True)
    ev.budget()


def audit_logs(**args: Any) -> Callable[[], None]:
    return lambda: (frame_without_audit(), ProjectAuditLogs("audit-logs", ProjectAuditLogsArgs(project=f.PROJECT, **args)))


def backend(rotation_days: int) -> Callable[[], object]:
    return lambda: PulumiBackend("backend", PulumiBackendArgs(
        project=f.PROJECT, bucket_name="stagewise-state", bucket_location="US-CENTRAL1", noncurrent_versions=20,
        key_ring="pulumi", key="state", key_location=f.REGION, rotation_days=rotation_days, labels=f.labels()))


def federation() -> None:
    GithubFederation("github", GithubFederationArgs(project=f.PROJECT, project_number="123456789012", pool_id="github", provider_id="actions",
                                                    repository="acme/stagewise", repository_id="123", owner_id="456"))


def allowlist(stage: str) -> dict[str, Any]:
    """The stage's real type allowlist (the rule tests run with it off)."""
    return {ALLOWLIST: json.loads(stage_config_path(stage).read_text())[ALLOWLIST]}


DOMAINS = {"iam-allowed-domains": {"enforcementLevel": "mandatory", "allowedDomains": ["example.com"]}}


def custom_role_grant(literal: bool) -> Callable[[], None]:
    """A grant of a custom role: by the role's output (unknown at a first preview) or by its name, known upfront."""

    def program() -> None:
        role = gcp.projects.IAMCustomRole("role", project=f.PROJECT, role_id="exporter", title="exporter",
                                          permissions=["datastore.databases.export", "datastore.operations.get"])
        name: pulumi.Input[str] = f"projects/{f.PROJECT}/roles/exporter" if literal else role.name
        gcp.projects.IAMMember("grant", project=f.PROJECT, role=name, member=f.SA_MEMBER,
                               opts=pulumi.ResourceOptions(depends_on=[role]))

    return program


def firestore_export_granting_by_output() -> None:
    """The export grant naming its role by the custom role's output, as it did before issue 16."""
    roles, register = captured("gcp:projects/iAMCustomRole:IAMCustomRole")
    register()
    transformed(nr.firestore_export, "gcp:projects/iAMMember:IAMMember",
                lambda p: p.update(role=roles[0].name))()  # type: ignore[attr-defined]


GRANT_UNKNOWN = {("iam-no-basic-roles", "grant"), ("iam-no-project-impersonation", "grant"), ("iam-data-roles-resource-level", "grant")}

CASES = [
    # --- the provider's default service account ---------------------------------------------------------------------
    Case("component-chat-without-its-account", prod(transformed(ev.chat(), "gcp:cloudrunv2/service:Service",
                                                                lambda p: set_in(p["template"], "service_account", None))),
         {("iam-no-default-service-accounts", "chat"), ("run-dedicated-service-account", "chat")}, families=("default-service-account",)),
    # --- bucket class labels --------------------------------------------------------------------------------------------
    Case("exact-class-labels", prod(lambda: (f.bucket("l", "logs"), f.bucket("bk", "backups"))), set(), families=("bucket-class-label",)),
    Case("component-bucket-relabelled", prod(transformed(buckets(logs=LOGS), "gcp:storage/bucket:Bucket", relabelled)),
         {("storage-bucket-class-known", "buckets-logs")}, families=("bucket-class-label",)),
    # --- log routing ------------------------------------------------------------------------------------------------
    Case("component-sink-disabled", transformed(ev.component_sink("logs"), "gcp:logging/projectSink:ProjectSink",
                                                lambda p: p.update(disabled=True)),
         {("obs-log-sink-retained", STACK)}, families=("disabled-sink",)),
    Case("sink-to-an-unretained-bucket", lambda: (f.audit_config(), f.bucket("frame-data", "data"), gcp.logging.ProjectSink(
        "frame-sink", project=f.PROJECT, name="all-logs", destination="storage.googleapis.com/frame-data"), ev.budget()),
         {("obs-log-sink-retained", STACK)}, families=("disabled-sink",)),
    # --- GPUs that come with the machine type, raw ----------------------------------------------------------------------
    Case("g2-template-without-accelerators", prod(lambda: f.gpu_group(max_replicas=4, template_overrides={
        "machine_type": "g2-standard-48", "guest_accelerators": None})),
         {("compute-accelerator-allowlist", "gpu-template"), ("cost-gpu-stack-total", STACK)}, families=("gpus-machine-type",)),
    # --- GPUs from Cloud Run Jobs next to a component's GPUs ---------------------------------------------------------
    Case("component-gpus-plus-job-over-the-stack-cap", prod(cloudrun_gpu, lambda: ev.job(containers=[ev.gpu_job_container()], node_selector="nvidia-l4",
                                                                                        task_count=10, parallelism=6)),
         {("cost-gpu-stack-total", STACK)}, families=("gpus-cloud-run-jobs",)),
    Case("component-gpus-plus-job-within-caps", prod(cloudrun_gpu, lambda: ev.job(containers=[ev.gpu_job_container()], node_selector="nvidia-l4")),
         set(), families=("gpus-cloud-run-jobs",)),
    # --- GPUs from the machine type, through the pool's template ------------------------------------------------------
    Case("component-pool-accelerators-stripped", prod(transformed(ev.inference(GpuVmPool(
        model="google/gemma-3-4b-it", region=f.REGION, network=ev.NETWORK, machine_type="g2-standard-24", accelerator_count=2, min_replicas=0,
        max_replicas=4, schedule=ev.WORKING_HOURS, fallback=ev.FALLBACK)), "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
        without_accelerators), lambda: f.alert_policy("llm-alert", 'metadata.system_labels.name=starts_with("llm-vm")')),
         {("compute-accelerator-allowlist", "llm-template"), ("compute-disk-cmek", "llm-template")}, families=("gpus-machine-type",)),
    # --- GPUs from a template referenced by name, next to a component's ----------------------------------------------------
    Case("component-pool-plus-mig-by-name-over-cap", prod(scheduled_pool, lambda: ev.template_by_name(max_replicas=8)),
         {("cost-gpu-stack-total", STACK), ("compute-disk-cmek", "llm-template"), ("cost-mig-size-cap", "gpu-autoscaler")}, families=("gpus-template-by-name",)),
    Case("component-pool-plus-mig-by-name-within-caps", prod(scheduled_pool, lambda: ev.template_by_name(max_replicas=2)),
         {("compute-disk-cmek", "llm-template")}, families=("gpus-template-by-name",)),
    # --- Cloud Run manual scaling on the component's service -------------------------------------------------------------------
    Case("component-chat-manual-scaling-over-caps", prod(transformed(ev.chat(), "gcp:cloudrunv2/service:Service", lambda p: p.update(
        scaling=crun.ServiceScalingArgs(scaling_mode="MANUAL", manual_instance_count=60)))),
         {("cost-run-max-instances", "chat"), ("cost-run-min-instances", "chat")}, families=("run-manual-scaling",)),
    Case("component-chat-manual-scaling-within-caps", prod(transformed(ev.chat(), "gcp:cloudrunv2/service:Service", lambda p: p.update(
        scaling=crun.ServiceScalingArgs(scaling_mode="MANUAL", manual_instance_count=2)))), set(), families=("run-manual-scaling",)),
    # --- InstanceFromTemplate from the pool's own template ------------------------------------------------------------------
    Case("component-template-vm-inherits", prod(from_component_template(scheduling=compute.InstanceFromTemplateSchedulingArgs(
        on_host_maintenance="TERMINATE", max_run_duration=compute.InstanceFromTemplateSchedulingMaxRunDurationArgs(seconds=3600)))),
         {("compute-disk-cmek", "llm-template")}, families=("type-instance-from-template",)),
    Case("component-template-vm-opens-up", prod(from_component_template(
        scheduling=compute.InstanceFromTemplateSchedulingArgs(
            on_host_maintenance="TERMINATE", max_run_duration=compute.InstanceFromTemplateSchedulingMaxRunDurationArgs(seconds=3600)),
        metadata={"serial-port-enable": "TRUE"}, network_interfaces=[compute.InstanceFromTemplateNetworkInterfaceArgs(
            subnetwork="subnet", access_configs=[compute.InstanceFromTemplateNetworkInterfaceAccessConfigArgs()])])),
         {("compute-disk-cmek", "llm-template"), ("compute-no-serial-port", "vm-from-pool"), ("compute-no-external-ip", "vm-from-pool"),
          ("compute-os-login", "vm-from-pool"), ("compute-block-project-ssh-keys", "vm-from-pool")}, families=("type-instance-from-template",)),
    # --- project metadata next to the VPC component -------------------------------------------------------------------------------
    Case("component-vpc-iap-ssh-oslogin-off", prod(lambda: ev.vpc(), lambda: gcp.compute.ProjectMetadataItem(
        "item", project=f.PROJECT, key="enable-oslogin", value="FALSE")), {("compute-os-login", "item")}, families=("type-project-metadata",)),
    Case("component-vpc-iap-ssh-oslogin-on", prod(lambda: ev.vpc(), lambda: gcp.compute.ProjectMetadataItem(
        "item", project=f.PROJECT, key="enable-oslogin", value="TRUE")), set(), families=("type-project-metadata",)),
    # --- the v1 IAM API on the component's (v2) service ------------------------------------------------------------------------
    Case("component-chat-public-through-v1-iam", prod(ev.chat(ingress="all", default_uri_disabled=False), lambda: gcp.cloudrun.IamMember(
        "v1-public", project=f.PROJECT, location=f.REGION, service="chat", role="roles/run.invoker", member="allUsers")),
         {("run-ingress-restricted", "chat"), ("run-invoker-not-public", "v1-public")}, families=("type-cloud-run-v1",)),
    Case("component-chat-behind-lb-v1-iam", prod(ev.chat(), lambda: gcp.cloudrun.IamMember(
        "v1-public", project=f.PROJECT, location=f.REGION, service="chat", role="roles/run.invoker", member="allUsers")),
         set(), families=("type-cloud-run-v1",)),
    # --- a resource pool next to the Vertex component ---------------------------------------------------------------------------
    Case("component-vertex-plus-pool-over-caps", prod(ev.inference(VertexModelGarden(model="google/gemma-3-4b-it", region=f.REGION, accept_eula=True,
                                                                                   fallback=ev.FALLBACK)),
                                                     lambda: ev.resource_pool(replicas=6, count=2)),
         {("compute-accelerator-allowlist", "pool"), ("cost-gpu-per-service", "pool"), ("cost-gpu-stack-total", STACK),
          ("vertex-endpoint-private", "llm")}, families=("type-vertex-resource-pool",)),
    Case("component-vertex-plus-pool-within-caps", prod(ev.inference(VertexModelGarden(model="google/gemma-3-4b-it", region=f.REGION, accept_eula=True,
                                                                                     fallback=ev.FALLBACK)),
                                                       lambda: ev.resource_pool(replicas=1, count=1)),
         {("vertex-endpoint-private", "llm")}, families=("type-vertex-resource-pool",)),
    # --- network firewall policy rules on the VPC component's network ----------------------------------------------------------
    Case("component-vpc-plus-policy-rule-world-ssh", prod(lambda: ev.vpc(), lambda: ev.policy_rule("ngfw-ssh", ["0.0.0.0/0"], "22")),
         {("net-no-world-ingress", "ngfw-ssh"), ("net-admin-ports-iap-only", "ngfw-ssh")}, families=("type-network-firewall-policy",)),
    Case("component-vpc-plus-policy-rule-iap-ssh", prod(lambda: ev.vpc(), lambda: ev.policy_rule("ngfw-iap", ["35.235.240.0/20"], "22")),
         set(), families=("type-network-firewall-policy",)),
    Case("component-vpc-plus-port-range", prod(ev.vpc_plus(source_ranges=["10.10.0.0/24"], allows=ev.tcp("8000-8100"))), set(),
         families=("all-ports",)),
    # --- people and admin roles, through the persona component -------------------------------------------------------------------
    # The admins persona manages log routing and alerting project-wide (configWriter, monitoring.editor): not admin roles.
    Case("component-persona-admins", prod(personas(admins=["group:ops@example.com"])), set(), families=("people-admin-roles",)),
    Case("component-persona-role-raised", prod(transformed(personas(developers=["group:devs@example.com"]), "gcp:projects/iAMMember:IAMMember",
                                                           raise_people_to_security_admin)),
         {("iam-people-no-admin-roles", "personas-developers-logging-viewer-group-devs-example-com"),
          ("iam-people-no-admin-roles", "personas-developers-monitoring-viewer-group-devs-example-com")}, families=("people-admin-roles",)),
    Case("component-persona-developers", prod(personas(developers=["group:devs@example.com"])), set(), families=("people-admin-roles",)),
    # --- a custom role, broadened on the component ---------------------------------------------------------------------------------
    Case("component-export-role-broadened", prod(transformed(nr.firestore_export, "gcp:projects/iAMCustomRole:IAMCustomRole", lambda p: p.update(
        permissions=[*p["permissions"], "iam.serviceAccounts.actAs"]))), {("iam-custom-role-least-privilege", "firestore-export-role")},
         families=("custom-role-breadth",)),
    # --- audit logs through ProjectAuditLogs -----------------------------------------------------------------------------------------
    Case("component-audit-logs", audit_logs(), set(), families=("audit-config",)),
    Case("component-audit-logs-without-writes", audit_logs(log_types=("ADMIN_READ", "DATA_READ")), {("obs-audit-log-config", "audit-logs")},
         families=("audit-config",)),
    # --- CMEK on the pool's disks ---------------------------------------------------------------------------------------------------
    Case("component-pool-disks-keyed", prod(transformed(scheduled_pool, "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
                                                        keyed_template_disks)), set(), families=("disk-cmek",)),
    # --- CMEK on prod buckets ---------------------------------------------------------------------------------------------------------
    Case("data-bucket-without-key", prod(lambda: f.bucket("d", "data", encryption=None)), {("storage-cmek", "d")}, families=("bucket-cmek",)),
    Case("logs-bucket-without-key", prod(lambda: f.bucket("l", "logs", encryption=None)), {("storage-cmek", "l")}, families=("bucket-cmek",)),
    Case("backups-bucket-without-key", prod(lambda: f.bucket("bk", "backups", encryption=None)), {("storage-cmek", "bk")}, families=("bucket-cmek",)),
    Case("data-bucket-with-key", prod(lambda: f.bucket("d", "data")), set(), families=("bucket-cmek",)),
    Case("component-data-bucket-without-key", prod(buckets(data=DATA_NO_KEY)), {("storage-cmek", "buckets-data")}, families=("bucket-cmek",)),
    # --- KMS rotation through the bootstrap's backend -------------------------------------------------------------------------------
    Case("component-backend-key-rotates-yearly", prod(backend(365)), {("kms-key-rotation", "backend-key"), ("storage-cmek", "backend-state")},
         families=("kms-rotation",)),
    # --- the federation's condition, dropped on the component ------------------------------------------------------------------------
    Case("component-federation-condition-dropped", prod(transformed(
        federation, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", lambda p: p.update(attribute_condition=None))),
         {("iam-wif-attribute-condition", "github-provider")}, families=("wif-condition",)),
    # --- the per-stage type allowlist ---------------------------------------------------------------------------------------------------
    Case("services-no-stage-needs", prod(lambda: gcp.sql.DatabaseInstance(
        "sql", project=f.PROJECT, region=f.REGION, database_version="POSTGRES_16", settings=gcp.sql.DatabaseInstanceSettingsArgs(tier="db-f1-micro"))),
         {(ALLOWLIST, "sql")}, overrides=allowlist("prod"), families=("type-allowlist",)),
    Case("cloud-functions-in-mvp", lambda: (f.frame("mvp"), gcp.cloudfunctionsv2.Function("fn", project=f.PROJECT, location=f.REGION, name="fn")),
         {(ALLOWLIST, "fn"), (ALLOWLIST, "frame-sink")}, stage="mvp", overrides=allowlist("mvp"), families=("type-allowlist",)),
    Case("types-the-stage-declares", prod(lambda: f.bucket("d", "data"), lambda: f.secret()), set(), overrides=allowlist("prod"),
         families=("type-allowlist",)),
    # (mvp routes no logs to a bucket: the sink rule's advisory verdict)
    Case("raw-types-mvp-declares", lambda: (f.bucket("d", "data", stage="mvp"), f.secret(stage="mvp")), {("obs-log-sink-retained", STACK)}, stage="mvp",
         overrides=allowlist("mvp"), families=("type-allowlist",)),
    Case("component-gpu-pool-in-mvp", lambda: ev.inference(SCHEDULED_POOL)(),
         {*{(ALLOWLIST, name) for name in ("llm-autoscaler", "llm-backend", "llm-clients", "llm-health", "llm-ilb", "llm-ilb-ip", "llm-mig",
                                           "llm-template")},
          ("compute-accelerator-allowlist", "llm-template"), ("compute-machine-type-allowlist", "llm-template"), ("cost-gpu-stack-total", STACK),
          ("cost-mig-size-cap", "llm-autoscaler"), ("cost-resource-type-denylist", "llm-mig"), ("cost-resource-type-denylist", "llm-template"),
          ("obs-alert-coverage", "llm-mig"), ("obs-log-sink-retained", STACK), ("obs-required-labels", "llm-template")},
         stage="mvp", overrides=allowlist("mvp"),
         families=("type-allowlist",)),
    Case("component-chat-in-mvp", lambda: ChatService("chat", ChatServiceArgs(project=f.PROJECT, region=f.REGION, image=f.IMAGE,
                                                                           labels=f.labels("mvp"))),
         {("obs-log-sink-retained", STACK), ("obs-alert-coverage", "chat")}, stage="mvp", overrides=allowlist("mvp"),
         families=("type-allowlist",)),
    # --- allowed domains -----------------------------------------------------------------------------------------------------------------
    Case("consumer-domain-group", prod(lambda: f.project_member("gmail", "roles/logging.viewer", "group:ops@gmail.com")),
         {("iam-allowed-domains", "gmail")}, families=("allowed-domains",)),
    Case("partner-domain-outside-the-list", prod(lambda: f.project_member("partner", "roles/logging.viewer", "group:ops@partner.org")),
         {("iam-allowed-domains", "partner")}, overrides=DOMAINS, families=("allowed-domains",)),
    Case("own-domain-group", prod(lambda: f.project_member("ours", "roles/logging.viewer", "group:ops@example.com")), set(), overrides=DOMAINS,
         families=("allowed-domains",)),
    Case("component-persona-consumer-domain", prod(personas(developers=["group:devs@gmail.com"])),
         {("iam-allowed-domains", "personas-developers-logging-viewer-group-devs-gmail-com"),
          ("iam-allowed-domains", "personas-developers-monitoring-viewer-group-devs-gmail-com")}, families=("allowed-domains",)),
    Case("component-persona-own-domain", prod(personas(developers=["group:devs@example.com"])), set(), overrides=DOMAINS,
         families=("allowed-domains",)),
    # --- the default network -----------------------------------------------------------------------------------------------------------------
    Case("vm-on-its-own-subnet", prod(lambda: f.vm()), set(), families=("default-network",)),
    Case("component-chat-egress-on-default", prod(ev.chat(vpc_egress=VpcEgress(network="default", subnetwork="default"))),
         {("net-no-default-network", "chat")}, families=("default-network",)),
    # --- grants a first preview can check ---------------------------------------------------------------------------------------------------
    Case("grant-of-a-custom-role-by-output", prod(custom_role_grant(literal=False)), GRANT_UNKNOWN, preview=True,
         families=("preview-verifiable-grants",)),
    Case("grant-of-a-custom-role-by-name", prod(custom_role_grant(literal=True)), set(), preview=True, families=("preview-verifiable-grants",)),
    Case("grant-of-a-predefined-role", prod(lambda: f.project_member("grant", "roles/logging.viewer")), set(), preview=True,
         families=("preview-verifiable-grants",)),
    Case("component-firestore-export-at-preview", prod(nr.firestore_export), set(), preview=True, families=("preview-verifiable-grants",)),
    Case("component-firestore-export-granting-by-output", prod(firestore_export_granting_by_output),
         {(rule, "firestore-export-exporter") for rule, _ in GRANT_UNKNOWN}, preview=True, families=("preview-verifiable-grants",)),
]


def verdicts(case: Case) -> set[tuple[str, str]]:
    if not case.preview:
        return f.violations(case.program, case.stage, case.overrides)
    run = run_program(case.program, project="stagewise", stack=case.stage,
                      config={**f.CONFIG, "stagewise:stage": case.stage}, preview=True)
    return {(v.policy, v.resource_name) for v in f.analyzer(case.stage, case.overrides).evaluate(run).verdicts
            if "cannot verify" in v.message}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exact_verdicts(case: Case) -> None:
    assert verdicts(case) == case.expected
