"""The cost section of `stagewise review`: the estimate, and a warning when it exceeds the budget."""

from __future__ import annotations

from typing import Any

from stagewise.cost.estimate import estimate_run
from stagewise.cost.render import budget_warning, render_markdown, render_text
from stagewise.engine.record import ProgramRun
from stagewise.review.sections import ReviewOptions, SectionResult, register_section


def _overrides(options: ReviewOptions) -> dict[str, Any]:
    """Usage overrides a caller passed (e.g. `usage` from a CLI); absent means the stack's profile."""
    overrides = options.values.get("usage_overrides")
    return dict(overrides) if isinstance(overrides, dict) else {}


@register_section
def cost_section(run: ProgramRun, options: ReviewOptions) -> SectionResult:
    estimate = estimate_run(run, _overrides(options))
    text = render_text(estimate, detail=False)
    warning = budget_warning(estimate)
    document = estimate.to_document()
    document["warnings"] = [warning] if warning else []
    # Over budget warns (the review still passes): a budget is a signal, the policy pack enforces caps.
    return SectionResult(name="cost", document=document, text=text, failed=False, markdown=render_markdown(estimate))
