"""Process helpers for the benchmarks: start pinned servers, time their cold start,
read their CPU time and RSS from /proc, and always stop what was started."""

from __future__ import annotations

import atexit
import http.client
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
_started: list[subprocess.Popen[bytes]] = []


def _stop_all() -> None:
    for proc in list(_started):
        stop(proc)


atexit.register(_stop_all)


def _on_signal(signum: int, _frame: object) -> None:
    _stop_all()
    raise SystemExit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def start(argv: list[str], *, core: int | None, env: dict[str, str] | None = None, cwd: str | Path | None = None,
          log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a process in its own session, pinned to `core` with taskset (exec, so the pid is the server's)."""
    cmd = (["taskset", "-c", str(core)] if core is not None else []) + argv
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(cmd, env={**os.environ, **pycache_env(), **(env or {})}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    _started.append(proc)
    return proc


def pycache_env() -> dict[str, str]:
    """Use the shared bytecode cache that bench/run.sh setup filled, so no server recompiles at start."""
    cache = os.environ.get("BENCH_PYCACHE")
    return {"PYTHONPYCACHEPREFIX": cache, "PYTHONDONTWRITEBYTECODE": ""} if cache else {}


def stop(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the process group, wait up to grace_s, then SIGKILL it."""
    if proc in _started:
        _started.remove(proc)
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def load_now() -> str:
    """`uptime`-style load averages and our niceness, for the record: this machine is shared, and
    what else runs on it moves every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores; nice {os.nice(0)}"


def tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree (utime, stime: fields 14 and 15 of /proc/<pid>/stat)."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def settle(pid: int, limit_s: float = 60.0, window_s: float = 0.5, idle_cpu_s: float = 0.02) -> float:
    """Wait until the process tree is idle (under idle_cpu_s of CPU per window_s), at most limit_s.

    A load generator that stops abandons the requests still in flight; a server that keeps working
    on them (LiteLLM does) would otherwise bill that work to the next measurement. Returns the wait."""
    t0 = time.perf_counter()
    before = cpu_seconds(pid)
    while time.perf_counter() - t0 < limit_s:
        time.sleep(window_s)
        now = cpu_seconds(pid)
        if now - before < idle_cpu_s:
            break
        before = now
    return time.perf_counter() - t0


def rss_mb(pid: int) -> float:
    """Resident set size of a process tree in MiB (VmRSS from /proc/<pid>/status)."""
    total_kb = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class ColdStart:
    health_s: float
    first_completion_s: float
    health_cpu_s: float = 0.0  # CPU the server process tree had used when it first answered 200


@dataclass
class Endpoint:
    port: int
    health_path: str
    chat_path: str = "/v1/chat/completions"
    headers: dict[str, str] = field(default_factory=dict)
    model: str = "fake-model"

    def completion_body(self, stream: bool = False) -> bytes:
        body: dict[str, object] = {"model": self.model, "messages": [{"role": "user", "content": "hello"}]}
        if stream:
            body["stream"] = True
        return json.dumps(body).encode()


def wait_cold_start(proc: subprocess.Popen[bytes], t0: float, ep: Endpoint, check: "callable[[bytes], object]",  # type: ignore[valid-type]
                    limit_s: float = 120.0) -> ColdStart:
    """Poll the health endpoint every 5 ms until 200, then POST a completion until a good reply."""
    deadline = t0 + limit_s
    health_s = None
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was healthy")
        try:
            status, _ = http_request(ep.port, "GET", ep.health_path, timeout=2)
            if status == 200:
                health_s = time.perf_counter() - t0
                # wall time stretches with the machine's load; the CPU spent starting up much less
                health_cpu_s = cpu_seconds(proc.pid)
                break
        except OSError:
            pass
        time.sleep(0.005)
    if health_s is None:
        raise RuntimeError(f"no 200 from {ep.health_path} within {limit_s:.0f} s")
    headers = {"Content-Type": "application/json", **ep.headers}
    last = b""
    while time.perf_counter() < deadline:
        try:
            status, body = http_request(ep.port, "POST", ep.chat_path, ep.completion_body(), headers)
            last = body
            if status == 200:
                check(body)
                return ColdStart(health_s, time.perf_counter() - t0, health_cpu_s)
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"no good completion within {limit_s:.0f} s; last body {last[:200]!r}")
