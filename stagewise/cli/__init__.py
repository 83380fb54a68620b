"""`stagewise`: review a stack offline — no cloud account, no Pulumi CLI.

Exit codes of `stagewise review`: 0 deployable and compliant; 1 a mandatory policy failed (on the
deploy, or at preview time); 2 the program or its config is invalid (nothing was declared); 3 the
deploy would be refused by GCP, the provider or the engine (a blocking deploy-readiness finding).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from stagewise.cli.registry import (
    COMMANDS,
    EXAMPLES,
    EXIT_BROKEN_PIPE,
    EXIT_CODES_HELP,
    EXIT_FAILED_CHECKS,
    EXIT_INVALID,
    EXIT_NOT_DEPLOYABLE,
    EXIT_OK,
    Command,
    UsageError,
    add_values_argument,
    command,
    epilog,
    parse_overrides,
    yaml_problem,
)

# Nothing here imports the Pulumi SDK, pulumi_gcp or the stack config at module level: `--help`,
# `--version` and a usage error answer before that ~1 s of imports; a command imports what it runs.

__all__ = [
    "COMMANDS", "COMMAND_MODULES", "EXAMPLES", "EXIT_BROKEN_PIPE", "EXIT_CODES_HELP", "EXIT_FAILED_CHECKS",
    "EXIT_INVALID", "EXIT_NOT_DEPLOYABLE", "EXIT_OK", "Command", "add_values_argument", "build_parser",
    "command", "epilog", "main", "parse_overrides", "UsageError", "version", "yaml_problem",
]


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


# Every subcommand, in the order `stagewise --help` lists them; each module registers itself on import.
COMMAND_MODULES = ("stagewise.cli.review", "stagewise.cli.cost", "stagewise.cli.compare")


def _load_commands() -> None:
    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(module)


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


def _quiet_broken_pipe() -> int:
    """The reader went away (`stagewise review prod | head -1`): stop without a traceback.

    As the Python docs' note on SIGPIPE advises (https://docs.python.org/3/library/signal.html#note-on-sigpipe):
    point stdout at devnull so that the interpreter's final flush does not raise again. The status is
    141 (128 + SIGPIPE), what a shell reports for a writer the broken pipe ended, so it is not
    mistaken for one of the review's own exit codes."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE
