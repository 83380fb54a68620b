"""`stagewise cost STACK` and `stagewise diff STACK_A STACK_B`: monthly cost from the program itself."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from stagewise.cli.registry import EXIT_FAILED_CHECKS, EXIT_OK, add_values_argument, command, parse_overrides

if TYPE_CHECKING:
    from stagewise.stacks.config.usage import UsageProfile
# stacks.config imports the Pulumi SDK (through components/): imported where used, so that
# `stagewise --help` does not wait for it.

# Short flags for the figures people change most; every field is reachable through --usage.
SHORT_FLAGS: dict[str, str] = {
    "requests": "requests_per_month",
    "input-tokens": "input_tokens_per_request",
    "output-tokens": "output_tokens_per_request",
    "egress-gb": "egress_gb",
    "log-gb": "log_gb",
    "vm-hours": "vm_hours",
    "gpu-hours": "gpu_service_hours",
}


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 1000000 or 1e6)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative; usage figures are 0 or more")
    return value


def add_usage_arguments(parser: argparse.ArgumentParser) -> None:
    from stagewise.stacks.config.usage import USAGE_DOCS

    group = parser.add_argument_group("usage (overrides the stage's profile and stagewise:usage)")
    for flag, field_name in SHORT_FLAGS.items():
        group.add_argument(f"--{flag}", dest=f"usage_{field_name}", type=_number, metavar="N", help=USAGE_DOCS[field_name])
    group.add_argument("--usage", action="append", default=[], metavar="FIELD=N",
                       help="any usage field, e.g. --usage firestore_gb=20 --usage bucket_gb.logs=50 (repeatable)")


def usage_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Usage overrides from the short flags and --usage FIELD=N pairs; bad names exit with the fix."""
    from stagewise.stacks.config.usage import UsageProfile

    known = {f.name for f in fields(UsageProfile)}
    overrides: dict[str, Any] = {}
    buckets: dict[str, float] = {}
    for pair in getattr(args, "usage", []) or []:
        name, sep, raw = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep:
            raise SystemExit(f"--usage {pair!r}: write it as FIELD=N, e.g. --usage firestore_gb=20")
        try:
            value = _number(raw)
        except argparse.ArgumentTypeError as exc:
            raise SystemExit(f"--usage {pair!r}: {exc}") from None
        if name.startswith("bucket_gb."):
            buckets[name.split(".", 1)[1]] = value
        elif name in known and name != "bucket_gb":
            overrides[name] = value
        else:
            raise SystemExit(f"--usage {pair!r}: unknown field {name!r}; known: {', '.join(sorted(known))} (bucket_gb.CLASS=N)")
    for field_name in SHORT_FLAGS.values():
        flag_value = getattr(args, f"usage_{field_name}", None)
        if flag_value is not None:
            overrides[field_name] = float(flag_value)
    if buckets:
        overrides["bucket_gb"] = buckets
    return overrides


def _merge_buckets(run_usage: UsageProfile, overrides: dict[str, Any]) -> dict[str, Any]:
    if "bucket_gb" in overrides:
        overrides = {**overrides, "bucket_gb": {**run_usage.bucket_gb, **overrides["bucket_gb"]}}
    return overrides


def estimate_stack(stack: str, args: argparse.Namespace) -> Any:
    from stagewise.cost.estimate import estimate_run, usage_for
    from stagewise.engine.record import load_values, run_stack

    values = load_values(getattr(args, "values", []) or [], stack)
    run = run_stack(stack, overrides={**values, **parse_overrides(getattr(args, "config", []) or [])})
    overrides = _merge_buckets(usage_for(run), usage_overrides(args))
    return estimate_run(run, overrides)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--config", action="append", default=[], metavar="NS:KEY=VALUE",
                        help="override a config value, as `pulumi config set` would (repeatable)")
    add_values_argument(parser)
    add_usage_arguments(parser)


def _cost_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml (e.g. mvp, staging, prod)")
    parser.add_argument("--brief", action="store_true", help="text: one line per resource, without the charges")
    parser.add_argument("--fail-on-unpriced", action="store_true", help="exit 1 when a resource has no price (CI gate)")
    parser.add_argument("--fail-over-budget", action="store_true", help="exit 1 when the estimate exceeds stagewise:budget.monthlyUsd")
    parser.add_argument("--alternatives", action="store_true",
                        help="price the stage under each inference mode and current model, with the SLO each keeps and break-even traffic")
    _common(parser)


@command("cost", "monthly cost of a stack, per resource, from its own program (no cloud account)", _cost_arguments, examples=(
    "stagewise cost mvp --brief",
    "stagewise cost prod --values examples/values --requests 1000000 --usage firestore_gb=20",
    "stagewise cost staging --values examples/values --format json --fail-on-unpriced",
))
def cost_command(args: argparse.Namespace) -> int:
    from stagewise.cost.render import render_markdown, render_text

    if args.alternatives:
        return alternatives_command(args)
    estimate = estimate_stack(args.stack, args)
    if args.format == "json":
        print(json.dumps(estimate.to_document(), indent=2))
    elif args.format == "markdown":
        print(render_markdown(estimate))
    else:
        print(render_text(estimate, detail=not args.brief))
    if (args.fail_on_unpriced and estimate.unpriced) or (args.fail_over_budget and estimate.over_budget):
        return EXIT_FAILED_CHECKS
    return EXIT_OK


def alternatives_command(args: argparse.Namespace) -> int:
    from stagewise.cost.alternatives import evaluate, render
    from stagewise.engine.record import load_values

    overrides = {**load_values(getattr(args, "values", []) or [], args.stack), **parse_overrides(getattr(args, "config", []) or [])}
    found = evaluate(args.stack, overrides, usage_overrides(args))
    if args.format == "json":
        print(json.dumps([{"title": a.title, "inference": a.inference, "monthlyUsd": a.estimate.total if a.estimate else None,
                           "keepsSlo": a.keeps_slo, "sloBreaks": a.slo_breaks, "error": a.error or None} for a in found], indent=2))
    else:
        print(render(args.stack, found))
    return EXIT_OK


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack_a", help="the stack you move from (e.g. mvp)")
    parser.add_argument("stack_b", help="the stack you move to (e.g. prod)")
    _common(parser)


@command("diff", "what moving from one stack to another adds and removes, and the monthly delta", _diff_arguments, examples=(
    "stagewise diff mvp staging --values examples/values",
))
def diff_command(args: argparse.Namespace) -> int:
    from stagewise.cost.diff import diff_estimates
    from stagewise.cost.render import render_diff_markdown, render_diff_text

    diff = diff_estimates(estimate_stack(args.stack_a, args), estimate_stack(args.stack_b, args))
    if args.format == "json":
        print(json.dumps(diff.to_document(), indent=2))
    elif args.format == "markdown":
        print(render_diff_markdown(diff))
    else:
        print(render_diff_text(diff))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from stagewise.cli import main as cli_main

    return cli_main(argv)
