"""docs/cost.md's stage table is what the stacks estimate today."""

from __future__ import annotations

import pytest

from stagewise.cost import report


def test_cost_doc_table_is_in_sync_with_the_stacks() -> None:
    document = report.DOC.read_text()
    expected = report.splice(document, report.render_table())
    assert document == expected, "docs/cost.md is stale: run `uv run python -m stagewise.cost.report --write`"


def test_splice_replaces_only_the_marked_block() -> None:
    document = f"intro\n{report.START}\nold\n{report.END}\noutro\n"
    assert report.splice(document, "new") == f"intro\n{report.START}\nnew\n{report.END}\noutro\n"
    with pytest.raises(ValueError, match="markers"):
        report.splice("no markers here", "new")


def test_table_names_every_stage_of_the_lab_report() -> None:
    table = report.render_table()
    for stage, (seed, _) in report.SEED.items():
        assert f"| {stage} | {seed} |" in table
