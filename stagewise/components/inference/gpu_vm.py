"""Mode gpu-vm: vLLM on a regional managed instance group of (GPU) VMs behind an internal load balancer."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import compute

from stagewise.components.iam import Grant, ProjectRole, SecretRole, declare_grants
from stagewise.components.inference.backend import Backend, Site
from stagewise.components.inference.limits import COS_IMAGE, HEALTH_PATH
from stagewise.components.inference.modes import GpuVmPool
from stagewise.components.inference.vllm import startup_script


def vm_prefix(name: str) -> str:
    """The VMs' name prefix, which is also the scrape job their alert queries select on."""
    return f"{name}-vm"[:58]


def declare(site: Site, name: str, pool: GpuVmPool, served: str) -> Backend:
    """Template, health check, instance group, autoscaler, internal address, backend, forwarding rule, firewall."""
    child = site.child
    gpus = 0 if pool.accelerator == "none" else pool.accelerator_count
    account = gcp.serviceaccount.Account(
        f"{name}-vm-sa",
        project=site.project,
        account_id=f"{name}-vm"[:30].rstrip("-"),
        display_name=f"Inference VMs {name}",
        description="Runs the model server VMs: writes logs and metrics, reads its HF token if any.",
        opts=child,
    )
    vm_grants: list[Grant] = [ProjectRole("roles/logging.logWriter"), ProjectRole("roles/monitoring.metricWriter")]
    if pool.hf_token_secret:
        vm_grants.append(SecretRole(pool.hf_token_secret))
    # The account as an IAM principal: the provider's `member` output (serviceAccount:EMAIL,
    # https://www.pulumi.com/registry/packages/gcp/api-docs/serviceaccount/account/).
    grants = declare_grants(f"{name}-vm-sa", account.member, vm_grants, site.project, site.parent, [account])
    server_tag = f"{name}-server"
    # The scrape job carries the VMs' name prefix, so each pool's alerts select its own series.
    job = vm_prefix(name)
    script = pulumi.Output.from_input(site.project).apply(lambda project: startup_script(pool, served, project, job))
    spot = pool.spot
    template = compute.RegionInstanceTemplate(
        f"{name}-template",
        project=site.project,
        region=pool.region,
        name_prefix=f"{name}-"[:37],
        description=f"vLLM serving {pool.model}",
        machine_type=pool.machine,
        disks=[
            compute.RegionInstanceTemplateDiskArgs(
                boot=True, auto_delete=True, source_image=COS_IMAGE, disk_size_gb=pool.boot_disk_gb, disk_type="pd-balanced"
            )
        ],
        # No access_configs: no external IP. Egress for image/model pulls goes through Cloud NAT.
        network_interfaces=[
            compute.RegionInstanceTemplateNetworkInterfaceArgs(network=pool.network.network, subnetwork=pool.network.subnetwork)
        ],
        guest_accelerators=[compute.RegionInstanceTemplateGuestAcceleratorArgs(type=pool.accelerator, count=gpus)] if gpus else None,
        scheduling=compute.RegionInstanceTemplateSchedulingArgs(
            # GPUs cannot live-migrate; Spot VMs cannot either.
            on_host_maintenance="TERMINATE" if gpus or spot else "MIGRATE",
            automatic_restart=not spot,
            preemptible=spot,
            provisioning_model="SPOT" if spot else "STANDARD",
            instance_termination_action="STOP" if spot else None,
        ),
        shielded_instance_config=compute.RegionInstanceTemplateShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True
        ),
        service_account=compute.RegionInstanceTemplateServiceAccountArgs(
            email=account.email, scopes=["https://www.googleapis.com/auth/cloud-platform"]
        ),
        metadata={
            "enable-oslogin": "TRUE",
            "block-project-ssh-keys": "TRUE",
            "google-logging-enabled": "true",
            "google-monitoring-enabled": "true",
        },
        metadata_startup_script=script,
        tags=[pool.network.health_check_tag, server_tag],
        labels={**site.labels, "component": "inference"},
        opts=pulumi.ResourceOptions(parent=site.parent, depends_on=grants),
    )
    health = compute.HealthCheck(
        f"{name}-health",
        project=site.project,
        description="vLLM /health on the server port",
        check_interval_sec=10,
        timeout_sec=5,
        healthy_threshold=2,
        unhealthy_threshold=3,
        http_health_check=compute.HealthCheckHttpHealthCheckArgs(port=pool.port, request_path=HEALTH_PATH),
        log_config=compute.HealthCheckLogConfigArgs(enable=True),
        opts=child,
    )
    surge = max(len(pool.zones), 3)
    group = compute.RegionInstanceGroupManager(
        f"{name}-mig",
        project=site.project,
        region=pool.region,
        base_instance_name=vm_prefix(name),
        versions=[compute.RegionInstanceGroupManagerVersionArgs(name="primary", instance_template=template.self_link)],
        distribution_policy_zones=list(pool.zones) or None,
        # GPUs are scarce per zone: let the group place VMs wherever capacity exists.
        distribution_policy_target_shape="ANY",
        named_ports=[compute.RegionInstanceGroupManagerNamedPortArgs(name="http", port=pool.port)],
        auto_healing_policies=compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(
            health_check=health.id,
            # Pulling the image and the weights takes minutes; don't recreate a VM that is still loading.
            initial_delay_sec=900,
        ),
        update_policy=compute.RegionInstanceGroupManagerUpdatePolicyArgs(
            type="PROACTIVE",
            minimal_action="REPLACE",
            instance_redistribution_type="NONE",
            max_surge_fixed=surge,
            max_unavailable_fixed=0,
        ),
        wait_for_instances=False,
        opts=child,
    )
    schedules = None
    if pool.schedule is not None:
        schedules = [
            compute.RegionAutoscalerAutoscalingPolicyScalingScheduleArgs(
                name="working-hours",
                schedule=pool.schedule.cron,
                duration_sec=pool.schedule.duration_hours * 3600,
                min_required_replicas=max(1, pool.min_replicas),
                time_zone=pool.schedule.time_zone,
                description="keep a server up while people test",
            )
        ]
    autoscaler = compute.RegionAutoscaler(
        f"{name}-autoscaler",
        project=site.project,
        region=pool.region,
        target=group.id,
        autoscaling_policy=compute.RegionAutoscalerAutoscalingPolicyArgs(
            min_replicas=pool.min_replicas,
            max_replicas=pool.max_replicas,
            cooldown_period=900,
            cpu_utilization=compute.RegionAutoscalerAutoscalingPolicyCpuUtilizationArgs(target=0.6),
            mode="ON",
            scaling_schedules=schedules,
        ),
        opts=child,
    )
    address = compute.Address(
        f"{name}-ilb-ip",
        project=site.project,
        region=pool.region,
        address_type="INTERNAL",
        purpose="GCE_ENDPOINT",
        subnetwork=pool.network.subnetwork,
        description="stable private address of the model server",
        opts=child,
    )
    backend = compute.RegionBackendService(
        f"{name}-backend",
        project=site.project,
        region=pool.region,
        load_balancing_scheme="INTERNAL",
        protocol="TCP",
        health_checks=health.id,
        backends=[compute.RegionBackendServiceBackendArgs(group=group.instance_group, balancing_mode="CONNECTION")],
        connection_draining_timeout_sec=60,
        log_config=compute.RegionBackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
        opts=child,
    )
    rule = compute.ForwardingRule(
        f"{name}-ilb",
        project=site.project,
        region=pool.region,
        load_balancing_scheme="INTERNAL",
        backend_service=backend.id,
        ip_address=address.address,
        ip_protocol="TCP",
        ports=[str(pool.port)],
        network=pool.network.network,
        subnetwork=pool.network.subnetwork,
        allow_global_access=pool.global_access,
        labels=dict(site.labels),
        opts=child,
    )
    firewall = compute.Firewall(
        f"{name}-clients",
        project=site.project,
        network=pool.network.network,
        description="callers' egress ranges may reach the model server port; nothing else",
        direction="INGRESS",
        priority=1000,
        source_ranges=list(pool.network.client_ranges),
        target_tags=[server_tag],
        allows=[compute.FirewallAllowArgs(protocol="tcp", ports=[str(pool.port)])],
        log_config=compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
        opts=child,
    )
    return Backend(
        base_url=address.address.apply(lambda ip: f"http://{ip}:{pool.port}/v1"),
        # The internal load balancer carries no identity check: the firewall admits the callers' ranges only.
        metrics_target=job,
        resources=dict(
            service_account=account, template=template, health_check=health, group=group, autoscaler=autoscaler,
            address=address, backend=backend, forwarding_rule=rule, firewall=firewall,
        ),
    )

