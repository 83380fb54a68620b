"""`python -m chatapp` writes nothing but JSON lines: uvicorn's own startup and shutdown lines too."""

from __future__ import annotations

import json
import logging
import signal

from conftest import free_port
from test_lifecycle import spawn, wait_healthy

from chatapp.logs import JsonLogFormatter


def test_uvicorn_lines_are_json_like_the_apps(base_env: dict[str, str]) -> None:
    port = free_port()
    proc = spawn(base_env, port)
    try:
        wait_healthy(proc, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    lines = [line for line in (stdout + stderr).decode().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # a plain-text line fails here
    assert not [r for r in map(json.loads, stdout.decode().splitlines()) if r.get("logger", "").startswith("uvicorn")]
    server = [r for r in records if r.get("logger", "").startswith("uvicorn")]
    messages = " | ".join(r["message"] for r in server)
    assert "Application startup complete" in messages and "Uvicorn running on" in messages, messages
    assert "Shutting down" in messages or "Finished server process" in messages, messages
    assert all(r["severity"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") for r in server)
    assert any(r.get("httpRequest") for r in records)  # the app's own request line (the health checks)


def test_an_exception_stays_inside_its_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", None,
                                   exc_info=__import__("sys").exc_info())
    line = JsonLogFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["severity"] == "ERROR" and parsed["logger"] == "uvicorn.error"
    assert parsed["message"].startswith("Exception in ASGI application\nTraceback") and "ValueError: boom" in parsed["message"]


def test_a_bad_setting_stops_the_server_with_one_line_and_no_traceback(base_env: dict[str, str]) -> None:
    proc = spawn({**base_env, "CHAT_RATE_TPM": "2e5"}, free_port())
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    text = (stdout + stderr).decode()
    assert "Traceback" not in text, text
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    [critical] = [r for r in records if r["severity"] == "CRITICAL"]
    assert "CHAT_RATE_TPM='2e5' is not an integer: set e.g. CHAT_RATE_TPM=200000" in json.dumps(critical)
    assert any("Application startup failed" in r["message"] for r in records)
