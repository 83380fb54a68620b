"""`stagewise review STACK`: run a stack's program offline and show what it declares, with its checks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stagewise.cli.registry import EXIT_OK, add_values_argument, command, parse_overrides

def _review_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml (e.g. mvp, staging, prod)")
    parser.add_argument("--format", choices=("text", "json", "markdown", "mermaid"), default="text",
                        help="mermaid: only the architecture diagram, drawn from the components and "
                             "dependencies the program declares (no checks run)")
    parser.add_argument("--config", action="append", default=[], metavar="NS:KEY=VALUE",
                        help="override a config value, as `pulumi config set` would (repeatable)")
    parser.add_argument("--root", type=Path, default=None, metavar="DIR",
                        help="directory holding Pulumi.yaml and the Pulumi.<stack>.yaml files (default: the nearest one holding Pulumi.yaml, from the working directory up)")
    add_values_argument(parser)
    parser.add_argument("--no-lifecycle", action="store_true",
                        help="skip the second-deploy simulation of the deploy-readiness check")
    parser.add_argument("--no-preview", action="store_true",
                        help="skip the preview-time policy run of the deploy-readiness check")


@command("review", "run a stack's program offline and show what it declares", _review_arguments, examples=(
    "stagewise review mvp",
    "stagewise review mvp --config stagewise:service.maxInstances=5 --format json > mvp.json",
    "stagewise review prod --values examples/values --format markdown",
    "stagewise review staging --values examples/values --format mermaid",
))
def review_command(args: argparse.Namespace) -> int:
    from stagewise.engine.record import load_values
    from stagewise.review.sections import ReviewOptions, render_text, review_stack

    overrides = {**load_values(args.values, args.stack), **parse_overrides(args.config)}
    if args.format == "mermaid":
        from stagewise.render.mermaid import render_mermaid
        from stagewise.engine.record import REPO_ROOT, run_stack

        print(render_mermaid(run_stack(args.stack, overrides=overrides, root=args.root or REPO_ROOT)), end="")
        return EXIT_OK
    review = review_stack(args.stack, ReviewOptions(values=vars(args)), overrides, args.root)
    if args.format == "json":
        print(json.dumps(review.document(), indent=2, sort_keys=False, default=str))
    elif args.format == "markdown":
        from stagewise.render.markdown import render_markdown

        print(render_markdown(review))
    else:
        print(render_text(review))
    return review.exit_code
