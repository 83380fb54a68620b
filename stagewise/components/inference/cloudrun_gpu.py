"""Mode cloudrun-gpu: vLLM on a Cloud Run service with one NVIDIA L4 per instance."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import cloudrunv2

from stagewise.components.iam import SecretRole, declare_grants
from stagewise.components.inference.backend import Backend, Site
from stagewise.components.inference.limits import (
    HEALTH_PATH,
    SERVER_PORT,
    STARTUP_PROBE_MAX_DELAY_S,
    STARTUP_PROBE_MAX_FAILURE_WINDOW_S,
    WEIGHTS_MOUNT,
    docker_hub_path,
    gcs_model,
)
from stagewise.components.inference.modes import CloudRunGpu
from stagewise.components.inference.vllm import vllm_args


def declare(site: Site, name: str, mode: CloudRunGpu, served: str) -> Backend:
    """The GPU service and its own account, the Docker Hub proxy repository, the weights bucket mount."""
    child = site.child
    account = gcp.serviceaccount.Account(
        f"{name}-sa",
        project=site.project,
        account_id=f"{mode.service_name}-gpu"[:30],
        display_name=f"Cloud Run GPU service {mode.service_name}",
        description="Runs the model server; holds no project roles.",
        opts=child,
    )
    grants: list[pulumi.CustomResource] = []
    resources: dict[str, pulumi.Resource] = {}
    envs: list[cloudrunv2.ServiceTemplateContainerEnvArgs] = []
    if mode.hf_token_secret:
        # The account as an IAM principal: the provider's `member` output (serviceAccount:EMAIL,
        # https://www.pulumi.com/registry/packages/gcp/api-docs/serviceaccount/account/).
        grants = declare_grants(
            f"{name}-sa", account.member, [SecretRole(mode.hf_token_secret)],
            site.project, site.parent, [account],
        )
        envs.append(
            cloudrunv2.ServiceTemplateContainerEnvArgs(
                name="HF_TOKEN",
                value_source=cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                    secret_key_ref=cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                        secret=mode.hf_token_secret, version="latest"
                    )
                ),
            )
        )
    image: pulumi.Input[str] = mode.server_image
    image_deps: list[pulumi.Resource] = []
    hub_path = docker_hub_path(mode.server_image)
    if hub_path is not None:
        remote = gcp.artifactregistry.Repository(
            f"{name}-dockerhub",
            project=site.project,
            location=mode.region,
            repository_id=mode.remote_repository,
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            description="Docker Hub, proxied and cached in the project: the model server image is pulled from here",
            remote_repository_config=gcp.artifactregistry.RepositoryRemoteRepositoryConfigArgs(
                description="Docker Hub",
                docker_repository=gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgs(
                    public_repository="DOCKER_HUB"
                ),
            ),
            # A cache: old copies are deleted after 90 days (the recent ones kept), and a pull
            # after that re-fetches from Docker Hub.
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="keep-recent", action="KEEP",
                    most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(keep_count=5),
                ),
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="delete-old", action="DELETE",
                    condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(older_than=f"{90 * 86_400}s"),
                ),
            ],
            labels={**site.labels, "component": "inference"},
            opts=child,
        )
        resources["image_repository"] = remote
        image_deps.append(remote)
        image = pulumi.Output.concat(
            f"{mode.region}-docker.pkg.dev/", site.project, f"/{mode.remote_repository}/{hub_path}"
        )
    model_arg = mode.model
    volumes: list[cloudrunv2.ServiceTemplateVolumeArgs] | None = None
    mounts: list[cloudrunv2.ServiceTemplateContainerVolumeMountArgs] | None = None
    weights = gcs_model(mode.model)
    if weights is not None:
        bucket, path = weights
        model_arg = f"{WEIGHTS_MOUNT}/{path}"
        volumes = [
            cloudrunv2.ServiceTemplateVolumeArgs(
                name="weights",
                # implicit-dirs: a copied model tree has no directory placeholder objects.
                gcs=cloudrunv2.ServiceTemplateVolumeGcsArgs(bucket=bucket, read_only=True, mount_options=["implicit-dirs"]),
            )
        ]
        mounts = [cloudrunv2.ServiceTemplateContainerVolumeMountArgs(name="weights", mount_path=WEIGHTS_MOUNT)]
        reader = gcp.storage.BucketIAMMember(
            f"{name}-weights-reader",
            bucket=bucket,
            role="roles/storage.objectViewer",
            member=account.member,
            opts=pulumi.ResourceOptions(parent=site.parent, depends_on=[account]),
        )
        grants.append(reader)
    # The startup window: weights read from a mounted bucket load in about the probe's own
    # window; a Hugging Face download at every cold start (~15 GB for a 7B model) gets the
    # longest window Cloud Run allows, 480 s (see the limits above). The initial delay is a floor
    # on every cold start, so it is spent only where the download needs it.
    period = 10
    initial_delay = 0 if weights is not None else STARTUP_PROBE_MAX_DELAY_S
    service = cloudrunv2.Service(
        name,
        name=mode.service_name,
        project=site.project,
        location=mode.region,
        ingress="INGRESS_TRAFFIC_INTERNAL_ONLY" if mode.internal_only else "INGRESS_TRAFFIC_ALL",
        deletion_protection=mode.deletion_protection,
        invoker_iam_disabled=False,
        labels={**site.labels, "component": "inference"},
        scaling=cloudrunv2.ServiceScalingArgs(min_instance_count=mode.min_instances),
        template=cloudrunv2.ServiceTemplateArgs(
            service_account=account.email,
            max_instance_request_concurrency=mode.concurrency,
            timeout="600s",
            scaling=cloudrunv2.ServiceTemplateScalingArgs(
                min_instance_count=mode.min_instances, max_instance_count=mode.max_instances
            ),
            node_selector=cloudrunv2.ServiceTemplateNodeSelectorArgs(accelerator="nvidia-l4"),
            vpc_access=cloudrunv2.ServiceTemplateVpcAccessArgs(
                egress="ALL_TRAFFIC" if mode.vpc_egress.all_traffic else "PRIVATE_RANGES_ONLY",
                network_interfaces=[
                    cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                        network=mode.vpc_egress.network, subnetwork=mode.vpc_egress.subnetwork
                    )
                ],
            ) if mode.vpc_egress is not None else None,
            gpu_zonal_redundancy_disabled=not mode.gpu_zonal_redundancy,
            volumes=volumes,
            containers=[
                cloudrunv2.ServiceTemplateContainerArgs(
                    image=image,
                    args=vllm_args(model_arg, served, SERVER_PORT, mode.max_model_len, 1),
                    volume_mounts=mounts,
                    ports=cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=SERVER_PORT, name="http1"),
                    envs=envs or None,
                    resources=cloudrunv2.ServiceTemplateContainerResourcesArgs(
                        limits={"cpu": str(mode.cpu), "memory": mode.memory, "nvidia.com/gpu": "1"},
                        # GPUs need CPU always allocated (instance-based billing).
                        cpu_idle=False,
                        startup_cpu_boost=True,
                    ),
                    startup_probe=cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                        http_get=cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(path=HEALTH_PATH, port=SERVER_PORT),
                        initial_delay_seconds=initial_delay, period_seconds=period, timeout_seconds=5,
                        failure_threshold=STARTUP_PROBE_MAX_FAILURE_WINDOW_S // period,
                    ),
                    liveness_probe=cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
                        http_get=cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(path=HEALTH_PATH, port=SERVER_PORT),
                        period_seconds=30, timeout_seconds=5, failure_threshold=3,
                    ),
                )
            ],
            labels={**site.labels, "component": "inference"},
        ),
        opts=pulumi.ResourceOptions(parent=site.parent, depends_on=[*grants, *image_deps]),
    )
    resources.update(service_account=account, service=service)

    def invoke(caller: str, member: pulumi.Input[str], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        return cloudrunv2.ServiceIamMember(
            f"{name}-{caller}-invoker",
            project=site.project,
            location=mode.region,
            name=service.name,
            role="roles/run.invoker",
            member=member,
            opts=opts,
        )

    return Backend(
        base_url=service.uri.apply(lambda uri: f"{uri}/v1"),
        # A private Cloud Run service wants an ID token minted for its URL.
        auth_env={"CHAT_OPENAI_AUTH": "google-id-token", "CHAT_OPENAI_AUDIENCE": service.uri},
        metrics_target=service.name,
        resources=resources,
        caller_grant=invoke,
    )

