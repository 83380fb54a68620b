"""Each price rule against a hand calculation written here (formula and numbers), within a cent.

Small programs declare real pulumi-gcp resources; the review engine records them; the estimator
prices them with the repository's price files. Usage is set explicitly so every figure is visible.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pytest
from pulumi_gcp import cloudrunv2, compute, firestore, monitoring, secretmanager, storage, vertex

from stagewise.cost.estimate import estimate_run
from stagewise.cost.model import Estimate, LineItem
from stagewise.engine.record import run_program

CENT = 0.01
HOURS = 730
DAYS = 365 / 12


def estimate(program: Callable[[], None], region: str = "us-central1", **usage: Any) -> Estimate:
    config = {
        "gcp:project": "cost-test-project",
        "gcp:region": region,
        "stagewise:stage": "mvp",
        "stagewise:usage": json.dumps({_camel(k): v for k, v in usage.items()}),
    }
    run = run_program(program, project="stagewise", stack="mvp", config=config)
    return estimate_run(run)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def line(result: Estimate, name: str, type_token: str | None = None) -> LineItem:
    found = [l for l in result.lines if l.name == name and (type_token is None or l.type == type_token)]
    assert len(found) == 1, [(l.name, l.type) for l in result.lines]
    return found[0]


def charge(item: LineItem, label: str) -> float:
    found = [c for c in item.charges if c.item == label]
    assert len(found) == 1, [c.item for c in item.charges]
    return found[0].cost


def run_service(name: str, *, cpu: str = "1", memory: str = "512Mi", cpu_idle: bool = True, min_instances: int = 0,
                env: dict[str, str] | None = None, gpu: bool = False, zonal_redundancy_off: bool = False) -> None:
    limits = {"cpu": cpu, "memory": memory, **({"nvidia.com/gpu": "1"} if gpu else {})}
    cloudrunv2.Service(
        name,
        location="us-central1",
        deletion_protection=False,
        template=cloudrunv2.ServiceTemplateArgs(
            containers=[cloudrunv2.ServiceTemplateContainerArgs(
                image="us-docker.pkg.dev/cloudrun/container/hello",
                resources=cloudrunv2.ServiceTemplateContainerResourcesArgs(limits=limits, cpu_idle=cpu_idle),
                envs=[cloudrunv2.ServiceTemplateContainerEnvArgs(name=k, value=v) for k, v in (env or {}).items()],
            )],
            scaling=cloudrunv2.ServiceTemplateScalingArgs(min_instance_count=min_instances),
            node_selector=cloudrunv2.ServiceTemplateNodeSelectorArgs(accelerator="nvidia-l4") if gpu else None,
            gpu_zonal_redundancy_disabled=zonal_redundancy_off if gpu else None,
        ),
    )


# ---------------------------------------------------------------- Cloud Run + Gemini


def test_cloud_run_request_based_with_free_tier_and_warm_instance() -> None:
    result = estimate(lambda: run_service("api", cpu="2", memory="1Gi", min_instances=1),
                      requests_per_month=3_000_000, backend_seconds_per_request=0.5)
    item = line(result, "api")
    # active = 3,000,000 × 0.5 s = 1,500,000 instance-seconds
    assert charge(item, "CPU while serving") == pytest.approx((1_500_000 * 2 - 180_000) * 0.000024, abs=CENT)  # 67.68
    assert charge(item, "memory while serving") == pytest.approx((1_500_000 * 1 - 360_000) * 0.0000025, abs=CENT)  # 2.85
    assert charge(item, "requests") == pytest.approx((3_000_000 - 2_000_000) * 0.40 / 1e6, abs=CENT)  # 0.40
    idle = HOURS * 3600 - 1_500_000  # 1,128,000 s the warm instance waits
    assert charge(item, "idle min-instance CPU") == pytest.approx(idle * 2 * 0.0000025, abs=CENT)  # 5.64
    assert charge(item, "idle min-instance memory") == pytest.approx(idle * 1 * 0.0000025, abs=CENT)  # 2.82
    assert item.monthly == pytest.approx(79.39, abs=CENT)


def test_cloud_run_instance_based_when_cpu_always_allocated() -> None:
    result = estimate(lambda: run_service("worker", cpu="1", memory="2Gi", cpu_idle=False, min_instances=1),
                      requests_per_month=1000, backend_seconds_per_request=1)
    item = line(result, "worker")
    seconds = HOURS * 3600  # one instance all month dominates 1,000 request-seconds
    assert charge(item, "CPU (instance-based)") == pytest.approx((seconds - 240_000) * 0.000018, abs=CENT)  # 42.98
    assert charge(item, "memory (instance-based)") == pytest.approx((seconds * 2 - 450_000) * 0.000002, abs=CENT)  # 9.61
    assert not [c for c in item.charges if c.item == "requests"]  # no request fee in instance-based billing


def test_cloud_run_gpu_service_bills_gpu_for_its_hours() -> None:
    result = estimate(lambda: run_service("llm", cpu="8", memory="32Gi", cpu_idle=False, gpu=True, zonal_redundancy_off=True),
                      gpu_service_hours=100)
    item = line(result, "llm")
    seconds = 100 * 3600
    assert charge(item, "CPU (instance-based)") == pytest.approx((seconds * 8 - 240_000) * 0.000018, abs=CENT)  # 47.52
    assert charge(item, "memory (instance-based)") == pytest.approx((seconds * 32 - 450_000) * 0.000002, abs=CENT)  # 22.14
    assert charge(item, "1 × NVIDIA L4 GPU") == pytest.approx(seconds * 0.0001867, abs=CENT)  # 67.21
    assert item.monthly == pytest.approx(136.87, abs=CENT)


def test_gemini_tokens_for_primary_and_fallback_from_the_service_environment() -> None:
    env = {"CHAT_VERTEX_MODEL": "gemini-2.5-flash", "CHAT_FALLBACK_MODEL": "gemini-2.5-flash-lite"}
    result = estimate(lambda: run_service("chat", env=env), requests_per_month=100_000, fallback_share=0.1,
                      input_tokens_per_request=2000, output_tokens_per_request=500)
    primary = line(result, "chat → gemini-2.5-flash")
    # 90,000 calls × 2,000 in × $0.30/M + 90,000 × 500 out × $2.50/M = 54.00 + 112.50
    assert charge(primary, "input tokens") == pytest.approx(90_000 * 2000 * 0.30 / 1e6, abs=CENT)
    assert charge(primary, "output tokens") == pytest.approx(90_000 * 500 * 2.50 / 1e6, abs=CENT)
    fallback = line(result, "chat → gemini-2.5-flash-lite")
    # 10,000 calls × 2,000 × $0.10/M + 10,000 × 500 × $0.40/M = 2.00 + 2.00
    assert fallback.monthly == pytest.approx(4.00, abs=CENT)


def test_self_hosted_primary_only_pays_tokens_for_the_gemini_fallback() -> None:
    env = {"CHAT_OPENAI_BASE_URL": "http://10.0.0.2:8000/v1", "CHAT_OPENAI_MODEL": "gemma", "CHAT_FALLBACK_MODEL": "gemini-2.5-flash"}
    result = estimate(lambda: run_service("chat", env=env), requests_per_month=100_000, fallback_share=0.05,
                      input_tokens_per_request=1000, output_tokens_per_request=200)
    tokens = [l for l in result.lines if l.type == "vertex:gemini:Tokens"]
    assert [l.name for l in tokens] == ["chat → gemini-2.5-flash"]
    assert tokens[0].monthly == pytest.approx(5000 * 1000 * 0.30 / 1e6 + 5000 * 200 * 2.50 / 1e6, abs=CENT)  # 1.50 + 2.50


def test_unknown_gemini_model_is_unpriced_not_free() -> None:
    result = estimate(lambda: run_service("chat", env={"CHAT_VERTEX_MODEL": "gemini-9-ultra"}))
    tokens = line(result, "chat → gemini-9-ultra")
    assert tokens.status == "unpriced" and "tokens_in.gemini-9-ultra" in tokens.reason


# ---------------------------------------------------------------- Firestore


def test_named_firestore_database_has_no_free_quota_and_bills_pitr() -> None:
    def program() -> None:
        firestore.Database("db", name="chat", location_id="us-central1", type="FIRESTORE_NATIVE",
                           point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED")

    item = line(estimate(program, requests_per_month=1_000_000, firestore_reads_per_request=6, firestore_writes_per_request=3,
                         firestore_deletes_per_request=2, firestore_gb=10), "db")
    assert charge(item, "document reads") == pytest.approx(6e6 * 0.03 / 1e5, abs=CENT)  # 1.80
    assert charge(item, "document writes") == pytest.approx(3e6 * 0.09 / 1e5, abs=CENT)  # 2.70
    assert charge(item, "TTL deletes") == pytest.approx(2e6 * 0.01 / 1e5, abs=CENT)  # 0.20
    assert charge(item, "stored data") == pytest.approx(10 * 0.15, abs=CENT)  # 1.50
    assert charge(item, "PITR data") == pytest.approx(10 * 0.15, abs=CENT)
    assert item.monthly == pytest.approx(7.70, abs=CENT)


def test_default_firestore_database_gets_the_daily_free_quota_but_ttl_deletes_do_not() -> None:
    def program() -> None:
        firestore.Database("db", name="(default)", location_id="nam5", type="FIRESTORE_NATIVE")

    item = line(estimate(program, requests_per_month=1_000_000, firestore_reads_per_request=6, firestore_writes_per_request=3,
                         firestore_deletes_per_request=2, firestore_gb=10), "db")
    assert charge(item, "document reads") == pytest.approx((6e6 - 50_000 * DAYS) * 0.06 / 1e5, abs=CENT)  # 2.69
    assert charge(item, "document writes") == pytest.approx((3e6 - 20_000 * DAYS) * 0.18 / 1e5, abs=CENT)  # 4.31
    assert charge(item, "TTL deletes") == pytest.approx(2e6 * 0.02 / 1e5, abs=CENT)  # 0.40, no free quota
    assert charge(item, "stored data") == pytest.approx((10 - 1) * 0.18, abs=CENT)  # 1.62


def test_firestore_backups_keep_one_copy_per_retained_day() -> None:
    def program() -> None:
        db = firestore.Database("db", name="(default)", location_id="us-central1", type="FIRESTORE_NATIVE")
        firestore.BackupSchedule("daily", database=db.name, retention="1209600s",
                                 daily_recurrence=firestore.BackupScheduleDailyRecurrenceArgs())

    item = line(estimate(program, firestore_gb=4), "daily")
    assert item.monthly == pytest.approx(14 * 4 * 0.03, abs=CENT)  # 14 backups × 4 GiB × $0.03 = 1.68


# ---------------------------------------------------------------- Cloud Storage, registry, secrets


def test_bucket_size_comes_from_its_class_label_and_free_tier_only_in_us_regions() -> None:
    def program() -> None:
        storage.Bucket("logs", location="EU", storage_class="STANDARD", labels={"bucket-class": "logs"})

    item = line(estimate(program, bucket_gb={"logs": 100}, bucket_class_a_ops=20_000, bucket_class_b_ops=100_000), "logs")
    assert charge(item, "standard storage") == pytest.approx(100 * 0.026, abs=CENT)  # 2.60, no free tier in EU
    assert charge(item, "class A operations") == pytest.approx((20_000 - 5000) * 0.10 / 10_000, abs=CENT)  # 0.15
    assert charge(item, "class B operations") == pytest.approx((100_000 - 50_000) * 0.004 / 10_000, abs=CENT)  # 0.02


def test_nearline_bucket_in_region_uses_its_storage_class_price() -> None:
    def program() -> None:
        storage.Bucket("backups", location="us-central1", storage_class="NEARLINE", labels={"bucket-class": "backups"})

    item = line(estimate(program, bucket_gb={"backups": 200}, bucket_class_a_ops=0, bucket_class_b_ops=0), "backups")
    assert charge(item, "nearline storage") == pytest.approx(200 * 0.010, abs=CENT)  # 2.00 (the free tier is Standard only)


def test_artifact_registry_storage_beyond_half_a_gib() -> None:
    def program() -> None:
        gcp.artifactregistry.Repository("repo", location="us-central1", repository_id="images", format="DOCKER")

    assert line(estimate(program, image_gb=10), "repo").monthly == pytest.approx((10 - 0.5) * 0.10, abs=CENT)  # 0.95


def test_secret_manager_free_tier_is_shared_across_secrets() -> None:
    def program() -> None:
        replication = secretmanager.SecretReplicationArgs(user_managed=secretmanager.SecretReplicationUserManagedArgs(
            replicas=[secretmanager.SecretReplicationUserManagedReplicaArgs(location="us-central1"),
                      secretmanager.SecretReplicationUserManagedReplicaArgs(location="us-east1")]))
        secretmanager.Secret("a", secret_id="a", replication=replication)
        secretmanager.Secret("b", secret_id="b", replication=replication)

    result = estimate(program, secret_accesses=40_000)
    a, b = line(result, "a"), line(result, "b")
    assert charge(a, "active versions") == 0 and charge(b, "active versions") == 0  # 4 version-locations ≤ 6 free
    assert charge(a, "access operations") == pytest.approx((20_000 - 10_000) * 0.03 / 10_000, abs=CENT)  # 0.03
    assert charge(b, "access operations") == pytest.approx(20_000 * 0.03 / 10_000, abs=CENT)  # 0.06: free tier used up


# ---------------------------------------------------------------- load balancer, Cloud Armor, NAT, IPs


def test_forwarding_rules_first_five_are_one_flat_charge_then_per_rule_and_lb_data_processing() -> None:
    def program() -> None:
        for index in range(7):
            compute.GlobalForwardingRule(f"rule{index}", target="target", port_range="443", load_balancing_scheme="EXTERNAL_MANAGED")
        compute.ForwardingRule("regional", region="us-central1", load_balancing_scheme="INTERNAL", backend_service="b")
        compute.URLMap("lb", default_service="backend")

    result = estimate(program, ingress_gb=10, egress_gb=50)
    rules = [l for l in result.lines if l.type == "gcp:compute/globalForwardingRule:GlobalForwardingRule"]
    # 7 global rules: $0.025/h for the first 5 together (18.25), then 2 × $0.01/h (7.30 each) = 32.85
    assert sum(l.monthly for l in rules) == pytest.approx(HOURS * 0.025 + 2 * HOURS * 0.01, abs=CENT)
    assert sorted(l.status for l in rules) == ["free"] * 4 + ["priced"] * 3
    # the region's rules are a scope of their own: its single rule pays the flat minimum
    assert line(result, "regional").monthly == pytest.approx(HOURS * 0.025, abs=CENT)
    assert line(result, "lb").monthly == pytest.approx(10 * 0.008 + 50 * 0.008, abs=CENT)  # 0.48


def test_two_rules_of_a_load_balancer_cost_the_flat_minimum_once() -> None:
    def program() -> None:
        ip = compute.GlobalAddress("ip")
        for name in ("http", "https"):
            compute.GlobalForwardingRule(name, target="t", port_range="443", ip_address=ip.address)

    result = estimate(program)
    rules = [l for l in result.lines if l.type == "gcp:compute/globalForwardingRule:GlobalForwardingRule"]
    assert sum(l.monthly for l in rules) == pytest.approx(HOURS * 0.025, abs=CENT)  # 18.25, not 36.50
    # the address is in use by the rules: no charge of its own
    assert line(result, "ip").status == "free" and line(result, "ip").monthly == 0


def test_cloud_armor_policy_rules_and_requests() -> None:
    def program() -> None:
        rules = [
            compute.SecurityPolicyRuleArgs(action="allow", priority=p, match=compute.SecurityPolicyRuleMatchArgs(
                versioned_expr="SRC_IPS_V1", config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"])))
            for p in (1000, 2000, 2147483647)
        ]
        compute.SecurityPolicy("armor", rules=rules)

    item = line(estimate(program, requests_per_month=2_000_000), "armor")
    assert item.monthly == pytest.approx(5 + 3 * 1 + 2 * 0.75, abs=CENT)  # 9.50


def test_cloud_nat_counts_the_vms_using_it() -> None:
    def program() -> None:
        for index in range(2):
            compute.Instance(f"vm{index}", zone="us-central1-a", machine_type="e2-medium",
                             boot_disk=compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(
                                 image="debian-cloud/debian-12", size=20, type="pd-balanced")),
                             network_interfaces=[compute.InstanceNetworkInterfaceArgs(network="default")])
        compute.RouterNat("nat", router="router", region="us-central1", nat_ip_allocate_option="AUTO_ONLY",
                          source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES")

    result = estimate(program, nat_gb=100, vm_hours=730)
    assert line(result, "nat").monthly == pytest.approx(2 * HOURS * 0.0014 + 100 * 0.045 + HOURS * 0.005, abs=CENT)  # 10.19
    assert line(result, "vm0").monthly == pytest.approx(HOURS * 0.033503 + 20 * 0.10, abs=CENT)  # 26.46


def test_nat_data_is_billed_once_split_over_the_gateways() -> None:
    def program() -> None:
        for region in ("us-central1", "europe-west1"):
            compute.RouterNat(f"nat-{region}", router="router", region=region, nat_ip_allocate_option="AUTO_ONLY",
                              source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES")

    result = estimate(program, nat_gb=100)
    data = [c for l in result.lines if l.type == "gcp:compute/routerNat:RouterNat" for c in l.charges if c.item == "data processed"]
    assert [c.quantity for c in data] == [50, 50]
    assert sum(c.cost for c in data) == pytest.approx(100 * 0.045, abs=CENT)  # 4.50 for the 100 GiB, not 9.00


def test_unused_external_address_is_billed_internal_is_free() -> None:
    def program() -> None:
        compute.GlobalAddress("public")
        compute.Address("private", region="us-central1", address_type="INTERNAL", subnetwork="subnet")

    result = estimate(program)
    assert line(result, "public").monthly == pytest.approx(HOURS * 0.01, abs=CENT)  # 7.30: reserved, used by nothing
    assert line(result, "private").status == "free"


# ---------------------------------------------------------------- Compute Engine, Vertex AI


def test_spot_g2_instance_bills_machine_bundled_l4_and_disk_for_its_hours() -> None:
    def program() -> None:
        compute.Instance("gpu", zone="us-central1-b", machine_type="g2-standard-8",
                         scheduling=compute.InstanceSchedulingArgs(provisioning_model="SPOT", preemptible=True, automatic_restart=False),
                         boot_disk=compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(
                             image="debian-cloud/debian-12", size=100, type="pd-ssd")),
                         network_interfaces=[compute.InstanceNetworkInterfaceArgs(network="default")])

    item = line(estimate(program, vm_hours=200), "gpu")
    assert charge(item, "g2-standard-8 spot hours") == pytest.approx(200 * 0.117435, abs=CENT)  # 23.49
    assert charge(item, "1 × nvidia-l4 GPU hours") == pytest.approx(200 * 0.224016, abs=CENT)  # 44.80
    assert charge(item, "100 GiB pd-ssd") == pytest.approx(100 * 0.17 * 200 / HOURS, abs=CENT)  # 4.66


def test_instance_group_with_working_hours_schedule() -> None:
    def program() -> None:
        template = compute.RegionInstanceTemplate(
            "tmpl", region="us-central1", machine_type="g2-standard-8",
            # G2 comes with its L4; listing it again as a guest accelerator must not bill it twice.
            guest_accelerators=[compute.RegionInstanceTemplateGuestAcceleratorArgs(type="nvidia-l4", count=1)],
            disks=[compute.RegionInstanceTemplateDiskArgs(source_image="debian-cloud/debian-12", disk_size_gb=100, disk_type="pd-balanced", boot=True)],
            network_interfaces=[compute.RegionInstanceTemplateNetworkInterfaceArgs(network="default")])
        group = compute.RegionInstanceGroupManager(
            "pool", region="us-central1", base_instance_name="vllm",
            versions=[compute.RegionInstanceGroupManagerVersionArgs(name="primary", instance_template=template.self_link)])
        compute.RegionAutoscaler("pool-autoscaler", region="us-central1", target=group.id,
                                 autoscaling_policy=compute.RegionAutoscalerAutoscalingPolicyArgs(
                                     min_replicas=0, max_replicas=2,
                                     scaling_schedules=[compute.RegionAutoscalerAutoscalingPolicyScalingScheduleArgs(
                                         name="work", schedule="0 8 * * 1-5", duration_sec=10 * 3600, min_required_replicas=1)]))

    item = line(estimate(program), "pool")
    hours = 5 * 365 / 12 / 7 * 10  # weekdays a month × 10 h = 217.26 instance-hours
    assert charge(item, "g2-standard-8 hours") == pytest.approx(hours * 0.293587, abs=CENT)  # 63.79
    assert charge(item, "1 × nvidia-l4 GPU hours") == pytest.approx(hours * 0.56004, abs=CENT)  # 121.68
    assert charge(item, "100 GiB pd-balanced") == pytest.approx(100 * 0.10 * hours / HOURS, abs=CENT)  # 2.98


def test_vertex_endpoint_deployment_node_hours() -> None:
    def program() -> None:
        vertex.AiEndpointWithModelGardenDeployment(
            "endpoint", location="us-central1", publisher_model_name="publishers/google/models/gemma3@gemma-3-1b-it",
            model_config=vertex.AiEndpointWithModelGardenDeploymentModelConfigArgs(accept_eula=True),
            deploy_config=vertex.AiEndpointWithModelGardenDeploymentDeployConfigArgs(
                dedicated_resources=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesArgs(
                    machine_spec=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesMachineSpecArgs(
                        machine_type="g2-standard-12", accelerator_type="NVIDIA_L4", accelerator_count=1),
                    min_replica_count=1)))

    assert line(estimate(program, endpoint_hours=730), "endpoint").monthly == pytest.approx(
        HOURS * 0.506438 + HOURS * 0.644046, abs=CENT)  # 369.70 + 470.15


def test_compute_in_a_region_without_a_price_row_is_unpriced_never_zero() -> None:
    def program() -> None:
        compute.Instance("eu", zone="europe-west4-a", machine_type="g2-standard-8",
                         boot_disk=compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(image="x")),
                         network_interfaces=[compute.InstanceNetworkInterfaceArgs(network="default")])

    item = line(estimate(program, region="europe-west4"), "eu")
    assert item.status == "unpriced" and "europe-west4" in item.reason and item.monthly == 0


# ---------------------------------------------------------------- logging, monitoring, egress


def test_project_logs_egress_and_long_log_retention() -> None:
    def program() -> None:
        run_service("api")
        gcp.logging.ProjectBucketConfig("logs", project="cost-test-project", location="global", bucket_id="_Default", retention_days=90)

    result = estimate(program, log_gb=80, egress_gb=50, requests_per_month=0)
    assert line(result, "project logs").monthly == pytest.approx((80 - 50) * 0.50, abs=CENT)  # 15.00
    assert line(result, "internet egress").monthly == pytest.approx((50 - 1) * 0.12, abs=CENT)  # 5.88
    assert line(result, "logs").monthly == pytest.approx(80 * (90 - 30) / 30 * 0.01, abs=CENT)  # 160 GiB held × $0.01


def test_alert_conditions_and_uptime_checks() -> None:
    def program() -> None:
        threshold = monitoring.AlertPolicyConditionConditionThresholdArgs(
            filter='metric.type="run.googleapis.com/request_count"', comparison="COMPARISON_GT", duration="60s", threshold_value=1)
        monitoring.AlertPolicy("alerts", display_name="errors", combiner="OR", conditions=[
            monitoring.AlertPolicyConditionArgs(display_name="a", condition_threshold=threshold),
            monitoring.AlertPolicyConditionArgs(display_name="b", condition_threshold=threshold)])
        monitoring.UptimeCheckConfig("uptime", display_name="up", timeout="10s", period="300s",
                                     selected_regions=["USA", "EUROPE", "ASIA_PACIFIC"],
                                     http_check=monitoring.UptimeCheckConfigHttpCheckArgs(path="/healthz", use_ssl=True),
                                     monitored_resource=monitoring.UptimeCheckConfigMonitoredResourceArgs(
                                         type="uptime_url", labels={"host": "example.com", "project_id": "cost-test-project"}))

    result = estimate(program)
    series = 2 * HOURS * 60  # two conditions, one time series a minute each
    assert line(result, "alerts").monthly == pytest.approx(2 * 1.50 + series * 0.35 / 1e6, abs=CENT)  # 3.03
    assert line(result, "uptime").monthly == 0  # 26,280 executions are inside the free million
    assert line(result, "uptime").status == "priced"


# ---------------------------------------------------------------- unknown and free types


def test_unknown_type_is_listed_as_unpriced_and_never_counted_as_free() -> None:
    def program() -> None:
        gcp.redis.Instance("cache", memory_size_gb=1, region="us-central1")
        gcp.serviceaccount.Account("sa", account_id="runner")

    result = estimate(program)
    cache = line(result, "cache")
    assert cache.status == "unpriced" and "no price rule" in cache.reason
    assert [l.name for l in result.unpriced] == ["cache"]
    assert line(result, "sa").status == "free" and "free" in line(result, "sa").reason


def test_component_resources_carry_no_line() -> None:
    class Group(pulumi.ComponentResource):
        def __init__(self) -> None:
            super().__init__("stagewise:test:Group", "group")
            gcp.serviceaccount.Account("inner", account_id="inner", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})

    result = estimate(lambda: Group() and None)
    assert [l.name for l in result.lines] == ["inner"]


def test_vertex_spot_nodes_are_unpriced_rather_than_priced_on_demand() -> None:
    def program() -> None:
        vertex.AiEndpointWithModelGardenDeployment(
            "spot", location="us-central1", publisher_model_name="publishers/google/models/gemma3@gemma-3-1b-it",
            deploy_config=vertex.AiEndpointWithModelGardenDeploymentDeployConfigArgs(
                dedicated_resources=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesArgs(
                    machine_spec=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesMachineSpecArgs(
                        machine_type="g2-standard-12", accelerator_type="NVIDIA_L4", accelerator_count=1),
                    min_replica_count=1, spot=True)))

    item = line(estimate(program), "spot")
    assert item.status == "unpriced" and "Spot" in item.reason


def test_cloud_run_manual_scaling_counts_as_warm_instances() -> None:
    def program() -> None:
        cloudrunv2.Service(
            "manual", location="us-central1", deletion_protection=False,
            scaling=cloudrunv2.ServiceScalingArgs(scaling_mode="MANUAL", manual_instance_count=2),
            template=cloudrunv2.ServiceTemplateArgs(containers=[cloudrunv2.ServiceTemplateContainerArgs(
                image="us-docker.pkg.dev/cloudrun/container/hello",
                resources=cloudrunv2.ServiceTemplateContainerResourcesArgs(limits={"cpu": "1", "memory": "1Gi"}, cpu_idle=False))]))

    item = line(estimate(program, requests_per_month=0), "manual")
    seconds = 2 * HOURS * 3600  # two instances all month, instance-based
    assert charge(item, "CPU (instance-based)") == pytest.approx((seconds - 240_000) * 0.000018, abs=CENT)  # 90.29


@pytest.mark.parametrize(("cron", "days_a_week"), [
    ("0 8 * * 1-5", 5), ("0 8 * * MON-FRI", 5), ("0 8 * * *", 7), ("0 9 * * SAT,SUN", 2), ("0 8 * * 7", 1), ("0 8 * * FRI-SUN", 3),
])
def test_working_hours_schedules_count_days_a_week(cron: str, days_a_week: int) -> None:
    from stagewise.cost.rules import cron_days_per_month

    assert cron_days_per_month(cron) == pytest.approx(days_a_week * 365 / 12 / 7)


def test_schedules_by_day_of_month_are_not_guessed() -> None:
    from stagewise.cost.rules import cron_days_per_month

    assert cron_days_per_month("0 8 1 * *") is None and cron_days_per_month("0 8 * * someday") is None


def test_n1_with_attached_t4s_bills_each_gpu() -> None:
    def program() -> None:
        compute.Instance("t4", zone="us-central1-a", machine_type="n1-standard-4",
                         guest_accelerators=[compute.InstanceGuestAcceleratorArgs(type="nvidia-tesla-t4", count=2)],
                         scheduling=compute.InstanceSchedulingArgs(on_host_maintenance="TERMINATE"),
                         boot_disk=compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(image="x", size=50)),
                         network_interfaces=[compute.InstanceNetworkInterfaceArgs(network="default")])

    item = line(estimate(program, vm_hours=730), "t4")
    assert charge(item, "n1-standard-4 hours") == pytest.approx(HOURS * 0.19, abs=CENT)  # 138.70
    assert charge(item, "2 × nvidia-tesla-t4 GPU hours") == pytest.approx(2 * HOURS * 0.35, abs=CENT)  # 511.00
    assert charge(item, "50 GiB pd-standard") == pytest.approx(50 * 0.04, abs=CENT)  # 2.00 (default disk type)


def test_scheduler_jobs_beyond_the_three_free_ones() -> None:
    def program() -> None:
        for index in range(5):
            gcp.cloudscheduler.Job(f"job{index}", region="us-central1", schedule="0 3 * * *",
                                   http_target=gcp.cloudscheduler.JobHttpTargetArgs(uri="https://example.com/run"))

    result = estimate(program)
    jobs = [l for l in result.lines if l.type == "gcp:cloudscheduler/job:Job"]
    assert sum(l.monthly for l in jobs) == pytest.approx((5 - 3) * 0.10, abs=CENT)  # 0.20


def test_subnet_flow_logs_are_vended_logs_and_plain_subnets_are_free() -> None:
    def program() -> None:
        compute.Subnetwork("logged", region="us-central1", network="net", ip_cidr_range="10.0.0.0/24",
                           log_config=compute.SubnetworkLogConfigArgs(flow_sampling=0.5, aggregation_interval="INTERVAL_5_SEC"))
        compute.Subnetwork("plain", region="us-central1", network="net", ip_cidr_range="10.0.1.0/24")

    result = estimate(program, flow_log_gb=12)
    assert line(result, "logged").monthly == pytest.approx(12 * 0.25, abs=CENT)  # 3.00, no free allotment
    assert line(result, "plain").status == "free"


def test_log_based_metrics_share_the_150_mib_free_allotment() -> None:
    def program() -> None:
        for index in range(3):
            gcp.logging.Metric(f"metric{index}", filter='severity>=ERROR',
                               metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64"))

    result = estimate(program, metric_mib=100)
    total = sum(l.monthly for l in result.lines if l.type == "gcp:logging/metric:Metric")
    assert total == pytest.approx((3 * 100 - 150) * 0.258, abs=CENT)  # 38.70


def test_standalone_disk_and_serverless_vpc_connector() -> None:
    def program() -> None:
        compute.Disk("data", zone="us-central1-a", type="pd-ssd", size=200)
        gcp.vpcaccess.Connector("connector", region="us-central1", ip_cidr_range="10.8.0.0/28", network="net",
                                machine_type="e2-micro", min_instances=2, max_instances=3)

    result = estimate(program)
    assert line(result, "data").monthly == pytest.approx(200 * 0.17, abs=CENT)  # 34.00
    assert line(result, "connector").monthly == pytest.approx(2 * HOURS * 0.008376, abs=CENT)  # 12.23
