"""Fixtures: Model Armor templates (raw resources and the Guardrails component)."""

from __future__ import annotations

from collections.abc import Callable

import pulumi_gcp as gcp
from harness import PROJECT, fail, ok

from stagewise.components.guardrails import Guardrails, GuardrailsArgs


def template(location: str = "us-central1", template_id: str = "chat-guardrails") -> Callable[[], None]:
    def program() -> None:
        gcp.modelarmor.Template(
            "guard", project=PROJECT, location=location, template_id=template_id,
            filter_config=gcp.modelarmor.TemplateFilterConfigArgs(
                pi_and_jailbreak_filter_settings=gcp.modelarmor.TemplateFilterConfigPiAndJailbreakFilterSettingsArgs(
                    filter_enforcement="ENABLED", confidence_level="HIGH")),
        )

    return program


def component(location: str = "europe-west4") -> Callable[[], None]:
    def program() -> None:
        Guardrails("guardrails", GuardrailsArgs(project=PROJECT, location=location))

    return program


CASES = [
    fail("modelarmor-location", template(location="us-west2"), resource="guard", field="location"),
    fail("modelarmor-location", template(location="global"), id="global"),
    fail("modelarmor-location", component(location="asia-northeast1"), resource="guardrails-template", id="component"),
    ok("modelarmor-location", template()),
    ok("modelarmor-location", template(location="eu"), id="multi-region"),
    ok("modelarmor-location", component(), id="component"),
    fail("modelarmor-template-id", template(template_id="chat_guardrails"), resource="guard", field="templateId"),
    fail("modelarmor-template-id", template(template_id="-chat"), id="leading-hyphen"),
    fail("modelarmor-template-id", template(template_id="c" * 64), id="too-long"),
    ok("modelarmor-template-id", template(template_id="Chat-Guardrails-2")),
    ok("modelarmor-template-id", component(), id="component"),
]
