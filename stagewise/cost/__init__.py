"""Monthly cost of a stack, from the resources its program declares (issue 5).

`estimate_run(run)` prices a `ProgramRun`; `diff_estimates(a, b)` compares two; price data lives
in `stagewise/pricing/*.yaml`, one file a service family, each price with its source page.
"""

from stagewise.cost.diff import CostDiff, diff_estimates
from stagewise.cost.estimate import estimate_run, usage_for
from stagewise.cost.model import Charge, Estimate, LineItem

__all__ = ["Charge", "CostDiff", "Estimate", "LineItem", "diff_estimates", "estimate_run", "usage_for"]
