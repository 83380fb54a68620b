"""`python -m chatapp` as a real process: PORT, startup validation, SIGTERM drain."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import KEY_ACME, free_port
from fakes import Behaviour, FakeModelServer

LONG = " ".join(f"word{i}" for i in range(40))


def spawn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    full = {"PATH": os.environ.get("PATH", ""), **env, "PORT": str(port), "CHAT_HOST": "127.0.0.1"}
    return subprocess.Popen([sys.executable, "-m", "chatapp"], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_healthy(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("app exited: " + proc.communicate()[1].decode()[-2000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("app did not become healthy")


class StreamReader(threading.Thread):
    """Reads one streamed completion line by line, noting when the first token arrived."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.first_token = threading.Event()
        self.lines: list[str] = []
        self.headers: dict[str, str] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            body = json.dumps({"model": "default", "stream": True, "messages": [{"role": "user", "content": "long one"}]})
            conn.request("POST", "/v1/chat/completions", body=body,
                         headers={"Authorization": f"Bearer {KEY_ACME}", "Content-Type": "application/json"})
            resp = conn.getresponse()
            self.headers = {k.lower(): v for k, v in resp.getheaders()}
            while True:
                raw = resp.readline()
                if not raw:
                    break
                line = raw.decode().strip()
                if line:
                    self.lines.append(line)
                if 'word0' in line:
                    self.first_token.set()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.first_token.set()

    def text(self) -> str:
        out = []
        for line in self.lines:
            if line.startswith("data: {"):
                event: dict[str, Any] = json.loads(line[6:])
                for choice in event.get("choices", []):
                    out.append(choice["delta"].get("content") or "")
        return "".join(out)

    def finish_reason(self) -> str | None:
        for line in self.lines:
            if line.startswith("data: {"):
                for choice in json.loads(line[6:]).get("choices", []):
                    if choice.get("finish_reason"):
                        return str(choice["finish_reason"])
        return None


def stored_reply(db: str) -> tuple[str, str]:
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT content, finish_reason FROM messages WHERE role = 'assistant'").fetchone()
    return row[0], row[1]


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_sigterm_lets_an_in_flight_stream_finish(base_env: dict[str, str], openai_fake: FakeModelServer) -> None:
    openai_fake.default = Behaviour(text=LONG[:120], chunk_delay_s=0.1)  # ~2 s of streaming
    port = free_port()
    proc = spawn(base_env, port)
    try:
        wait_healthy(proc, port)
        reader = StreamReader(port)
        reader.start()
        assert reader.first_token.wait(10)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert refused(port)  # no new connections while draining
        reader.join(15)
        assert reader.error is None
        assert reader.lines[-1] == "data: [DONE]"
        assert reader.text() == f"[primary-model] {LONG[:120]}"
        assert reader.finish_reason() == "stop"
        assert proc.wait(10) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
    finally:
        if proc.poll() is None:
            proc.kill()
    out = proc.stdout.read().decode() if proc.stdout else ""
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert records[-1]["message"] == "chatapp stopped"
    assert stored_reply(base_env["CHAT_SQLITE_PATH"]) == (f"[primary-model] {LONG[:120]}", "stop")


def test_sigterm_cuts_a_too_long_stream_cleanly_within_the_grace_period(
    base_env: dict[str, str], openai_fake: FakeModelServer
) -> None:
    openai_fake.default = Behaviour(text=LONG, chunk_delay_s=0.5)  # ~20 s: longer than the grace period
    port = free_port()
    proc = spawn({**base_env, "CHAT_SHUTDOWN_GRACE_S": "3", "CHAT_KEEPALIVE_S": "5"}, port)
    try:
        wait_healthy(proc, port)
        reader = StreamReader(port)
        reader.start()
        assert reader.first_token.wait(10)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        reader.join(10)
        assert proc.wait(10) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
    assert took < 3.5  # well inside Cloud Run's 10 s
    assert reader.lines[-1] == "data: [DONE]"
    assert reader.finish_reason() == "length"
    partial = reader.text()
    assert partial.startswith("[primary-model] word0") and len(partial) < len(LONG)
    assert stored_reply(base_env["CHAT_SQLITE_PATH"]) == (partial, "length")
    out = proc.stdout.read().decode() if proc.stdout else ""
    line = [json.loads(x) for x in out.splitlines() if '"httpRequest"' in x and "completions" in x][-1]
    assert line["drained"] is True


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"CHAT_STORE": "mongo"}, "CHAT_STORE"),
        ({"CHAT_RATE_RPM": "lots"}, "CHAT_RATE_RPM"),
        ({"CHAT_PROMPT_VERSION": "v404"}, "v404"),
        ({"CHAT_API_KEYS": "{oops"}, "CHAT_API_KEYS"),
        ({"CHAT_API_KEYS": ""}, "CHAT_ALLOW_ANONYMOUS"),
        ({"CHAT_OPENAI_BASE_URL": "", "CHAT_GEMINI_BASE_URL": "", "GOOGLE_CLOUD_PROJECT": ""}, "no model in the chain"),
    ],
)
def test_bad_settings_stop_startup_with_a_clear_reason(base_env: dict[str, str], env: dict[str, str], needle: str) -> None:
    proc = spawn({**base_env, **env}, free_port())
    out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    critical = [json.loads(x) for x in out.decode().splitlines() if '"CRITICAL"' in x]
    assert critical and any(needle in p for p in critical[0]["problems"]), out.decode() + err.decode()[-1500:]


