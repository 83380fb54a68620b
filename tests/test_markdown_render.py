"""`stagewise review --format markdown`: the PR-comment rendering of a review."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pytest

from stagewise.cli import main
from stagewise.engine.record import ProgramRun, run_program
from stagewise.render.markdown import code, code_block, escape_cell, render_markdown
from stagewise.review.sections import Review, SectionResult


class _Thing(pulumi.CustomResource):
    def __init__(self, type_token: str, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token, name, props, opts)


class _Group(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:Group", name)
        self.register_outputs({})


def _hostile_program() -> None:
    group = _Group("grp")
    _Thing("test:index:Plain", "plain-1", {"size": 1}, pulumi.ResourceOptions(parent=group))
    _Thing("test:index:Plain", "plain-2", {"size": 2}, pulumi.ResourceOptions(parent=group))
    _Thing("test:index:Evil|<b>x</b>", "tick```name", {"value": "a|b"})


@pytest.fixture(scope="module")
def hostile_run() -> ProgramRun:
    return run_program(_hostile_program, project="proj", stack="dev", config={})


def _rows(markdown: str, first_header: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        # split on pipes not escaped with a backslash
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def test_counts_by_type_table_matches_the_run(hostile_run: ProgramRun) -> None:
    markdown = render_markdown(Review(run=hostile_run, sections=[]))
    rows = _rows(markdown, "Resource type")
    assert all(len(row) == 2 for row in rows), rows
    counts = {row[0]: row[1] for row in rows}
    assert counts["`test:index:Plain`"] == "2"
    evil = [key for key in counts if "Evil" in key]
    assert len(evil) == 1 and counts[evil[0]] == "1"
    # inside a code span HTML stays literal; the pipe is escaped so the table keeps two columns
    assert evil[0] == "`test:index:Evil\\|<b>x</b>`"
    assert "**3** resources in **1** components" in markdown


def test_tree_is_collapsed_and_fence_survives_backticks(hostile_run: ProgramRun) -> None:
    markdown = render_markdown(Review(run=hostile_run, sections=[]))
    assert "<details>\n<summary>Component tree</summary>" in markdown
    block = markdown.split("<summary>Component tree</summary>\n\n", 1)[1]
    fence = block.split("text\n", 1)[0]
    assert fence == "````", fence  # longer than the ``` inside a resource name
    body = block.split(fence + "text\n", 1)[1].split("\n" + fence + "\n", 1)[0]
    assert "tick```name" in body and "plain-2" in body


def test_verdict_and_sections_are_generic(hostile_run: ProgramRun) -> None:
    sections = [
        SectionResult(name="policy", document={}, text="2 violations", failed=True, markdown="#### Policy\n\n| rule |\n| --- |\n| x |"),
        SectionResult(name="cost", document={}, text="total $1.00/month\nline 2", failed=False, markdown=None),
        SectionResult(name="extra", document={}, text="", failed=False, markdown="extra **md**"),
    ]
    markdown = render_markdown(Review(run=hostile_run, sections=sections))
    assert "**Verdict: ❌ fails** — `policy`" in markdown
    assert "`cost`" not in markdown.split("\n")[2]  # only failing sections are named in a failing verdict
    assert "#### Policy\n\n| rule |" in markdown
    assert "extra **md**" in markdown
    # a section without its own Markdown falls back to its text in a collapsed block
    assert "<summary>cost</summary>\n\n```text\ntotal $1.00/month\nline 2\n```" in markdown
    assert markdown.index("#### Policy") < markdown.index("<summary>cost</summary>") < markdown.index("extra **md**")

    passing = render_markdown(Review(run=hostile_run, sections=[sections[1]]))
    assert "**Verdict: ✅ passes** — `cost`" in passing


def test_rendering_is_stable(hostile_run: ProgramRun) -> None:
    review = Review(run=hostile_run, sections=[])
    assert render_markdown(review) == render_markdown(review)


def test_escaping_helpers() -> None:
    assert escape_cell("a|b\n<script>*x*") == "a\\|b &lt;script&gt;\\*x\\*"
    assert escape_cell("") == " "
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
    assert code("a|b") == "`a\\|b`"
    assert code("") == "—"
    assert code_block("x ```` y").startswith("`````\n")


def test_cli_renders_markdown_for_a_real_stack(capsys: pytest.CaptureFixture[str]) -> None:
    code_ = main(["review", "mvp", "--format", "markdown"])
    out = capsys.readouterr().out
    assert code_ in (0, 1)
    assert out.startswith("### stagewise review: `mvp`\n")
    assert "| `gcp:cloudrunv2/service:Service` | 1 |" in out
    assert ("Verdict: ❌ fails" in out) == (code_ == 1)
