"""run-guardrails-enforced: exact verdicts over raw pulumi_gcp programs (a chat service, a Model Armor
template, each mutated once) and over our own components (Guardrails wired into ChatService)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import policy_fixtures as f
import pulumi_gcp as gcp
import pytest
from policy_fixtures import crun, prod

from stagewise.components.chat_service import ChatService, ChatServiceArgs, VpcEgress
from stagewise.components.guardrails import Guardrails, GuardrailsArgs

RULE = "run-guardrails-enforced"
NAME = f"projects/{f.PROJECT}/locations/{f.REGION}/templates/chat-guardrails"
STACK = ""


@dataclass(frozen=True)
class Case:
    id: str
    program: Callable[[], None]
    expected: set[tuple[str, str]]
    stage: str = "prod"
    overrides: Mapping[str, Any] = field(default_factory=dict)


def template(name: str = "guard", *, enforcement: str = "INSPECT_AND_BLOCK", pi: str = "ENABLED", sdp: str = "ENABLED",
             advanced_sdp: bool = False, template_id: str = "chat-guardrails") -> gcp.modelarmor.Template:
    filters = gcp.modelarmor.TemplateFilterConfigArgs(
        pi_and_jailbreak_filter_settings=gcp.modelarmor.TemplateFilterConfigPiAndJailbreakFilterSettingsArgs(
            filter_enforcement=pi, confidence_level="MEDIUM_AND_ABOVE"),
        sdp_settings=gcp.modelarmor.TemplateFilterConfigSdpSettingsArgs(
            advanced_config=gcp.modelarmor.TemplateFilterConfigSdpSettingsAdvancedConfigArgs(
                inspect_template=f"projects/{f.PROJECT}/locations/{f.REGION}/inspectTemplates/pii"),
        ) if advanced_sdp else gcp.modelarmor.TemplateFilterConfigSdpSettingsArgs(
            basic_config=gcp.modelarmor.TemplateFilterConfigSdpSettingsBasicConfigArgs(filter_enforcement=sdp)),
    )
    return gcp.modelarmor.Template(
        name, project=f.PROJECT, location=f.REGION, template_id=template_id, filter_config=filters,
        template_metadata=gcp.modelarmor.TemplateTemplateMetadataArgs(enforcement_type=enforcement), labels=f.labels())


def env(name: str, value: str) -> crun.ServiceTemplateContainerEnvArgs:
    return crun.ServiceTemplateContainerEnvArgs(name=name, value=value)


def chat(name: str = "chat", *, template_name: str | None = NAME, enforcement: str | None = "inspect-and-block",
         marker: str = "CHAT_PROMPT_VERSION") -> crun.Service:
    envs = [env("CHAT_STORE", "firestore"), env(marker, "v1")]
    if template_name is not None:
        envs.append(env("CHAT_GUARDRAILS_TEMPLATE", template_name))
    if enforcement is not None:
        envs.append(env("CHAT_GUARDRAILS_ENFORCEMENT", enforcement))
    return f.cloud_run(name, template=f.template(containers=[f.container(envs=envs)]))


def components(enforcement: str = "INSPECT_AND_BLOCK") -> None:
    """Our own Guardrails wired into our own ChatService, as stagewise/stacks/common.py wires them."""
    guard = Guardrails("guardrails", GuardrailsArgs(project=f.PROJECT, location=f.REGION, enforcement=enforcement,
                                                    labels=f.labels()))
    ChatService("chat", ChatServiceArgs(
        project=f.PROJECT, region=f.REGION, image=f.IMAGE, min_instances=1, max_instances=5, ingress="internal-and-cloud-load-balancing",
        default_uri_disabled=True, env={"CHAT_STORE": "firestore", "CHAT_PROMPT_VERSION": "v1", **guard.client_env},
        grants=[guard.client_role()], vpc_egress=VpcEgress(network="vpc", subnetwork="run"), labels=f.labels(),
        depends_on=guard.ready))
    f.alert_policy("chat-alert", 'resource.type="cloud_run_revision" AND resource.labels.service_name="chat"')


CASES = [
    Case("blocking-template-named-by-the-service", prod(template, chat), set()),
    Case("advanced-sdp-counts", prod(lambda: template(advanced_sdp=True), chat), set()),
    Case("no-template", prod(chat), {(RULE, STACK)}),
    Case("template-only-inspects", prod(lambda: template(enforcement="INSPECT_ONLY"), chat), {(RULE, "guard"), (RULE, "chat")}),
    Case("injection-filter-off", prod(lambda: template(pi="DISABLED"), chat), {(RULE, "guard"), (RULE, "chat")}),
    Case("sensitive-data-filter-off", prod(lambda: template(sdp="DISABLED"), chat), {(RULE, "guard"), (RULE, "chat")}),
    Case("service-names-no-template", prod(template, lambda: chat(template_name=None)), {(RULE, "chat")}),
    Case("service-names-another-template", prod(template, lambda: chat(template_name=NAME.replace("chat-guardrails", "other"))),
         {(RULE, "chat")}),
    Case("app-only-inspects", prod(template, lambda: chat(enforcement="inspect-only")), {(RULE, "chat")}),
    Case("app-enforcement-unset", prod(template, lambda: chat(enforcement=None)), {(RULE, "chat")}),
    # a service that names a template is held to it even without the chat backend's marker
    Case("any-service-naming-a-template", prod(lambda: chat(marker="OTHER_SETTING")), {(RULE, STACK)}),
    # no chat service (a model server, a job runner): nothing to screen
    Case("no-chat-service", prod(lambda: f.cloud_run("vllm")), set()),
    Case("staging-accepts-inspect-only", lambda: (f.frame("staging"), template(enforcement="INSPECT_ONLY"),
                                                  chat(enforcement="inspect-only")), set(), stage="staging"),
    Case("staging-still-needs-a-template", lambda: (f.frame("staging"), chat(template_name=None)), {(RULE, STACK)},
         stage="staging"),
    Case("mvp-does-not-require-it", lambda: (f.frame("mvp"), chat(template_name=None)), set(), stage="mvp"),
    Case("components-block", prod(components), set()),
    Case("components-inspect-only", prod(lambda: components("INSPECT_ONLY")), {(RULE, "guardrails-template"), (RULE, "chat")}),
]


def rule_pairs(case: Case) -> set[tuple[str, str]]:
    return {pair for pair in f.violations(case.program, case.stage, case.overrides) if pair[0] == RULE}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exact_verdicts(case: Case) -> None:
    assert rule_pairs(case) == case.expected


def test_the_compliant_programs_break_no_other_rule() -> None:
    """The fixtures' other resources pass the prod config, so a guardrail verdict is the only one."""
    assert f.violations(prod(template, chat)) == set()
    assert f.violations(prod(components)) == set()


def test_removing_the_guardrails_component_fails_prod() -> None:
    def without() -> None:
        ChatService("chat", ChatServiceArgs(project=f.PROJECT, region=f.REGION, image=f.IMAGE,
                                            env={"CHAT_PROMPT_VERSION": "v1"}, labels=f.labels()))

    report = f.report(prod(without))
    assert {(v.policy, v.resource_name, v.level) for v in report.verdicts if v.policy == RULE} == {(RULE, STACK, "mandatory")}
