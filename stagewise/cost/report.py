"""The per-stage comparison in docs/cost.md, generated from the real stacks.

`uv run python -m stagewise.cost.report --write` rewrites the block between the markers;
tests/test_cost_doc.py fails when the document and the stacks disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stagewise.cost.estimate import estimate_run
from stagewise.cost.model import Estimate
from stagewise.engine.record import REPO_ROOT, ProgramError, read_config_file, run_stack

DOC = REPO_ROOT / "docs" / "cost.md"
START, END = "<!-- cost-table:start -->", "<!-- cost-table:end -->"

# The lab report's economic model (USD per month) and what it counted.
SEED: Mapping[str, tuple[str, str]] = {
    "mvp": ("5–10", "Cloud Run 0–5, Storage <1, Logs/Monitoring <1; model calls not counted"),
    "staging": ("30–60", "two Cloud Run services 10–20, buckets <1, a small test-inference VM 20–40"),
    "prod": ("200–400", "Vertex AI endpoint / GPU VM 150–300, load balancer 15–20, monitoring + logging 10–20, storage 1–5"),
}


@dataclass(frozen=True)
class Variant:
    """A cheaper honest configuration of a stage: config overrides and why they are honest."""

    title: str
    overrides: Mapping[str, object]
    why: str


CHEAPEST: Mapping[str, tuple[Variant, ...]] = {
    "staging": (
        Variant(
            "Gemini 3 Flash (preview) as the fallback",
            {"stagewise:inference": {"mode": "managed", "model": "gemini-3.1-flash-lite", "fallbackModel": "gemini-3-flash-preview"}},
            "the fallback answers only when the primary fails; a preview model carries no SLA, which a test stage can accept",
        ),
    ),
    "prod": (
        Variant(
            "traffic in 8 hours a day (activeHoursPerDay 8)",
            {"stagewise:usage": {"activeHoursPerDay": 8}},
            "honest for users in one time zone's working day: the GPU then scales to zero for the other 16 hours",
        ),
        Variant(
            "Gemini 3.1 Flash-Lite as the primary, no GPU service",
            {"stagewise:inference": {"mode": "managed", "model": "gemini-3.1-flash-lite", "fallbackModel": "gemini-3.5-flash"}},
            "managed tokens instead of dedicated GPU hours: cheaper at this traffic, but without the self-hosted model's data control",
        ),
    ),
}


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _estimate(stack: str, overrides: Mapping[str, object] | None = None) -> Estimate:
    # The shipped staging/prod files hold REPLACE-ME values; the sample values fill them (cost is the same).
    sample = REPO_ROOT / "examples" / "values" / f"{stack}.yaml"
    config = read_config_file(sample) if sample.is_file() else {}
    config.update({key: value if isinstance(value, str) else json.dumps(value) for key, value in (overrides or {}).items()})
    return estimate_run(run_stack(stack, overrides=config))


def _top(estimate: Estimate, count: int = 3) -> str:
    lines = sorted(estimate.by_status("priced"), key=lambda line: -line.monthly)[:count]
    return ", ".join(f"{line.name} {_money(line.monthly)}" for line in lines if line.monthly >= 0.005)


def stacks() -> list[str]:
    return sorted((p.name[len("Pulumi."):-len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml")),
                  key=lambda s: (list(SEED).index(s) if s in SEED else len(SEED), s))


def render_table(names: Sequence[str] | None = None) -> str:
    names = list(names or stacks())
    rows = [
        "| Stage | Lab report | stagewise (stage defaults) | fixed / usage | requests a month | biggest lines | priced / free / unpriced |",
        "|---|---:|---:|---|---:|---|---|",
    ]
    cheap_rows: list[str] = []
    for stage in [*SEED, *[n for n in names if n not in SEED]]:
        seed = SEED.get(stage, ("—", ""))[0]
        if stage not in names:
            rows.append(f"| {stage} | {seed} | no `Pulumi.{stage}.yaml` yet | | | | |")
            continue
        try:
            estimate = _estimate(stage)
        except ProgramError as exc:
            rows.append(f"| {stage} | {seed} | program fails: {str(exc).splitlines()[0]} | | | | |")
            continue
        counts = "/".join(str(len(estimate.by_status(s))) for s in ("priced", "free", "unpriced"))
        rows.append(
            f"| {stage} | {seed} | **{_money(estimate.total)}** | {_money(estimate.fixed)} / {_money(estimate.usage_total)} | "
            f"{estimate.usage.requests_per_month:,.0f} | {_top(estimate)} | {counts} |"
        )
        for variant in CHEAPEST.get(stage, ()):
            try:
                cheap = _estimate(stage, variant.overrides)
            except ProgramError as exc:
                cheap_rows.append(f"| {stage} | {variant.title} | not valid here: {str(exc).splitlines()[-1].strip()} | |")
                continue
            cheap_rows.append(f"| {stage} | {variant.title} | {_money(cheap.total)} (from {_money(estimate.total)}) | {variant.why} |")
    out = rows
    if cheap_rows:
        out += ["", "Cheaper honest configurations (same usage unless the change says otherwise):", "",
                "| Stage | Change | Monthly | Why it is honest |", "|---|---|---:|---|", *cheap_rows]
    return "\n".join(out)


def splice(document: str, table: str) -> str:
    if START not in document or END not in document:
        raise ValueError(f"{DOC.name} lacks the markers {START} … {END}")
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite the table in {DOC.relative_to(REPO_ROOT)}")
    args = parser.parse_args(argv)
    table = render_table()
    if args.write:
        DOC.write_text(splice(DOC.read_text(), table))
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
