"""Process helpers: settle() returns once a process is idle and waits out its limit for a busy one."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import procs


def test_settle_returns_for_an_idle_process_and_waits_for_a_busy_one(tmp_path: Path) -> None:
    ready = tmp_path / "idle.log"
    idle = procs.start([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"], core=None, log=ready)
    busy = procs.start([sys.executable, "-c", "while True: pass"], core=None)
    try:
        deadline = time.monotonic() + 30
        while "ready" not in ready.read_text() and time.monotonic() < deadline:  # past interpreter start-up
            time.sleep(0.05)
        assert procs.settle(idle.pid, limit_s=10.0, window_s=0.25) < 10.0  # idle: returned before its limit
        assert procs.settle(busy.pid, limit_s=1.0, window_s=0.25) >= 1.0  # busy: never idle, waited it out
        assert procs.cpu_seconds(busy.pid) > 0.05
    finally:
        procs.stop(idle)
        procs.stop(busy)


def test_load_now_names_the_load_and_core_count() -> None:
    text = procs.load_now()
    assert text.startswith("load average ") and "cores; nice" in text
