"""Many conversations at once, and a client that goes away mid-stream."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import KEY_ACME, KEY_GLOBEX, AppServer
from fakes import Behaviour, FakeModelServer


def test_parallel_streams_do_not_mix(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    openai_fake.default = Behaviour(chunk_delay_s=0.01)

    def one(i: int) -> tuple[int, str, str, str]:
        key = KEY_ACME if i % 2 else KEY_GLOBEX
        raw = app_server.client(key).chat.completions.with_raw_response.create(
            model="default", messages=[{"role": "user", "content": f"question {i}"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
        return i, key, raw.headers["x-conversation-id"], text

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(one, range(24)))
    assert len({conv for _, _, conv, _ in results}) == 24
    for i, key, conv, text in results:
        assert text == "[primary-model] Hello there, this is a streamed answer."
        stored = app_server.call("GET", f"/v1/conversations/{conv}", key=key).json()
        assert [m["content"] for m in stored["messages"]][0] == f"question {i}"
        assert stored["message_count"] == 2
    assert len(app_server.call("GET", "/v1/conversations?limit=200", key=KEY_ACME).json()["data"]) == 12


def test_client_gone_mid_stream_keeps_the_partial_answer(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    openai_fake.default = Behaviour(chunk_delay_s=0.3)
    conn = http.client.HTTPConnection("127.0.0.1", app_server.port, timeout=10)
    conn.request("POST", "/v1/chat/completions",
                 body=json.dumps({"model": "default", "stream": True, "messages": [{"role": "user", "content": "bye"}]}),
                 headers={"Authorization": f"Bearer {KEY_ACME}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    conv = resp.getheader("X-Conversation-Id")
    while b"Hello" not in resp.readline():
        pass
    conn.sock.close()  # type: ignore[union-attr]
    conn.close()
    deadline = time.monotonic() + 10
    messages: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        messages = app_server.call("GET", f"/v1/conversations/{conv}").json().get("messages", [])
        if len(messages) == 2:
            break
        time.sleep(0.1)
    assert messages[1]["finish_reason"] == "cancelled"
    content = str(messages[1]["content"])
    assert content.startswith("[primary-model] Hello") and content != "[primary-model] Hello there, this is a streamed answer."
    line = app_server.logs.requests("/v1/chat/completions")[-1]
    assert line["client_disconnected"] is True
