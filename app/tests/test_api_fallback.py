"""Retries, fallback to the next model, circuit breaking, and failures the client sees."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from conftest import AppServer
from fakes import Behaviour, FakeModelServer

ANSWER = "Hello there, this is a streamed answer."
USER = [{"role": "user", "content": "hello"}]


def stored_reply(server: AppServer, conv_id: str) -> dict[str, object]:
    messages = server.call("GET", f"/v1/conversations/{conv_id}").json()["messages"]
    return dict(messages[-1])


def test_fallback_on_500_is_served_and_stored_with_the_model_that_answered(
    app_server: AppServer, openai_fake: FakeModelServer, gemini_fake: FakeModelServer
) -> None:
    openai_fake.default = Behaviour(status=500)
    raw = app_server.client().chat.completions.with_raw_response.create(model="default", messages=USER)
    reply = raw.parse()
    assert reply.model == "gemini-main"
    assert reply.choices[0].message.content == f"[gemini-main] {ANSWER}"
    assert raw.headers["x-fallback-used"] == "true"
    assert len(openai_fake.calls()) == 2  # first attempt + one retry (max_retries: 1) before falling back
    stored = stored_reply(app_server, raw.headers["x-conversation-id"])
    assert stored["model"] == "gemini-main"
    assert stored["content"] == f"[gemini-main] {ANSWER}"
    line = app_server.logs.requests("/v1/chat/completions")[-1]
    assert line["fallback_used"] is True and line["model"] == "gemini-main" and line["attempts"] == 3


def test_fallback_on_timeout(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    openai_fake.default = Behaviour(delay_s=3.0)  # the t1 primary has timeout_s 1.0
    raw = app_server.client().chat.completions.with_raw_response.create(model="default", messages=USER)
    assert raw.parse().model == "gemini-main"
    assert stored_reply(app_server, raw.headers["x-conversation-id"])["model"] == "gemini-main"


def test_streamed_fallback_on_500(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    openai_fake.default = Behaviour(status=503)
    stream = app_server.client().chat.completions.with_raw_response.create(model="default", messages=USER, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream.parse() if c.choices)
    assert text == f"[gemini-main] {ANSWER}"
    assert stored_reply(app_server, stream.headers["x-conversation-id"])["model"] == "gemini-main"



def test_retry_after_429_on_the_same_upstream(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    openai_fake.push(Behaviour(status=429, retry_after="0"))
    reply = app_server.client().chat.completions.create(model="default", messages=USER)
    assert reply.model == "primary-model"
    assert len(openai_fake.calls()) == 2


def test_circuit_breaker_skips_a_dead_upstream(
    start_app: Callable[..., AppServer], openai_fake: FakeModelServer
) -> None:
    server = start_app(CHAT_BREAKER_FAILURES="2", CHAT_BREAKER_COOLDOWN_S="60")
    openai_fake.default = Behaviour(status=500)
    client = server.client()
    assert client.chat.completions.create(model="default", messages=USER).model == "gemini-main"
    assert len(openai_fake.calls()) == 2  # the breaker opened after these two failures
    for _ in range(3):
        assert client.chat.completions.create(model="default", messages=USER).model == "gemini-main"
    assert len(openai_fake.calls()) == 2  # skipped without being called
    line = server.logs.requests("/v1/chat/completions")[-1]
    assert line["fallback_used"] is True and line["attempts"] == 1


def test_breaker_lets_a_probe_through_after_cooldown(
    start_app: Callable[..., AppServer], openai_fake: FakeModelServer
) -> None:
    server = start_app(CHAT_BREAKER_FAILURES="2", CHAT_BREAKER_COOLDOWN_S="0.3")
    openai_fake.push(Behaviour(status=500), Behaviour(status=500))
    client = server.client()
    assert client.chat.completions.create(model="default", messages=USER).model == "gemini-main"
    import time

    time.sleep(0.4)
    assert client.chat.completions.create(model="default", messages=USER).model == "primary-model"


def test_every_model_failing_is_a_5xx_in_openai_shape(
    app_server: AppServer, openai_fake: FakeModelServer, gemini_fake: FakeModelServer
) -> None:
    openai_fake.default = Behaviour(status=500)
    gemini_fake.default = Behaviour(status=500)
    with pytest.raises(openai.InternalServerError) as err:
        app_server.client().chat.completions.create(model="default", messages=USER)
    assert err.value.status_code == 502
    assert err.value.body["code"] == "upstream_error"  # type: ignore[index]
    # nothing was answered, so nothing was stored
    assert app_server.call("GET", "/v1/conversations").json()["data"] == []


def test_overall_deadline_gives_504(start_app: Callable[..., AppServer], openai_fake: FakeModelServer, gemini_fake: FakeModelServer) -> None:
    server = start_app(CHAT_REQUEST_DEADLINE_S="1.5")
    openai_fake.default = Behaviour(delay_s=5)
    gemini_fake.default = Behaviour(delay_s=5)
    with pytest.raises(openai.APIStatusError) as err:
        server.client().chat.completions.create(model="default", messages=USER)
    assert err.value.status_code == 504


def test_stream_cut_after_tokens_ends_with_an_error_event_and_keeps_the_partial_answer(
    app_server: AppServer, openai_fake: FakeModelServer
) -> None:
    openai_fake.push(Behaviour(cut_after=3))
    r = app_server.call("POST", "/v1/chat/completions", body={"model": "default", "messages": USER, "stream": True})
    assert r.status == 200
    assert '"error"' in r.text and "[DONE]" not in r.text
    stored = stored_reply(app_server, r.headers["x-conversation-id"])
    assert stored["finish_reason"] == "error"
    assert stored["content"] == "[primary-model] Hello there,"
    with pytest.raises(openai.APIError):
        openai_fake.push(Behaviour(cut_after=2))
        for _ in app_server.client().chat.completions.create(model="default", messages=USER, stream=True):
            pass


def test_gemini_stream_cut_before_first_token_falls_back(
    start_app: Callable[..., AppServer], gemini_fake: FakeModelServer
) -> None:
    server = start_app(CHAT_OPENAI_BASE_URL=None)  # Gemini only: gemini-main, then gemini-lite
    gemini_fake.push(Behaviour(cut_after=0), Behaviour(cut_after=0))
    stream = server.client().chat.completions.create(model="default", messages=USER, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == f"[gemini-lite] {ANSWER}"


def test_keepalive_comments_while_the_model_is_slow(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    openai_fake.push(Behaviour(chunk_delay_s=0.5))  # CHAT_KEEPALIVE_S is 0.3 in the tests
    r = app_server.call("POST", "/v1/chat/completions", body={"model": "default", "messages": USER, "stream": True})
    assert ": keep-alive" in r.text
    assert r.text.rstrip().endswith("data: [DONE]")
