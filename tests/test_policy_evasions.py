"""The mistakes of issue 16, as a reviewer would write them: each family has a failing and a passing
program through our components and through raw pulumi_gcp resources, and the exact (rule, resource)
verdicts the real analyzer reports under the stage config (the type allowlist off: it has its own
tests). "component + raw" cases bolt a raw mistake onto a component's outputs, where the component
itself cannot express it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import policy_fixtures as f
import pulumi_gcp as gcp
import pytest
from policy_fixtures import compute, crun, logging, prod, storage

from stagewise.components.buckets import BucketSet, BucketSetArgs, BucketSpec
from stagewise.components.chat_service import ChatService, ChatServiceArgs, VpcEgress
from stagewise.components.inference import CloudRunGpu, GeminiFallback, GpuVmPool, InferenceEndpoint, InferenceEndpointArgs, PrivateNetwork, WorkingHours
from stagewise.components.log_sink import LogSink, LogSinkArgs
from stagewise.components.vpc import SubnetSpec, VpcNetwork, VpcNetworkArgs

STACK = ""


@dataclass(frozen=True)
class Case:
    id: str
    program: Callable[[], None]
    expected: set[tuple[str, str]]
    stage: str = "prod"
    overrides: Mapping[str, Any] = field(default_factory=dict)


def tcp(*ports: str) -> list[compute.FirewallAllowArgs]:
    return [compute.FirewallAllowArgs(protocol="tcp", ports=list(ports) or None)]


def l4(protocol: str, *ports: str) -> list[gcp.compute.NetworkFirewallPolicyRuleMatchLayer4ConfigArgs]:
    return [gcp.compute.NetworkFirewallPolicyRuleMatchLayer4ConfigArgs(ip_protocol=protocol, ports=list(ports) or None)]


def policy_rule(name: str, sources: list[str], *ports: str, **match: Any) -> gcp.compute.NetworkFirewallPolicyRule:
    return gcp.compute.NetworkFirewallPolicyRule(
        name, project=f.PROJECT, firewall_policy="stagewise-policy", priority=1000, action="allow", direction="INGRESS",
        enable_logging=True,
        match=gcp.compute.NetworkFirewallPolicyRuleMatchArgs(src_ip_ranges=sources or None, layer4_configs=l4("tcp", *ports), **match),
    )


def policy_with_rules(name: str, **match: Any) -> gcp.compute.NetworkFirewallPolicyWithRules:
    rule = gcp.compute.NetworkFirewallPolicyWithRulesRuleArgs(
        priority=1000, action="allow", direction="INGRESS", enable_logging=True,
        match=gcp.compute.NetworkFirewallPolicyWithRulesRuleMatchArgs(
            layer4_configs=[gcp.compute.NetworkFirewallPolicyWithRulesRuleMatchLayer4ConfigArgs(ip_protocol="tcp", ports=["443"])],
            **match),
    )
    return gcp.compute.NetworkFirewallPolicyWithRules(name, project=f.PROJECT, rules=[rule])


def vpc(**overrides: Any) -> VpcNetwork:
    args: dict[str, Any] = dict(project=f.PROJECT, subnets=[SubnetSpec(region=f.REGION, cidr="10.10.0.0/24")], iap_ssh=True)
    return VpcNetwork("vpc", VpcNetworkArgs(**{**args, **overrides}))


def vpc_plus(**firewall: Any) -> Callable[[], None]:
    """Our VPC component, plus a raw rule a reviewer would bolt onto its network."""

    def program() -> None:
        network = vpc()
        f.firewall("bolted-on", network=network.network.self_link, **firewall)

    return program


# --- Cloud Run containers ----------------------------------------------------------------------------

def env(name: str, value: str) -> crun.ServiceTemplateContainerEnvArgs:
    return crun.ServiceTemplateContainerEnvArgs(name=name, value=value)


def service_with(**container: Any) -> Callable[[], object]:
    return lambda: f.cloud_run(template=f.template(containers=[f.container(**container)]))


def job(name: str = "batch", *, containers: list[crun.JobTemplateTemplateContainerArgs] | None = None, service_account: str | None = f.SA_EMAIL,
        task_count: int = 1, parallelism: int | None = None, node_selector: str | None = None) -> crun.Job:
    return crun.Job(
        name, project=f.PROJECT, location=f.REGION, name=name, deletion_protection=False, labels=f.labels(),
        template=crun.JobTemplateArgs(
            task_count=task_count, parallelism=parallelism,
            template=crun.JobTemplateTemplateArgs(
                service_account=service_account,
                containers=containers or [crun.JobTemplateTemplateContainerArgs(image=f.IMAGE)],
                node_selector=crun.JobTemplateTemplateNodeSelectorArgs(accelerator=node_selector) if node_selector else None,
            ),
        ),
    )


def job_container(**overrides: Any) -> crun.JobTemplateTemplateContainerArgs:
    return crun.JobTemplateTemplateContainerArgs(**{"image": f.IMAGE, **overrides})


def gpu_job_container() -> crun.JobTemplateTemplateContainerArgs:
    return job_container(resources=crun.JobTemplateTemplateContainerResourcesArgs(limits={"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}))


def run_v1(name: str = "legacy", *, ingress: str = "internal-and-cloud-load-balancing", service_account: str | None = f.SA_EMAIL,
           envs: list[gcp.cloudrun.ServiceTemplateSpecContainerEnvArgs] | None = None, annotations: Mapping[str, str] | None = None,
           limits: Mapping[str, str] | None = None, node_selector: Mapping[str, str] | None = None) -> gcp.cloudrun.Service:
    service = gcp.cloudrun.Service(
        name, project=f.PROJECT, location=f.REGION, name=name,
        metadata=gcp.cloudrun.ServiceMetadataArgs(annotations={"run.googleapis.com/ingress": ingress}),
        template=gcp.cloudrun.ServiceTemplateArgs(
            metadata=gcp.cloudrun.ServiceTemplateMetadataArgs(annotations={"autoscaling.knative.dev/maxScale": "5", **(annotations or {})}),
            spec=gcp.cloudrun.ServiceTemplateSpecArgs(
                service_account_name=service_account, node_selector=node_selector,
                containers=[gcp.cloudrun.ServiceTemplateSpecContainerArgs(
                    image=f.IMAGE, envs=envs,
                    resources=gcp.cloudrun.ServiceTemplateSpecContainerResourcesArgs(limits=limits) if limits else None)],
            ),
        ),
    )
    f.alert_policy(f"{name}-alert", f'resource.labels.service_name="{name}"')
    return service


EGRESS = VpcEgress(network="projects/stagewise-test/global/networks/chat-vpc",
                   subnetwork="projects/stagewise-test/regions/us-central1/subnetworks/chat-vpc-us-central1")
PINNED_SERVER = "docker.io/vllm/vllm-openai@sha256:" + "6d" * 32


def chat(**overrides: Any) -> Callable[[], object]:
    args: dict[str, Any] = dict(project=f.PROJECT, region=f.REGION, image=f.IMAGE, ingress="internal-and-cloud-load-balancing",
                                default_uri_disabled=True, min_instances=0, max_instances=5, deletion_protection=True, labels=f.labels(),
                                secret_env={"CHAT_API_KEYS": "chat-api-keys"}, vpc_egress=EGRESS)

    def program() -> None:
        ChatService("chat", ChatServiceArgs(**{**args, **overrides}))
        f.alert_policy("chat-alert", 'resource.labels.service_name="chat"')

    return program


# --- GPUs ------------------------------------------------------------------------------------------------

NETWORK = PrivateNetwork(network="projects/stagewise-test/global/networks/chat-vpc",
                         subnetwork="projects/stagewise-test/regions/us-central1/subnetworks/chat-vpc-us-central1",
                         client_ranges=("10.10.0.0/24",))
FALLBACK = GeminiFallback(model="gemini-2.5-flash", location=f.REGION)
WORKING_HOURS = WorkingHours("0 8 * * MON-FRI", 10, "UTC")


def inference(mode: Any) -> Callable[[], None]:
    def program() -> None:
        InferenceEndpoint("llm", InferenceEndpointArgs(project=f.PROJECT, mode=mode, labels=f.labels()))

    return program


def bounded_scheduling() -> compute.InstanceSchedulingArgs:
    return compute.InstanceSchedulingArgs(on_host_maintenance="TERMINATE", automatic_restart=False,
                                          max_run_duration=compute.InstanceSchedulingMaxRunDurationArgs(seconds=8 * 3600),
                                          instance_termination_action="STOP")


def template_by_name(max_replicas: int, template: str = "gpu-template-literal", declare: bool = True) -> None:
    """A MIG that names its template by a literal self link, not by the template resource's output."""
    if declare:
        f.gpu_template("gpu-template-literal")
    group = compute.RegionInstanceGroupManager(
        "gpu", project=f.PROJECT, region=f.REGION, base_instance_name="gpu-vm",
        versions=[compute.RegionInstanceGroupManagerVersionArgs(
            instance_template=f"projects/{f.PROJECT}/regions/{f.REGION}/instanceTemplates/{template}", name="primary")],
        auto_healing_policies=compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(health_check="hc", initial_delay_sec=300),
    )
    compute.RegionAutoscaler(
        "gpu-autoscaler", project=f.PROJECT, region=f.REGION, target=group.id,
        autoscaling_policy=compute.RegionAutoscalerAutoscalingPolicyArgs(
            min_replicas=0, max_replicas=max_replicas,
            scaling_schedules=[compute.RegionAutoscalerAutoscalingPolicyScalingScheduleArgs(
                name="day", schedule="0 8 * * MON-FRI", duration_sec=36000, min_required_replicas=1)]),
    )
    f.alert_policy("gpu-alert", 'metadata.system_labels.name=starts_with("gpu-vm")')


