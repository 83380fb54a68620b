"""The review as Markdown for a pull-request comment.

GitHub renders comments as Markdown with inline HTML, so anything taken from a program (resource
names, config values, messages) is escaped before it lands in a table or a heading, and code
blocks get a fence longer than any backtick run inside them. The output is deterministic: the
same review always renders the same bytes, so a sticky comment only changes when the review does.
"""

from __future__ import annotations

import html
import re

from stagewise.review import Review, SectionResult, render_tree

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
    parts.append(details("Component tree", code_block(render_tree(run), "text")))
    parts += [_section_markdown(section) for section in review.sections]
    return "\n\n".join(parts) + "\n"
