"""What every subcommand shares: the exit codes, the registry it joins and the common arguments.

Light on purpose (no Pulumi SDK, no config models): `stagewise --help` imports only this.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from pathlib import Path

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


def add_values_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--values", action="append", default=[], type=Path, metavar="FILE|DIR",
                        help="a YAML file with a config: block like Pulumi.<stack>.yaml's, laid over it; a directory "
                             "means its <stack>.yaml, where there is one (repeatable; e.g. --values examples/values "
                             "fills the shipped placeholders with real-looking values)")


class UsageError(Exception):
    """Arguments that do not fit together (exit 2, before anything runs)."""


def yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{mark.name} line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}not valid YAML: {problem}; fix the syntax there"
