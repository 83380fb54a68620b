"""InferenceEndpoint in every mode: what it declares, what it hands the chat app, what it grants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from conftest import one

from stagewise.components.inference import (
    CloudRunGpu,
    GeminiFallback,
    GpuVmPool,
    InferenceEndpoint,
    InferenceEndpointArgs,
    InferenceMode,
    ManagedModel,
    PrivateNetwork,
    VertexModelGarden,
    WorkingHours,
    startup_script,
)
from stagewise.engine.record import ProgramRun

CALLER = "serviceAccount:chat-run@stagewise-test.iam.gserviceaccount.com"
NETWORK = PrivateNetwork(
    network="projects/stagewise-test/global/networks/chat-vpc",
    subnetwork="projects/stagewise-test/regions/us-central1/subnetworks/chat-vpc-us-central1",
    client_ranges=("10.10.0.0/24", "10.20.0.0/24"),
)
FALLBACK = GeminiFallback(model="gemini-2.5-flash", location="us-central1")
RunComponent = Callable[..., ProgramRun]


def declare(run_component: RunComponent, mode: InferenceMode) -> ProgramRun:
    def program() -> None:
        endpoint = InferenceEndpoint("llm", InferenceEndpointArgs(project="stagewise-test", mode=mode, labels={"env": "test"}))
        endpoint.authorize("chat", CALLER)
        pulumi.export("env", endpoint.client_env)

    return run_component(program)


def grants(run: ProgramRun) -> list[dict[str, Any]]:
    return [r.inputs for r in run.resources if r.type.lower().endswith("iammember") and r.inputs.get("member") == CALLER]


def test_managed_hands_over_gemini_and_grants_only_aiplatform_user(run_component: RunComponent) -> None:
    run = declare(run_component, ManagedModel(model="gemini-2.5-flash", location="europe-west4", fallback_model="gemini-2.5-flash-lite"))
    env = run.stack_outputs["env"]
    assert env == {
        "CHAT_VERTEX_MODEL": "gemini-2.5-flash", "CHAT_VERTEX_LOCATION": "europe-west4",
        "CHAT_VERTEX_PROJECT": "stagewise-test", "CHAT_FALLBACK_MODEL": "gemini-2.5-flash-lite",
    }
    assert "CHAT_MODEL_PROVIDER" not in env
    assert [g["role"] for g in grants(run)] == ["roles/aiplatform.user"]
    assert [r.type for r in run.resources if r.custom] == ["gcp:projects/iAMMember:IAMMember"]


def test_vertex_deploys_model_garden_on_dedicated_l4s(run_component: RunComponent) -> None:
    mode = VertexModelGarden(
        model="publishers/google/models/gemma3@gemma-3-4b-it", region="us-central1", accept_eula=True,
        min_replicas=1, max_replicas=3, served_model_name="gemma-3-4b-it",
    )
    run = declare(run_component, mode)
    deployment = one(run, "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment").inputs
    assert deployment["publisherModelName"] == mode.model and deployment["modelConfig"]["acceptEula"] is True
    resources = deployment["deployConfig"]["dedicatedResources"]
    assert resources["machineSpec"] == {"machineType": "g2-standard-12", "acceleratorType": "NVIDIA_L4", "acceleratorCount": 1}
    assert (resources["minReplicaCount"], resources["maxReplicaCount"]) == (1, 3)
    assert deployment["endpointConfig"]["dedicatedEndpointEnabled"] is True
    env = run.stack_outputs["env"]
    endpoint_id = one(run, "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment").outputs["endpoint"]
    assert endpoint_id.isdigit() and env["CHAT_OPENAI_BASE_URL"] == (
        f"https://{endpoint_id}.us-central1-123456789012.prediction.vertexai.goog"
        f"/v1beta1/projects/stagewise-test/locations/us-central1/endpoints/{endpoint_id}"
    )
    assert env["CHAT_OPENAI_MODEL"] == "gemma-3-4b-it"
    assert env["CHAT_OPENAI_AUTH"] == "google-access-token" and "CHAT_OPENAI_AUDIENCE" not in env
    # No fallback: the caller may predict on this endpoint only, nothing project-wide.
    assert [(g["role"], "endpoint" in g) for g in grants(run)] == [("roles/aiplatform.user", True)]
    assert "CHAT_VERTEX_PROJECT" not in env


def test_vertex_private_endpoint_is_refused_since_the_app_could_not_reach_it() -> None:
    # The PSC forwarding rule's address is an output Vertex AI reports after deploying; the app would
    # be handed the public dedicated URL, which a PSC-only endpoint does not answer on.
    with pytest.raises(ValueError, match="Private Service Connect"):
        VertexModelGarden(model="google/gemma-3-4b-it", region="us-central1", private_network=NETWORK.network, fallback=FALLBACK)


def test_gpu_vm_is_a_private_autohealed_autoscaled_mig(run_component: RunComponent) -> None:
    mode = GpuVmPool(model="google/gemma-3-4b-it", region="us-central1", network=NETWORK, spot=True, max_replicas=3,
                     zones=("us-central1-a", "us-central1-b"), fallback=FALLBACK)
    run = declare(run_component, mode)
    template = one(run, "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate").inputs
    assert template["machineType"] == "g2-standard-8"
    assert template["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    assert template["scheduling"]["onHostMaintenance"] == "TERMINATE"
    assert template["scheduling"]["provisioningModel"] == "SPOT" and template["scheduling"]["preemptible"] is True
    assert all("accessConfigs" not in nic for nic in template["networkInterfaces"])
    assert template["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True}
    assert "cos-cloud" in template["disks"][0]["sourceImage"]
    script = template["metadataStartupScript"]
    assert "cos-extensions install gpu" in script and "vllm-openai" in script and "--model google/gemma-3-4b-it" in script
    assert "lb-backend" in template["tags"]
    assert template["metadata"]["enable-oslogin"] == "TRUE"

    health = one(run, "gcp:compute/healthCheck:HealthCheck").inputs
    assert health["httpHealthCheck"] == {"port": 8000, "requestPath": "/health"}
    group = one(run, "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager")
    assert group.inputs["autoHealingPolicies"]["initialDelaySec"] >= 600
    assert group.inputs["distributionPolicyZones"] == ["us-central1-a", "us-central1-b"]
    policy = one(run, "gcp:compute/regionAutoscaler:RegionAutoscaler").inputs["autoscalingPolicy"]
    assert (policy["minReplicas"], policy["maxReplicas"]) == (1, 3)

    rule = one(run, "gcp:compute/forwardingRule:ForwardingRule").inputs
    assert rule["loadBalancingScheme"] == "INTERNAL" and rule["ports"] == ["8000"]
    backend = one(run, "gcp:compute/regionBackendService:RegionBackendService").inputs
    assert backend["loadBalancingScheme"] == "INTERNAL" and backend["logConfig"]["enable"] is True
    firewall = one(run, "gcp:compute/firewall:Firewall").inputs
    assert firewall["sourceRanges"] == ["10.10.0.0/24", "10.20.0.0/24"] and firewall["allows"] == [{"protocol": "tcp", "ports": ["8000"]}]
    assert firewall["targetTags"] == ["llm-server"] and "llm-server" in template["tags"]

    env = run.stack_outputs["env"]
    assert env["CHAT_OPENAI_BASE_URL"] == "http://10.10.0.10:8000/v1" and env["CHAT_OPENAI_MODEL"] == "google/gemma-3-4b-it"
    assert "CHAT_OPENAI_AUTH" not in env  # the internal LB admits the caller's subnet; no token
    # The caller needs no IAM to reach the VMs (the firewall admits its subnet); only the fallback's role.
    assert [g["role"] for g in grants(run)] == ["roles/aiplatform.user"]
    vm_roles = {r.inputs["role"] for r in run.resources if r.type == "gcp:projects/iAMMember:IAMMember" and r.inputs["member"] != CALLER}
    assert vm_roles == {"roles/logging.logWriter", "roles/monitoring.metricWriter"}


def test_gpu_vm_cpu_variant_for_a_test_vm(run_component: RunComponent) -> None:
    mode = GpuVmPool(model="Qwen/Qwen2.5-0.5B-Instruct", region="us-central1", network=NETWORK, accelerator="none",
                     spot=True, min_replicas=0, max_replicas=1, schedule=WorkingHours("0 8 * * MON-FRI", 10, "Europe/Berlin"))
    run = declare(run_component, mode)
    template = one(run, "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate").inputs
    assert "guestAccelerators" not in template and template["machineType"] == "n2-standard-8"
    assert template["scheduling"]["onHostMaintenance"] == "TERMINATE"  # Spot VMs cannot live-migrate
    assert "cos-extensions" not in template["metadataStartupScript"] and "vllm-cpu" in template["metadataStartupScript"]
    policy = one(run, "gcp:compute/regionAutoscaler:RegionAutoscaler").inputs["autoscalingPolicy"]
    assert (policy["minReplicas"], policy["maxReplicas"]) == (0, 1)
    schedule = policy["scalingSchedules"][0]
    assert schedule["minRequiredReplicas"] == 1 and schedule["durationSec"] == 36000 and schedule["timeZone"] == "Europe/Berlin"
    assert grants(run) == []


def test_gpu_vm_reads_a_hugging_face_token_with_its_own_identity() -> None:
    pool = GpuVmPool(model="meta-llama/Llama-3.1-8B-Instruct", region="us-central1", network=NETWORK,
                     machine_type="g2-standard-24", accelerator_count=2, hf_token_secret="hf-token")
    script = startup_script(pool, "llama", "stagewise-test")
    assert "secrets/hf-token/versions/latest:access" in script and "-e HF_TOKEN" in script
    assert "--tensor-parallel-size 2" in script and "/dev/nvidia1" in script
    assert "hf_" not in script.lower().replace("hf_token", "")


def test_cloudrun_gpu_scales_to_zero_on_an_l4_and_only_the_caller_may_invoke(run_component: RunComponent) -> None:
    run = declare(run_component, CloudRunGpu(model="google/gemma-3-4b-it", region="europe-west4", max_instances=2, hf_token_secret="hf-token", fallback=FALLBACK))
    service = one(run, "gcp:cloudrunv2/service:Service").inputs
    template = service["template"]
    container = template["containers"][0]
    assert template["nodeSelector"] == {"accelerator": "nvidia-l4"}
    assert container["resources"]["limits"] == {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}
    assert container["resources"]["cpuIdle"] is False
    assert template["gpuZonalRedundancyDisabled"] is True
    assert (template["scaling"]["minInstanceCount"], template["scaling"]["maxInstanceCount"]) == (0, 2)
    assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY" and service["invokerIamDisabled"] is False
    assert container["args"][:2] == ["--model", "google/gemma-3-4b-it"]
    assert container["envs"][0]["valueSource"]["secretKeyRef"]["secret"] == "hf-token"
    invoker = one(run, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember").inputs
    assert invoker["role"] == "roles/run.invoker" and invoker["member"] == CALLER and invoker["name"] == "inference"
    assert sorted(g["role"] for g in grants(run)) == ["roles/aiplatform.user", "roles/run.invoker"]
    env = run.stack_outputs["env"]
    assert env["CHAT_OPENAI_BASE_URL"].startswith("https://inference-") and env["CHAT_OPENAI_BASE_URL"].endswith(".run.app/v1")
    # A private Cloud Run service wants an ID token whose audience is its URL.
    assert env["CHAT_OPENAI_AUTH"] == "google-id-token" and env["CHAT_OPENAI_BASE_URL"] == env["CHAT_OPENAI_AUDIENCE"] + "/v1"


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda: CloudRunGpu(model="m/x", region="us-west1"), "has no Cloud Run GPUs"),
        (lambda: CloudRunGpu(model="m/x", region="us-central1", cpu=2), "needs 4 to 8 vCPUs"),
        (lambda: CloudRunGpu(model="m/x", region="us-central1", memory="8Gi"), "needs 16Gi to 32Gi"),
        (lambda: GpuVmPool(model="m/x", region="us-central1", network=NETWORK, machine_type="n2-standard-8"), "runs on g2-*"),
        (lambda: GpuVmPool(model="m/x", region="us-central1", network=PrivateNetwork("n", "s", ())), "client_ranges is empty"),
        (lambda: VertexModelGarden(model="publishers/google/models/gemma3@x", region="us-central1"), "acceptEula"),
    ],
)
def test_components_reject_what_gcp_would(make: Callable[[], object], phrase: str) -> None:
    with pytest.raises(ValueError, match=phrase.replace("*", r"\*")):
        make()
