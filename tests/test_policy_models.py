"""vertex-model-lifecycle / vertex-model-deprecated: exact verdicts over raw pulumi_gcp Cloud Run services and over
our ChatService, each setting CHAT_VERTEX_MODEL / CHAT_FALLBACK_MODEL; the pack's lifecycle file follows
stagewise/pricing/vertex_ai.yaml (scripts/policy_model_lifecycle.py --check)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import policy_fixtures as f
import pytest
from policy_fixtures import crun, prod

from stagewise.components.chat_service import ChatService, ChatServiceArgs, VpcEgress
from stagewise.cost.models import model_info
from stagewise.policy.analyzer import load_pack

ROOT = Path(__file__).resolve().parents[1]
RETIRED = "vertex-model-lifecycle"
DEPRECATED = "vertex-model-deprecated"
RULES = {RETIRED, DEPRECATED}
# Dates pinned so the verdicts do not move with the clock: before and after gemini-2.5-*'s 2026-10-16.
BEFORE = {RETIRED: {"enforcementLevel": "mandatory", "asOf": "2026-06-01"},
          DEPRECATED: {"enforcementLevel": "advisory", "asOf": "2026-06-01"}}
AFTER = {RETIRED: {"enforcementLevel": "mandatory", "asOf": "2026-12-02"},
         DEPRECATED: {"enforcementLevel": "advisory", "asOf": "2026-12-02"}}


@dataclass(frozen=True)
class Case:
    id: str
    program: Callable[[], None]
    expected: set[tuple[str, str]]
    stage: str = "prod"
    overrides: Mapping[str, Any] = field(default_factory=lambda: BEFORE)


def chat(name: str = "chat", **models: str) -> crun.Service:
    envs = [crun.ServiceTemplateContainerEnvArgs(name="CHAT_STORE", value="firestore")]
    envs += [crun.ServiceTemplateContainerEnvArgs(name=var, value=value) for var, value in models.items()]
    return f.cloud_run(name, template=f.template(containers=[f.container(envs=envs)]))


def components(**models: str) -> None:
    """Our own ChatService with the model variables InferenceEndpoint.client_env would give it."""
    ChatService("chat", ChatServiceArgs(
        project=f.PROJECT, region=f.REGION, image=f.IMAGE, min_instances=1, max_instances=5, ingress="internal-and-cloud-load-balancing",
        default_uri_disabled=True, env={"CHAT_STORE": "firestore", **models},
        vpc_egress=VpcEgress(network="vpc", subnetwork="run"), labels=f.labels()))
    f.alert_policy("chat-alert", 'resource.type="cloud_run_revision" AND resource.labels.service_name="chat"')


CURRENT = "gemini-3.1-flash-lite"
CASES = [
    Case("current-models", prod(lambda: chat(CHAT_VERTEX_MODEL=CURRENT, CHAT_FALLBACK_MODEL="gemini-3.5-flash")), set()),
    Case("retired-primary", prod(lambda: chat(CHAT_VERTEX_MODEL="gemini-2.0-flash")), {(RETIRED, "chat")}),
    Case("retired-fallback-versioned", prod(lambda: chat(CHAT_VERTEX_MODEL=CURRENT, CHAT_FALLBACK_MODEL="gemini-2.0-flash-lite-001")),
         {(RETIRED, "chat")}),
    Case("retired-full-resource-name", prod(lambda: chat(
        CHAT_VERTEX_MODEL=f"projects/{f.PROJECT}/locations/{f.REGION}/publishers/google/models/gemini-2.0-flash")), {(RETIRED, "chat")}),
    Case("deprecated-primary", prod(lambda: chat(CHAT_VERTEX_MODEL="gemini-2.5-flash")), {(DEPRECATED, "chat")}),
    # 2026-10-16 is a "no earlier than" date: past it the model is still only deprecated, as the config says
    Case("deprecated-past-a-no-earlier-than-date", prod(lambda: chat(CHAT_VERTEX_MODEL="gemini-2.5-flash")), {(DEPRECATED, "chat")},
         overrides=AFTER),
    Case("both-kinds", prod(lambda: chat(CHAT_VERTEX_MODEL="gemini-2.5-pro", CHAT_FALLBACK_MODEL="gemini-2.0-flash")),
         {(RETIRED, "chat"), (DEPRECATED, "chat")}),
    # a model the table does not list: the stack config's name check, not this rule
    Case("unknown-model", prod(lambda: chat(CHAT_VERTEX_MODEL="gemini-9-ultra")), set()),
    # another variable naming a retired model is not what the app calls
    Case("other-variable", prod(lambda: chat(CHAT_OPENAI_MODEL="gemini-2.0-flash")), set()),
    Case("no-model-variables", prod(chat), set()),
    Case("mvp-refuses-retired", lambda: (f.frame("mvp"), chat(CHAT_VERTEX_MODEL="gemini-2.0-flash")), {(RETIRED, "chat")},
         stage="mvp"),
    Case("staging-warns-deprecated", lambda: (f.frame("staging"), chat(CHAT_FALLBACK_MODEL="gemini-2.5-flash-lite")),
         {(DEPRECATED, "chat")}, stage="staging"),
    Case("components-current", prod(lambda: components(CHAT_VERTEX_MODEL=CURRENT)), set()),
    Case("components-retired", prod(lambda: components(CHAT_VERTEX_MODEL="gemini-2.0-flash")), {(RETIRED, "chat")}),
    Case("components-deprecated-fallback", prod(lambda: components(CHAT_VERTEX_MODEL=CURRENT, CHAT_FALLBACK_MODEL="gemini-2.5-flash")),
         {(DEPRECATED, "chat")}),
]


def rule_pairs(case: Case) -> set[tuple[str, str]]:
    return {pair for pair in f.violations(case.program, case.stage, case.overrides) if pair[0] in RULES}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exact_verdicts(case: Case) -> None:
    assert rule_pairs(case) == case.expected


def test_levels_messages_and_the_stage_configs() -> None:
    program = prod(lambda: chat(CHAT_VERTEX_MODEL="gemini-2.5-pro", CHAT_FALLBACK_MODEL="gemini-2.0-flash"))
    verdicts = {v.policy: v for v in f.report(program, overrides=BEFORE).verdicts if v.policy in RULES}
    assert {name: v.level for name, v in verdicts.items()} == {RETIRED: "mandatory", DEPRECATED: "advisory"}
    retired, deprecated = verdicts[RETIRED].message, verdicts[DEPRECATED].message
    for part in ("chat", "CHAT_FALLBACK_MODEL", "gemini-2.0-flash", "2026-02-05", "gemini-3.1-flash-lite",
                 "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"):
        assert part in retired
    for part in ("CHAT_VERTEX_MODEL", "gemini-2.5-pro", "2026-10-16", "gemini-3.5-flash"):
        assert part in deprecated
    for stage in ("mvp", "staging", "prod"):
        settings = f.stage_analyzer(stage).settings
        assert (settings[RETIRED].level, settings[DEPRECATED].level) == ("mandatory", "advisory"), stage


def test_without_a_date_the_rules_compare_with_today() -> None:
    """No asOf: today (2026-12 or later here). 2.0 Flash is retired whatever the day; 2.5 Flash's
    2026-10-16 is "no earlier than", so it stays a warning."""
    assert rule_pairs(Case("today", prod(lambda: chat(CHAT_VERTEX_MODEL="gemini-2.0-flash")), set(), overrides={})) == {(RETIRED, "chat")}
    assert rule_pairs(Case("today", prod(lambda: chat(CHAT_VERTEX_MODEL="gemini-2.5-flash")), set(), overrides={})) == {(DEPRECATED, "chat")}


def test_a_firm_retirement_date_that_has_passed_refuses_a_deprecated_model() -> None:
    import datetime as dt

    from stagewise_policies.models import _retired

    day = dt.date(2026, 12, 2)
    assert _retired({"status": "deprecated", "retirement": "2026-11-30"}, day)
    assert not _retired({"status": "deprecated", "retirement": "2026-12-31"}, day)
    assert not _retired({"status": "deprecated", "retirement": "2026-11-30", "retirementNote": "no earlier than (V2)"}, day)
    assert _retired({"status": "retired", "retirement": "2027-01-01"}, day)


def test_the_compliant_programs_break_no_other_rule() -> None:
    assert f.violations(prod(lambda: chat(CHAT_VERTEX_MODEL=CURRENT))) == set()
    assert f.violations(prod(lambda: components(CHAT_VERTEX_MODEL=CURRENT))) == set()


def test_the_pack_lifecycle_file_follows_the_price_table() -> None:
    done = subprocess.run([sys.executable, "scripts/policy_model_lifecycle.py", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_pack_reads_the_same_lifecycle_as_the_config() -> None:
    pack = load_pack()
    table = pack.models.lifecycle()
    assert table, "the pack's lifecycle file lists no model"
    for name, entry in table.items():
        info = model_info(name)
        assert info is not None, name
        assert (entry["status"], entry["retirement"], entry["replacement"]) == (
            info.vertex.status, info.vertex.retirement.isoformat() if info.vertex.retirement else None, info.replacement)
        assert entry["sources"] and all(url.startswith("https://") for url in entry["sources"]), name
