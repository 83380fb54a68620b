"""Fixtures: Vertex AI endpoints and Model Garden deployments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_gcp as gcp
from harness import PROJECT, fail, ok
from pulumi_gcp import cloudrunv2 as run
from pulumi_gcp import compute, vertex

IMAGE = "us-central1-docker.pkg.dev/fixture-project/apps/chat@sha256:" + "a" * 64


def endpoint(name: str | None = "1234567890", location: str = "us-central1", **kwargs: Any) -> Callable[[], None]:
    def program() -> None:
        vertex.AiEndpoint("ep", name=name, display_name="chat", location=location, project=PROJECT, **kwargs)  # type: ignore[arg-type]

    return program


def garden(machine: str = "g2-standard-12", accelerator: str | None = "NVIDIA_L4", count: int = 1, low: int | None = 1,
           high: int | None = 2, publisher: str | None = None, hugging_face: str | None = "Qwen/Qwen2.5-7B-Instruct",
           eula: bool | None = True, location: str = "us-central1", endpoint_config: dict[str, Any] | None = None) -> Callable[[], None]:
    def program() -> None:
        vertex.AiEndpointWithModelGardenDeployment(
            "deploy", project=PROJECT, location=location, publisher_model_name=publisher, hugging_face_model_id=hugging_face,
            model_config={"accept_eula": eula} if eula is not None else None,
            endpoint_config=endpoint_config if endpoint_config is not None else {"dedicated_endpoint_enabled": True},
            deploy_config={"dedicated_resources": {
                "machine_spec": {"machine_type": machine, "accelerator_type": accelerator, "accelerator_count": count},
                "min_replica_count": low, "max_replica_count": high}},
        )

    return program


def peered(connection: bool, wait: bool = True) -> Callable[[], None]:
    def program() -> None:
        net = compute.Network("net", name="main", auto_create_subnetworks=False)
        deps: list[pulumi.Resource] = []
        if connection:
            block = compute.GlobalAddress("psa-range", name="psa-range", purpose="VPC_PEERING", address_type="INTERNAL", prefix_length=16,
                                          network=net.id)
            psa = gcp.servicenetworking.Connection("psa", network=net.id, service="servicenetworking.googleapis.com",
                                                   reserved_peering_ranges=[block.name])
            if wait:
                deps.append(psa)
        vertex.AiEndpoint("ep", name="1234567890", display_name="chat", location="us-central1",
                          network=f"projects/123456789012/global/networks/main", opts=pulumi.ResourceOptions(depends_on=deps))

    return program


def client(dedicated: bool = True, psc: bool = False, url: str = "shared") -> Callable[[], None]:
    def program() -> None:
        config: dict[str, Any] = {"dedicated_endpoint_enabled": dedicated} if not psc else {
            "private_service_connect_config": {"enable_private_service_connect": True, "project_allowlist": [PROJECT]}}
        deployment = vertex.AiEndpointWithModelGardenDeployment(
            "deploy", project=PROJECT, location="us-central1", hugging_face_model_id="Qwen/Qwen2.5-7B-Instruct",
            model_config={"accept_eula": True}, endpoint_config=config,
            deploy_config={"dedicated_resources": {"machine_spec": {"machine_type": "g2-standard-12", "accelerator_type": "NVIDIA_L4",
                                                                    "accelerator_count": 1}, "min_replica_count": 1}},
        )
        if url == "shared":
            base = deployment.endpoint.apply(
                lambda e: f"https://us-central1-aiplatform.googleapis.com/v1/projects/{PROJECT}/locations/us-central1/endpoints/{e}")
        else:
            base = deployment.endpoint.apply(
                lambda e: f"https://{e}.us-central1-123456789012.prediction.vertexai.goog/v1/projects/{PROJECT}/locations/us-central1/endpoints/{e}")
        run.Service("chat", name="chat", location="us-central1", deletion_protection=False, template=run.ServiceTemplateArgs(
            containers=[run.ServiceTemplateContainerArgs(image=IMAGE, envs=[run.ServiceTemplateContainerEnvArgs(name="CHAT_OPENAI_BASE_URL", value=base)])]))

    return program


CASES = [
    fail("vertex-endpoint-id", endpoint("chat-endpoint"), resource="ep", field="name"),
    fail("vertex-endpoint-id", endpoint("0123456789"), id="leading-zero", field="name"),
    fail("vertex-endpoint-id", endpoint("12345678901"), id="eleven-digits", field="name"),
    ok("vertex-endpoint-id", endpoint("1234567890")),
    fail("vertex-location", endpoint(location="global"), resource="ep", field="location"),
    fail("vertex-location", garden(location="us-central1-a"), id="zone", resource="deploy", field="location"),
    ok("vertex-location", garden(location="europe-west4")),
    ok("vertex-location", endpoint(location="northamerica-northeast1"), id="long-region"),
    fail("vertex-machine-accelerator", garden(machine="n1-standard-8"), resource="deploy", field="deployConfig.dedicatedResources.machineSpec.machineType"),
    fail("vertex-machine-accelerator", garden(machine="a2-ultragpu-1g", accelerator="NVIDIA_TESLA_A100"), id="a100-80gb",
         field="deployConfig.dedicatedResources.machineSpec.machineType"),
    fail("vertex-machine-accelerator", garden(accelerator=None), id="g2-without-accelerator",
         field="deployConfig.dedicatedResources.machineSpec.acceleratorType"),
    fail("vertex-machine-accelerator", garden(accelerator="NVIDIA_L4_GPU"), id="unknown-type",
         field="deployConfig.dedicatedResources.machineSpec.acceleratorType"),
    ok("vertex-machine-accelerator", garden()),
    ok("vertex-machine-accelerator", garden(machine="n1-standard-8", accelerator="NVIDIA_TESLA_T4"), id="t4"),
    ok("vertex-machine-accelerator", garden(machine="a3-highgpu-1g", accelerator="NVIDIA_H100_80GB"), id="h100"),
    fail("vertex-replicas", garden(low=0), resource="deploy", field="deployConfig.dedicatedResources.minReplicaCount"),
    fail("vertex-replicas", garden(low=2, high=1), id="max-below-min", field="deployConfig.dedicatedResources.maxReplicaCount"),
    ok("vertex-replicas", garden(low=1, high=None)),
    fail("vertex-model-ref", garden(publisher="google/gemma3", hugging_face=None), resource="deploy", field="publisherModelName"),
    fail("vertex-model-ref", garden(publisher="publishers/google/models/gemma3@gemma-3-1b-it"), id="both", field="publisherModelName"),
    fail("vertex-model-ref", garden(hugging_face="Qwen2.5-7B-Instruct"), id="hf-id", field="huggingFaceModelId"),
    ok("vertex-model-ref", garden(publisher="publishers/google/models/gemma3@gemma-3-1b-it", hugging_face=None)),
    ok("vertex-model-ref", garden(), id="hugging-face"),
    fail("vertex-eula", garden(publisher="publishers/meta/models/llama3-2@llama-3.2-1b", hugging_face=None, eula=None), resource="deploy",
         field="modelConfig.acceptEula"),
    ok("vertex-eula", garden(publisher="publishers/meta/models/llama3-2@llama-3.2-1b", hugging_face=None, eula=True)),
    ok("vertex-eula", garden(eula=None), id="hugging-face"),
    fail("vertex-endpoint-networking", endpoint(network="projects/123/global/networks/main",
                                                private_service_connect_config={"enable_private_service_connect": True}), resource="ep", field="network"),
    fail("vertex-endpoint-networking", endpoint(dedicated_endpoint_enabled=True,
                                                private_service_connect_config={"enable_private_service_connect": True}), id="psc-dedicated",
         field="dedicatedEndpointEnabled"),
    ok("vertex-endpoint-networking", endpoint(private_service_connect_config={"enable_private_service_connect": True, "project_allowlist": [PROJECT]})),
    fail("vertex-endpoint-psa", peered(connection=False), resource="ep", field="network"),
    fail("vertex-endpoint-psa", peered(connection=True, wait=False), id="no-wait", field="network"),
    ok("vertex-endpoint-psa", peered(connection=True)),
    fail("vertex-client-url", client(dedicated=True, url="shared"), resource="chat", field="template.containers"),
    fail("vertex-client-url", client(psc=True, url="dedicated"), id="private", resource="chat"),
    ok("vertex-client-url", client(dedicated=True, url="dedicated")),
    ok("vertex-client-url", client(dedicated=False, url="shared"), id="shared-endpoint"),
]
