"""Chat completions through the official openai SDK against the app in a real uvicorn server."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from conftest import AppServer
from fakes import FakeModelServer


def test_non_streamed_completion_is_answered_stored_and_readable(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    client = app_server.client()
    raw = client.chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "Hi there"}]
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == "[primary-model] Hello there, this is a streamed answer."
    assert reply.model == "primary-model"
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    conv_id = raw.headers["x-conversation-id"]
    assert raw.headers["x-prompt-version"] == "t1"
    # the system prompt of the active version reached the model
    sent = openai_fake.calls()[-1].body
    assert sent["messages"][0] == {"role": "system", "content": "You are a test assistant."}
    assert sent["temperature"] == 0.5

    history = app_server.call("GET", f"/v1/conversations/{conv_id}").json()
    assert [(m["role"], m["content"]) for m in history["messages"]] == [
        ("user", "Hi there"),
        ("assistant", "[primary-model] Hello there, this is a streamed answer."),
    ]
    assert history["messages"][1]["model"] == "primary-model"
    assert history["messages"][1]["prompt_version"] == "t1"
    listed = app_server.call("GET", "/v1/conversations").json()
    assert [c["id"] for c in listed["data"]] == [conv_id]


def test_streamed_completion_passes_tokens_and_ends_with_done(app_server: AppServer) -> None:
    client = app_server.client()
    stream = client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "stream please"}], stream=True,
        stream_options={"include_usage": True},
    )
    pieces: list[str] = []
    usage = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    assert "".join(pieces) == "[primary-model] Hello there, this is a streamed answer."
    assert len(pieces) > 3
    assert usage is not None and usage.total_tokens > 0

    r = app_server.call(
        "POST", "/v1/chat/completions",
        body={"model": "default", "messages": [{"role": "user", "content": "x"}], "stream": True},
    )
    conv_id = r.headers["x-conversation-id"]
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.rstrip().endswith("data: [DONE]")
    stored = app_server.call("GET", f"/v1/conversations/{conv_id}").json()
    assert stored["messages"][-1]["content"] == "[primary-model] Hello there, this is a streamed answer."


def test_conversation_continues_with_stored_history(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    client = app_server.client()
    first = client.chat.completions.with_raw_response.create(model="default", messages=[{"role": "user", "content": "one"}])
    conv_id = first.headers["x-conversation-id"]
    second = client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "two"}], extra_body={"conversation_id": conv_id}
    )
    assert second.model == "primary-model"
    sent = openai_fake.calls()[-1].body["messages"]
    assert [m["content"] for m in sent[1:]] == ["one", "[primary-model] Hello there, this is a streamed answer.", "two"]
    stored = app_server.call("GET", f"/v1/conversations/{conv_id}").json()
    assert stored["message_count"] == 4
    assert [m["content"] for m in stored["messages"]][::2] == ["one", "two"]


def test_models_lists_the_chain(app_server: AppServer) -> None:
    ids = [m.id for m in app_server.client().models.list()]
    assert ids[0] == "default"
    assert {"primary-model", "gemini-main", "gemini-lite"} <= set(ids)
    assert app_server.client().models.retrieve("gemini-lite").id == "gemini-lite"
    with pytest.raises(openai.NotFoundError):
        app_server.client().models.retrieve("gpt-nope")


def test_requested_model_goes_first(app_server: AppServer, gemini_fake: FakeModelServer) -> None:
    reply = app_server.client().chat.completions.create(model="gemini-lite", messages=[{"role": "user", "content": "hey"}])
    assert reply.model == "gemini-lite"
    assert reply.choices[0].message.content.startswith("[gemini-lite]")
    assert gemini_fake.calls("gemini-lite")


def test_prompt_version_per_request(app_server: AppServer, gemini_fake: FakeModelServer) -> None:
    raw = app_server.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "v2?"}], extra_headers={"X-Prompt-Version": "t2"}
    )
    assert raw.headers["x-prompt-version"] == "t2"
    assert raw.parse().model == "gemini-main"
    body = gemini_fake.calls()[-1].body
    assert body["systemInstruction"]["parts"][0]["text"] == "Answer tersely."
    with pytest.raises(openai.BadRequestError) as err:
        app_server.client().chat.completions.create(
            model="default", messages=[{"role": "user", "content": "x"}], extra_body={"prompt_version": "v9"}
        )
    assert err.value.body["param"] == "prompt_version"  # type: ignore[index]


def test_history_window_starts_with_a_user_turn(start_app: Callable[..., AppServer], openai_fake: FakeModelServer) -> None:
    server = start_app(CHAT_HISTORY_MESSAGES="3")
    client = server.client()
    raw = client.chat.completions.with_raw_response.create(model="default", messages=[{"role": "user", "content": "a"}])
    conv = {"conversation_id": raw.headers["x-conversation-id"]}
    client.chat.completions.create(model="default", messages=[{"role": "user", "content": "b"}], extra_body=conv)
    client.chat.completions.create(model="default", messages=[{"role": "user", "content": "c"}], extra_body=conv)
    sent = openai_fake.calls()[-1].body["messages"]
    # the last 3 stored are [answer a, b, answer b]: the leading answer is dropped
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in sent if m["role"] == "user"] == ["b", "c"]
