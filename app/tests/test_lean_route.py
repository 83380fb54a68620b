"""The lean chat route (chatapp/lean.py) answers exactly as the FastAPI route it bypasses: the
same status, error body and headers for a set of bad requests, the same shape for good ones, and
the chat path still goes through the access log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import KEY_ACME, AppServer
from test_api_validation import CASES, OK_MSG

GOOD = {"model": "default", "messages": OK_MSG}
GOOD_RAW = json.dumps(GOOD).encode()

RAW: list[tuple[str, bytes, dict[str, str], str | None]] = [
    ("not json", b"{not json", {"Content-Type": "application/json"}, KEY_ACME),
    ("a list", b"[1, 2]", {"Content-Type": "application/json"}, KEY_ACME),
    ("a string", b'"text"', {"Content-Type": "application/json"}, KEY_ACME),
    ("null", b"null", {"Content-Type": "application/json"}, KEY_ACME),
    ("empty", b"", {"Content-Type": "application/json"}, KEY_ACME),
    ("form", b"model=x", {"Content-Type": "application/x-www-form-urlencoded"}, KEY_ACME),
    ("text/plain good json", GOOD_RAW, {"Content-Type": "text/plain"}, KEY_ACME),
    ("+json subtype", GOOD_RAW, {"Content-Type": "application/vnd.api+json"}, KEY_ACME),
    ("json with charset", GOOD_RAW, {"Content-Type": "application/json; charset=utf-8"}, KEY_ACME),
    ("NaN temperature", b'{"model":"default","messages":[{"role":"user","content":"hi"}],"temperature":NaN}',
     {"Content-Type": "application/json"}, KEY_ACME),
    ("huge int", b'{"model":"default","messages":[{"role":"user","content":"hi"}],"max_tokens":' + b"9" * 30 + b"}",
     {"Content-Type": "application/json"}, KEY_ACME),
    ("utf-8 BOM", b"\xef\xbb\xbf" + GOOD_RAW, {"Content-Type": "application/json"}, KEY_ACME),
    ("lone surrogate", b'{"model":"default","messages":[{"role":"user","content":"a\\ud800b"}]}',
     {"Content-Type": "application/json"}, KEY_ACME),
    ("invalid utf-8", b'{"model":"default","messages":[{"role":"user","content":"\xff"}]}',
     {"Content-Type": "application/json"}, KEY_ACME),
    ("duplicate keys", b'{"model":"nope","model":"default","messages":[{"role":"user","content":"hi"}]}',
     {"Content-Type": "application/json"}, KEY_ACME),
    ("over the body limit", json.dumps({**GOOD, "messages": [{"role": "user", "content": "x" * 5000}]}).encode(),
     {"Content-Type": "application/json"}, KEY_ACME),
    ("bad key, good body", GOOD_RAW, {"Content-Type": "application/json"}, "sk-wrong"),
    ("no key, good body", GOOD_RAW, {"Content-Type": "application/json"}, None),
    ("bad key, bad json", b"{oops", {"Content-Type": "application/json"}, "sk-wrong"),
    ("bad key, bad field", b'{"model":"default","messages":[]}', {"Content-Type": "application/json"}, "sk-wrong"),
]
HEADERS = ("content-type", "retry-after", "x-ratelimit-limit-requests")


@pytest.fixture
def pair(base_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[AppServer, AppServer]]:
    strict = {"CHAT_MAX_MESSAGES": "5", "CHAT_MAX_CONTENT_CHARS": "500", "CHAT_MAX_BODY_BYTES": "4096"}
    lean = AppServer({**base_env, **strict, "CHAT_SQLITE_PATH": str(tmp_path / "lean.db")}).start()
    full = AppServer({**base_env, **strict, "CHAT_SQLITE_PATH": str(tmp_path / "full.db")}, lean_chat=False).start()
    try:
        yield lean, full
    finally:
        lean.stop()
        full.stop()


def _seen(server: AppServer, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    r = server.call("POST", "/v1/chat/completions", **kwargs)
    body = _shape(r.json()) if r.body.startswith(b"{") else r.text
    return r.status, body, {h: r.headers[h] for h in HEADERS if h in r.headers}


def test_bad_requests_get_the_same_answer_from_both_routes(pair: tuple[AppServer, AppServer]) -> None:
    lean, full = pair
    differences = []
    for name, payload, _ in CASES:
        a, b = _seen(lean, body=payload), _seen(full, body=payload)
        if a != b or a[0] < 400:
            differences.append((name, a, b))
    for name, raw, headers, key in RAW:
        a, b = _seen(lean, raw=raw, headers=headers, key=key), _seen(full, raw=raw, headers=headers, key=key)
        if a != b:
            differences.append((name, a, b))
    assert differences == []


def _shape(value: Any) -> Any:
    """The answer with its per-request ids and times blanked."""
    if isinstance(value, dict):
        return {k: "*" if k in ("id", "created", "conversation_id") else _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value


def test_good_requests_get_the_same_answer_from_both_routes(pair: tuple[AppServer, AppServer]) -> None:
    lean, full = pair
    for payload in (GOOD, {**GOOD, "stream": True, "stream_options": {"include_usage": True}}):
        a, b = lean.call("POST", "/v1/chat/completions", body=payload), full.call("POST", "/v1/chat/completions", body=payload)
        assert a.status == b.status == 200
        if payload.get("stream"):
            parse = lambda r: [_shape(json.loads(x[6:])) if x != "data: [DONE]" else x  # noqa: E731
                               for x in r.text.split("\n\n") if x.startswith("data: ")]
            assert parse(a) == parse(b) and parse(a)[-1] == "data: [DONE]"
        else:
            assert _shape(a.json()) == _shape(b.json())
        same = ("content-type", "x-model", "x-prompt-version", "x-fallback-used", "x-ratelimit-limit-requests")
        assert {h: a.headers.get(h) for h in same} == {h: b.headers.get(h) for h in same}
    for server in pair:  # both wrote their access-log line for each chat request (once the stream ended)
        deadline = time.monotonic() + 5
        while len(server.logs.requests("/v1/chat/completions")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        lines = server.logs.requests("/v1/chat/completions")
        assert len(lines) == 2 and all(x.get("stored") is True for x in lines)


def _drive(_: Any, body: bytes, content_type: bytes = b"application/json") -> list[str]:
    """Runs one request through the ASGI layer alone; returns who answered."""
    import asyncio

    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        data = b""
        while True:  # FastAPI's route must get the whole body again
            message = await receive()
            data += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append("fastapi:" + data.decode())

    async def handler(request: Any, parsed: Any) -> Any:
        from starlette.responses import Response

        seen.append("lean:" + parsed.model)
        return Response(b"{}", media_type="application/json")

    async def main() -> None:
        from chatapp.lean import LeanChat

        app = LeanChat(inner, handler, lambda exc: None, lambda exc: None)  # type: ignore[arg-type,return-value]
        chunks = [body[:5], body[5:]]
        messages = [{"type": "http.request", "body": c, "more_body": i == 0} for i, c in enumerate(chunks)]

        async def receive() -> Any:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            return None

        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
                 "headers": [(b"content-type", content_type)], "query_string": b""}
        await app(scope, receive, send)

    asyncio.run(main())
    return seen


def test_well_formed_requests_take_the_lean_path_and_others_reach_fastapi_with_their_body() -> None:
    assert _drive(None, GOOD_RAW) == ["lean:default"]
    assert _drive(None, b'{"model": ""}') == ['fastapi:{"model": ""}']
    assert _drive(None, GOOD_RAW, b"text/plain") == ["fastapi:" + GOOD_RAW.decode()]  # not read here at all