def resource_pool(replicas: int, count: int) -> gcp.vertex.AiDeploymentResourcePool:
    return gcp.vertex.AiDeploymentResourcePool(
        "pool", project=f.PROJECT, region=f.REGION, name="pool",
        dedicated_resources=gcp.vertex.AiDeploymentResourcePoolDedicatedResourcesArgs(
            machine_spec=gcp.vertex.AiDeploymentResourcePoolDedicatedResourcesMachineSpecArgs(
                machine_type="g2-standard-12", accelerator_type="NVIDIA_L4", accelerator_count=count),
            min_replica_count=1, max_replica_count=replicas),
    )


def from_template(name: str = "vm-from-template", template: str = "gpu-template-literal", **overrides: Any) -> compute.InstanceFromTemplate:
    return compute.InstanceFromTemplate(
        name, project=f.PROJECT, zone=f"{f.REGION}-a",
        source_instance_template=f"projects/{f.PROJECT}/regions/{f.REGION}/instanceTemplates/{template}", **overrides)


def plain_template() -> compute.RegionInstanceTemplate:
    """A compliant CPU template (for VMs made from it)."""
    return f.gpu_template("cpu-template-literal", machine_type="e2-standard-4", guest_accelerators=None,
                          scheduling=compute.RegionInstanceTemplateSchedulingArgs(on_host_maintenance="MIGRATE"))


