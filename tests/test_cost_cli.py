"""`stagewise cost`, `stagewise diff` and the review's cost section, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
import re

import pytest

from stagewise.cli import main
from stagewise.engine.record import REPO_ROOT

STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml"))
# The acceptance commands name prod; until its stack file lands, the largest stack stands in.
BIG = "prod" if "prod" in STACKS else STACKS[-1]


VALUES = Path(__file__).resolve().parents[1] / "examples" / "values"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_cost_text_lists_resources_and_a_total_matching_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run_cli(capsys, "cost", BIG, "--requests", "1000000", "--values", str(VALUES))
    assert code == 0
    code, raw = run_cli(capsys, "cost", BIG, "--requests", "1000000", "--format", "json", "--values", str(VALUES))
    document = json.loads(raw)
    assert document["usage"]["requests_per_month"] == 1_000_000
    total = re.search(r"^\s+TOTAL\s+\S+\s+\S+\s+\$([\d,]+\.\d\d)$", text, re.MULTILINE)
    assert total and float(total.group(1).replace(",", "")) == pytest.approx(document["monthlyUsd"], abs=0.005)
    for line in document["lines"]:
        if line["status"] == "priced":
            assert line["name"] in text
            assert f"${line['monthlyUsd']:,.2f}" in text


def test_cost_markdown_has_a_table_with_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    code, markdown = run_cli(capsys, "cost", "mvp", "--format", "markdown")
    _, raw = run_cli(capsys, "cost", "mvp", "--format", "json")
    assert code == 0 and "| Resource | Type | Monthly | How |" in markdown
    assert f"**${json.loads(raw)['monthlyUsd']:,.2f}**" in markdown


def test_usage_flags_change_the_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    _, low = run_cli(capsys, "cost", "mvp", "--format", "json", "--requests", "1000")
    _, high = run_cli(capsys, "cost", "mvp", "--format", "json", "--requests", "1e6", "--usage", "firestore_gb=50",
                      "--usage", "bucket_gb.data=100")
    low_doc, high_doc = json.loads(low), json.loads(high)
    assert high_doc["monthlyUsd"] > low_doc["monthlyUsd"]
    assert high_doc["usage"]["firestore_gb"] == 50 and high_doc["usage"]["bucket_gb"]["data"] == 100
    assert high_doc["usage"]["bucket_gb"]["logs"] == low_doc["usage"]["bucket_gb"]["logs"]  # other classes kept


def test_bad_usage_flag_names_the_field_and_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="unknown field 'reqs'"):
        main(["cost", "mvp", "--usage", "reqs=5"])
    with pytest.raises(SystemExit):
        main(["cost", "mvp", "--requests", "lots"])


def test_diff_lists_added_and_removed_resources_and_the_delta(capsys: pytest.CaptureFixture[str]) -> None:
    # A directory of values: each stack takes its own <stack>.yaml (mvp has none and needs none).
    code, text = run_cli(capsys, "diff", "mvp", BIG, "--values", str(VALUES))
    _, raw = run_cli(capsys, "diff", "mvp", BIG, "--format", "json", "--values", str(VALUES))
    document = json.loads(raw)
    assert code == 0
    assert document["deltaUsd"] == pytest.approx(document["to"]["monthlyUsd"] - document["from"]["monthlyUsd"])
    entries = document["added"] + document["removed"] + document["changed"]
    assert sum(e["deltaUsd"] for e in entries) == pytest.approx(document["deltaUsd"], abs=0.01)
    assert f"Total: ${document['from']['monthlyUsd']:,.2f} → ${document['to']['monthlyUsd']:,.2f}" in text


def test_diff_of_a_stack_with_more_traffic_shows_what_changed(capsys: pytest.CaptureFixture[str]) -> None:
    _, raw = run_cli(capsys, "diff", "mvp", "mvp", "--format", "json", "--requests", "5000")
    document = json.loads(raw)
    assert document["added"] == [] and document["removed"] == [] and document["deltaUsd"] == 0


def test_review_has_a_cost_section_and_warns_over_budget(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run_cli(capsys, "review", "mvp", "--config", 'stagewise:budget={"monthlyUsd": 1}')
    assert code == 0  # a budget warns; it does not fail the review
    assert "Monthly cost of stagewise/mvp" in text and "exceeds the budget $1.00/month" in text
    _, raw = run_cli(capsys, "review", "mvp", "--format", "json", "--config", 'stagewise:budget={"monthlyUsd": 1000}')
    cost = json.loads(raw)["cost"]
    assert cost["budgetUsd"] == 1000 and cost["overBudget"] is False and cost["warnings"] == []


def test_gates_fail_the_command_over_budget_and_pass_within(capsys: pytest.CaptureFixture[str]) -> None:
    over = 'stagewise:budget={"monthlyUsd": 1}'
    code, text = run_cli(capsys, "cost", "mvp", "--brief", "--fail-over-budget", "--config", over)
    assert code == 1 and "exceeds the budget" in text
    code, _ = run_cli(capsys, "cost", "mvp", "--brief", "--fail-over-budget", "--fail-on-unpriced",
                      "--config", 'stagewise:budget={"monthlyUsd": 1000}')
    assert code == 0


def test_unit_prices_print_as_plain_decimals(capsys: pytest.CaptureFixture[str]) -> None:
    _, text = run_cli(capsys, "cost", "mvp")
    assert "e-0" not in text and "× $0.00000025 =" in text  # Gemini 3.1 Flash-Lite input, $0.25 per million
