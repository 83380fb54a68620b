"""The review as Markdown for a pull-request comment.

GitHub renders comments as Markdown with inline HTML, so anything taken from a program (resource
names, config values, messages) is escaped before it lands in a table or a heading, and code
blocks get a fence longer than any backtick run inside them. The output is deterministic: the
same review always renders the same bytes, so a sticky comment only changes when the review does.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from stagewise.review.sections import Review, SectionResult, render_tree

if TYPE_CHECKING:
    from stagewise.review.compare import Comparison, DeployFinding, ResourceChange, Violation

_BACKTICKS = re.compile(r"`+")


def escape_text(value: object) -> str:
    """Plain text safe in Markdown prose: no HTML, no emphasis, links or headings by accident."""
    text = html.escape(str(value), quote=False)
    return re.sub(r"([\\`*_\[\]|~])", r"\\\1", text)


def escape_cell(value: object) -> str:
    """Text safe in a table cell: one line, pipes escaped, HTML neutralized."""
    text = " ".join(str(value).split())
    return escape_text(text) if text else " "


def code(value: object) -> str:
    """Inline code span that survives backticks in the value; empty values show as an em dash."""
    text = " ".join(str(value).split())
    if not text:
        return "—"
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    # Inside a table, a pipe ends the cell even within a code span.
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def code_block(text: str, language: str = "") -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    """A Markdown table from already-escaped cells; ``align`` per column: "l" or "r"."""
    marks = ["---:" if a == "r" else "---" for a in (align or ["l"] * len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def details(summary: str, body: str) -> str:
    # The blank lines let GitHub render Markdown inside the HTML block.
    return f"<details>\n<summary>{summary}</summary>\n\n{body.rstrip()}\n\n</details>"


def verdict_line(review: Review) -> str:
    failed = [section.name for section in review.sections if section.failed]
    if failed:
        return "**Verdict: ❌ fails** — " + ", ".join(code(name) for name in failed)
    checked = [section.name for section in review.sections]
    if checked:
        return "**Verdict: ✅ passes** — " + ", ".join(code(name) for name in checked)
    return "**Verdict: ✅ declares cleanly** — no policy or cost section is installed"


def _section_markdown(section: SectionResult) -> str:
    if section.markdown:
        return section.markdown.rstrip()
    # A section without its own Markdown still shows, as its text in a collapsed block.
    title = f"{escape_text(section.name)}" + (" — ❌ failed" if section.failed else "")
    return details(title, code_block(section.text or "(no output)", "text"))


def render_markdown(review: Review) -> str:
    run = review.run
    document = review.document()
    stage = document["stage"]
    by_type: dict[str, int] = document["resourcesByType"]
    heading = f"### stagewise review: {code(run.stack)}"
    if stage != run.stack:
        heading += f" (stage {code(stage)})"
    summary = (
        f"Project {code(run.project)} declares **{document['resourceCount']}** resources "
        f"in **{document['componentCount']}** components."
    )
    parts = [heading, verdict_line(review), summary]
    if by_type:
        rows = [[code(type_token), str(count)] for type_token, count in by_type.items()]
        parts.append(table(["Resource type", "Count"], rows, ["l", "r"]))
    from stagewise.render.mermaid import render_mermaid

    parts.append("#### Architecture\n\n" + code_block(render_mermaid(run).rstrip("\n"), "mermaid"))
    parts.append(details("Component tree", code_block(render_tree(run), "text")))
    parts += [_section_markdown(section) for section in review.sections]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- comparisons (PR comment)

_KIND_MARK = {"added": "➕", "changed": "✏️", "removed": "➖"}
_MAX_PROPERTIES = 6
_INLINE_ROWS = 15


def money(amount: float) -> str:
    return f"${amount:,.2f}"


def signed_money(amount: float) -> str:
    sign = "+" if amount > 0.005 else "−" if amount < -0.005 else "±"
    return f"{sign}{money(abs(amount))}"


def _resource_name(key: str) -> str:
    return key.rsplit("::", 1)[-1]


def _change_details(change: ResourceChange) -> str:
    parts = []
    shown = change.properties[:_MAX_PROPERTIES]
    for prop in shown:
        parts.append(f"{code(prop.path)}: {code(prop.before)} → {code(prop.after)}")
    if len(change.properties) > len(shown):
        parts.append(f"… {len(change.properties) - len(shown)} more")
    if change.cost_delta is not None and abs(change.cost_delta) >= 0.005:
        parts.append(f"{signed_money(change.cost_delta)}/month")
    return "<br>".join(parts) or " "


def _cost_line(comparison: Comparison) -> str | None:
    head = comparison.head.monthly_cost if comparison.head else 0.0
    base = comparison.base.monthly_cost if comparison.base else 0.0
    if head is None:
        return None
    if base is None or comparison.base is None:
        return f"💰 **{money(head)}**/month"
    delta = head - base
    pct = f", {delta / base:+.1%}" if base > 0.005 else ""
    return f"💰 **{money(head)}**/month (was {money(base)}: **{signed_money(delta)}**{pct})"


def _violation_rows(violations: list[Violation], new: set[tuple[str, str, str]]) -> list[list[str]]:
    rows = []
    for v in sorted(violations, key=lambda v: (v.level != "mandatory", v.policy, v.resource)):
        level = ("❌ " if v.level == "mandatory" else "⚠️ ") + escape_cell(v.level)
        mark = "🆕" if v.identity in new else " "
        rows.append([mark, level, code(v.policy), code(_resource_name(v.resource)), escape_cell(v.message)])
    return rows


_SEVERITY_MARK = {"blocks": "🚫 blocks", "broken": "⚠️ will not work", "risk": "ℹ️ risk"}


def _finding_rows(findings: list[DeployFinding], new: set[tuple[str, str, str]]) -> list[list[str]]:
    order = {"blocks": 0, "broken": 1, "risk": 2}
    rows = []
    for f in sorted(findings, key=lambda f: (order.get(f.severity, 9), f.rule, f.resource, f.field)):
        mark = "🆕" if f.identity in new else " "
        rows.append([mark, escape_cell(_SEVERITY_MARK.get(f.severity, f.severity)), code(f.rule), code(_resource_name(f.resource)),
                     code(f.field), escape_cell(f"{f.message} Fix: {f.fix}")])
    return rows


def render_comparison(comparison: Comparison) -> str:
    head, base = comparison.head, comparison.base
    stage = (head or base).stage if (head or base) else comparison.stack  # type: ignore[union-attr]
    heading = f"### {code(comparison.stack)}" + (f" (stage {code(stage)})" if stage != comparison.stack else "")
    parts = [heading]
    if comparison.error is not None:
        # Fenced with more backticks than the message holds, so nothing in it can end the block.
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", comparison.error)), default=0))
        parts.append("❌ **Could not be reviewed**: `stagewise review` stopped before declaring anything "
                     "(exit 2), so nothing is compared for this stack. Its message:")
        parts.append(f"{fence}text\n{comparison.error}\n{fence}")
        return "\n\n".join(parts)
    if head is None:
        parts.append("➖ **Stack removed** in this change: every resource below would be deleted.")
    elif base is None:
        parts.append("🆕 **No base review** (a new stack, or the base commit could not be reviewed): every resource is new.")

    summary = [f"{_KIND_MARK[kind]} **{comparison.count(kind)}** to {verb}"
               for kind, verb in (("added", "add"), ("changed", "change"), ("removed", "remove"))]
    if head is not None and head.findings is not None:
        blocking = len(comparison.blocking_findings)
        summary.append(f"🚫 **{blocking}** would block the deploy" if blocking else "✅ deployable")
    if head is not None and head.violations is not None:
        mandatory = len(comparison.mandatory_violations)
        advisory = len(head.violations) - mandatory
        summary.append(f"❌ **{mandatory}** mandatory violation{'s' * (mandatory != 1)}" if mandatory else "✅ no mandatory violations")
        if advisory:
            summary.append(f"⚠️ {advisory} advisory")
    cost = _cost_line(comparison)
    if cost:
        summary.append(cost)
    parts.append(" · ".join(summary))

    if comparison.changes:
        rows = [[_KIND_MARK[c.kind] + " " + c.kind, code(c.resource.name), code(c.resource.type), _change_details(c)]
                for c in comparison.changes]
        changes_table = table(["Change", "Resource", "Type", "Details"], rows)
        if len(rows) <= _INLINE_ROWS:
            parts.append(changes_table)
        else:
            parts.append(details(f"Resource changes ({len(rows)})", changes_table))
    else:
        parts.append("No resource changes.")

    if head is not None and head.findings:
        new_findings = {f.identity for f in comparison.new_findings}
        parts.append("**Deploy readiness** (what GCP, the provider or the engine would refuse)\n\n"
                     + table(["", "Severity", "Rule", "Resource", "Field", "What and fix"], _finding_rows(head.findings, new_findings)))
    if head is not None and head.violations:
        new_ids = {v.identity for v in comparison.new_violations}
        violation_table = table(["", "Level", "Policy", "Resource", "Message"], _violation_rows(head.violations, new_ids))
        judged = base is None or base.violations is not None
        note = f"{len(comparison.new_violations)} new" if judged else "the base review has no policy verdicts to compare"
        parts.append(f"**Policy verdicts** ({note})\n\n{violation_table}")
    if comparison.resolved_violations:
        resolved = ", ".join(f"{code(v.policy)} on {code(_resource_name(v.resource))}" for v in comparison.resolved_violations)
        parts.append(f"✅ Resolved since base: {resolved}")
    return "\n\n".join(parts)


def render_comparisons(comparisons: list[Comparison], title: str | None = None) -> str:
    parts = [f"## {escape_text(title)}"] if title else []
    failing = [c.stack for c in comparisons if c.mandatory_violations]
    blocked = [c.stack for c in comparisons if c.blocking_findings]
    broken = [c.stack for c in comparisons if c.error is not None]
    if len(comparisons) > 1 or title:
        if broken:
            parts.append("**Verdict: ❌ could not be reviewed:** " + ", ".join(code(s) for s in broken))
        if blocked:
            parts.append("**Verdict: 🚫 the deploy would be refused in** " + ", ".join(code(s) for s in blocked))
        if failing:
            parts.append("**Verdict: ❌ mandatory policy violations in** " + ", ".join(code(s) for s in failing))
        if not failing and not blocked and not broken:
            parts.append("**Verdict: ✅ no mandatory policy violations**")
    parts += [render_comparison(c) for c in comparisons]
    return "\n\n".join(parts) + "\n"
