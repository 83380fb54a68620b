"""Our app with one piece of its per-request work changed, to measure what that piece costs.

Profiling experiments only, never a figure for the app as it runs: `python whatif_app.py` in the
app's env behaves like `python -m chatapp`, after applying the changes named in BENCH_WHATIF
(comma list). compare.py runs it as server `ours+<change>[+<change>]`, beside plain `ours`.

  inline-sqlite  SQLite calls run on the event loop thread instead of the store's one-thread
                 executor (what the thread hand-off costs; the writes themselves still happen)
  inline-usage   the same for the usage log's writer thread (usage_store.SqliteUsageLog)
  no-log         the JSON request log line is built but not written (what writing stdout costs)
"""

from __future__ import annotations

import os
import sys
from typing import Any


def inline_sqlite() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from chatapp.store import sqlite

    async def start_inline(self: Any) -> None:  # open the connection on the loop thread that uses it
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1)
            self._open()

    async def run_inline(self: Any, fn: Any) -> Any:
        if self._executor is None:
            raise RuntimeError("SqliteStore used before start()")
        return self._call(fn)

    sqlite.SqliteStore.start = start_inline  # type: ignore[method-assign]
    sqlite.SqliteStore._run = run_inline  # type: ignore[method-assign]


def inline_usage() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from chatapp import usage_store

    async def start_inline(self: Any) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._open()

    async def run_inline(self: Any, fn: Any) -> Any:
        if self._executor is None:
            raise RuntimeError("SqliteUsageLog used before start()")
        return fn()

    usage_store.SqliteUsageLog.start = start_inline  # type: ignore[method-assign]
    usage_store.SqliteUsageLog._run = run_inline  # type: ignore[method-assign]


def no_log() -> None:
    from chatapp import logs

    logs.JsonLog.write = lambda self, record: None  # type: ignore[method-assign]


CHANGES = {"inline-sqlite": inline_sqlite, "inline-usage": inline_usage, "no-log": no_log}


def main() -> None:
    names = [n for n in os.environ.get("BENCH_WHATIF", "").split(",") if n]
    unknown = [n for n in names if n not in CHANGES]
    if unknown:
        sys.exit(f"BENCH_WHATIF: unknown change(s) {unknown}; known: {', '.join(CHANGES)}")
    for name in names:
        CHANGES[name]()
    from chatapp.__main__ import main as chatapp_main

    chatapp_main()


if __name__ == "__main__":
    main()