def test_port_must_be_a_port(base_env: dict[str, str]) -> None:
    full = {"PATH": os.environ.get("PATH", ""), **base_env, "PORT": "http"}
    proc = subprocess.run([sys.executable, "-m", "chatapp"], env=full, capture_output=True, timeout=30)
    assert proc.returncode == 2 and b"PORT" in proc.stderr


def test_import_is_light(tmp_path: Path) -> None:
    """Importing the ASGI app must not pull in the model SDKs or the Firestore client."""
    code = (
        "import sys, chatapp.main;"
        "heavy=[m for m in ('google.genai','google.cloud.firestore','grpc','openai') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.parametrize("stream", [False, True])
def test_sigterm_while_waiting_for_the_model_answers_503_to_retry_elsewhere(
    base_env: dict[str, str], openai_fake: FakeModelServer, stream: bool
) -> None:
    openai_fake.default = Behaviour(delay_s=20)  # answers long after Cloud Run's SIGKILL
    port = free_port()
    env = {**base_env, "CHAT_PROMPT_VERSION": "slow", "CHAT_ALLOWED_PROMPT_VERSIONS": "slow",
           "CHAT_SHUTDOWN_GRACE_S": "3", "CHAT_REQUEST_DEADLINE_S": "60"}
    proc = spawn(env, port)
    result: dict[str, Any] = {}

    def ask() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/v1/chat/completions",
                     body=json.dumps({"model": "default", "stream": stream, "messages": [{"role": "user", "content": "x"}]}),
                     headers={"Authorization": f"Bearer {KEY_ACME}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        result.update(status=resp.status, retry_after=resp.getheader("Retry-After"), body=json.loads(resp.read()))

    try:
        wait_healthy(proc, port)
        asker = threading.Thread(target=ask, daemon=True)
        asker.start()
        deadline = time.monotonic() + 10
        while not openai_fake.calls() and time.monotonic() < deadline:
            time.sleep(0.02)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        asker.join(10)
        assert proc.wait(10) in (0, -signal.SIGTERM)
        assert time.monotonic() - signalled < 3.5
    finally:
        if proc.poll() is None:
            proc.kill()
    assert result["status"] == 503, result
    assert result["retry_after"] == "1"
    assert result["body"]["error"]["code"] == "shutting_down"


def test_plain_uvicorn_entry_point_reads_settings_at_startup(base_env: dict[str, str]) -> None:
    """`uvicorn chatapp.main:app` (the contract the stacks and the benchmarks use) works too."""
    port = free_port()
    full = {"PATH": os.environ.get("PATH", ""), **base_env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "chatapp.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log"],
        env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(proc, port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/v1/chat/completions",
                     body=json.dumps({"model": "default", "messages": [{"role": "user", "content": "hi"}]}),
                     headers={"Authorization": f"Bearer {KEY_ACME}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["model"] == "primary-model"
    finally:
        proc.terminate()
        proc.wait(15)
    out = proc.stdout.read().decode() if proc.stdout else ""
    lines = [json.loads(x) for x in out.splitlines() if x.strip()]
    assert lines[0]["message"] == "chatapp started"
    assert any(x.get("httpRequest", {}).get("requestUrl") == "/v1/chat/completions" for x in lines)
