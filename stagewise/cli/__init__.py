"""`stagewise`: review a stack offline — no cloud account, no Pulumi CLI.

Exit codes of `stagewise review`: 0 deployable and compliant; 1 a mandatory policy failed (on the
deploy, or at preview time); 2 the program or its config is invalid (nothing was declared); 3 the
deploy would be refused by GCP, the provider or the engine (a blocking deploy-readiness finding).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Nothing here imports the Pulumi SDK, pulumi_gcp or the stack config at module level: `--help`,
# `--version` and a usage error answer before that ~1 s of imports; a command imports what it runs.

EXIT_OK, EXIT_FAILED_CHECKS, EXIT_INVALID, EXIT_NOT_DEPLOYABLE = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE
EXIT_CODES_HELP = (
    "exit codes: 0 deployable and compliant; 1 a mandatory policy failed (deploy or preview);\n"
    "  2 invalid program or config; 3 GCP, the provider or the engine would refuse the deploy"
)

# Subcommands register here: (name, help, add_arguments, run) — run returns an exit code.
Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: list[Command] = []
# Per command, the lines its --help shows under "examples:". tests/test_readme.py runs every one of
# them, in order, in a scratch directory holding the checkout's examples/ (so they may write files).
EXAMPLES: dict[str, tuple[str, ...]] = {}


def command(name: str, help_text: str, add_arguments: Callable[[argparse.ArgumentParser], None],
            examples: Sequence[str] = ()) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS.append((name, help_text, add_arguments, run))
        EXAMPLES[name] = tuple(examples)
        return run

    return register


def epilog(name: str) -> str | None:
    parts = []
    if EXAMPLES.get(name):
        parts.append("examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name]))
    if name == "review":
        parts.append(EXIT_CODES_HELP)
    return "\n\n".join(parts) or None


_OVERRIDE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*:[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+|\[\d+\])*$")


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`--config` values as `pulumi config set` takes them: NS:KEY=VALUE, where KEY may be a path into a
    structured value as with `--path` (stagewise:service.maxInstances=5, stagewise:service.invokers[0]=group:…);
    the program's config loader folds paths into their objects. A malformed one is an input error (exit 2)."""
    from stagewise.engine.record import ProgramError

    overrides: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not _OVERRIDE_KEY.match(key):
            raise ProgramError(
                f"--config {pair!r}: write it as NAMESPACE:KEY=VALUE, e.g. stagewise:stage=prod, "
                "or with a path into an object, e.g. stagewise:service.maxInstances=5"
            )
        overrides[key] = value
    return overrides


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
        print(render_review(stacks[0], formats[0], args), end="")
        return EXIT_CODE.pop(stacks[0], EXIT_OK)
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
EXIT_CODE: dict[str, int] = {}  # render_review's exit code per stack, for its caller


class UsageError(Exception):
    """Arguments that do not fit together (exit 2, before anything runs)."""


def _review_one(stack: str, formats: Sequence[str], args: argparse.Namespace, *, header: bool, first: bool) -> int:
    """One stack of several: its renderings to stdout (after a header) or to --out; an error is
    reported with the stack's name and does not stop the others."""
    import yaml

    from stagewise.engine.record import ProgramError

    out: Path | None = args.out
    try:
        rendered = render_review(stack, formats, args)
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
    return EXIT_CODE.pop(stack, EXIT_OK)


def render_review(stack: str, formats: str | Sequence[str], args: argparse.Namespace) -> Any:
    """The review of ``stack`` rendered in each of ``formats`` (one review, however many renderings),
    as the single-stack command prints it; its exit code is left in EXIT_CODE[stack]."""
    from stagewise.engine.record import REPO_ROOT

    wanted = [formats] if isinstance(formats, str) else list(formats)
    overrides = {**load_values(args.values, stack), **parse_overrides(args.config)}
    texts: list[str] = []
    review = None
    code = EXIT_OK
    for fmt in wanted:
        if fmt == "mermaid":
            from stagewise.render.mermaid import render_mermaid
            from stagewise.engine.record import run_stack

            texts.append(render_mermaid(run_stack(stack, overrides=overrides, root=args.root or REPO_ROOT)))
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
    EXIT_CODE[stack] = code
    return texts[0] if isinstance(formats, str) else texts


def add_values_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--values", action="append", default=[], type=Path, metavar="FILE|DIR",
                        help="a YAML file with a config: block like Pulumi.<stack>.yaml's, laid over it; a directory "
                             "means its <stack>.yaml, where there is one (repeatable; e.g. --values examples/values "
                             "fills the shipped placeholders with real-looking values)")


def load_values(paths: Sequence[Path], stack: str) -> dict[str, str]:
    """Config from ``--values`` files (a directory: its ``<stack>.yaml``), flattened as the engine
    flattens a stack file; later files win."""
    from stagewise.engine.record import read_config_file

    merged: dict[str, str] = {}
    for path in paths:
        if path.is_dir():
            path = path / f"{stack}.yaml"
            if not path.is_file():
                continue
        merged.update(read_config_file(path))
    return merged


def version() -> str:
    """The installed distribution's version (pyproject's), or the checkout's when run uninstalled."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version("stagewise")
    except PackageNotFoundError:
        return "unknown (not installed; run `uv sync`)"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser. Every command is listed, but only the one ``argv`` selects gets its arguments
    (``argv`` None: all of them; none when ``argv`` names no command, as argparse then stops at
    the top level): some commands' arguments need the config models, which import the Pulumi SDK,
    and `stagewise --help` or `stagewise review --help` should not wait for it."""
    _load_commands()
    selected = "*" if argv is None else _selected_command(argv)
    parser = argparse.ArgumentParser(prog="stagewise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, add_arguments, run in COMMANDS:
        command_parser = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog(name),
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        if selected in ("*", name):
            add_arguments(command_parser)
        command_parser.set_defaults(run=run)
    return parser


def _selected_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word (the top level takes only -h and --version)."""
    names = {name for name, *_ in COMMANDS}
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in names else None


def _load_commands() -> None:
    import importlib

    for module in ("stagewise.cli.cost", "stagewise.cli.compare"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(words).parse_args(words)
    import yaml

    from stagewise.engine.record import ProgramError

    try:
        code: int = args.run(args)
        sys.stdout.flush()
        return code
    except ProgramError as exc:
        print(f"stagewise: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except yaml.YAMLError as exc:
        # A YAML file read outside the stack-file reader (which names its own problems): still the
        # file and line, and no traceback.
        print(f"stagewise: {yaml_problem(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except UsageError as exc:
        print(f"stagewise {args.command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        return _quiet_broken_pipe()


def yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{mark.name} line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}not valid YAML: {problem}; fix the syntax there"


def _quiet_broken_pipe() -> int:
    """The reader went away (`stagewise review prod | head -1`): stop without a traceback.

    As the Python docs' note on SIGPIPE advises (https://docs.python.org/3/library/signal.html#note-on-sigpipe):
    point stdout at devnull so that the interpreter's final flush does not raise again. The status is
    141 (128 + SIGPIPE), what a shell reports for a writer the broken pipe ended, so it is not
    mistaken for one of the review's own exit codes."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    # `python -m stagewise.cli`: run the module the commands register with (`stagewise.cli`), not
    # this __main__ copy, whose registry the cost and compare modules never see.
    from stagewise.cli import main as registered_main

    sys.exit(registered_main())