# --- buckets and sinks ------------------------------------------------------------------------------------

def labelled_bucket(name: str, labels: Mapping[str, str], klass: str, **overrides: Any) -> storage.Bucket:
    return f.bucket(name, klass, labels={**f.labels(), **labels}, **overrides)


def frame_with_sink(**sink: Any) -> Callable[[], None]:
    def program() -> None:
        f.audit_config()
        f.bucket("frame-logs", "logs")
        logging.ProjectSink("frame-sink", project=f.PROJECT, name="all-logs", destination="storage.googleapis.com/frame-logs", **sink)
        budget()

    return program


def budget() -> None:
    gcp.billing.Budget(
        "frame-budget", billing_account="000000-000000-000000",
        amount=gcp.billing.BudgetAmountArgs(specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(units="300")),
        threshold_rules=[gcp.billing.BudgetThresholdRuleArgs(threshold_percent=0.9)])


def component_sink(klass: str) -> Callable[[], None]:
    """The frame's budget and audit config, and logs routed by our LogSink into a BucketSet bucket of ``klass``."""

    def program() -> None:
        f.audit_config()
        budget()
        spec = BucketSpec(bucket_class=klass, location="US-CENTRAL1", kms_key=f.KMS_KEY,  # type: ignore[arg-type]
                          retention_days=30 if klass == "logs" else None, delete_after_days=30 if klass == "logs" else None)
        buckets = BucketSet("buckets", BucketSetArgs(project=f.PROJECT, buckets={"sink": spec}, name_prefix="stagewise-", labels=f.labels()))
        LogSink("sink", LogSinkArgs(project=f.PROJECT, bucket=buckets.buckets["sink"].name, service_names=["chat"]))

    return program


DEFAULT_BLOCK = compute.InstanceServiceAccountArgs(scopes=["cloud-platform"])

