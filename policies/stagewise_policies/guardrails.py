"""Guardrails: an LLM-facing chat service screens prompts and answers with a Model Armor template
that blocks, with the prompt-injection and sensitive-data filters on.

Model Armor's filters and their settings: prompt injection and jailbreak detection, Sensitive Data
Protection (basic or advanced), malicious URIs, responsible AI; a template's enforcement type is
INSPECT_ONLY or INSPECT_AND_BLOCK (https://cloud.google.com/security-command-center/docs/configure-model-armor,
pulumi-gcp 10.2.0 `modelarmor.Template`). The app reads the template's name and its own enforcement from
its environment (CHAT_GUARDRAILS_TEMPLATE, CHAT_GUARDRAILS_ENFORCEMENT: app/src/chatapp/guardrails.py), so
both the template and the service are checked: a blocking template the service does not name, or names
with inspect-only, blocks nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import Finding, Resource, stack_rule
from .props import config_list, get, items, text
from .runtime import containers

TEMPLATE_ENV = "CHAT_GUARDRAILS_TEMPLATE"
ENFORCEMENT_ENV = "CHAT_GUARDRAILS_ENFORCEMENT"
ENABLED = "ENABLED"


def _env(resource: Resource) -> dict[str, Any]:
    return {text(env, "name"): get(env, "value") for container in containers(resource) for env in items(get(container, "envs"))}


def template_problems(template: Resource, allow_inspect_only: bool) -> list[str]:
    props = template.props
    problems = []
    enforcement = text(props, "templateMetadata.enforcementType") or "INSPECT_ONLY"
    if enforcement != "INSPECT_AND_BLOCK" and not (allow_inspect_only and enforcement == "INSPECT_ONLY"):
        problems.append(f"enforcement type is {enforcement}, not INSPECT_AND_BLOCK")
    if text(props, "filterConfig.piAndJailbreakFilterSettings.filterEnforcement") != ENABLED:
        problems.append("the prompt-injection and jailbreak filter is off")
    sdp_basic = text(props, "filterConfig.sdpSettings.basicConfig.filterEnforcement") == ENABLED
    sdp_advanced = bool(text(props, "filterConfig.sdpSettings.advancedConfig.inspectTemplate"))
    if not (sdp_basic or sdp_advanced):
        problems.append("the sensitive-data (Sensitive Data Protection) filter is off")
    return problems


def template_path(template: Resource) -> str:
    """locations/L/templates/ID: what the resource name a service is given ends with."""
    return f"locations/{text(template.props, 'location')}/templates/{text(template.props, 'templateId')}"


@stack_rule(
    "run-guardrails-enforced",
    family="runtime",
    description="Every LLM-facing chat service screens prompts and answers with a Model Armor template in INSPECT_AND_BLOCK "
                "with the prompt-injection/jailbreak and sensitive-data filters on, and names it in its environment "
                "(CHAT_GUARDRAILS_TEMPLATE, CHAT_GUARDRAILS_ENFORCEMENT=inspect-and-block).",
    severity=Severity.HIGH,
    remediation="Declare the Guardrails component (stagewise:guardrails, on by default in prod) and wire it into the chat "
                "services (ServiceWiring.guardrails), which sets their CHAT_GUARDRAILS_* variables and grants roles/modelarmor.user.",
    types=[t.RUN_SERVICE, t.RUN_V1_SERVICE, t.MODEL_ARMOR_TEMPLATE],
    applies_to="Cloud Run services whose environment sets one of chatServiceEnv (the chat backend's), and Model Armor templates",
    params={
        "chatServiceEnv": {"type": "array", "items": {"type": "string"},
                           "default": ["CHAT_PROMPT_VERSION", TEMPLATE_ENV],
                           "description": "a Cloud Run service that sets any of these variables is an LLM-facing chat service"},
        "allowInspectOnly": {"type": "boolean", "default": False,
                             "description": "accept INSPECT_ONLY (staging: decisions are logged while the filters are tuned)"},
    },
)
def guardrails_enforced(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    markers = set(config_list(config, "chatServiceEnv"))
    allow_inspect_only = bool(config.get("allowInspectOnly"))
    services = [r for r in resources if r.type in t.RUN_SERVICES and markers & set(_env(r))]
    if not services:
        return
    templates = [r for r in resources if r.type == t.MODEL_ARMOR_TEMPLATE]
    good: dict[str, Resource] = {}
    for template in templates:
        problems = template_problems(template, allow_inspect_only)
        for problem in problems:
            yield template, Finding(problem, "set enforcement INSPECT_AND_BLOCK and turn the prompt-injection and "
                                             "Sensitive Data Protection filters on (GuardrailsArgs)")
        if not problems:
            good[template_path(template)] = template
    if not templates:
        yield None, Finding(
            "no Model Armor template screens the chat services' prompts and answers",
            "declare the Guardrails component (stagewise:guardrails) and wire it into the chat services",
        )
        return
    wanted = "inspect-only" if allow_inspect_only else None
    for service in services:
        env = _env(service)
        name = env.get(TEMPLATE_ENV)
        if not isinstance(name, str) or not name:
            yield service, Finding(f"the service does not name a guardrail template ({TEMPLATE_ENV} unset)",
                                   f"set {TEMPLATE_ENV} to the template's name (ServiceWiring.guardrails)")
            continue
        if not any(name.endswith("/" + path) or name == path for path in good):
            yield service, Finding(f"{TEMPLATE_ENV} names no blocking template with the required filters in this stack",
                                   "point it at the stack's Guardrails template")
        enforcement = env.get(ENFORCEMENT_ENV)
        if enforcement != "inspect-and-block" and not (wanted and enforcement == wanted):
            yield service, Finding(f"{ENFORCEMENT_ENV} is {enforcement or 'unset'}: the app only logs what matches",
                                   f"set {ENFORCEMENT_ENV}=inspect-and-block")
