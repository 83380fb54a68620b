"""Shared fixtures: fake model servers on loopback and the app in a real uvicorn server."""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import uvicorn

from chatapp.api import create_app
from chatapp.settings import Settings
from fakes import FakeModelServer, fake_servers

pytest_plugins = ["store_fixtures"]  # store_backend (sqlite | Firestore emulator), firestore_emulator

CONFIGS = Path(__file__).parent / "configs"
KEY_ACME = "sk-acme-0123456789abcdef"
KEY_GLOBEX = "sk-globex-0123456789abcdef"
PROJECT = "test-project"


class LogSink(io.TextIOBase):
    """Collects the app's structured log lines (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buf: list[str] = []

    def write(self, s: str) -> int:
        with self._lock:
            self._buf.append(s)
        return len(s)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        with self._lock:
            return "".join(self._buf)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.records()
            if "httpRequest" in r and (path is None or r["httpRequest"]["requestUrl"] == path)
        ]

    def wait_requests(self, path: str | None = None, count: int = 1, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """The access-log lines of ``path`` once there are ``count`` of them: a streamed request's line is
        written when its stream has ended on the server, which may be after the client read the last byte."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.requests(path)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class AppServer:
    def __init__(self, env: dict[str, str], store: Any = None, lean_chat: bool = True) -> None:
        self.env = env
        self.settings = Settings.from_env(env)
        self.logs = LogSink()
        self.port = free_port()
        app = create_app(self.settings, store=store, log_stream=self.logs, env=env, lean_chat=lean_chat)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
            timeout_graceful_shutdown=2, lifespan="on",
            proxy_headers=False,  # as `python -m chatapp`: X-Forwarded-For is the app's to judge
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("app server did not start:\n" + self.logs.text())
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def call(
        self, method: str, path: str, *, key: str | None = KEY_ACME, body: Any = None,
        headers: dict[str, str] | None = None, raw: bytes | None = None,
        extra_headers: list[tuple[str, str]] | None = None, source: str | None = None, timeout: float = 30,
    ) -> Reply:
        """One plain HTTP request (stdlib client), for what the SDK does not expose.
        `extra_headers` may repeat a name (several header lines); `source` binds the client to
        that loopback address (127.0.0.2, ...), a client address of its own."""
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=(source, 0) if source else None
        )
        h = dict(headers or {})
        if key:
            h["Authorization"] = f"Bearer {key}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        conn.putrequest(method, path)
        for name, value in [*h.items(), *(extra_headers or [])]:
            conn.putheader(name, value)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        out = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        conn.close()
        return out

    def client(self, key: str | None = KEY_ACME, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key or "unused", max_retries=0, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def upstreams() -> Iterator[list[FakeModelServer]]:
    yield from fake_servers(2)


@pytest.fixture
def openai_fake(upstreams: list[FakeModelServer]) -> FakeModelServer:
    upstreams[0].reset()
    return upstreams[0]


@pytest.fixture
def gemini_fake(upstreams: list[FakeModelServer]) -> FakeModelServer:
    upstreams[1].reset()
    return upstreams[1]


@pytest.fixture
def base_env(tmp_path: Path, openai_fake: FakeModelServer, gemini_fake: FakeModelServer) -> dict[str, str]:
    return {
        "CHAT_STORE": "sqlite",
        "CHAT_SQLITE_PATH": str(tmp_path / "chat.db"),
        "CHAT_CONFIG_DIR": str(CONFIGS),
        "CHAT_PROMPT_VERSION": "t1",
        "CHAT_ALLOWED_PROMPT_VERSIONS": "t1,t2",
        "CHAT_OPENAI_BASE_URL": openai_fake.base + "/v1",
        "CHAT_OPENAI_MODEL": "primary-model",
        "CHAT_GEMINI_BASE_URL": gemini_fake.base,
        "CHAT_VERTEX_MODEL": "gemini-main",
        "CHAT_FALLBACK_MODEL": "gemini-lite",
        "CHAT_API_KEYS": json.dumps({"acme": KEY_ACME, "globex": KEY_GLOBEX}),
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "CHAT_REQUEST_DEADLINE_S": "10",
        "CHAT_KEEPALIVE_S": "0.3",
    }


@pytest.fixture
def start_app(base_env: dict[str, str]) -> Iterator[Callable[..., AppServer]]:
    servers: list[AppServer] = []

    def start(**overrides: str | None) -> AppServer:
        env = dict(base_env)
        for k, v in overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        server = AppServer(env).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def app_server(start_app: Callable[..., AppServer]) -> AppServer:
    return start_app()
