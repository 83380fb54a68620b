"""`stagewise compare BASE HEAD`: what a pull request changes, per stack, for the PR comment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from stagewise.cli import main
from stagewise.review.compare import compare, resource_key, snapshot
from stagewise.engine.record import run_program
from stagewise.review.sections import Review, SectionResult


class _Thing(pulumi.CustomResource):
    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Thing", name, props, opts)


class _Group(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:Group", name)
        self.register_outputs({})


def _program(*, head: bool) -> None:
    group = _Group("svc")
    opts = pulumi.ResourceOptions(parent=group)
    _Thing("service", {"scaling": {"min": 1 if head else 0, "max": 3}, "token": pulumi.Output.secret("s3cr3t-head" if head else "s3cr3t-base")}, opts)
    _Thing("same", {"location": "us-central1"}, opts)
    if head:
        _Thing("logs", {"public": True}, opts)
    else:
        _Thing("old-cache", {"size": 5}, opts)


def _document(stack: str, *, head: bool, sections: bool = True) -> dict[str, Any]:
    run = run_program(lambda: _program(head=head), project="proj", stack=stack, config={})
    urn = {r.name: r.urn for r in run.resources}
    parts: list[SectionResult] = []
    if sections:
        violations = [{"policy": "no-unlabelled", "urn": urn["same"], "enforcementLevel": "advisory", "message": "add labels"}]
        if head:
            violations.append({"policy": "bucket-not-public", "urn": urn["logs"], "enforcementLevel": "mandatory",
                               "message": "public <access> | denied"})
        else:
            violations.append({"policy": "min-size", "urn": urn["old-cache"], "enforcementLevel": "advisory", "message": "too small"})
        lines = [{"urn": urn["service"], "monthlyUsd": 12.5 if head else 10.0}, {"urn": urn["same"], "monthlyUsd": 1.0}]
        lines.append({"urn": urn["logs"], "monthlyUsd": 2.0} if head else {"urn": urn["old-cache"], "monthlyUsd": 0.5})
        total = sum(float(str(line["monthlyUsd"])) for line in lines)
        parts = [
            SectionResult("policy", {"violations": violations}, "", failed=head),
            SectionResult("cost", {"totalMonthlyUsd": total, "resources": lines}, ""),
        ]
    return Review(run=run, sections=parts).document()


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    return _document("mvp", head=False), _document("mvp", head=True)


def test_diff_finds_added_removed_changed_and_hides_secrets(documents: tuple[dict[str, Any], dict[str, Any]]) -> None:
    result = compare(snapshot(documents[0]), snapshot(documents[1]))
    kinds = {(c.kind, c.resource.name) for c in result.changes}
    assert kinds == {("added", "logs"), ("removed", "old-cache"), ("changed", "service")}
    changed = next(c for c in result.changes if c.kind == "changed")
    paths = {p.path: (p.before, p.after) for p in changed.properties}
    assert paths["scaling.min"] == ("0", "1")
    assert "scaling.max" not in paths
    # Review documents carry secrets only as the placeholder: a changed secret value can't show (no
    # digest either: a hash of a weak secret is a published guess oracle), and never its value.
    assert "token" not in paths
    assert "s3cr3t" not in json.dumps(documents[0]) + json.dumps(documents[1])
    assert changed.cost_delta == pytest.approx(2.5)
    assert [v.policy for v in result.new_violations] == ["bucket-not-public"]
    assert [v.policy for v in result.resolved_violations] == ["min-size"]
    assert [v.policy for v in result.mandatory_violations] == ["bucket-not-public"]
    assert result.cost_delta == pytest.approx(15.5 - 11.5)


def test_markdown_comment_for_two_documents(tmp_path: Path, documents: tuple[dict[str, Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "base.json", documents[0])
    head = _write(tmp_path / "head.json", documents[1])
    assert main(["compare", str(base), str(head), "--title", "PR preview"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## PR preview\n")
    assert "**Verdict: ❌ mandatory policy violations in** `mvp`" in out
    assert "➕ **1** to add · ✏️ **1** to change · ➖ **1** to remove" in out
    assert "❌ **1** mandatory violation" in out and "⚠️ 1 advisory" in out
    assert "💰 **$15.50**/month (was $11.50: **+$4.00**, +34.8%)" in out
    assert "| ✏️ changed | `service` | `test:index:Thing` | `scaling.min`: `0` → `1`<br>+$2.50/month |" in out
    assert "| ➕ added | `logs` |" in out and "| ➖ removed | `old-cache` |" in out
    # the new mandatory verdict is flagged; its message is escaped for the table
    assert "| 🆕 | ❌ mandatory | `bucket-not-public` | `logs` | public &lt;access&gt; \\| denied |" in out
    assert "| | ⚠️ advisory | `no-unlabelled` |" not in out  # the unchanged verdict carries no 🆕 mark
    assert "|   | ⚠️ advisory | `no-unlabelled` | `same` | add labels |" in out
    assert "✅ Resolved since base: `min-size` on `old-cache`" in out
    assert "s3cr3t" not in out


def test_fail_on_mandatory_exit_code(tmp_path: Path, documents: tuple[dict[str, Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "b.json", documents[0])
    head = _write(tmp_path / "h.json", documents[1])
    assert main(["compare", str(base), str(head), "--fail-on-mandatory"]) == 1
    # reversed, the head (old base) has no mandatory violation
    assert main(["compare", str(head), str(base), "--fail-on-mandatory"]) == 0
    capsys.readouterr()


def test_json_and_text_forms(tmp_path: Path, documents: tuple[dict[str, Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "b.json", documents[0])
    head = _write(tmp_path / "h.json", documents[1])
    assert main(["compare", str(base), str(head), "--format", "json"]) == 0
    [doc] = json.loads(capsys.readouterr().out)
    assert (doc["added"], doc["changed"], doc["removed"], doc["mandatoryViolations"]) == (1, 1, 1, 1)
    assert doc["monthlyCost"] == {"base": 11.5, "head": 15.5, "delta": 4.0}
    assert main(["compare", str(base), str(head), "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert "mvp: 1 to add, 1 to change, 1 to remove" in text
    assert "scaling.min: 0 -> 1" in text


def test_directories_pair_stacks_and_handle_new_and_removed_stacks(tmp_path: Path, documents: tuple[dict[str, Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "base/mvp.json", documents[0])
    _write(tmp_path / "base/legacy.json", _document("legacy", head=False, sections=False))
    _write(tmp_path / "head/mvp.json", documents[1])
    _write(tmp_path / "head/prod.json", _document("prod", head=True, sections=False))
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "head")]) == 0
    out = capsys.readouterr().out
    sections = out.split("\n### ")
    assert [s.split("\n", 1)[0] for s in sections[1:]] == ["`legacy`", "`mvp`", "`prod`"]
    assert "Stack removed" in sections[1] and "➖ **3** to remove" in sections[1]
    assert "No base review" in sections[3] and "➕ **3** to add" in sections[3]
    # without policy and cost sections the comparison is on resources alone
    assert "mandatory" not in sections[3] and "$" not in sections[3]
    # a missing base directory (base commit could not be reviewed) is all-new
    assert main(["compare", str(tmp_path / "nope"), str(tmp_path / "head")]) == 0
    assert capsys.readouterr().out.count("No base review") == 2


def test_resources_match_across_stacks_by_parent_chain_and_name() -> None:
    mvp, staging = _document("mvp", head=True, sections=False), _document("staging", head=True, sections=False)
    assert compare(snapshot(mvp), snapshot(staging)).changes == []
    assert resource_key("urn:pulumi:mvp::proj::a:b:C$x:y:Z::name") == "a:b:C$x:y:Z::name"


def test_bad_documents_name_the_file_and_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path / "good.json", _document("mvp", head=False, sections=False))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["compare", str(broken), str(good)]) == 2
    err = capsys.readouterr().err
    assert "broken.json: not JSON" in err and "stagewise review STACK --format json" in err
    other = _write(tmp_path / "other.json", {"stack": "mvp"})
    assert main(["compare", str(good), str(other)]) == 2
    assert "other.json: not a review document" in capsys.readouterr().err
    assert main(["compare", str(good), str(tmp_path / "missing.json")]) == 2
    assert "missing.json: cannot read" in capsys.readouterr().err


def test_real_stack_reviews_differ_by_a_resource_and_a_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The acceptance case on the MVP stack itself, with its real policy and cost sections."""
    from stagewise.review.sections import review_stack

    base = review_stack("mvp").document()
    head = review_stack("mvp", overrides={
        "stagewise:firestore": json.dumps({"locationId": "nam5", "deleteProtection": True, "ttlDays": 90}),
        "stagewise:buckets": json.dumps({"data": {"class": "data", "forceDestroy": True}, "exports": {"class": "data"}}),
    }).document()
    assert main(["compare", str(_write(tmp_path / "base/mvp.json", base)), str(_write(tmp_path / "head/mvp.json", head))]) == 0
    out = capsys.readouterr().out
    assert "| ➕ added | `buckets-exports` | `gcp:storage/bucket:Bucket` |" in out
    assert "`deleteProtectionState`: `\"DELETE_PROTECTION_DISABLED\"` → `\"DELETE_PROTECTION_ENABLED\"`" in out
    assert "✅ Resolved since base: `firestore-delete-protection` on `firestore`" in out
    result = compare(snapshot(base), snapshot(head))
    assert result.cost_delta is not None and result.cost_delta > 0
    assert "💰 **$" in out


def test_named_list_items_are_matched_by_name_not_position() -> None:
    def doc(envs: list[dict[str, str]]) -> dict[str, Any]:
        return {"stack": "mvp", "resources": [{"urn": "urn:pulumi:mvp::p::t:i:S::svc", "type": "t:i:S", "name": "svc",
                                               "custom": True, "inputs": {"envs": envs}}]}
    before = doc([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
    after = doc([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}])
    [change] = compare(snapshot(before), snapshot(after)).changes
    assert [(p.path, p.before, p.after) for p in change.properties] == [
        ("envs[name=B].name", "(unset)", '"B"'), ("envs[name=B].value", "(unset)", '"2"')]


def test_a_base_without_policy_verdicts_flags_nothing_as_new(documents: tuple[dict[str, Any], dict[str, Any]]) -> None:
    from stagewise.render.markdown import render_comparison

    base = {key: value for key, value in documents[0].items() if key not in ("policy", "cost")}
    result = compare(snapshot(base), snapshot(documents[1]))
    assert result.new_violations == [] and result.resolved_violations == []
    assert result.cost_delta is None and all(c.cost_delta is None for c in result.changes)
    assert "(the base review has no policy verdicts to compare)" in render_comparison(result)
    assert "🆕" not in render_comparison(result)
