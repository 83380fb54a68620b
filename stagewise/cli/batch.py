"""Run several `stagewise` commands in one process, each with its own checkout's code.

    python -m stagewise.cli.batch JOBS.json

JOBS.json is a list of ``{"checkout": DIR, "argv": ["review", "mvp", ...], "stdout": FILE,
"stderr": FILE}``. Each job runs ``stagewise.cli.main(argv)`` from ``checkout`` (its working
directory) with that checkout's own stagewise package (or, when it has none, the one this
process started with), its output in those files; what is printed here is the list of exit codes, in
order, as JSON. The pull-request workflow reviews its head and its base commit this way: the
Pulumi SDK and pulumi_gcp (most of a review's start-up) are imported once, while the stagewise
package and its policy pack are the checkout's own: before a job of another checkout, every
``stagewise*`` module is dropped and that checkout goes first on ``sys.path``. Both checkouts must
share the locked environment (the caller compares their uv.lock; when they differ it runs the
other checkout's jobs in that checkout's own environment instead).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OWN_PACKAGES = ("stagewise", "stagewise_policies")


def loaded_checkout() -> Path | None:
    """The checkout whose stagewise package is imported (the directory above it)."""
    module = sys.modules.get("stagewise")
    location = getattr(module, "__file__", None) if module is not None else None
    return Path(location).resolve().parent.parent if location else None


def use_checkout(checkout: Path) -> None:
    """Make ``import stagewise`` (and the policy pack) load ``checkout``'s code from here on."""
    checkout = checkout.resolve()
    current = loaded_checkout()
    if current == checkout:
        return
    for name in list(sys.modules):
        if name.split(".")[0] in OWN_PACKAGES:
            del sys.modules[name]
    if current is not None:
        # The other checkout's entries (its root, its policy pack directory) must not shadow this one's.
        sys.path[:] = [entry for entry in sys.path if not _inside(entry, current)]
    sys.path.insert(0, str(checkout))
    importlib.invalidate_caches()


def _inside(entry: str, root: Path) -> bool:
    try:
        return Path(entry or ".").resolve().is_relative_to(root)
    except OSError:
        return False


def run_job(job: dict[str, Any], own: Path | None = None) -> int:
    """One job; a checkout without a stagewise package of its own (a team's project using the
    installed one) runs with ``own``, the code this batch started with."""
    checkout = Path(job["checkout"])
    argv: list[str] = [str(word) for word in job["argv"]]
    if (checkout / "stagewise" / "__init__.py").is_file():
        use_checkout(checkout)
    elif own is not None:
        use_checkout(own)
    here = Path.cwd()
    with open(job["stdout"], "w", encoding="utf-8") as out, open(job["stderr"], "w", encoding="utf-8") as err:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            os.chdir(checkout)
            try:
                cli = importlib.import_module("stagewise.cli")
                code = int(cli.main(argv))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
            except Exception:  # a checkout whose code cannot run this (an older layout): its own error, the next job goes on
                traceback.print_exc()
                code = 2
            finally:
                os.chdir(here)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m stagewise.cli.batch JOBS.json", file=sys.stderr)
        return 2
    jobs = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    first = loaded_checkout()
    codes = [run_job(job, first) for job in jobs]
    if first is not None:
        use_checkout(first)
    print(json.dumps(codes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
