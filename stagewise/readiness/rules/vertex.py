"""Vertex AI endpoints and Model Garden deployments: ids, locations, machines, replicas, models, private access.

Sources (read 2026-11):
- the provider schema (magic-modules ``mmv1/products/vertexai/Endpoint.yaml`` and
  ``EndpointWithModelGardenDeployment.yaml``): endpoint name "numeric with no leading zeros and ... at most 10
  digits"; network and privateServiceConnectConfig are mutually exclusive, as are privateServiceConnectConfig and
  dedicatedEndpointEnabled; "Private services access must already be configured for the network"; a dedicated
  endpoint no longer answers on the shared DNS {region}-aiplatform.googleapis.com; minReplicaCount "must be greater
  than or equal to 1"; exactly one of publisherModelName and huggingFaceModelId, publisher models written
  ``publishers/{publisher}/models/{model}@{version}``.
- https://docs.cloud.google.com/vertex-ai/docs/general/locations: regional endpoints only ("Vertex AI doesn't
  support a global location").
- https://cloud.google.com/compute/docs/gpus/about-gpus: the GPU model of each accelerator-optimized series
  (A2 Standard: A100 40GB, A2 Ultra: A100 80GB, A3 High/Edge: H100 80GB, A3 Mega: H100 Mega, A3 Ultra: H200,
  G2: L4) and the GPUs attachable to N1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import Inventory, Resource, is_unknown, number, strings_in
from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Problem
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules._refs import resolve, text

ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
GARDEN = "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment"
VERTEX_TYPES = (ENDPOINT, GARDEN)
NETWORK = "gcp:compute/network:Network"
PSA_CONNECTION = "gcp:servicenetworking/connection:Connection"
RUN_SERVICES = ("gcp:cloudrunv2/service:Service", "gcp:cloudrun/service:Service", "gcp:cloudrunv2/job:Job")

_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_ENDPOINT_ID = re.compile(r"^[1-9][0-9]{0,9}$")
_PUBLISHER_MODEL = re.compile(r"^publishers/[^/@]+/models/[^/@]+@[^/@]+$")

# Vertex AI accelerator type -> machine type prefixes that carry it.
ACCELERATOR_MACHINES: dict[str, tuple[str, ...]] = {
    "NVIDIA_L4": ("g2-",),
    "NVIDIA_TESLA_A100": ("a2-highgpu-", "a2-megagpu-"),
    "NVIDIA_A100_80GB": ("a2-ultragpu-",),
    "NVIDIA_H100_80GB": ("a3-highgpu-", "a3-edgegpu-"),
    "NVIDIA_H100_MEGA_80GB": ("a3-megagpu-",),
    "NVIDIA_H200_141GB": ("a3-ultragpu-",),
    "NVIDIA_B200": ("a4-",),
    "NVIDIA_TESLA_T4": ("n1-",),
    "NVIDIA_TESLA_V100": ("n1-",),
    "NVIDIA_TESLA_P100": ("n1-",),
    "NVIDIA_TESLA_P4": ("n1-",),
    "NVIDIA_TESLA_K80": ("n1-",),
}
GPU_MACHINE_PREFIXES = ("g2-", "a2-", "a3-", "a4-")


def _location(resource: Resource) -> str:
    return text(resource.get("location")) or text(resource.get("region"))


def _endpoint_config(resource: Resource) -> dict[str, Any]:
    """The fields that decide how the endpoint is reached (AiEndpoint: top level; Model Garden: endpointConfig)."""
    if resource.type == GARDEN:
        config = resource.get("endpointConfig")
        return config if isinstance(config, dict) else {}
    return resource.inputs


def _config_path(resource: Resource, key: str) -> str:
    return f"endpointConfig.{key}" if resource.type == GARDEN else key


def _psc(config: dict[str, Any]) -> bool:
    psc = config.get("privateServiceConnectConfig")
    return isinstance(psc, dict) and psc.get("enablePrivateServiceConnect") is True


@rule(
    "vertex-endpoint-id", types=(ENDPOINT,), severity=BLOCKS,
    title="a Vertex AI endpoint id (name) is not a number of at most 10 digits without leading zeros",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/vertexai/Endpoint.yaml",
)
def endpoint_id(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = resource.get("name")
    if is_unknown(value):
        return
    name = text(value) if value is not None else ""
    if value is None or not _ENDPOINT_ID.match(name):
        yield Problem("name", f"{resource.name}: endpoint name {value!r} must be numeric, at most 10 digits, without leading zeros "
                      "(it becomes the endpoint id)", "set name to a number such as '1234567890' (display_name carries the "
                      "human-readable name)")


@rule(
    "vertex-location", types=VERTEX_TYPES, severity=BLOCKS,
    title="a Vertex AI resource is placed in a location that is not a region (global, a zone, a multi-region)",
    source="https://docs.cloud.google.com/vertex-ai/docs/general/locations",
)
def location(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    field = "location" if resource.get("location") is not None else "region"
    value = resource.get(field)
    if value is None or is_unknown(value):
        return
    where = text(value)
    if not _REGION.match(where):
        yield Problem(field, f"{resource.name}: location '{value}' is not a region; Vertex AI endpoints are regional (no global "
                      "location, no zones)", "set location to a region such as us-central1 or europe-west4")


@rule(
    "vertex-machine-accelerator", types=(GARDEN,), severity=BLOCKS,
    title="a deployment's accelerator type does not come with its machine type (e.g. NVIDIA_L4 needs g2-*)",
    source="https://cloud.google.com/compute/docs/gpus/about-gpus",
)
def machine_accelerator(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    spec = resource.get("deployConfig.dedicatedResources.machineSpec")
    if not isinstance(spec, dict):
        return
    machine = text(spec.get("machineType")).lower()
    accelerator = text(spec.get("acceleratorType")).upper()
    if not machine or is_unknown(spec.get("acceleratorType")):
        return
    field = "deployConfig.dedicatedResources.machineSpec"
    if accelerator and accelerator != "ACCELERATOR_TYPE_UNSPECIFIED":
        prefixes = ACCELERATOR_MACHINES.get(accelerator)
        if prefixes is None:
            if not accelerator.startswith("TPU_"):
                yield Problem(f"{field}.acceleratorType", f"{resource.name}: acceleratorType '{accelerator}' is not a Vertex AI "
                              "accelerator type", f"use one of {', '.join(sorted(ACCELERATOR_MACHINES))}")
        elif not machine.startswith(prefixes):
            yield Problem(f"{field}.machineType", f"{resource.name}: {accelerator} runs on {'/'.join(p + '*' for p in prefixes)} "
                          f"machines, not {machine}", f"set machine_type to a {prefixes[0]}* type (e.g. "
                          f"{'g2-standard-12' if accelerator == 'NVIDIA_L4' else prefixes[0] + '...'})")
        count = number(spec.get("acceleratorCount"))
        if count is not None and count < 1:
            yield Problem(f"{field}.acceleratorCount", f"{resource.name}: acceleratorCount {count:g} with acceleratorType "
                          f"{accelerator}", "set accelerator_count to 1 or more")
    elif machine.startswith(GPU_MACHINE_PREFIXES):
        wanted = next(k for k, v in ACCELERATOR_MACHINES.items() if machine.startswith(v))
        yield Problem(f"{field}.acceleratorType", f"{resource.name}: {machine} carries GPUs but machineSpec names no acceleratorType",
                      f"set accelerator_type='{wanted}' and accelerator_count to the machine's GPU count")


@rule(
    "vertex-replicas", types=(GARDEN,), severity=BLOCKS,
    title="a dedicated deployment has fewer than one minimum replica or a maximum below its minimum",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/vertexai/EndpointWithModelGardenDeployment.yaml",
)
def replicas(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    dedicated = resource.get("deployConfig.dedicatedResources")
    if not isinstance(dedicated, dict):
        return
    low, high = number(dedicated.get("minReplicaCount")), number(dedicated.get("maxReplicaCount"))
    base = "deployConfig.dedicatedResources"
    if dedicated.get("minReplicaCount") is None or (low is not None and low < 1):
        yield Problem(f"{base}.minReplicaCount", f"{resource.name}: minReplicaCount is {low if low is not None else 'unset'}; "
                      "dedicated resources need at least 1 (they do not scale to zero)", "set min_replica_count=1, or use the "
                      "managed model (no endpoint) when idle cost must be zero")
    if low is not None and high is not None and high < low:
        yield Problem(f"{base}.maxReplicaCount", f"{resource.name}: maxReplicaCount {high:g} is below minReplicaCount {low:g}",
                      "raise max_replica_count to at least min_replica_count")


@rule(
    "vertex-model-ref", types=(GARDEN,), severity=BLOCKS,
    title="a Model Garden deployment names no model, both kinds, or a publisher model without publishers/.../models/...@version",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/vertexai/EndpointWithModelGardenDeployment.yaml",
)
def model_ref(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    publisher, hugging_face = resource.get("publisherModelName"), resource.get("huggingFaceModelId")
    if is_unknown(publisher) or is_unknown(hugging_face):
        return
    if (publisher is None) == (hugging_face is None):
        yield Problem("publisherModelName", f"{resource.name} sets {'both' if publisher is not None else 'neither of'} "
                      "publisherModelName and huggingFaceModelId; exactly one is required",
                      "set publisher_model_name='publishers/google/models/gemma3@gemma-3-1b-it' or hugging_face_model_id='org/model'")
        return
    if publisher is not None and not _PUBLISHER_MODEL.match(text(publisher)):
        yield Problem("publisherModelName", f"{resource.name}: publisherModelName '{publisher}' is not of the form "
                      "publishers/{publisher}/models/{model}@{version}", "copy the id from the model's Model Garden page, e.g. "
                      "publishers/google/models/gemma3@gemma-3-1b-it")
    if hugging_face is not None and not re.fullmatch(r"[^/\s]+/[^/\s]+", text(hugging_face)):
        yield Problem("huggingFaceModelId", f"{resource.name}: huggingFaceModelId '{hugging_face}' is not an ORG/MODEL id",
                      "write it like Qwen/Qwen2.5-7B-Instruct")


@rule(
    "vertex-eula", types=(GARDEN,), severity=RISK,
    title="a Model Garden publisher model is deployed without accepting its EULA",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/vertexai/EndpointWithModelGardenDeployment.yaml",
)
def eula(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # modelConfig.acceptEula: "Whether the user accepts the End User License Agreement (EULA) for the model".
    # Licensed publisher models (Gemma, Llama, ...) refuse the deployment until it is accepted.
    publisher = text(resource.get("publisherModelName"))
    accepted = resource.get("modelConfig.acceptEula")
    if publisher and not is_unknown(accepted) and accepted is not True:
        yield Problem("modelConfig.acceptEula", f"{resource.name} deploys {publisher} without modelConfig.acceptEula: models that "
                      "carry a license (Gemma, Llama, ...) refuse the deployment until the EULA is accepted",
                      "read the model's license on its Model Garden page, then set model_config.accept_eula=True")


@rule(
    "vertex-endpoint-networking", types=VERTEX_TYPES, severity=BLOCKS,
    title="an endpoint combines peering (network), Private Service Connect and a dedicated endpoint in a way the API refuses",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/vertexai/Endpoint.yaml",
)
def endpoint_networking(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    config = _endpoint_config(resource)
    psc = config.get("privateServiceConnectConfig")
    if is_unknown(psc):
        return
    if text(config.get("network")) and psc is not None:
        yield Problem(_config_path(resource, "network"), f"{resource.name} sets both network and privateServiceConnectConfig; "
                      "only one of them can be set", "keep Private Service Connect or VPC peering, not both")
    if resource.type == ENDPOINT and psc is not None and config.get("dedicatedEndpointEnabled") is True:
        yield Problem("dedicatedEndpointEnabled", f"{resource.name} sets both privateServiceConnectConfig and "
                      "dedicatedEndpointEnabled, which conflict", "drop dedicated_endpoint_enabled on a PSC endpoint")


@rule(
    "vertex-endpoint-psa", types=(ENDPOINT,), severity=BLOCKS,
    title="an endpoint peers a VPC network the program creates without private services access",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/vertexai/Endpoint.yaml",
)
def endpoint_psa(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # network: "Private services access must already be configured for the network."
    value = resource.get("network")
    if value is None or is_unknown(value):
        return
    network = resolve(inventory, resource, "network", value, (NETWORK,))
    if network is None:
        return  # a network created elsewhere: it may have private services access
    peered = [c for c in inventory.of_type(PSA_CONNECTION)
              if (found := resolve(inventory, c, "network", c.get("network"), (NETWORK,))) is not None and found.urn == network.urn]
    if not peered:
        yield Problem("network", f"{resource.name} peers {network.name}, which this program creates without private services "
                      "access: GCP refuses the endpoint", f"reserve a VPC_PEERING range and declare gcp.servicenetworking."
                      f"Connection on {network.name}, and make {resource.name} depend on it")
    elif not any(inventory.waits_for(resource, c) for c in peered):
        yield Problem("network", f"{resource.name} peers {network.name} but does not wait for its private services access "
                      f"connection ({peered[0].name})", f"add depends_on=[{peered[0].name}]")


def _endpoint_ids(resource: Resource) -> set[str]:
    ids = {text(resource.get("name"))} if resource.type == ENDPOINT else set()
    for value in (resource.out("endpoint"), resource.out("name")):
        if text(value):
            ids.add(text(value).rsplit("/", 1)[-1])
    return {i for i in ids if i}


@stack_rule(
    "vertex-client-url", severity=BROKEN, types=(*VERTEX_TYPES, *RUN_SERVICES),
    title="a client is given a URL the endpoint does not answer on (shared host for a dedicated endpoint, public host for a private one)",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/vertexai/Endpoint.yaml",
)
def client_url(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    # dedicatedEndpointEnabled: "you won't be able to send request to the shared DNS
    # {region}-aiplatform.googleapis.com"; a Private Service Connect or peered endpoint is reached at a
    # private address, never at a public host.
    endpoints = []
    for resource in inventory.of_type(*VERTEX_TYPES):
        config = _endpoint_config(resource)
        private = _psc(config) or bool(text(config.get("network")))
        dedicated = config.get("dedicatedEndpointEnabled") is True
        if (private or dedicated) and _endpoint_ids(resource):
            endpoints.append((resource, private, _endpoint_ids(resource)))
    if not endpoints:
        return
    for client in inventory.of_type(*RUN_SERVICES):
        for value in strings_in(client.get("template")):
            if "://" not in value:
                continue
            for endpoint, private, ids in endpoints:
                if not any(f"endpoints/{i}" in value or value.split("://", 1)[1].startswith(f"{i}.") for i in ids):
                    continue
                public_host = "aiplatform.googleapis.com" in value or "prediction.vertexai.goog" in value
                if (private and public_host) or (not private and "aiplatform.googleapis.com" in value):
                    why = ("it is a private (Private Service Connect / peered) endpoint, reachable only at its private address"
                           if private else "a dedicated endpoint no longer answers on the shared {region}-aiplatform.googleapis.com host")
                    yield client, Problem("template.containers", f"{client.name} is configured to call {endpoint.name} at a public "
                                          f"URL, but {why}: every request fails",
                                          "give the client the endpoint's dedicated DNS name (dedicated_endpoint_dns) for a "
                                          "dedicated endpoint, or the PSC forwarding rule's address (with a private DNS zone) "
                                          "for a private one")
                    break
