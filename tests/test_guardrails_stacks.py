"""Model Armor guardrails in the three stages: off in the MVP, inspect-only in staging,
inspect-and-block in prod; the API enabled first; the chat services told the template by env and
granted roles/modelarmor.user only; bad config stops before any resource, naming the key; and the
policy pack holds prod to a blocking template the services name (removing it fails)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pytest
from stack_values import run_with_values

from stagewise.cli import EXIT_INVALID, main
from stagewise.engine.record import ProgramError, ProgramRun
from stagewise.policy.analyzer import evaluate_stage

TEMPLATE = "gcp:modelarmor/template:Template"
SERVICE = "gcp:cloudrunv2/service:Service"
IAM = "gcp:projects/iAMMember:IAMMember"
API = "gcp:projects/service:Service"
RULE = "run-guardrails-enforced"


@lru_cache(maxsize=None)
def run(stack: str, guardrails: str | None = None) -> ProgramRun:
    return run_with_values(stack, {"stagewise:guardrails": guardrails} if guardrails is not None else None)


def chat_services(result: ProgramRun) -> list[Any]:
    """The chat backends (the model server on Cloud Run has no CHAT_ settings)."""
    return [r for r in result.of_type(SERVICE) if "CHAT_STORE" in env_of(r)]


def env_of(service: Any) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in service.inputs["template"]["containers"][0].get("envs", [])}


def test_prod_declares_a_blocking_template_with_every_filter_and_its_services_name_it() -> None:
    result = run("prod")
    (template,) = result.of_type(TEMPLATE)
    inputs = template.inputs
    assert inputs["templateId"] == "chat-guardrails" and inputs["location"] == "us-central1"
    assert inputs["templateMetadata"]["enforcementType"] == "INSPECT_AND_BLOCK"
    assert inputs["templateMetadata"]["logSanitizeOperations"] is False  # Model Armor's own logs would hold the text
    filters = inputs["filterConfig"]
    assert filters["piAndJailbreakFilterSettings"] == {"filterEnforcement": "ENABLED", "confidenceLevel": "MEDIUM_AND_ABOVE"}
    assert filters["maliciousUriFilterSettings"] == {"filterEnforcement": "ENABLED"}
    assert filters["sdpSettings"] == {"basicConfig": {"filterEnforcement": "ENABLED"}}
    assert sorted(f["filterType"] for f in filters["raiSettings"]["raiFilters"]) == [
        "DANGEROUS", "HARASSMENT", "HATE_SPEECH", "SEXUALLY_EXPLICIT"]
    services = chat_services(result)
    assert {s.inputs["location"] for s in services} == {"us-central1", "europe-west1"}
    name = "projects/stagewise-prod/locations/us-central1/templates/chat-guardrails"
    assert result.stack_outputs["guardrails_template"] == name
    for service in services:
        env = env_of(service)
        assert env["CHAT_GUARDRAILS_TEMPLATE"] == name
        assert env["CHAT_GUARDRAILS_ENFORCEMENT"] == "inspect-and-block"
        assert (env["CHAT_GUARDRAILS_PROMPT_FAILURE"], env["CHAT_GUARDRAILS_RESPONSE_FAILURE"]) == ("closed", "open")
        assert env["CHAT_GUARDRAILS_REDACT_PROMPTS"] == "true"
        # the template exists before the first revision screens with it
        assert template.urn in service.dependencies


def test_each_chat_identity_holds_only_the_screening_role() -> None:
    result = run("prod")
    armor_grants = [r.inputs for r in result.of_type(IAM) if r.inputs["role"].startswith("roles/modelarmor.")]
    assert sorted((g["role"], g["member"]) for g in armor_grants) == [
        ("roles/modelarmor.user", "serviceAccount:chat-europe-west1@stagewise-prod.iam.gserviceaccount.com"),
        ("roles/modelarmor.user", "serviceAccount:chat-us-central1@stagewise-prod.iam.gserviceaccount.com"),
    ]
    inference = [r for r in result.of_type(SERVICE) if r not in chat_services(result)]
    assert inference and all("CHAT_GUARDRAILS_TEMPLATE" not in env_of(s) for s in inference)


def test_the_api_is_enabled_before_the_template() -> None:
    result = run("prod")
    api = result.by_name("apis-modelarmor", API)
    assert api.inputs["service"] == "modelarmor.googleapis.com" and api.inputs["disableOnDestroy"] is False
    (template,) = result.of_type(TEMPLATE)
    assert api.urn in template.dependencies


def test_staging_inspects_only_and_screens_the_partner_service_too() -> None:
    result = run("staging")
    (template,) = result.of_type(TEMPLATE)
    assert template.inputs["templateMetadata"]["enforcementType"] == "INSPECT_ONLY"
    services = {s.inputs["name"]: env_of(s) for s in chat_services(result)}
    assert set(services) == {"chat", "chat-partners"}
    assert {env["CHAT_GUARDRAILS_ENFORCEMENT"] for env in services.values()} == {"inspect-only"}
    assert {env["CHAT_GUARDRAILS_PROMPT_FAILURE"] for env in services.values()} == {"open"}
    assert not evaluate_stage(result).pairs("mandatory")


def test_mvp_has_no_guardrails_by_default_and_can_turn_them_on() -> None:
    result = run("mvp")
    assert result.of_type(TEMPLATE) == []
    assert "apis-modelarmor" not in {r.name for r in result.of_type(API)}
    assert all(not k.startswith("CHAT_GUARDRAILS_") for s in chat_services(result) for k in env_of(s))
    assert not [r for r in result.of_type(IAM) if r.inputs["role"].startswith("roles/modelarmor.")]
    turned_on = run("mvp", json.dumps({"enabled": True}))
    (template,) = turned_on.of_type(TEMPLATE)
    assert template.inputs["templateMetadata"]["enforcementType"] == "INSPECT_ONLY"  # no stage default: inspect first
    assert env_of(chat_services(turned_on)[0])["CHAT_GUARDRAILS_ENFORCEMENT"] == "inspect-only"


def test_prod_passes_the_guardrail_rule_and_fails_it_without_the_template() -> None:
    assert (RULE, "stack") not in evaluate_stage(run("prod")).pairs()
    assert not [v for v in evaluate_stage(run("prod")).verdicts if v.policy == RULE]
    removed = evaluate_stage(run("prod", json.dumps({"enabled": False})))
    assert {(v.policy, v.resource_name) for v in removed.mandatory} == {(RULE, "")}
    assert "no Model Armor template" in next(v.message for v in removed.mandatory)


def test_prod_fails_the_rule_when_it_only_inspects() -> None:
    report = evaluate_stage(run("prod", json.dumps({"enforcement": "inspect-only"})))
    found = {(v.policy, v.resource_name) for v in report.mandatory}
    assert found == {(RULE, "guardrails-template"), (RULE, "chat-us-central1"), (RULE, "chat-europe-west1")}


def test_prod_fails_the_rule_without_the_sensitive_data_or_injection_filter() -> None:
    report = evaluate_stage(run("prod", json.dumps({"sensitiveData": False, "promptInjection": None})))
    messages = sorted(v.message for v in report.mandatory if v.resource_name == "guardrails-template")
    assert len(messages) == 2
    assert "prompt-injection and jailbreak filter is off" in messages[0] + messages[1]
    assert "sensitive-data" in messages[0] + messages[1]


@pytest.mark.parametrize(("guardrails", "key", "fix"), [
    ({"templateId": "-chat"}, "stagewise:guardrails.templateId", "letters, digits and hyphens"),
    ({"templateId": "chat_guardrails"}, "stagewise:guardrails.templateId", "not a template id"),
    ({"location": "us-west2"}, "stagewise:guardrails.location", "Model Armor does not run there"),
    ({"responsibleAi": {"VIOLENCE": "HIGH"}}, "stagewise:guardrails.responsibleAi", "unknown category VIOLENCE"),
    ({"promptInjection": "SOMETIMES"}, "stagewise:guardrails.promptInjection", "LOW_AND_ABOVE"),
    ({"failure": {"prompt": "ajar"}}, "stagewise:guardrails.failure.prompt", "open"),
])
def test_bad_guardrail_config_exits_two_naming_the_key(
    guardrails: dict[str, Any], key: str, fix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["review", "prod", "--values", "examples/values/prod.yaml", "--config",
                 f"stagewise:guardrails={json.dumps(guardrails)}"])
    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    line = next(line for line in err.splitlines() if key in line)
    assert fix in line


def test_a_region_without_model_armor_needs_a_guardrails_location() -> None:
    with pytest.raises(ProgramError) as caught:
        run_with_values("mvp", {"gcp:region": "us-west2", "stagewise:guardrails": json.dumps({"enabled": True})})
    assert "stagewise:guardrails.location: gcp:region 'us-west2' has no Model Armor" in str(caught.value)
    explicit = run_with_values("mvp", {"gcp:region": "us-west2", "stagewise:guardrails": json.dumps({"enabled": True, "location": "us"})})
    assert explicit.of_type(TEMPLATE)[0].inputs["location"] == "us"
