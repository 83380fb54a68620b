"""Fixtures: Compute Engine (GPU machine types and scheduling, Spot, boot disks, COS firewall, MIGs, autoscalers, health checks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness import PROJECT, fail, ok
from pulumi_gcp import compute

COS = "projects/cos-cloud/global/images/family/cos-stable"
HOST_NET = "#!/bin/bash\ndocker run -d --name vllm --restart always \\\n  --network host vllm/vllm-openai:v0.10.1 --port 8000\n"
OPENED = "#!/bin/bash\niptables -w -A INPUT -p tcp --dport 8000 -j ACCEPT\ndocker run -d --net=host vllm/vllm-openai:v0.10.1\n"
PUBLISHED = "#!/bin/bash\ndocker run -d -p 8000:8000 vllm/vllm-openai:v0.10.1\n"


def template(machine: str = "n2-standard-4", gpus: Sequence[tuple[str, int]] = (), image: str = "debian-cloud/debian-12",
             size: float | None = 20, script: str | None = None, **scheduling: Any) -> Callable[[], None]:
    def program() -> None:
        compute.RegionInstanceTemplate(
            "tmpl", name_prefix="tmpl-", project=PROJECT, region="us-central1", machine_type=machine,
            disks=[compute.RegionInstanceTemplateDiskArgs(source_image=image, boot=True, disk_size_gb=size)],
            network_interfaces=[compute.RegionInstanceTemplateNetworkInterfaceArgs(network="default")],
            guest_accelerators=[compute.RegionInstanceTemplateGuestAcceleratorArgs(type=t, count=c) for t, c in gpus] or None,
            scheduling=compute.RegionInstanceTemplateSchedulingArgs(**scheduling) if scheduling else None,
            metadata_startup_script=script,
        )

    return program


def instance(machine: str, image: str = "ubuntu-os-cloud/ubuntu-2204-lts", size: int | None = None, gpus: Sequence[tuple[str, int]] = (),
             metadata: dict[str, str] | None = None, **scheduling: Any) -> Callable[[], None]:
    def program() -> None:
        compute.Instance(
            "vm", name="vm", project=PROJECT, zone="us-central1-a", machine_type=f"zones/us-central1-a/machineTypes/{machine}",
            boot_disk=compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(image=image, size=size)),
            network_interfaces=[compute.InstanceNetworkInterfaceArgs(network="default")],
            guest_accelerators=[compute.InstanceGuestAcceleratorArgs(type=f"projects/{PROJECT}/zones/us-central1-a/acceleratorTypes/{t}", count=c)
                                for t, c in gpus] or None,
            scheduling=compute.InstanceSchedulingArgs(**scheduling) if scheduling else None,
            metadata=metadata,
        )

    return program


def scoped(scopes: Sequence[str], script: str | None = None, logging: bool = False) -> Callable[[], None]:
    def program() -> None:
        compute.Instance(
            "vm", name="vm", project=PROJECT, zone="us-central1-a", machine_type="e2-small",
            boot_disk=compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(image=COS)),
            network_interfaces=[compute.InstanceNetworkInterfaceArgs(network="default")],
            service_account=compute.InstanceServiceAccountArgs(email=f"vm@{PROJECT}.iam.gserviceaccount.com", scopes=list(scopes)),
            metadata_startup_script=script, metadata={"google-logging-enabled": "true"} if logging else None,
        )

    return program


AR_PULL = "docker run -d -p 8000:8000 us-central1-docker.pkg.dev/fixture-project/apps/model@sha256:" + "b" * 64
SECRET_READ = "TOKEN=$(gcloud secrets versions access latest --secret=hf-token)\n" + AR_PULL


def mig(zones: Sequence[str] = (), shape: str | None = None) -> Callable[[], None]:
    def program() -> None:
        compute.RegionInstanceGroupManager(
            "mig", name="mig", project=PROJECT, region="us-central1", base_instance_name="vm",
            versions=[compute.RegionInstanceGroupManagerVersionArgs(instance_template="projects/p/regions/us-central1/instanceTemplates/t")],
            distribution_policy_zones=list(zones) or None, distribution_policy_target_shape=shape,
        )

    return program


def autoscaler(low: float, high: float, target: float | None = 0.6) -> Callable[[], None]:
    def program() -> None:
        compute.RegionAutoscaler(
            "as", name="as", project=PROJECT, region="us-central1", target="projects/p/regions/us-central1/instanceGroupManagers/mig",
            autoscaling_policy=compute.RegionAutoscalerAutoscalingPolicyArgs(
                min_replicas=low, max_replicas=high,  # type: ignore[arg-type]
                cpu_utilization=compute.RegionAutoscalerAutoscalingPolicyCpuUtilizationArgs(target=target) if target is not None else None,
            ),
        )

    return program


def health(**kwargs: Any) -> Callable[[], None]:
    def program() -> None:
        args: dict[str, Any] = {"http_health_check": compute.HealthCheckHttpHealthCheckArgs(port=8000, request_path="/health")}
        args.update(kwargs)
        compute.HealthCheck("hc", name="hc", project=PROJECT, **args)

    return program


CASES = [
    # GPUs and machine types
    fail("compute-gpu-machine-type", template("g2-standard-8", gpus=[("nvidia-tesla-t4", 1)], on_host_maintenance="TERMINATE"),
         resource="tmpl", field="guestAccelerators[0].type"),
    fail("compute-gpu-machine-type", template("n1-standard-8", gpus=[("nvidia-l4", 1)], on_host_maintenance="TERMINATE"), id="l4-on-n1",
         field="guestAccelerators[0].type"),
    fail("compute-gpu-machine-type", template("n2-standard-8", gpus=[("nvidia-tesla-t4", 1)], on_host_maintenance="TERMINATE"), id="n2",
         field="guestAccelerators[0].type"),
    fail("compute-gpu-machine-type", instance("g1-small", gpus=[("nvidia-tesla-t4", 1)], on_host_maintenance="TERMINATE"), id="shared-core",
         resource="vm"),
    ok("compute-gpu-machine-type", template("n1-standard-8", gpus=[("nvidia-tesla-t4", 2)], on_host_maintenance="TERMINATE")),
    ok("compute-gpu-machine-type", template("g2-standard-8", on_host_maintenance="TERMINATE"), id="g2-built-in"),
    ok("compute-gpu-machine-type", instance("a2-highgpu-1g", gpus=[("nvidia-tesla-a100", 1)], on_host_maintenance="TERMINATE"), id="a2-explicit"),
    fail("compute-gpu-maintenance", template("g2-standard-8"), resource="tmpl", field="scheduling.onHostMaintenance"),
    fail("compute-gpu-maintenance", instance("n1-standard-4", gpus=[("nvidia-tesla-t4", 1)], on_host_maintenance="MIGRATE"), id="migrate",
         field="scheduling.onHostMaintenance"),
    ok("compute-gpu-maintenance", template("g2-standard-8", on_host_maintenance="TERMINATE")),
    ok("compute-gpu-maintenance", template("g2-standard-8", provisioning_model="SPOT", automatic_restart=False), id="spot-default"),
    ok("compute-gpu-maintenance", template("n2-standard-4"), id="no-gpu"),
    fail("compute-spot-scheduling", template(provisioning_model="SPOT"), resource="tmpl", field="scheduling.automaticRestart"),
    fail("compute-spot-scheduling", template(preemptible=True, automatic_restart=False, on_host_maintenance="MIGRATE"), id="migrate",
         field="scheduling.onHostMaintenance"),
    fail("compute-spot-scheduling", instance("e2-small", preemptible=True, automatic_restart=True), id="explicit-restart",
         field="scheduling.automaticRestart"),
    ok("compute-spot-scheduling", template(provisioning_model="SPOT", preemptible=True, automatic_restart=False, on_host_maintenance="TERMINATE",
                                           instance_termination_action="STOP")),
    ok("compute-spot-scheduling", template(), id="standard"),
    fail("compute-e2-terminate", instance("e2-medium", on_host_maintenance="TERMINATE"), resource="vm", field="scheduling.onHostMaintenance"),
    ok("compute-e2-terminate", instance("e2-medium", on_host_maintenance="TERMINATE", preemptible=True, automatic_restart=False)),
    ok("compute-e2-terminate", instance("n2-standard-2", on_host_maintenance="TERMINATE"), id="n2"),
    fail("compute-gpu-capacity", template("g2-standard-8", on_host_maintenance="TERMINATE"), resource="tmpl", field="machineType"),
    fail("compute-gpu-capacity", instance("n1-standard-8", gpus=[("nvidia-tesla-t4", 1)], on_host_maintenance="TERMINATE"), id="n1-t4"),
    ok("compute-gpu-capacity", template("n2-standard-4")),
    # boot disks and images
    fail("compute-boot-disk-size", instance("e2-small", image="projects/centos-cloud/global/images/family/centos-stream-9", size=10),
         resource="vm", field="bootDisk.initializeParams.size"),
    fail("compute-boot-disk-size", template(image="windows-cloud/windows-2022", size=30), id="windows-template", field="disks[0].diskSizeGb"),
    ok("compute-boot-disk-size", instance("e2-small", image="ubuntu-os-cloud/ubuntu-2204-lts", size=10)),
    ok("compute-boot-disk-size", template(image="windows-cloud/windows-2022", size=None), id="default-size"),
    fail("compute-cos-host-firewall", template(image=COS, script=HOST_NET), resource="tmpl", field="metadataStartupScript"),
    fail("compute-cos-host-firewall", instance("e2-small", image=COS, metadata={"startup-script": "docker run --network=host nginx"}),
         id="metadata-key", field="metadata.startup-script"),
    ok("compute-cos-host-firewall", template(image=COS, script=OPENED)),
    ok("compute-cos-host-firewall", template(image=COS, script=PUBLISHED), id="published-port"),
    ok("compute-cos-host-firewall", template(image="debian-cloud/debian-12", script=HOST_NET), id="not-cos"),
    fail("compute-sa-scopes", scoped(["https://www.googleapis.com/auth/logging.write"], script=AR_PULL), resource="vm",
         field="serviceAccount.scopes"),
    fail("compute-sa-scopes", scoped(["storage-ro", "logging-write"], script=SECRET_READ), id="secret-manager", field="serviceAccount.scopes"),
    fail("compute-sa-scopes", scoped([], logging=True), id="no-scopes-logging", field="serviceAccount.scopes"),
    ok("compute-sa-scopes", scoped(["https://www.googleapis.com/auth/cloud-platform"], script=SECRET_READ, logging=True)),
    ok("compute-sa-scopes", scoped(["storage-ro", "logging-write"], script=AR_PULL, logging=True), id="narrow-but-enough"),
    # MIGs, autoscalers, health checks
    fail("compute-mig-zones", mig(zones=["us-central1-a", "us-east1-b"]), resource="mig", field="distributionPolicyZones[1]"),
    fail("compute-mig-zones", mig(shape="SPREAD"), id="shape", field="distributionPolicyTargetShape"),
    ok("compute-mig-zones", mig(zones=["us-central1-a", "projects/p/zones/us-central1-c"], shape="ANY")),
    fail("compute-autoscaler-bounds", autoscaler(3, 1), resource="as", field="autoscalingPolicy.maxReplicas"),
    fail("compute-autoscaler-bounds", autoscaler(0, 1, target=60), id="percent-target", field="autoscalingPolicy.cpuUtilization.target"),
    ok("compute-autoscaler-bounds", autoscaler(0, 1)),
    fail("compute-health-check", health(timeout_sec=10, check_interval_sec=5), resource="hc", field="timeoutSec"),
    fail("compute-health-check", health(timeout_sec=10), id="default-interval", field="timeoutSec"),
    fail("compute-health-check", health(tcp_health_check=compute.HealthCheckTcpHealthCheckArgs(port=8000)), id="two-kinds",
         field="tcpHealthCheck"),
    fail("compute-health-check", health(http_health_check=compute.HealthCheckHttpHealthCheckArgs(port=70000)), id="port",
         field="httpHealthCheck.port"),
    ok("compute-health-check", health(timeout_sec=5, check_interval_sec=10)),
]
