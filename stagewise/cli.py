"""`stagewise`: review a stack offline — no cloud account, no Pulumi CLI."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from stagewise.engine import ProgramError

EXIT_OK, EXIT_FAILED_CHECKS, EXIT_INVALID = 0, 1, 2

# Subcommands register here: (name, help, add_arguments, run) — run returns an exit code.
Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: list[Command] = []


def command(name: str, help_text: str, add_arguments: Callable[[argparse.ArgumentParser], None]) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS.append((name, help_text, add_arguments, run))
        return run

    return register


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or ":" not in key:
            raise SystemExit(f"--config {pair!r}: write it as namespace:key=value, e.g. stagewise:stage=prod")
        overrides[key] = value
    return overrides


def _review_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml (e.g. mvp, staging, prod)")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--config", action="append", default=[], metavar="NS:KEY=VALUE",
                        help="override a config value, as `pulumi config set` would (repeatable)")
    parser.add_argument("--root", type=Path, default=None, metavar="DIR",
                        help="directory holding Pulumi.yaml and the Pulumi.<stack>.yaml files (default: this checkout)")


@command("review", "run a stack's program offline and show what it declares", _review_arguments)
def review_command(args: argparse.Namespace) -> int:
    from stagewise.review import ReviewOptions, render_text, review_stack

    review = review_stack(args.stack, ReviewOptions(values=vars(args)), parse_overrides(args.config), args.root)
    if args.format == "json":
        print(json.dumps(review.document(), indent=2, sort_keys=False, default=str))
    elif args.format == "markdown":
        from stagewise.markdown import render_markdown

        print(render_markdown(review))
    else:
        print(render_text(review))
    return EXIT_FAILED_CHECKS if review.failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    _load_commands()
    parser = argparse.ArgumentParser(prog="stagewise", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, add_arguments, run in COMMANDS:
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(command_parser)
        command_parser.set_defaults(run=run)
    return parser


def _load_commands() -> None:
    import importlib

    for module in ("stagewise.cost_cli", "stagewise.compare_cli"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except ProgramError as exc:
        print(f"stagewise: {exc}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
