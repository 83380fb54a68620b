"""Gemini model lifecycle: a chat service must not call a model Vertex AI has retired, and should move off a
deprecated one before its retirement date.

The lifecycle (status on Vertex AI, retirement date, the replacement, the sources) is
data/model_lifecycle.json, generated from stagewise/pricing/vertex_ai.yaml by
scripts/policy_model_lifecycle.py (a root test fails when it is stale); the main source is Vertex AI's
model versions and lifecycle page (https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions).
The app reads the Gemini models from CHAT_VERTEX_MODEL and CHAT_FALLBACK_MODEL
(stagewise/components/inference/endpoint.py sets them). A model the table does not list is not these
rules' business (the stack config checks names against the price table).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import tokens as t
from .base import Finding, Resource, resource_rule
from .props import get, items, text
from .runtime import containers

DATA = Path(__file__).resolve().parent / "data" / "model_lifecycle.json"
MODEL_ENV = ("CHAT_VERTEX_MODEL", "CHAT_FALLBACK_MODEL")
AS_OF = {
    "asOf": {"type": "string", "default": "",
             "description": "the date (YYYY-MM-DD) a retirement date is compared with; empty: today (UTC)"},
}


@lru_cache(maxsize=1)
def lifecycle() -> dict[str, dict[str, Any]]:
    models = json.loads(DATA.read_text()).get("models") or {}
    return {str(name): entry for name, entry in models.items() if isinstance(entry, dict)}


def model_key(model: str) -> str:
    """gemini-2.5-flash-001 / publishers/google/models/gemini-2.5-flash@x / ...-preview → the table's key
    (the same normalisation as stagewise.cost.models.model_key)."""
    name = model.rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]
    return re.sub(r"-(\d{3}|preview(-[\w-]+)?|latest)$", "", name)


def _as_of(config: Mapping[str, Any]) -> dt.date:
    value = str(config.get("asOf") or "")
    return dt.date.fromisoformat(value) if value else dt.datetime.now(dt.timezone.utc).date()


def _models(resource: Resource) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(env var, model, lifecycle entry) for each model variable set to a model the table lists."""
    for container in containers(resource):
        for env in items(get(container, "envs")):
            name = text(env, "name")
            value = get(env, "value")
            if name in MODEL_ENV and isinstance(value, str) and value:
                entry = lifecycle().get(model_key(value))
                if entry is not None:
                    yield name, value, entry


def _retired(entry: Mapping[str, Any], today: dt.date) -> bool:
    """Retired, or past a firm retirement date. A "no earlier than" date is not one: Google confirms the
    real date later (the stack config treats such a model as deprecated too, and warns)."""
    when = entry.get("retirement")
    firm = not str(entry.get("retirementNote") or "").startswith("no earlier than")
    return entry.get("status") == "retired" or (bool(when) and firm and dt.date.fromisoformat(str(when)) <= today)


def _service(resource: Resource) -> str:
    return text(resource.props, "name") or resource.name


def _fix(entry: Mapping[str, Any]) -> str:
    replacement = entry.get("replacement")
    move = f"set it to {replacement}" if replacement else "set it to a current Gemini model"
    return f"{move} (stagewise:model / fallbackModel in the stack config); source: {', '.join(entry.get('sources') or [])}"


@resource_rule(
    "vertex-model-lifecycle",
    family="runtime",
    description="A Cloud Run service does not call a Gemini model Vertex AI has retired, or one past its announced "
                "retirement date (CHAT_VERTEX_MODEL, CHAT_FALLBACK_MODEL): calls to it fail.",
    severity=Severity.HIGH,
    remediation="Set stagewise:model (and fallbackModel) to the replacement data/model_lifecycle.json names; "
                "the stack config refuses a retired model before deploy.",
    types=[t.RUN_SERVICE],
    params=AS_OF,
    applies_to="Cloud Run services whose environment sets CHAT_VERTEX_MODEL or CHAT_FALLBACK_MODEL to a model the lifecycle table lists",
    enforcement=EnforcementLevel.MANDATORY,
)
def model_lifecycle(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    today = _as_of(config)
    for var, model, entry in _models(resource):
        if not _retired(entry, today):
            continue
        when = entry.get("retirement") or "an unannounced date"
        state = "was retired" if entry.get("status") == "retired" else "is past its retirement date"
        yield Finding(f"service {_service(resource)} sets {var}={model}, which {state} on Vertex AI ({when})", _fix(entry))


@resource_rule(
    "vertex-model-deprecated",
    family="runtime",
    description="A Cloud Run service does not call a Gemini model Vertex AI has deprecated (CHAT_VERTEX_MODEL, "
                "CHAT_FALLBACK_MODEL): move before its retirement date.",
    severity=Severity.MEDIUM,
    remediation="Plan the move to the replacement data/model_lifecycle.json names before the retirement date.",
    types=[t.RUN_SERVICE],
    params=AS_OF,
    applies_to="Cloud Run services whose environment sets CHAT_VERTEX_MODEL or CHAT_FALLBACK_MODEL to a model the lifecycle table lists",
    enforcement=EnforcementLevel.ADVISORY,
)
def model_deprecated(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    today = _as_of(config)
    for var, model, entry in _models(resource):
        if entry.get("status") != "deprecated" or _retired(entry, today):
            continue
        when = entry.get("retirement") or "no date announced"
        note = f", {entry['retirementNote']}" if entry.get("retirementNote") else ""
        yield Finding(f"service {_service(resource)} sets {var}={model}, which is deprecated on Vertex AI "
                      f"(retirement {when}{note})", _fix(entry))
