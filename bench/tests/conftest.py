from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"
sys.path.insert(0, str(HARNESS))

import procs  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def upstream() -> Iterator[Callable[..., int]]:
    """Start a fake upstream with the given CLI flags on a free loopback port; returns the port."""
    started: list[subprocess.Popen[bytes]] = []

    def launch(*flags: str) -> int:
        port = free_port()
        proc = procs.start([sys.executable, str(HARNESS / "fake_upstream.py"), "--port", str(port), *flags], core=None)
        started.append(proc)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if procs.http_request(port, "GET", "/healthz", timeout=1)[0] == 200:
                    return port
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("fake upstream did not come up")

    yield launch
    for proc in started:
        procs.stop(proc)
