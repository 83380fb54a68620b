"""The offline review: what a stack declares, plus the sections later stages of review add.

A section (policy verdicts, cost, …) is a function of the program run that returns a document
part, a text rendering and whether it should fail the review.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagewise.engine.record import DeclaredResource, ProgramRun, run_stack
from stagewise.review.summary import format_settings, key_settings


@dataclass
class SectionResult:
    name: str
    document: Any
    text: str
    failed: bool = False
    markdown: str | None = None
    # The review's exit code when this section fails (1: a check failed; 3: the deploy would be refused).
    exit_code: int = 1


@dataclass
class ReviewOptions:
    """Knobs a section may read (e.g. usage overrides for cost)."""

    values: dict[str, Any] = field(default_factory=dict)


Section = Callable[[ProgramRun, ReviewOptions], SectionResult]
SECTIONS: list[Section] = []


def register_section(section: Section) -> Section:
    SECTIONS.append(section)
    return section


# The sections every review runs, in the order they appear; each module registers itself on import.
SECTION_MODULES = ("stagewise.readiness.section", "stagewise.policy.section", "stagewise.cost.section")


def load_sections() -> list[Section]:
    """Import the modules that register review sections (deploy readiness, policy, cost)."""
    import importlib

    for module in SECTION_MODULES:
        importlib.import_module(module)
    return SECTIONS


@dataclass
class Review:
    run: ProgramRun
    sections: list[SectionResult]

    @property
    def failed(self) -> bool:
        return any(section.failed for section in self.sections)

    @property
    def exit_code(self) -> int:
        """0 passes; 3 when the deploy would be refused (it wins: nothing else matters until it holds); else 1."""
        codes = [section.exit_code for section in self.sections if section.failed]
        return 0 if not codes else (3 if 3 in codes else 1)

    def document(self) -> dict[str, Any]:
        custom = [r for r in self.run.resources if r.custom]
        by_type: dict[str, int] = {}
        for resource in custom:
            by_type[resource.type] = by_type.get(resource.type, 0) + 1
        return {
            "project": self.run.project,
            "stack": self.run.stack,
            "stage": self.run.config.get("stagewise:stage", self.run.stack),
            "resourceCount": len(custom),
            "componentCount": len(self.run.resources) - len(custom),
            "resourcesByType": dict(sorted(by_type.items())),
            "resources": [r.to_document() for r in self.run.resources],
            "outputs": self.run.stack_outputs,
            **{section.name: section.document for section in self.sections},
        }


def review_stack(
    stack: str,
    options: ReviewOptions | None = None,
    overrides: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> Review:
    run = run_stack(stack, overrides=overrides, root=root)
    return review_run(run, options)


def review_run(run: ProgramRun, options: ReviewOptions | None = None) -> Review:
    opts = options or ReviewOptions()
    return Review(run=run, sections=[section(run, opts) for section in load_sections()])


def render_tree(run: ProgramRun) -> str:
    """Resources as a tree under the stack: type, logical name and key settings."""
    children: dict[str, list[DeclaredResource]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent or run.stack_urn, []).append(resource)
    lines = [f"{run.project}/{run.stack} (pulumi:pulumi:Stack)"]

    def walk(urn: str, indent: str) -> None:
        kids = sorted(children.get(urn, []), key=lambda r: (r.custom, r.type, r.name))
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            branch = "└─ " if last else "├─ "
            settings = format_settings(key_settings(resource.type, resource.inputs)) if resource.custom else ""
            lines.append(f"{indent}{branch}{resource.type}  {resource.name}" + (f"  [{settings}]" if settings else ""))
            walk(resource.urn, indent + ("   " if last else "│  "))

    walk(run.stack_urn, "")
    custom = sum(1 for r in run.resources if r.custom)
    lines.append(f"\n{custom} resources in {len(run.resources) - custom} components")
    return "\n".join(lines)


def render_text(review: Review) -> str:
    parts = [render_tree(review.run)]
    if review.run.stack_outputs:
        parts.append("Outputs:\n" + "\n".join(f"  {k}: {v}" for k, v in review.run.stack_outputs.items()))
    parts += [section.text for section in review.sections if section.text]
    return "\n\n".join(parts)
