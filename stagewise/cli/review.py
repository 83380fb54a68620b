"""`stagewise review STACK...`: run stacks' programs offline and show what each declares, with its checks."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from stagewise.cli.registry import (
    EXIT_FAILED_CHECKS,
    EXIT_INVALID,
    EXIT_NOT_DEPLOYABLE,
    EXIT_OK,
    UsageError,
    add_values_argument,
    command,
    parse_overrides,
    yaml_problem,
)


def _review_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", nargs="+",
                        help="stack name: reads Pulumi.<stack>.yaml (e.g. mvp, staging, prod); several are reviewed "
                             "in one process, in order, and the exit code is the worst of theirs (2, then 3, then 1)")
    parser.add_argument("--format", action="append", choices=FORMAT_SUFFIX, default=None,
                        help="text (default), json, markdown or mermaid (only the architecture diagram, drawn from the "
                             "components and dependencies the program declares; no checks run); with --out, repeat it "
                             "to write several renderings of one review")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write each stack's review to DIR/<stack>.<txt|json|md|mmd> instead of stdout, and what "
                             "stopped a review that cannot run (exit 2) to DIR/<stack>.error")
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
    "stagewise review mvp staging prod --values examples/values --out reviews --format json --format markdown",
))
def review_command(args: argparse.Namespace) -> int:
    stacks: list[str] = list(dict.fromkeys(args.stack))
    formats: list[str] = list(dict.fromkeys(args.format or ["text"]))
    if args.out is None and len(formats) > 1:
        raise UsageError("several --format values need --out DIR (one file per stack and format)")
    if args.out is None and len(stacks) > 1 and formats != ["text"]:
        raise UsageError(f"--format {formats[0]} of several stacks needs --out DIR (one document per stack)")
    if len(stacks) == 1 and args.out is None:
        # One stack on stdout: exactly the single-stack review (its errors reach main(), exit 2).
        [text], code = render_review(stacks[0], formats, args)
        print(text, end="")
        return code
    codes: dict[str, int] = {}
    for index, stack in enumerate(stacks):
        codes[stack] = _review_one(stack, formats, args, header=args.out is None and len(stacks) > 1, first=index == 0)
    if args.out is not None:
        (args.out / "exit-codes.json").write_text(json.dumps(codes, indent=2) + "\n")
    if len(stacks) > 1:
        print("stagewise review: " + ", ".join(f"{stack} exit {code}" for stack, code in codes.items()), file=sys.stderr)
    return max(codes.values(), key=EXIT_SEVERITY.index)


# Several stacks: the worst exit code wins, a review that cannot run (2) being worse than a deploy
# the cloud would refuse (3), worse than a failed mandatory policy (1).
EXIT_SEVERITY = (EXIT_OK, EXIT_FAILED_CHECKS, EXIT_NOT_DEPLOYABLE, EXIT_INVALID)
FORMAT_SUFFIX = {"text": "txt", "json": "json", "markdown": "md", "mermaid": "mmd"}


def _review_one(stack: str, formats: Sequence[str], args: argparse.Namespace, *, header: bool, first: bool) -> int:
    """One stack of several: its renderings to stdout (after a header) or to --out; an error is
    reported with the stack's name and does not stop the others."""
    import yaml

    from stagewise.engine.record import ProgramError

    out: Path | None = args.out
    try:
        rendered, code = render_review(stack, formats, args)
    except (ProgramError, yaml.YAMLError) as exc:
        message = str(exc) if isinstance(exc, ProgramError) else yaml_problem(exc)
        print(f"stagewise: {stack}: {message}", file=sys.stderr)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{stack}.error").write_text(message + "\n")
        return EXIT_INVALID
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{stack}.error").unlink(missing_ok=True)
        for fmt, text in zip(formats, rendered):
            (out / f"{stack}.{FORMAT_SUFFIX[fmt]}").write_text(text)
    else:
        if header:
            print(("" if first else "\n") + f"== stagewise review {stack}")
        print(rendered[0], end="")
        sys.stdout.flush()
    return code


def render_review(stack: str, formats: Sequence[str], args: argparse.Namespace) -> tuple[list[str], int]:
    """The review of ``stack`` rendered in each of ``formats`` (one review, however many renderings),
    as the single-stack command prints it, and the review's exit code."""
    from stagewise.engine.record import load_values

    overrides = {**load_values(args.values, stack), **parse_overrides(args.config)}
    texts: list[str] = []
    review = None
    code = EXIT_OK
    for fmt in formats:
        if fmt == "mermaid":
            from stagewise.render.mermaid import render_mermaid
            from stagewise.engine.record import run_stack

            # The project as the review finds it (--root, else the nearest Pulumi.yaml), not this checkout.
            texts.append(render_mermaid(run_stack(stack, overrides=overrides, root=args.root)))
            continue
        if review is None:
            from stagewise.review.sections import ReviewOptions, review_stack

            review = review_stack(stack, ReviewOptions(values=vars(args)), overrides, args.root)
            code = review.exit_code
        if fmt == "json":
            texts.append(json.dumps(review.document(), indent=2, sort_keys=False, default=str) + "\n")
        elif fmt == "markdown":
            from stagewise.render.markdown import render_markdown

            texts.append(render_markdown(review) + "\n")
        else:
            from stagewise.review.sections import render_text

            texts.append(render_text(review) + "\n")
    return texts, code
