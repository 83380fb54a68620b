"""Acceptance on both stores: the openai SDK talks to the app, streamed and not; the conversation
is then readable through the history API and is really in SQLite / the Firestore emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import openai
import pytest

from chatapp.store.base import Message
from conftest import KEY_ACME, KEY_GLOBEX, AppServer
from fakes import Behaviour, FakeModelServer

if TYPE_CHECKING:
    from store_fixtures import StoreBackend

ANSWER = "Hello there, this is a streamed answer."


def stored_messages(backend: StoreBackend, tenant: str, conv_id: str) -> list[Message]:
    async def read() -> list[Message]:
        store = backend.open()
        await store.start()
        try:
            return await store.get_messages(tenant, conv_id)
        finally:
            await store.close()

    return asyncio.run(read())


def test_chat_history_and_isolation_on_each_store(
    start_app: Callable[..., AppServer], store_backend: StoreBackend, openai_fake: FakeModelServer
) -> None:
    server = start_app(**store_backend.env)
    client = server.client(KEY_ACME)
    raw = client.chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "first question"}]
    )
    conv_id = raw.headers["x-conversation-id"]
    assert raw.parse().choices[0].message.content == f"[primary-model] {ANSWER}"

    openai_fake.push(Behaviour(status=500), Behaviour(status=500))  # the second turn is answered by the fallback
    stream = client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "second question"}], stream=True,
        extra_headers={"X-Conversation-Id": conv_id},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == f"[gemini-main] {ANSWER}"

    history = server.call("GET", f"/v1/conversations/{conv_id}").json()
    assert [(m["role"], m["content"], m["model"]) for m in history["messages"]] == [
        ("user", "first question", None),
        ("assistant", f"[primary-model] {ANSWER}", "primary-model"),
        ("user", "second question", None),
        ("assistant", f"[gemini-main] {ANSWER}", "gemini-main"),
    ]
    assert all(m["prompt_version"] == "t1" for m in history["messages"])
    assert history["messages"][1]["usage"]["completion_tokens"] > 0

    in_store = stored_messages(store_backend, "acme", conv_id)
    assert [(m.role, m.content, m.model, m.prompt_version) for m in in_store] == [
        (m["role"], m["content"], m["model"], m["prompt_version"]) for m in history["messages"]
    ]
    assert stored_messages(store_backend, "globex", conv_id) == []

    assert server.call("GET", f"/v1/conversations/{conv_id}", key=KEY_GLOBEX).status == 404
    with pytest.raises(openai.NotFoundError):
        server.client(KEY_GLOBEX).chat.completions.create(
            model="default", messages=[{"role": "user", "content": "x"}], extra_body={"conversation_id": conv_id}
        )
    assert server.call("DELETE", f"/v1/conversations/{conv_id}", key=KEY_GLOBEX).status == 404
    assert server.call("DELETE", f"/v1/conversations/{conv_id}").status == 200
    assert stored_messages(store_backend, "acme", conv_id) == []
    assert server.call("GET", "/readyz", key=None).status == 200
