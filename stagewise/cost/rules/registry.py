"""The rule registry, the resource types several families price, and the readers of inputs they share."""

from __future__ import annotations

import re

from collections.abc import Callable
from typing import Any

from stagewise.cost.context import Context
from stagewise.cost.model import LineItem
from stagewise.cost.traffic import gpu_count
from stagewise.engine.record import DeclaredResource


Rule = Callable[[DeclaredResource, Context], list[LineItem]]
RULES: dict[str, Rule] = {}

RUN_SERVICE = "gcp:cloudrunv2/service:Service"
FIRESTORE_DB = "gcp:firestore/database:Database"
INSTANCE = "gcp:compute/instance:Instance"
MIGS = ("gcp:compute/instanceGroupManager:InstanceGroupManager", "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager")
TEMPLATES = ("gcp:compute/instanceTemplate:InstanceTemplate", "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")
AUTOSCALERS = ("gcp:compute/autoscaler:Autoscaler", "gcp:compute/regionAutoscaler:RegionAutoscaler")
VERTEX_DEPLOYMENT = "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment"
MULTI_REGIONS = {"us", "eu", "asia", "nam4", "eur4", "asia1", "eur5", "eur7", "eur8"}


def rule(*tokens: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for token in tokens:
            RULES[token] = fn
        return fn

    return register


# ---------------------------------------------------------------- input helpers


def basename(value: Any) -> str:
    return str(value or "").rstrip("/").rsplit("/", 1)[-1]


def region_of(value: Any, default: str) -> str:
    """A region from a location or zone (us-central1-a → us-central1); multi-regions upper-case."""
    text = basename(value)
    if not text:
        return default
    if text.lower() in MULTI_REGIONS:
        return text.upper()
    if re.match(r"^[a-z]+-[a-z]+\d+-[a-z]$", text):
        return text.rsplit("-", 1)[0]
    return text.lower() if re.match(r"^[a-zA-Z]+-[a-zA-Z]+\d+$", text) else text


def cpu_count(value: Any) -> float:
    text = str(value or "1")
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def memory_gib(value: Any) -> float:
    text = str(value or "512Mi")
    match = re.match(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$", text)
    if not match:
        raise ValueError(f"memory {text!r} not understood")
    number, suffix = float(match.group(1)), match.group(2) or ""
    factor = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 1024, "K": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30}
    return number * factor[suffix] if suffix else number / 2**30


def seconds(value: Any, default: float) -> float:
    text = str(value or "")
    match = re.match(r"^(\d+(?:\.\d+)?)s$", text)
    return float(match.group(1)) if match else default


def number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {str(e.get("name")): str(e.get("value")) for e in container.get("envs") or [] if "value" in e}


_gpu_count = gpu_count
