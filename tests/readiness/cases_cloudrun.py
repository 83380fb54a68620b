"""Fixtures: Cloud Run v2 services and jobs (and v1 services where a rule covers them), raw pulumi_gcp."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_gcp as gcp
from harness import PROJECT, depends, fail, ok
from pulumi_gcp import cloudrunv2 as run

DIGEST = "sha256:" + "4e7c1d2b" * 8
IMAGE = f"us-docker.pkg.dev/cloudrun/container/hello@{DIGEST}"
ACCOUNT = f"chat-run@{PROJECT}.iam.gserviceaccount.com"
REGION = "us-central1"
OWN_REPO = f"{REGION}-docker.pkg.dev/{PROJECT}/apps"


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Nested dict merge (values are not copied: they may be Outputs)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def service(logical: str = "svc", *, container: dict[str, Any] | None = None, template: dict[str, Any] | None = None,
            opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> run.Service:
    """A valid service: its own account, a pinned image; ``container``/``template`` are merged in."""
    body = merge({"image": IMAGE}, container or {})
    tmpl = merge({"serviceAccount": ACCOUNT, "containers": [body]}, template or {})
    args: dict[str, Any] = {"name": "chat", "project": PROJECT, "location": REGION, "deletion_protection": False, **kwargs}
    return run.Service(logical, template=tmpl, opts=opts, **args)


def job(logical: str = "job", *, container: dict[str, Any] | None = None, task: dict[str, Any] | None = None, **kwargs: Any) -> run.Job:
    body = merge({"image": IMAGE}, container or {})
    tmpl = merge({"serviceAccount": ACCOUNT, "containers": [body]}, task or {})
    args: dict[str, Any] = {"name": "export", "project": PROJECT, "location": REGION, "deletion_protection": False, **kwargs}
    return run.Job(logical, template={"template": tmpl}, **args)


def p(**kwargs: Any) -> Callable[[], None]:
    """A program declaring one service with these settings."""
    def program() -> None:
        service(**kwargs)

    return program


def limits(cpu: str | None = None, memory: str | None = None, **extra: Any) -> dict[str, Any]:
    values = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"resources": {"limits": values, **extra}}


def gpu(accelerator: str = "nvidia-l4", cpu: str = "4", memory: str = "16Gi", count: str | None = "1", cpu_idle: bool | None = False,
        location: str = REGION, selector: bool = True) -> Callable[[], None]:
    def program() -> None:
        lim = {"cpu": cpu, "memory": memory, **({"nvidia.com/gpu": count} if count is not None else {})}
        resources: dict[str, Any] = {"limits": lim, **({"cpuIdle": cpu_idle} if cpu_idle is not None else {})}
        template: dict[str, Any] = {"scaling": {"maxInstanceCount": 2}, "gpuZonalRedundancyDisabled": True}
        if selector:
            template["nodeSelector"] = {"accelerator": accelerator}
        service(location=location, container={"resources": resources}, template=template)

    return program


def gpu_job(timeout: str) -> Callable[[], None]:
    def program() -> None:
        job(container={"resources": {"limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}}},
            task={"nodeSelector": {"accelerator": "nvidia-l4"}, "timeout": timeout})

    return program


def job_program(**kwargs: Any) -> Callable[[], None]:
    def program() -> None:
        job(**kwargs)

    return program


def v1_service(spec: dict[str, Any], name: str = "chat") -> Callable[[], None]:
    def program() -> None:
        gcp.cloudrun.Service(
            "v1", name=name, project=PROJECT, location=REGION,
            template={"spec": merge({"serviceAccountName": ACCOUNT, "containers": [{"image": IMAGE}]}, spec)},
        )

    return program


# --- secrets -----------------------------------------------------------------------------------------------
def secret_program(*, version: bool = True, wait_version: bool = True, grant: str | None = "secret", role: str = "roles/secretmanager.secretAccessor",
                   wait_grant: bool = True, volume: bool = False, ref: str = "app-key") -> Callable[[], None]:
    def program() -> None:
        account = gcp.serviceaccount.Account("sa", account_id="chat-run", project=PROJECT)
        secret = gcp.secretmanager.Secret("key", secret_id="app-key", project=PROJECT, replication={"auto": {}})
        waits: list[pulumi.Resource] = []
        if version:
            v = gcp.secretmanager.SecretVersion("key-v1", secret=secret.id, secret_data="not-a-real-value")
            if wait_version:
                waits.append(v)
        member = account.email.apply(lambda email: f"serviceAccount:{email}")
        if grant == "secret":
            g: pulumi.Resource = gcp.secretmanager.SecretIamMember("key-reader", project=PROJECT, secret_id=secret.secret_id, role=role, member=member)
        elif grant == "project":
            g = gcp.projects.IAMMember("key-reader", project=PROJECT, role=role, member=member)
        elif grant == "custom":
            custom = gcp.projects.IAMCustomRole("reader-role", project=PROJECT, role_id="secretReader", title="secret reader",
                                                permissions=["secretmanager.versions.access"])
            g = gcp.projects.IAMMember("key-reader", project=PROJECT, role=custom.name, member=member)
        if grant and wait_grant:
            waits.append(g)
        if volume:
            template: dict[str, Any] = {"volumes": [{"name": "key", "secret": {"secret": ref, "items": [{"path": "key", "version": "latest"}]}}]}
            container: dict[str, Any] = {"volumeMounts": [{"name": "key", "mountPath": "/secrets"}]}
        else:
            template = {}
            container = {"envs": [{"name": "APP_KEY", "valueSource": {"secretKeyRef": {"secret": ref, "version": "latest"}}}]}
        service(container=container, template=template, opts=depends(account, *waits))

    return program


def external_secret() -> None:
    service(container={"envs": [{"name": "APP_KEY", "valueSource": {"secretKeyRef": {"secret": "made-elsewhere", "version": "3"}}}]})


# --- networking ---------------------------------------------------------------------------------------------
def vpc(cidr: str = "10.8.0.0/26", region: str = REGION, network: str = "main", subnet_network: str = "main",
        by_self_link: bool = False, egress: str = "PRIVATE_RANGES_ONLY", connector: str | None = None) -> Callable[[], None]:
    def program() -> None:
        subnet = gcp.compute.Subnetwork("run-egress", name="run-egress", project=PROJECT, region=region, network=subnet_network, ip_cidr_range=cidr)
        interface = {"network": network, "subnetwork": subnet.self_link if by_self_link else "run-egress"}
        access: dict[str, Any] = {"egress": egress, "networkInterfaces": [interface]}
        if connector:
            access["connector"] = connector
        service(template={"vpcAccess": access}, opts=depends(subnet))

    return program


def behind_lb(ingress: str, scheme: str = "EXTERNAL_MANAGED", regional: bool = False, default_uri_disabled: bool | None = None,
              with_lb: bool = True) -> Callable[[], None]:
    def program() -> None:
        svc = service(ingress=ingress, default_uri_disabled=default_uri_disabled)
        if not with_lb:
            return
        neg = gcp.compute.RegionNetworkEndpointGroup("neg", name="chat-neg", project=PROJECT, region=REGION,
                                                     network_endpoint_type="SERVERLESS", cloud_run={"service": svc.name})
        if regional:
            gcp.compute.RegionBackendService("backend", name="chat-backend", project=PROJECT, region=REGION, protocol="HTTPS",
                                             load_balancing_scheme=scheme, backends=[{"group": neg.id, "balancingMode": "UTILIZATION"}])
        else:
            gcp.compute.BackendService("backend", name="chat-backend", project=PROJECT, protocol="HTTPS",
                                       load_balancing_scheme=scheme, backends=[{"group": neg.id}])

    return program


# --- images -------------------------------------------------------------------------------------------------
def own_repo(push: str | None = None, use_digest: bool = True, wait: bool = True) -> Callable[[], None]:
    """A repository of this project; optionally a docker.Image pushed to it and used by the service."""
    def program() -> None:
        repo = gcp.artifactregistry.Repository("apps", repository_id="apps", project=PROJECT, location=REGION, format="DOCKER")
        if push is None:
            service(container={"image": f"{OWN_REPO}/chat@{DIGEST}"}, opts=depends(repo))
            return
        image = docker.Image("img", image_name=push, build=docker.DockerBuildArgs(context="."), opts=depends(repo))
        if use_digest:
            service(container={"image": image.repo_digest})
        else:
            service(container={"image": push}, opts=depends(repo, image) if wait else depends(repo))

    return program


def remote_repo() -> None:
    repo = gcp.artifactregistry.Repository(
        "dockerhub", repository_id="dockerhub", project=PROJECT, location=REGION, format="DOCKER", mode="REMOTE_REPOSITORY",
        remote_repository_config={"dockerRepository": {"publicRepository": "DOCKER_HUB"}},
    )
    service(container={"image": f"{REGION}-docker.pkg.dev/{PROJECT}/dockerhub/vllm/vllm-openai@{DIGEST}"}, opts=depends(repo))


def no_repo() -> None:
    service(container={"image": f"{OWN_REPO}/chat@{DIGEST}"})


def scaled(template_scaling: dict[str, Any] | None = None, service_scaling: dict[str, Any] | None = None) -> Callable[[], None]:
    def program() -> None:
        service(template={"scaling": template_scaling} if template_scaling else None, scaling=service_scaling)

    return program


def traffic(*targets: dict[str, Any], name: str = "chat") -> Callable[[], None]:
    def program() -> None:
        service(name=name, traffics=list(targets))

    return program


LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
BY_REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
SVC = "template.containers[0]"

CASES = [
    # CPU values
    fail("run-cpu-value", p(container=limits("3", "4Gi")), resource="svc", field=f"{SVC}.resources.limits.cpu"),
    fail("run-cpu-value", p(container=limits("50m")), field=f"{SVC}.resources.limits.cpu", id="below-minimum"),
    fail("run-cpu-value", job_program(container=limits("2.5", "4Gi")), resource="job", field="template.template.containers[0]", id="job"),
    ok("run-cpu-value", p(container=limits("2000m", "4Gi"))),
    ok("run-cpu-value", p(container=limits("0.5", "512Mi", cpuIdle=True)), id="fraction"),
    # memory
    fail("run-memory-bounds", p(container=limits("8", "64Gi")), field=f"{SVC}.resources.limits.memory"),
    fail("run-memory-bounds", p(container=limits("1", "256Mi"), template={"executionEnvironment": "EXECUTION_ENVIRONMENT_GEN2"}), id="gen2-minimum"),
    ok("run-memory-bounds", p(container=limits("8", "32768Mi"))),
    ok("run-memory-bounds", p(container=limits("1", "256Mi")), id="gen1-small"),
    # CPU and memory together
    fail("run-cpu-memory", p(container=limits("1", "8Gi")), field=f"{SVC}.resources.limits"),
    fail("run-cpu-memory", p(container=limits(memory="4097Mi")), id="default-cpu"),
    fail("run-cpu-memory", p(container=limits("4", "1Gi")), id="cpu-needs-memory"),
    fail("run-cpu-memory", p(container=limits("0.4", "768Mi", cpuIdle=True)), id="fraction-needs-cpu"),
    ok("run-cpu-memory", p(container=limits("2000m", "8192Mi"))),
    ok("run-cpu-memory", job_program(container=limits("2", "8Gi")), id="job"),
    # fractional CPU
    fail("run-fractional-cpu", p(container=limits("0.5", cpuIdle=True), template={"maxInstanceRequestConcurrency": 80}),
         field="template.maxInstanceRequestConcurrency"),
    fail("run-fractional-cpu", p(container=limits("500m", "512Mi")), field=f"{SVC}.resources.cpuIdle", id="billing"),
    fail("run-fractional-cpu", p(container=limits("0.5", cpuIdle=True), template={"executionEnvironment": "EXECUTION_ENVIRONMENT_GEN2"}),
         field="template.executionEnvironment", id="gen2"),
    ok("run-fractional-cpu", p(container=limits("0.5", cpuIdle=True), template={"maxInstanceRequestConcurrency": 1})),
    ok("run-fractional-cpu", p(container=limits("1")), id="whole-cpu"),
    # concurrency
    fail("run-concurrency-max", p(template={"maxInstanceRequestConcurrency": 1001}), field="template.maxInstanceRequestConcurrency"),
    fail("run-concurrency-max", v1_service({"containerConcurrency": 2000}), resource="v1", field="template.spec.containerConcurrency", id="v1"),
    ok("run-concurrency-max", p(template={"maxInstanceRequestConcurrency": 1000})),
    # timeouts
    fail("run-request-timeout", p(template={"timeout": "3601s"}), field="template.timeout"),
    fail("run-request-timeout", v1_service({"timeoutSeconds": 7200}), field="template.spec.timeoutSeconds", id="v1"),
    ok("run-request-timeout", p(template={"timeout": "3600s"})),
    fail("run-task-timeout", job_program(task={"timeout": "700000s"}), resource="job", field="template.template.timeout"),
    fail("run-task-timeout", gpu_job("7200s"), id="gpu"),
    ok("run-task-timeout", job_program(task={"timeout": "86400s"})),
    ok("run-task-timeout", gpu_job("3600s"), id="gpu"),
    # GPU
    fail("run-gpu-config", gpu(selector=False), field="template.nodeSelector.accelerator"),
    fail("run-gpu-config", gpu(count=None), id="selector-without-limit"),
    fail("run-gpu-config", gpu(accelerator="nvidia-tesla-t4"), id="unknown-type"),
    fail("run-gpu-config", gpu(count="2"), field=f"{SVC}.resources.limits.nvidia.com/gpu", id="two"),
    ok("run-gpu-config", gpu()),
    fail("run-gpu-resources", gpu(cpu="2", memory="8Gi"), field=f"{SVC}.resources.limits"),
    fail("run-gpu-resources", gpu(accelerator="nvidia-rtx-pro-6000", cpu="8", memory="32Gi"), id="rtx"),
    ok("run-gpu-resources", gpu(cpu="8", memory="32Gi")),
    ok("run-gpu-resources", gpu(accelerator="nvidia-rtx-pro-6000", cpu="20", memory="80Gi"), id="rtx"),
    fail("run-gpu-billing", gpu(cpu_idle=True), field=f"{SVC}.resources.cpuIdle"),
    ok("run-gpu-billing", gpu()),
    ok("run-gpu-billing", gpu(cpu_idle=None), id="unset"),
    fail("run-gpu-region", gpu(location="us-west1"), field="location"),
    fail("run-gpu-region", gpu(accelerator="nvidia-rtx-pro-6000", cpu="20", memory="80Gi", location="europe-west1"), id="rtx"),
    ok("run-gpu-region", gpu(location="europe-west4")),
    fail("run-gpu-quota", gpu(), field="template.nodeSelector.accelerator"),
    ok("run-gpu-quota", p(container=limits("4", "16Gi"))),
    # environment and ports
    fail("run-env-reserved", p(container={"envs": [{"name": "MODE", "value": "x"}, {"name": "PORT", "value": "9000"}]}), field=f"{SVC}.envs[1].name"),
    fail("run-env-reserved", job_program(container={"envs": [{"name": "CLOUD_RUN_TASK_INDEX", "value": "0"}]}), resource="job", id="job"),
    fail("run-env-reserved", v1_service({"containers": [{"image": IMAGE, "envs": [{"name": "K_SERVICE", "value": "x"}]}]}), resource="v1", id="v1"),
    ok("run-env-reserved", p(container={"envs": [{"name": "APP_PORT", "value": "9000"}, {"name": "K_SERVICE_NAME", "value": "x"}]})),
    fail("run-container-port", p(container={"ports": {"containerPort": 70000}}), field=f"{SVC}.ports[0].containerPort"),
    ok("run-container-port", p(container={"ports": {"containerPort": 8080, "name": "h2c"}})),
    # names, revisions, traffic
    fail("run-service-name", p(name="Chat_Service"), field="name"),
    fail("run-service-name", p(name="c" * 50), id="too-long"),
    fail("run-service-name", p(name="chat-"), id="trailing-hyphen"),
    ok("run-service-name", p(name="c" + "h" * 48)),
    ok("run-service-name", v1_service({}, name="v" * 60), id="v1-63"),
    fail("run-revision-name", p(template={"revision": "other-v1"}), field="template.revision"),
    fail("run-revision-name", p(template={"revision": "chat-" + "a" * 60}), id="too-long"),
    ok("run-revision-name", p(template={"revision": "chat-v2"})),
    fail("run-traffic-percent", traffic({"type": LATEST, "percent": 50}, {"type": BY_REVISION, "revision": "chat-v1", "percent": 40}), field="traffics"),
    ok("run-traffic-percent", traffic({"type": LATEST, "percent": 90}, {"type": BY_REVISION, "revision": "chat-v1", "percent": 10})),
    ok("run-traffic-percent", traffic({"type": LATEST, "percent": 100}, {"type": BY_REVISION, "revision": "chat-v1", "tag": "previous"}), id="tag-only"),
    fail("run-traffic-tag", traffic({"type": LATEST, "percent": 100, "tag": "candidate-build-1234567"}, name="chat-partners-staging-eu"),
         field="traffics[0].tag"),
    ok("run-traffic-tag", traffic({"type": LATEST, "percent": 100, "tag": "stg-1234"}, name="chat-partners-staging-eu")),
    # probes
    fail("run-probe-bounds", p(container={"startupProbe": {"periodSeconds": 300, "httpGet": {"path": "/ready"}}}), field=f"{SVC}.startupProbe.periodSeconds"),
    fail("run-probe-bounds", p(container={"livenessProbe": {"periodSeconds": 5, "timeoutSeconds": 10, "httpGet": {"path": "/live"}}}),
         field=f"{SVC}.livenessProbe.timeoutSeconds", id="timeout-over-period"),
    fail("run-probe-bounds", p(container={"startupProbe": {"initialDelaySeconds": 300, "tcpSocket": {"port": 8080}}}), id="startup-delay"),
    fail("run-probe-bounds", p(container={"startupProbe": {"failureThreshold": 0, "tcpSocket": {"port": 8080}}}), id="threshold"),
    ok("run-probe-bounds", p(container={"startupProbe": {"periodSeconds": 240, "timeoutSeconds": 240, "failureThreshold": 1, "initialDelaySeconds": 240,
                                                         "tcpSocket": {"port": 8080}}})),
    ok("run-probe-bounds", p(container={"livenessProbe": {"periodSeconds": 3600, "initialDelaySeconds": 3600, "timeoutSeconds": 5,
                                                          "httpGet": {"path": "/live"}}}), id="liveness-long"),
    # secrets
    fail("run-secret-undeclared", external_secret, field=f"{SVC}.envs[0].valueSource.secretKeyRef"),
    ok("run-secret-undeclared", secret_program()),
    ok("run-secret-undeclared", secret_program(ref=f"projects/{PROJECT}/secrets/app-key"), id="full-name"),
    fail("run-secret-version-missing", secret_program(version=False), resource="svc", field=f"{SVC}.envs[0].valueSource.secretKeyRef"),
    fail("run-secret-version-missing", secret_program(wait_version=False), id="not-awaited"),
    fail("run-secret-version-missing", secret_program(version=False, volume=True), field="template.volumes[0].secret", id="volume"),
    ok("run-secret-version-missing", secret_program()),
    ok("run-secret-version-missing", secret_program(volume=True), id="volume"),
    fail("run-secret-accessor", secret_program(grant=None), field=f"{SVC}.envs[0].valueSource.secretKeyRef"),
    fail("run-secret-accessor", secret_program(wait_grant=False), id="not-awaited"),
    fail("run-secret-accessor", secret_program(role="roles/secretmanager.viewer"), id="wrong-role"),
    ok("run-secret-accessor", secret_program()),
    ok("run-secret-accessor", secret_program(grant="project"), id="project-level"),
    ok("run-secret-accessor", secret_program(grant="custom"), id="custom-role"),
    ok("run-secret-accessor", secret_program(role="roles/secretmanager.admin", ref=f"projects/{PROJECT}/secrets/app-key"), id="admin-full-name"),
    fail("run-default-service-account", p(template={"serviceAccount": None}), field="template.serviceAccount"),
    fail("run-default-service-account", v1_service({"serviceAccountName": None}), field="template.spec.serviceAccountName", id="v1"),
    ok("run-default-service-account", p()),
    # Direct VPC egress
    fail("run-vpc-subnet", vpc(cidr="10.8.0.0/28"), field="template.vpcAccess.networkInterfaces[0].subnetwork"),
    fail("run-vpc-subnet", vpc(region="europe-west1"), id="other-region"),
    fail("run-vpc-subnet", vpc(network="other"), field="template.vpcAccess.networkInterfaces[0].network", id="other-network"),
    ok("run-vpc-subnet", vpc()),
    ok("run-vpc-subnet", vpc(cidr="10.8.0.0/20", by_self_link=True, network="projects/fixture-project/global/networks/main"), id="self-link"),
    fail("run-vpc-egress", vpc(egress="ALL"), field="template.vpcAccess.egress"),
    fail("run-vpc-egress", vpc(connector="projects/fixture-project/locations/us-central1/connectors/c1"), field="template.vpcAccess.connector", id="both"),
    ok("run-vpc-egress", vpc(egress="ALL_TRAFFIC")),
    # ingress and load balancers
    fail("run-ingress-lb", behind_lb("INGRESS_TRAFFIC_INTERNAL_ONLY"), resource="svc", field="ingress"),
    fail("run-ingress-lb", behind_lb("INGRESS_TRAFFIC_INTERNAL_ONLY", scheme="EXTERNAL"), id="classic"),
    ok("run-ingress-lb", behind_lb("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")),
    ok("run-ingress-lb", behind_lb("INGRESS_TRAFFIC_INTERNAL_ONLY", scheme="INTERNAL_MANAGED", regional=True), id="internal-lb"),
    fail("run-default-uri-unreachable", behind_lb("INGRESS_TRAFFIC_ALL", default_uri_disabled=True, with_lb=False), field="defaultUriDisabled"),
    ok("run-default-uri-unreachable", behind_lb("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", default_uri_disabled=True)),
    # images
    fail("run-image-registry", p(container={"image": "quay.io/acme/chat:1.4"}), field=f"{SVC}.image"),
    ok("run-image-registry", p(container={"image": "nginx:1.27"})),
    ok("run-image-registry", p(container={"image": f"ghcr.io/acme/chat@{DIGEST}"}), id="ghcr"),
    ok("run-image-registry", p(container={"image": f"eu.gcr.io/acme/chat@{DIGEST}"}), id="gcr"),
    fail("run-image-digest", p(container={"image": f"{OWN_REPO}/vllm@sha256:" + "0" * 64}), field=f"{SVC}.image"),
    fail("run-image-digest", p(container={"image": "nginx@sha256:abc"}), id="malformed"),
    ok("run-image-digest", p()),
    fail("run-image-repo-missing", no_repo, field=f"{SVC}.image"),
    fail("run-image-repo-missing", own_repo(), id="created-empty"),
    ok("run-image-repo-missing", own_repo(push=f"{OWN_REPO}/chat:build-7")),
    ok("run-image-repo-missing", remote_repo, id="remote-repository"),
    ok("run-image-repo-missing", p(container={"image": f"{REGION}-docker.pkg.dev/stagewise-ci/apps/chat@{DIGEST}"}), id="other-project"),
    fail("run-image-untagged", p(container={"image": "nginx"}), field=f"{SVC}.image"),
    fail("run-image-untagged", p(container={"image": "us-docker.pkg.dev/cloudrun/container/hello:latest"}), id="latest"),
    ok("run-image-untagged", p()),
    ok("run-image-untagged", p(container={"image": "nginx:1.27.3"}), id="tag"),
    fail("run-image-pushed-after", own_repo(push=f"{OWN_REPO}/chat:build-7", use_digest=False, wait=False), resource="svc", field=f"{SVC}.image"),
    ok("run-image-pushed-after", own_repo(push=f"{OWN_REPO}/chat:build-7")),
    ok("run-image-pushed-after", own_repo(push=f"{OWN_REPO}/chat:build-7", use_digest=False, wait=True), id="waits"),
    # scaling
    fail("run-scaling-bounds", scaled({"minInstanceCount": 5, "maxInstanceCount": 2}), field="template.scaling.maxInstanceCount"),
    fail("run-scaling-bounds", scaled(service_scaling={"minInstanceCount": 3, "maxInstanceCount": 1}), field="scaling.maxInstanceCount", id="service-level"),
    fail("run-scaling-bounds", scaled({"minInstanceCount": -1}), field="template.scaling.minInstanceCount", id="negative"),
    ok("run-scaling-bounds", scaled({"minInstanceCount": 1, "maxInstanceCount": 3}, {"minInstanceCount": 1})),
    ok("run-scaling-bounds", scaled({"minInstanceCount": 2, "maxInstanceCount": 0}), id="max-unset"),
    fail("run-scaling-utilization", scaled({"cpuUtilization": 0.99}), field="template.scaling.cpuUtilization"),
    fail("run-scaling-utilization", scaled({"cpuUtilization": 0, "concurrencyUtilization": 0.0}), field="template.scaling", id="both-off"),
    ok("run-scaling-utilization", scaled({"cpuUtilization": 0.6, "concurrencyUtilization": 0})),
]
