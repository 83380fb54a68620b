"""Every bad request is a 4xx in OpenAI's error shape whose `param` names the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest

from conftest import AppServer

OK_MSG = [{"role": "user", "content": "hi"}]


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "default", "messages": OK_MSG, **fields}


CASES: list[tuple[str, Any, str]] = [
    ("no model", {"messages": OK_MSG}, "model"),
    ("model not a string", body(model=123), "model"),
    ("unknown model", body(model="gpt-nope"), "model"),
    ("no messages", {"model": "default"}, "messages"),
    ("messages not a list", body(messages="hi"), "messages"),
    ("empty messages", body(messages=[]), "messages"),
    ("message not an object", body(messages=["hi"]), "messages[0]"),
    ("missing role", body(messages=[{"content": "hi"}]), "messages[0].role"),
    ("unknown role", body(messages=[{"role": "robot", "content": "hi"}]), "messages[0].role"),
    ("content a number", body(messages=[{"role": "user", "content": 5}]), "messages[0].content"),
    ("content missing", body(messages=[{"role": "user"}]), "messages[0].content"),
    ("content part without text", body(messages=[{"role": "user", "content": [{"type": "text"}]}]), "messages[0].content[0].text"),
    ("second message bad", body(messages=[*OK_MSG, {"role": "assistant", "content": None}]), "messages[1].content"),
    ("no user message", body(messages=[{"role": "system", "content": "be nice"}]), "messages"),
    ("temperature too high", body(temperature=5), "temperature"),
    ("top_p negative", body(top_p=-1), "top_p"),
    ("stream not a bool", body(stream="yes"), "stream"),
    ("n above 1", body(n=2), "n"),
    ("max_tokens zero", body(max_tokens=0), "max_tokens"),
    ("max_tokens too large", body(max_tokens=10**7), "max_tokens"),
    ("max_completion_tokens too large", body(max_completion_tokens=10**7), "max_completion_tokens"),
    ("too many stops", body(stop=["a", "b", "c", "d", "e"]), "stop"),
    ("bad conversation id", body(conversation_id="../etc"), "conversation_id"),
    ("unknown prompt version", body(prompt_version="v99"), "prompt_version"),
    ("too many messages", body(messages=OK_MSG * 6), "messages"),
    ("content too long", body(messages=[{"role": "user", "content": "x" * 501}]), "messages[0].content"),
    ("stream_options not an object", body(stream_options=5), "stream_options"),
]


@pytest.fixture
def strict_server(start_app: Callable[..., AppServer]) -> AppServer:
    return start_app(CHAT_MAX_MESSAGES="5", CHAT_MAX_CONTENT_CHARS="500", CHAT_MAX_BODY_BYTES="4096")


def test_each_violation_names_its_field(strict_server: AppServer) -> None:
    failures = []
    for name, payload, param in CASES:
        r = strict_server.call("POST", "/v1/chat/completions", body=payload)
        err = r.json().get("error", {}) if r.body.startswith(b"{") else {}
        if not (400 <= r.status < 500 and err.get("param") == param and err.get("type") and err.get("message")):
            failures.append((name, r.status, r.text[:200]))
    assert failures == []


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b'"text"', "application/json"),
     (b"", "application/json"), (b"model=x", "application/x-www-form-urlencoded")],
)
def test_malformed_bodies_are_400_naming_the_body(strict_server: AppServer, raw: bytes, content_type: str) -> None:
    r = strict_server.call("POST", "/v1/chat/completions", raw=raw, headers={"Content-Type": content_type})
    assert r.status == 400, r.text
    assert r.json()["error"]["param"] == "body"


def test_body_over_the_limit_is_413(strict_server: AppServer) -> None:
    r = strict_server.call("POST", "/v1/chat/completions", body=body(messages=[{"role": "user", "content": "x" * 5000}]))
    assert r.status == 413 and r.json()["error"]["param"] == "body"


def test_sdk_sees_bad_request_with_param(strict_server: AppServer) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        strict_server.client().chat.completions.create(
            model="default", messages=[{"role": "user", "content": "hi"}], temperature=3
        )
    assert err.value.body["param"] == "temperature"  # type: ignore[index]


def test_unknown_fields_are_ignored_and_content_parts_accepted(strict_server: AppServer) -> None:
    r = strict_server.call("POST", "/v1/chat/completions", body=body(
        messages=[{"role": "developer", "content": "be brief"},
                  {"role": "user", "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]}],
        seed=3, metadata={"a": "b"}, logprobs=False,
    ))
    assert r.status == 200, r.text


def test_unknown_route_and_method_use_the_error_shape(strict_server: AppServer) -> None:
    r = strict_server.call("GET", "/v1/nothing")
    assert r.status == 404 and "error" in r.json()
    r = strict_server.call("GET", "/v1/chat/completions")
    assert r.status == 405 and "error" in r.json()
    r = strict_server.call("GET", "/v1/conversations?limit=0")
    assert r.status == 400 and r.json()["error"]["param"] == "limit"
