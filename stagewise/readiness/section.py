"""Review section "deployReadiness": findings by resource, with severity, field, fix and source.

A finding that blocks the deploy makes `stagewise review` exit 3 (EXIT_NOT_DEPLOYABLE); a mandatory
policy that fails at preview time fails the review like any mandatory policy (exit 1).
"""

from __future__ import annotations

from stagewise.engine.record import ProgramRun
from stagewise.readiness.model import SEVERITY_LABEL, Finding
from stagewise.readiness.report import ReadinessReport, check_readiness
from stagewise.review.sections import ReviewOptions, SectionResult, register_section

EXIT_NOT_DEPLOYABLE = 3
EXIT_FAILED_CHECKS = 1


def _subject(finding: Finding) -> str:
    if not finding.resource:
        return "stack"
    return f"{finding.resource} ({finding.type.rsplit(':', 1)[-1]})"


def render_text(report: ReadinessReport) -> str:
    head = (
        f"Deploy readiness: {report.rule_count} acceptance rules, first and second deploy, preview — "
        f"{report.count('blocks')} blocking, {report.count('broken')} will not work, {report.count('risk')} risk"
    )
    lines = [head]
    for finding in report.findings:
        label = SEVERITY_LABEL[finding.severity].upper()
        field = f" {finding.field}" if finding.field else ""
        lines.append(f"  {label:<18} {finding.rule:<34} {_subject(finding)}{field}  [{finding.phase}]")
        lines.append(f"{'':21}{finding.message}")
        lines.append(f"{'':21}Fix: {finding.fix}")
        lines.append(f"{'':21}Source: {finding.source}")
    if not report.findings:
        lines.append("  nothing GCP, the provider or the engine would refuse")
    if report.preview is not None:
        preview = report.preview
        lines.append(
            f"  preview ({preview.report.config_source}): {len(preview.mandatory)} mandatory violation(s), "
            f"{len(preview.unverified)} rule(s) that cannot run until values are known"
        )
        for verdict in preview.mandatory:
            lines.append(f"    MANDATORY  {verdict.policy} on {verdict.resource_name or 'stack'}: {verdict.message}")
        by_policy: dict[str, list[str]] = {}
        for verdict in preview.unverified:
            by_policy.setdefault(verdict.policy, []).append(verdict.resource_name or "stack")
        for policy, names in sorted(by_policy.items()):
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            lines.append(f"    UNVERIFIED {policy} ({len(names)}): {shown}")
    for note in report.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def render_markdown(report: ReadinessReport) -> str:
    from stagewise.render.markdown import code, escape_cell, table

    blocking = report.count("blocks")
    mark = "❌" if blocking else ("⚠️" if report.findings else "✅")
    lines = [
        "### Deploy readiness",
        "",
        f"{mark} **{blocking} blocking**, {report.count('broken')} will not work, {report.count('risk')} risk "
        f"({report.rule_count} acceptance rules; first deploy, second deploy, preview).",
    ]
    if report.findings:
        rows = [
            [escape_cell(SEVERITY_LABEL[f.severity]), code(f.rule), code(_subject(f)), code(f.field), escape_cell(f.phase),
             escape_cell(f"{f.message} Fix: {f.fix}"), f"[source]({f.source})"]
            for f in report.findings
        ]
        lines += ["", table(["Severity", "Rule", "Resource", "Field", "Phase", "What and fix", "Source"], rows)]
    if report.preview is not None:
        preview = report.preview
        lines += ["", f"Preview ({code(preview.report.config_source)}): **{len(preview.mandatory)} mandatory**, "
                  f"{len(preview.unverified)} unverifiable until deployed."]
        for verdict in preview.mandatory:
            lines.append(f"- ❌ {code(verdict.policy)} on {code(verdict.resource_name or 'stack')}: {escape_cell(verdict.message)}")
    return "\n".join(lines)


@register_section
def readiness_section(run: ProgramRun, options: ReviewOptions) -> SectionResult:
    stage = options.values.get("policy_stage")
    report = check_readiness(
        run, stage=stage if isinstance(stage, str) else None,
        lifecycle=not options.values.get("no_lifecycle"), preview=not options.values.get("no_preview"),
    )
    preview_failed = bool(report.preview and report.preview.mandatory)
    failed = bool(report.blocking) or preview_failed
    return SectionResult(
        name="deployReadiness",
        document=report.to_document(),
        text=render_text(report),
        failed=failed,
        markdown=render_markdown(report),
        exit_code=EXIT_NOT_DEPLOYABLE if report.blocking else EXIT_FAILED_CHECKS,
    )
