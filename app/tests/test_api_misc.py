"""Health, readiness, OpenAPI, the user profile and the page route."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatapp.store.sqlite import SqliteStore
from conftest import KEY_GLOBEX, AppServer

USER = [{"role": "user", "content": "hello"}]


class FlakyStore(SqliteStore):
    reachable = True

    async def ping(self) -> None:
        if not self.reachable:
            raise ConnectionError("database is gone")
        await super().ping()


@pytest.mark.parametrize(("health", "ready"), [("/health", "/ready"), ("/healthz", "/readyz")])
def test_health_needs_nothing_and_ready_follows_the_store(
    base_env: dict[str, str], tmp_path: Path, health: str, ready: str
) -> None:
    # /health and /ready are what Cloud Run probes (it reserves some paths ending in z); the z
    # spellings stay for local runs.
    store = FlakyStore(str(tmp_path / "flaky.db"))
    server = AppServer(base_env, store=store).start()
    try:
        assert server.call("GET", health, key=None).json() == {"status": "ok"}
        assert server.call("GET", ready, key=None).status == 200
        store.reachable = False
        assert server.call("GET", ready, key=None).status == 503
        assert server.call("GET", health, key=None).status == 200
        store.reachable = True
        assert server.call("GET", ready, key=None).status == 200
    finally:
        server.stop()


def test_openapi_is_served_and_describes_the_chat_body(app_server: AppServer) -> None:
    spec = app_server.call("GET", "/openapi.json", key=None).json()
    assert "/v1/chat/completions" in spec["paths"]
    assert "ChatRequest" in spec["components"]["schemas"]
    assert app_server.call("GET", "/docs", key=None).status == 200


def test_profile_counts_the_users_messages(app_server: AppServer) -> None:
    client = app_server.client()
    client.chat.completions.create(model="default", messages=USER, user="alice")
    client.chat.completions.create(model="default", messages=USER, user="alice")
    profile = app_server.call("GET", "/v1/profile?user=alice").json()
    assert profile["id"] == "alice" and profile["message_count"] == 2
    assert profile["last_seen"] >= profile["created_at"] > 0
    assert app_server.call("GET", "/v1/profile?user=alice", key=KEY_GLOBEX).status == 404  # other tenant
    assert app_server.call("GET", "/v1/profile?user=bob").status == 404


def test_page_route(app_server: AppServer) -> None:
    page = Path(__file__).resolve().parents[1] / "src" / "chatapp" / "static" / "index.html"
    r = app_server.call("GET", "/", key=None)
    if page.is_file():
        assert r.status == 200 and r.headers["content-type"].startswith("text/html")
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    else:
        assert r.status == 404


class BrokenReads(SqliteStore):
    async def list_conversations(self, tenant: str, limit: int = 50) -> list:  # type: ignore[type-arg]
        raise RuntimeError("disk on fire")


def test_unexpected_failure_is_a_500_in_openai_shape_and_an_error_log_line(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    server = AppServer(base_env, store=BrokenReads(str(tmp_path / "b.db"))).start()
    try:
        r = server.call("GET", "/v1/conversations")
        assert r.status == 500
        assert r.json()["error"]["code"] == "internal_error"
        assert "disk on fire" not in r.text
        line = server.logs.requests("/v1/conversations")[-1]
        assert line["severity"] == "ERROR" and line["error"] == "RuntimeError"
        assert line["httpRequest"]["status"] == 500
    finally:
        server.stop()
