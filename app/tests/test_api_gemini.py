"""Gemini through google-genai against the fake Gemini server: request mapping, retries, fallback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import AppServer
from fakes import Behaviour, FakeModelServer

ANSWER = "Hello there, this is a streamed answer."


@pytest.fixture
def gemini_only(start_app: Callable[..., AppServer]) -> AppServer:
    return start_app(CHAT_OPENAI_BASE_URL=None)


def test_request_is_mapped_to_gemini_contents_and_config(gemini_only: AppServer, gemini_fake: FakeModelServer) -> None:
    reply = gemini_only.client().chat.completions.create(
        model="default", temperature=0.1, max_tokens=50, stop=["END"],
        messages=[{"role": "system", "content": "Extra rule."}, {"role": "user", "content": "q1"},
                  {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2"}],
    )
    assert reply.model == "gemini-main" and reply.choices[0].message.content == f"[gemini-main] {ANSWER}"
    assert reply.usage is not None and reply.usage.prompt_tokens == 3
    seen = gemini_fake.calls("gemini-main")[-1]
    assert seen.path.endswith("/models/gemini-main:generateContent")
    assert [c["role"] for c in seen.body["contents"]] == ["user", "model", "user"]
    assert seen.body["systemInstruction"]["parts"][0]["text"] == "You are a test assistant.\n\nExtra rule."
    config = seen.body["generationConfig"]
    assert config["temperature"] == 0.1 and config["maxOutputTokens"] == 50 and config["stopSequences"] == ["END"]


def test_gemini_429_is_retried_then_answered(gemini_only: AppServer, gemini_fake: FakeModelServer) -> None:
    gemini_fake.push(Behaviour(status=429))
    reply = gemini_only.client().chat.completions.create(model="default", messages=[{"role": "user", "content": "x"}])
    assert reply.model == "gemini-main"
    assert len(gemini_fake.calls("gemini-main")) == 2  # max_retries: 1 in configs/t1.yaml


def test_gemini_timeout_falls_back_to_the_fallback_model(gemini_only: AppServer, gemini_fake: FakeModelServer) -> None:
    gemini_fake.push(Behaviour(delay_s=3), Behaviour(delay_s=3))  # timeout_s 2.0, two attempts
    raw = gemini_only.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "x"}]
    )
    assert raw.parse().model == "gemini-lite"
    assert raw.headers["x-fallback-used"] == "true"
    stored = gemini_only.call("GET", f"/v1/conversations/{raw.headers['x-conversation-id']}").json()
    assert stored["messages"][-1]["model"] == "gemini-lite"


def test_gemini_stream(gemini_only: AppServer, gemini_fake: FakeModelServer) -> None:
    stream = gemini_only.client().chat.completions.create(
        model="default", messages=[{"role": "user", "content": "x"}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"[gemini-main] {ANSWER}"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert gemini_fake.calls()[-1].path.endswith(":streamGenerateContent")