CASES = [
    # --- open ingress spelled differently ---------------------------------------------------------------------
    Case("split-ipv4-world", prod(lambda: f.firewall("split", source_ranges=["0.0.0.0/1", "128.0.0.0/1"], allows=tcp("443"))),
         {("net-no-world-ingress", "split")}),
    Case("split-ipv6-world", prod(lambda: f.firewall("split6", source_ranges=["::/1", "8000::/1"], allows=tcp("443"))),
         {("net-no-world-ingress", "split6")}),
    Case("wider-than-a-slash-8", prod(lambda: f.firewall("wide", source_ranges=["64.0.0.0/7"], allows=tcp("443"))),
         {("net-no-world-ingress", "wide")}),
    Case("private-supernets-are-not-the-world", prod(lambda: f.firewall("private", source_ranges=["10.0.0.0/8", "172.16.0.0/12"], allows=tcp("8080"))),
         set()),
    Case("split-world-ssh", prod(lambda: f.firewall("ssh-split", source_ranges=["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"], allows=tcp("22"))),
         {("net-no-world-ingress", "ssh-split"), ("net-admin-ports-iap-only", "ssh-split")}),
    Case("component-plus-split-rule", prod(vpc_plus(source_ranges=["0.0.0.0/1", "128.0.0.0/1"], allows=tcp("8000"))),
         {("net-no-world-ingress", "bolted-on")}),
    Case("component-vpc-passes", prod(lambda: vpc()), set()),
    Case("policy-rule-split-ssh", prod(lambda: policy_rule("ngfw-ssh", ["0.0.0.0/1", "128.0.0.0/1"], "22")),
         {("net-no-world-ingress", "ngfw-ssh"), ("net-admin-ports-iap-only", "ngfw-ssh")}),
    Case("policy-rule-no-source", prod(lambda: policy_rule("ngfw-any", [], "8080")), {("net-no-world-ingress", "ngfw-any")}),
    Case("policy-rule-iap-ssh", prod(lambda: policy_rule("ngfw-iap", ["35.235.240.0/20"], "22")), set()),
    Case("policy-rule-goto-next-ignored", prod(lambda: gcp.compute.NetworkFirewallPolicyRule(
        "ngfw-next", project=f.PROJECT, firewall_policy="stagewise-policy", priority=1000, action="goto_next", direction="INGRESS",
        match=gcp.compute.NetworkFirewallPolicyRuleMatchArgs(src_ip_ranges=["0.0.0.0/0"], layer4_configs=l4("all")))), set()),
    Case("policy-rule-unlogged", prod(lambda: gcp.compute.NetworkFirewallPolicyRule(
        "ngfw-quiet", project=f.PROJECT, firewall_policy="stagewise-policy", priority=1000, action="allow", direction="INGRESS",
        match=gcp.compute.NetworkFirewallPolicyRuleMatchArgs(src_ip_ranges=["10.0.0.0/8"], layer4_configs=l4("tcp", "8080")))),
         {("net-firewall-logging", "ngfw-quiet")}),
    Case("policy-with-rules-countries", prod(lambda: policy_with_rules("ngfw-geo", src_region_codes=["US", "CA"])),
         {("net-no-world-ingress", "ngfw-geo")}),
    Case("policy-with-rules-internet-scope", prod(lambda: policy_with_rules("ngfw-net", src_network_scope="INTERNET")),
         {("net-no-world-ingress", "ngfw-net")}),
    Case("policy-with-rules-internal", prod(lambda: policy_with_rules("ngfw-vpc", src_network_scope="INTRA_VPC")), set()),
    # --- every port, spelled differently ------------------------------------------------------------------------
    Case("full-port-range", prod(lambda: f.firewall("ports", source_ranges=["10.0.0.0/8"], allows=tcp("1-65535"))),
         {("net-no-allow-all-ports", "ports"), ("net-admin-ports-iap-only", "ports")}),
    Case("split-full-port-range", prod(lambda: f.firewall("ports", source_ranges=["10.0.0.0/8"], allows=tcp("0-32767", "32768-65535"))),
         {("net-no-allow-all-ports", "ports"), ("net-admin-ports-iap-only", "ports")}),
    Case("protocol-number-no-ports", prod(lambda: f.firewall("ports", source_ranges=["10.0.0.0/8"],
                                                             allows=[compute.FirewallAllowArgs(protocol="6")])),
         {("net-no-allow-all-ports", "ports"), ("net-admin-ports-iap-only", "ports")}),
    Case("a-port-range-is-fine", prod(lambda: f.firewall("ports", source_ranges=["10.0.0.0/8"], allows=tcp("8000-8100"))), set()),
    Case("policy-rule-full-range", prod(lambda: policy_rule("ngfw-ports", ["10.0.0.0/8"], "1-65535")),
         {("net-no-allow-all-ports", "ngfw-ports"), ("net-admin-ports-iap-only", "ngfw-ports")}),
    Case("component-plus-full-range", prod(vpc_plus(source_ranges=["10.10.0.0/24"], allows=tcp("1-65535"))),
         {("net-no-allow-all-ports", "bolted-on"), ("net-admin-ports-iap-only", "bolted-on")}),
    # --- the default network --------------------------------------------------------------------------------------
    Case("firewall-on-default-network", prod(lambda: f.firewall("on-default", network="default")), {("net-no-default-network", "on-default")}),
    Case("vm-on-default-subnet", prod(lambda: f.vm(network_interfaces=[compute.InstanceNetworkInterfaceArgs(
        subnetwork=f"projects/{f.PROJECT}/regions/{f.REGION}/subnetworks/default")])), {("net-no-default-network", "vm")}),
    Case("run-egress-on-default", prod(lambda: f.cloud_run(template=f.template(vpc_access=crun.ServiceTemplateVpcAccessArgs(
        egress="ALL_TRAFFIC", network_interfaces=[crun.ServiceTemplateVpcAccessNetworkInterfaceArgs(network="default", subnetwork="default")])))),
         {("net-no-default-network", "chat")}),
    Case("component-plus-run-egress-own-vpc", prod(lambda: f.cloud_run(template=f.template(vpc_access=crun.ServiceTemplateVpcAccessArgs(
        egress="ALL_TRAFFIC", network_interfaces=[crun.ServiceTemplateVpcAccessNetworkInterfaceArgs(
            network=vpc().network.self_link, subnetwork="chat-vpc-us-central1")])))), set()),
    # --- the provider's default service account --------------------------------------------------------------------
    Case("vm-service-account-without-email", prod(lambda: f.vm(service_account=DEFAULT_BLOCK)), {("iam-no-default-service-accounts", "vm")}),
    Case("vm-without-service-account", prod(lambda: f.vm(service_account=None)), set()),
    Case("template-service-account-without-email", prod(lambda: f.gpu_group(template_overrides={
        "service_account": compute.RegionInstanceTemplateServiceAccountArgs(scopes=["cloud-platform"])})),
         {("iam-no-default-service-accounts", "gpu-template")}),
    Case("vm-from-template-without-email", prod(lambda: (plain_template(), from_template(template="cpu-template-literal", service_account=compute.InstanceFromTemplateServiceAccountArgs(scopes=["cloud-platform"])))),
         {("iam-no-default-service-accounts", "vm-from-template")}),
    Case("job-without-service-account", prod(lambda: job(service_account=None)),
         {("iam-no-default-service-accounts", "batch"), ("run-dedicated-service-account", "batch")}),
    Case("v1-service-without-service-account", prod(lambda: run_v1(service_account=None)),
         {("iam-no-default-service-accounts", "legacy"), ("run-dedicated-service-account", "legacy")}),
    Case("component-chat-service-has-its-own-account", prod(chat()), set()),
    # --- bucket class labels ---------------------------------------------------------------------------------------
    Case("near-miss-logs", prod(lambda: labelled_bucket("l", {"bucket-class": "Logs"}, "logs", retention_policy=storage.BucketRetentionPolicyArgs(
        retention_period=str(10 * f.DAY)))), {("storage-retention-minimum", "l"), ("storage-bucket-class-known", "l")}),
    Case("near-miss-backup", prod(lambda: labelled_bucket("bk", {"bucket-class": "backup"}, "backups", retention_policy=None)),
         {("storage-retention-minimum", "bk"), ("storage-retention-locked", "bk"), ("storage-bucket-class-known", "bk")}),
    Case("near-miss-key", prod(lambda: f.bucket("l", "logs", labels={**f.labels(), "bucket_class": "logs"}, retention_policy=None)),
         {("storage-retention-minimum", "l"), ("storage-bucket-class-known", "l")}),
    Case("unknown-class-is-data", prod(lambda: labelled_bucket("x", {"bucket-class": "archive"}, "archive")),
         {("storage-bucket-class-known", "x"), ("storage-versioning", "x")}),
    Case("component-buckets-pass", prod(lambda: BucketSet("buckets", BucketSetArgs(project=f.PROJECT, name_prefix="stagewise-", labels=f.labels(), buckets={
        "logs": BucketSpec(bucket_class="logs", location="US-CENTRAL1", retention_days=30, delete_after_days=30, kms_key=f.KMS_KEY),
        "backups": BucketSpec(bucket_class="backups", location="US-CENTRAL1", retention_days=365, lock_retention=True, kms_key=f.KMS_KEY)}))), set()),
    # --- log routing -----------------------------------------------------------------------------------------------
    Case("disabled-sink-routes-nothing", frame_with_sink(disabled=True), {("obs-log-sink-retained", STACK)}),
    Case("enabled-sink", frame_with_sink(disabled=False), set()),
    Case("component-sink-to-logs-bucket", component_sink("logs"), set()),
    Case("component-sink-to-unretained-bucket", component_sink("data"), {("obs-log-sink-retained", STACK)}),
    # --- GPUs from every source --------------------------------------------------------------------------------------
    Case("gpus-from-the-machine-type", prod(lambda: f.vm(machine_type="g2-standard-24", scheduling=bounded_scheduling())),
         {("compute-accelerator-allowlist", "vm")}),
    Case("a2-machine-type", prod(lambda: f.vm(machine_type="a2-highgpu-1g", scheduling=bounded_scheduling())),
         {("compute-accelerator-allowlist", "vm"), ("compute-machine-type-allowlist", "vm")}),
    Case("one-l4-from-g2-within-caps", prod(lambda: f.vm(machine_type="g2-standard-8", scheduling=bounded_scheduling())), set()),
    Case("gpu-vm-without-uptime-guard", prod(lambda: f.vm(machine_type="g2-standard-8", scheduling=compute.InstanceSchedulingArgs(
        on_host_maintenance="TERMINATE"))), {("cost-gpu-uptime-guard", "vm")}),
    Case("gpu-vm-without-uptime-guard-staging", lambda: (f.frame("staging"), f.vm(stage="staging", machine_type="g2-standard-8",
                                                         scheduling=compute.InstanceSchedulingArgs(on_host_maintenance="TERMINATE"))),
         {("cost-gpu-uptime-guard", "vm")}, stage="staging"),
    Case("job-gpus-add-up", prod(lambda: job(containers=[gpu_job_container()], node_selector="nvidia-l4", task_count=20, parallelism=10)),
         {("cost-gpu-per-service", "batch"), ("cost-gpu-stack-total", STACK)}),
    Case("job-gpus-within-cap", prod(lambda: job(containers=[gpu_job_container()], node_selector="nvidia-l4", task_count=20, parallelism=4)), set()),
    Case("job-gpus-in-mvp", lambda: (f.frame("mvp"), job(containers=[gpu_job_container()], node_selector="nvidia-l4")),
         {("compute-accelerator-allowlist", "batch"), ("cost-gpu-per-service", "batch"), ("cost-gpu-stack-total", STACK),
          ("obs-required-labels", "batch")}, stage="mvp"),
    Case("v1-service-gpus", prod(lambda: run_v1(annotations={"autoscaling.knative.dev/maxScale": "20"}, limits={"nvidia.com/gpu": "1"},
                                                node_selector={"run.googleapis.com/accelerator": "nvidia-l4"})),
         {("cost-gpu-per-service", "legacy"), ("cost-gpu-stack-total", STACK)}),
    Case("template-by-name", prod(lambda: template_by_name(max_replicas=6), lambda: f.model_garden(max_replicas=4)),
         {("cost-gpu-stack-total", STACK)}),
    Case("template-by-name-within-caps", prod(lambda: template_by_name(max_replicas=4)), set()),
    Case("template-not-in-the-stack", prod(lambda: template_by_name(max_replicas=2, template="elsewhere", declare=False)),
         {("cost-gpu-stack-total", "gpu")}),
    Case("vm-from-gpu-template", prod(lambda: (f.gpu_template("gpu-template-literal"),
                                              *[from_template(f"vm-{i}") for i in range(9)])),
         {("cost-gpu-stack-total", STACK), *{("cost-gpu-uptime-guard", f"vm-{i}") for i in range(9)}}),
    Case("vm-from-template-overrides-gpus", prod(lambda: (plain_template(), from_template(template="cpu-template-literal", machine_type="a2-highgpu-4g",
                                                                                         scheduling=compute.InstanceFromTemplateSchedulingArgs(
                                                                                             on_host_maintenance="TERMINATE", max_run_duration=compute.InstanceFromTemplateSchedulingMaxRunDurationArgs(seconds=3600))))),
         {("compute-accelerator-allowlist", "vm-from-template"), ("compute-machine-type-allowlist", "vm-from-template")}),
    Case("resource-pool-gpus", prod(lambda: resource_pool(replicas=6, count=2)),
         {("compute-accelerator-allowlist", "pool"), ("cost-gpu-per-service", "pool"), ("cost-gpu-stack-total", STACK)}),
    Case("resource-pool-within-caps", prod(lambda: resource_pool(replicas=2, count=1)), set()),
    Case("component-gpu-vm-scheduled", prod(inference(GpuVmPool(model="google/gemma-3-4b-it", region=f.REGION, network=NETWORK, min_replicas=0,
                                                                max_replicas=2, schedule=WORKING_HOURS, fallback=FALLBACK)),
                                            lambda: f.alert_policy("llm-alert", 'metadata.system_labels.name=starts_with("llm-vm")')),
         {("compute-disk-cmek", "llm-template")}),
    Case("component-gpu-vm-always-on", prod(inference(GpuVmPool(model="google/gemma-3-4b-it", region=f.REGION, network=NETWORK, min_replicas=1,
                                                                max_replicas=10, fallback=FALLBACK))),
         {("compute-disk-cmek", "llm-template"), ("cost-gpu-uptime-guard", "llm-mig"), ("cost-gpu-stack-total", STACK),
          ("cost-mig-size-cap", "llm-autoscaler"), ("obs-alert-coverage", "llm-mig")}),
    Case("component-cloudrun-gpu-too-wide", prod(inference(CloudRunGpu(model="google/gemma-3-4b-it", region=f.REGION, max_instances=10, fallback=FALLBACK,
                                                                       server_image=PINNED_SERVER, vpc_egress=EGRESS, deletion_protection=True))),
         {("cost-gpu-per-service", "llm"), ("cost-gpu-stack-total", STACK), ("obs-alert-coverage", "llm")}),
    Case("component-cloudrun-gpu-within-caps", prod(inference(CloudRunGpu(model="google/gemma-3-4b-it", region=f.REGION, max_instances=3, fallback=FALLBACK,
                                                                          server_image=PINNED_SERVER, vpc_egress=EGRESS, deletion_protection=True)),
                                                   lambda: f.alert_policy("llm-alert", 'resource.labels.service_name="inference"')), set()),
    # --- Cloud Run manual scaling ---------------------------------------------------------------------------------
    Case("manual-scaling-over-caps", prod(lambda: f.cloud_run(scaling=crun.ServiceScalingArgs(scaling_mode="MANUAL", manual_instance_count=60))),
         {("cost-run-max-instances", "chat"), ("cost-run-min-instances", "chat")}),
    Case("manual-scaling-from-min", prod(lambda: f.cloud_run(scaling=crun.ServiceScalingArgs(scaling_mode="MANUAL", min_instance_count=8))),
         {("cost-run-min-instances", "chat")}),
    Case("manual-scaling-within-caps", prod(lambda: f.cloud_run(scaling=crun.ServiceScalingArgs(scaling_mode="MANUAL", manual_instance_count=3))), set()),
    Case("v1-max-scale-over-cap", prod(lambda: run_v1(annotations={"autoscaling.knative.dev/maxScale": "80"})), {("cost-run-max-instances", "legacy")}),
    Case("component-chat-over-cap", prod(chat(max_instances=80)), {("cost-run-max-instances", "chat")}),
    # --- credentials in plain sight -----------------------------------------------------------------------------------
    Case("password-in-args", prod(service_with(args=["--port=8080", "--db-password=hunter2"])), {("run-secrets-from-secret-manager", "chat")}),
    Case("api-key-after-a-flag", prod(service_with(args=["--api-key", "sk-proj-" + "Q1w2E3r4" * 4])), {("run-secrets-from-secret-manager", "chat")}),
    Case("password-in-a-shell-command", prod(service_with(commands=["sh", "-c"], args=["PGPASSWORD=hunter2 psql -h db"])),
         {("run-secrets-from-secret-manager", "chat")}),
    Case("dsn-with-password", prod(service_with(envs=[env("DATABASE_URL", "postgres://app:hunter2@db.internal:5432/chat")])),
         {("run-secrets-from-secret-manager", "chat")}),
    Case("lower-case-names", prod(service_with(envs=[env("db_password", "hunter2"), env("openaiApiKey", "abc123")])),
         {("run-secrets-from-secret-manager", "chat")}),
    Case("config-that-only-looks-secret", prod(service_with(
        args=["--port=8080", "--model", "gemma", "--password-file=/secrets/db"],
        envs=[env("DATABASE_URL", "postgres://app@db.internal/chat"), env("DB_PASSWORD_FILE", "/secrets/db"),
              env("DB_PASSWORD", "$(DB_SECRET)"), env("CHAT_API_KEY_HEADER", "x-api-key"), env("SORT_KEY", "created_at")])), set()),
    Case("job-args", prod(lambda: job(containers=[job_container(args=["--token", "ghp_" + "a1B2c3D4e5" * 4])])), {("run-secrets-from-secret-manager", "batch")}),
    Case("v1-env", prod(lambda: run_v1(envs=[gcp.cloudrun.ServiceTemplateSpecContainerEnvArgs(name="api_key", value="Zx9" * 12)])),
         {("run-secrets-from-secret-manager", "legacy")}),
    Case("component-chat-dsn", prod(chat(env={"DATABASE_URL": "postgres://app:hunter2@db.internal/chat"})), {("run-secrets-from-secret-manager", "chat")}),
    Case("component-chat-secret-env", prod(chat()), set()),
    # --- types no rule used to read ----------------------------------------------------------------------------------
    Case("vm-from-template-inherits", prod(lambda: (plain_template(), from_template(template="cpu-template-literal"))), set()),
    Case("vm-from-template-overrides", prod(lambda: (plain_template(), from_template(
        template="cpu-template-literal", metadata={"serial-port-enable": "TRUE"},
        network_interfaces=[compute.InstanceFromTemplateNetworkInterfaceArgs(
            subnetwork="subnet", access_configs=[compute.InstanceFromTemplateNetworkInterfaceAccessConfigArgs()])]))),
         {("compute-no-serial-port", "vm-from-template"), ("compute-os-login", "vm-from-template"),
          ("compute-block-project-ssh-keys", "vm-from-template"), ("compute-no-external-ip", "vm-from-template")}),
    Case("project-metadata-oslogin-off", prod(lambda: gcp.compute.ProjectMetadata("meta", project=f.PROJECT, metadata={"enable-oslogin": "FALSE"})),
         {("compute-os-login", "meta")}),
    Case("project-metadata-item-oslogin-off", prod(lambda: gcp.compute.ProjectMetadataItem("item", project=f.PROJECT, key="enable-oslogin", value="false")),
         {("compute-os-login", "item")}),
    Case("project-metadata-ssh-keys-and-serial", prod(lambda: gcp.compute.ProjectMetadata("meta", project=f.PROJECT, metadata={
        "enable-oslogin": "TRUE", "ssh-keys": "alice:ssh-ed25519 AAAA alice", "serial-port-enable": "1"})),
         {("compute-block-project-ssh-keys", "meta"), ("compute-no-serial-port", "meta")}),
    Case("project-metadata-oslogin-on", prod(lambda: gcp.compute.ProjectMetadata("meta", project=f.PROJECT, metadata={"enable-oslogin": "TRUE"})), set()),
    Case("v1-public", prod(lambda: (run_v1(ingress="all"), gcp.cloudrun.IamMember("legacy-public", project=f.PROJECT, location=f.REGION,
                                                                                   service="legacy", role="roles/run.invoker", member="allUsers"))),
         {("run-ingress-restricted", "legacy"), ("run-invoker-not-public", "legacy-public")}),
    Case("v1-behind-the-load-balancer", prod(lambda: (run_v1(), gcp.cloudrun.IamMember("legacy-public", project=f.PROJECT, location=f.REGION,
                                                                                      service="legacy", role="roles/run.invoker", member="allUsers"))), set()),
    Case("v1-tagged-image", prod(lambda: gcp.cloudrun.Service(
        "tagged", project=f.PROJECT, location=f.REGION, name="tagged",
        metadata=gcp.cloudrun.ServiceMetadataArgs(annotations={"run.googleapis.com/ingress": "internal"}),
        template=gcp.cloudrun.ServiceTemplateArgs(
            metadata=gcp.cloudrun.ServiceTemplateMetadataArgs(annotations={"autoscaling.knative.dev/maxScale": "3"}),
            spec=gcp.cloudrun.ServiceTemplateSpecArgs(service_account_name=f.SA_EMAIL,
                                                      containers=[gcp.cloudrun.ServiceTemplateSpecContainerArgs(image="nginx:latest")])))),
         {("run-image-from-registry", "tagged"), ("run-image-pinned", "tagged"), ("obs-alert-coverage", "tagged")}),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exact_verdicts(case: Case) -> None:
    assert f.violations(case.program, case.stage, case.overrides) == case.expected


def test_messages_about_credentials_never_echo_them() -> None:
    secret = "hunter2-" + "x9" * 10
    program = prod(service_with(args=[f"--db-password={secret}"], envs=[env("DATABASE_URL", f"postgres://app:{secret}@db/chat")]))
    verdicts = [v for v in f.report(program).verdicts if v.policy == "run-secrets-from-secret-manager"]
    assert len(verdicts) == 2
    assert all(secret not in v.message for v in verdicts)
    assert any("--db-password" in v.message for v in verdicts) and any("DATABASE_URL" in v.message for v in verdicts)
