"""Review section: the policy pack's verdicts on what the stack declared.

The pack runs through pulumi-policy's own analyzer (see stagewise.policy.analyzer) under
`policies/config/<stage>.json`; any mandatory violation fails the review (`stagewise review` exits 1).
"""

from __future__ import annotations

from stagewise.engine.record import ProgramRun
from stagewise.policy.analyzer import PolicyReport, Verdict, evaluate_stage
from stagewise.review.sections import ReviewOptions, SectionResult, register_section

LEVEL_ORDER = {"mandatory": 0, "advisory": 1, "remediate": 2, "disabled": 3}


def _sorted(verdicts: list[Verdict]) -> list[Verdict]:
    return sorted(verdicts, key=lambda v: (LEVEL_ORDER.get(v.level, 9), v.policy, v.resource_name))


def _subject(verdict: Verdict) -> str:
    return f"{verdict.resource_name} ({verdict.resource_type.rsplit(':', 1)[-1]})" if verdict.resource_name else "stack"


def render_policy_text(report: PolicyReport) -> str:
    head = (
        f"Policies: {report.pack}@{report.version} with {report.config_source} — "
        f"{len(report.mandatory)} mandatory, {len(report.advisory)} advisory violation(s)"
    )
    lines = [head]
    for verdict in _sorted(report.verdicts):
        tag = "UNVERIFIED" if verdict.unverified else verdict.level.upper()
        lines.append(f"  {tag:<10} {verdict.policy:<34} {_subject(verdict)}")
        lines.append(f"             {verdict.message}")
    if not report.verdicts:
        lines.append("  no violations")
    return "\n".join(lines)


def render_policy_markdown(report: PolicyReport) -> str:
    lines = [
        f"### Policies ({report.pack}@{report.version}, `{report.config_source}`)",
        "",
        f"**{len(report.mandatory)} mandatory**, {len(report.advisory)} advisory violation(s).",
    ]
    if report.verdicts:
        lines += ["", "| Level | Rule | Resource | Message |", "| - | - | - | - |"]
        for verdict in _sorted(report.verdicts):
            message = verdict.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {verdict.level} | `{verdict.policy}` | {_subject(verdict)} | {message} |")
    return "\n".join(lines)


def policy_document(report: PolicyReport) -> dict[str, object]:
    return {
        "pack": report.pack,
        "version": report.version,
        "config": report.config_source,
        "mandatoryCount": len(report.mandatory),
        "advisoryCount": len(report.advisory),
        "verdicts": [v.to_document() for v in _sorted(report.verdicts)],
    }


@register_section
def policy_section(run: ProgramRun, options: ReviewOptions) -> SectionResult:
    stage = options.values.get("policy_stage") or None
    report = evaluate_stage(run, stage if isinstance(stage, str) else None)
    return SectionResult(
        name="policies",
        document=policy_document(report),
        text=render_policy_text(report),
        failed=bool(report.mandatory),
        markdown=render_policy_markdown(report),
    )
