"""Our own stacks pass every mandatory rule of their stage; a deliberately bad program does not."""

from __future__ import annotations

import json
from pathlib import Path

import policy_fixtures as f
import pulumi_gcp as gcp
import pytest

from stagewise.components.chat_service import ChatService, ChatServiceArgs
from stagewise.cli import EXIT_FAILED_CHECKS, EXIT_INVALID, EXIT_OK, main
from stack_values import run_with_values

from stagewise.policy.analyzer import evaluate_stage
from stagewise.review.sections import review_run

STACKS = ["mvp", "staging", "prod"]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_mandatory_violation_under_its_stage_config(stack: str) -> None:
    # staging and prod mark what only the user knows REPLACE-ME; the sample values fill them in
    report = evaluate_stage(run_with_values(stack))
    assert report.config_source == f"policies/config/{stack}.json"
    assert [(v.policy, v.resource_name, v.message) for v in report.mandatory] == []


def test_mvp_review_prints_verdicts_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "mvp"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Policies: stagewise-gcp@0.1.0 with policies/config/mvp.json — 0 mandatory" in out


def test_review_exits_one_and_names_a_mandatory_violation(capsys: pytest.CaptureFixture[str]) -> None:
    service = {"name": "chat", "maxInstances": 50, "public": True, "allowAnonymous": True, "secretEnv": {"CHAT_API_KEYS": "chat-api-keys"}}
    code = main(["review", "mvp", "--format", "json", "--config", f"stagewise:service={json.dumps(service)}"])
    document = json.loads(capsys.readouterr().out)
    assert code == EXIT_FAILED_CHECKS
    mandatory = [(v["policy"], v["resource"]) for v in document["policies"]["verdicts"] if v["level"] == "mandatory"]
    assert mandatory == [("cost-run-max-instances", "chat")]


def test_bad_policy_config_is_an_input_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    import stagewise.policy.analyzer as engine

    bad = tmp_path / "mvp.json"
    bad.write_text('{"iam-no-basic-roles": "strict"}')
    monkeypatch.setattr(engine, "stage_config_path", lambda stage, pack_dir=engine.POLICIES_DIR: bad)
    assert main(["review", "mvp"]) == EXIT_INVALID
    assert "'strict' is not an enforcement level" in capsys.readouterr().err


def bad_program() -> None:
    """The issue's acceptance program: a public bucket, roles/editor on a service account, SSH from
    anywhere, and the chat service (the real component) with ingress ALL in prod."""
    f.frame()
    f.bucket("public-bucket", public_access_prevention="inherited")
    account = gcp.serviceaccount.Account("worker", account_id="worker", project=f.PROJECT)
    gcp.projects.IAMMember("worker-editor", project=f.PROJECT, role="roles/editor",
                           member=account.email.apply(lambda email: f"serviceAccount:{email}"))
    f.firewall("ssh-anywhere", source_ranges=["0.0.0.0/0"], allows=[f.compute.FirewallAllowArgs(protocol="tcp", ports=["22"])])
    ChatService("chat", ChatServiceArgs(project=f.PROJECT, region=f.REGION, image=f.IMAGE, ingress="all", min_instances=0,
                                        max_instances=5, deletion_protection=True, labels=f.labels()))


def test_bad_program_fails_review_with_each_violation_named() -> None:
    review = review_run(f.run(bad_program))
    assert review.failed
    section = next(s for s in review.sections if s.name == "policies")
    mandatory = {(v["policy"], v["resource"]) for v in section.document["verdicts"] if v["level"] == "mandatory"}
    assert {
        ("storage-public-access-prevention", "public-bucket"),
        ("iam-no-basic-roles", "worker-editor"),
        ("net-no-world-ingress", "ssh-anywhere"),
        ("net-admin-ports-iap-only", "ssh-anywhere"),
        ("run-ingress-restricted", "chat"),
    } <= mandatory
    for policy in ("storage-public-access-prevention", "iam-no-basic-roles", "net-no-world-ingress", "run-ingress-restricted"):
        assert policy in section.text
    assert "MANDATORY" in section.text and section.markdown and "| mandatory |" in section.markdown
