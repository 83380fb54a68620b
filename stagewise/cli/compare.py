"""`stagewise compare BASE HEAD`: what a change does to resources, policy verdicts, deploy findings and cost."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stagewise.cli.registry import EXIT_FAILED_CHECKS, EXIT_INVALID, EXIT_NOT_DEPLOYABLE, EXIT_OK, command
from stagewise.review.compare import CompareError, compare_paths, comparison_document, render_text


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", type=Path, help="base review: a `stagewise review --format json` file, or a directory of <stack>.json files")
    parser.add_argument("head", type=Path, help="head review: a file, or a directory of <stack>.json files (paired with base by name)")
    parser.add_argument("--format", choices=("markdown", "text", "json"), default="markdown")
    parser.add_argument("--title", help="a heading for the Markdown comment")
    parser.add_argument("--fail-on-mandatory", action="store_true",
                        help="exit 1 when the head review has a mandatory policy violation")
    parser.add_argument("--fail-on-blocking", action="store_true",
                        help="exit 3 when the head review has a deploy-readiness finding that blocks the deploy")


@command("compare", "compare two review documents (e.g. base branch vs pull request): resources, policy verdicts, cost", _arguments, examples=(
    "stagewise review mvp --format json > base.json",
    "stagewise review mvp --format json --config stagewise:service.maxInstances=5 > head.json",
    "stagewise compare base.json head.json --title 'mvp: maxInstances 2 -> 5'",
))
def compare_command(args: argparse.Namespace) -> int:
    try:
        comparisons = compare_paths(args.base, args.head)
    except CompareError as exc:
        print(f"stagewise compare: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.format == "json":
        print(json.dumps([comparison_document(c) for c in comparisons], indent=2))
    elif args.format == "text":
        print(render_text(comparisons))
    else:
        from stagewise.render.markdown import render_comparisons

        print(render_comparisons(comparisons, args.title), end="")
    if args.fail_on_blocking and any(c.blocking_findings for c in comparisons):
        return EXIT_NOT_DEPLOYABLE
    if args.fail_on_mandatory and any(c.mandatory_violations for c in comparisons):
        return EXIT_FAILED_CHECKS
    return EXIT_OK
