"""Process helpers: settle() waits for a busy server and not for an idle one."""

from __future__ import annotations

import sys

import procs


def test_settle_returns_at_once_for_an_idle_process_and_waits_for_a_busy_one() -> None:
    idle = procs.start([sys.executable, "-c", "import time; time.sleep(30)"], core=None)
    busy = procs.start([sys.executable, "-c", "while True: pass"], core=None)
    try:
        assert procs.settle(idle.pid, limit_s=3.0, window_s=0.2) < 1.0
        assert procs.settle(busy.pid, limit_s=1.0, window_s=0.2) >= 1.0
        assert procs.cpu_seconds(busy.pid) > 0.1
    finally:
        procs.stop(idle)
        procs.stop(busy)


def test_load_now_names_the_load_and_core_count() -> None:
    text = procs.load_now()
    assert text.startswith("load average ") and "cores; nice" in text
