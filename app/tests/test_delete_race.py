"""A conversation deleted while its answer is being generated stays deleted, on both stores
(#18.4): the answer's write finds it gone and writes nothing; the client is told so."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import openai
import pytest

from chatapp.store.base import Conversation, ConversationGone, Message, Store, Turn
from conftest import AppServer
from fakes import Behaviour, FakeModelServer

if TYPE_CHECKING:
    from store_fixtures import StoreBackend

USER = [{"role": "user", "content": "hello"}]


def read_back(backend: StoreBackend, conv_id: str) -> tuple[Conversation | None, list[Message]]:
    async def read() -> tuple[Conversation | None, list[Message]]:
        store = backend.open()
        await store.start()
        try:
            return await store.get_conversation("acme", conv_id), await store.get_messages("acme", conv_id)
        finally:
            await store.close()

    return asyncio.run(read())


def wait_for_call(fake: FakeModelServer, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(fake.calls()) < count:
        assert time.monotonic() < deadline, "the model was never called"
        time.sleep(0.01)


@pytest.mark.parametrize("new", [False, True], ids=["continued", "new"])
def test_deleted_while_streaming_stays_deleted(
    start_app: Callable[..., AppServer], store_backend: StoreBackend, openai_fake: FakeModelServer, new: bool
) -> None:
    server = start_app(**store_backend.env)
    client = server.client()
    extra: dict[str, Any] = {}
    if not new:
        first = client.chat.completions.with_raw_response.create(model="default", messages=USER)
        extra = {"extra_body": {"conversation_id": first.headers["x-conversation-id"]}}
    held = Behaviour(hold_before=3)
    openai_fake.push(held)
    raw = client.chat.completions.with_raw_response.create(model="default", messages=USER, stream=True, **extra)
    conv_id = raw.headers["x-conversation-id"]
    assert server.call("GET", f"/v1/conversations/{conv_id}").status == 200  # stored before the stream
    stream = raw.parse()
    received = [next(iter(stream))]  # the answer is under way
    assert server.call("DELETE", f"/v1/conversations/{conv_id}").status == 200
    held.release.set()
    with pytest.raises(openai.APIError, match="deleted while the answer was generated"):
        received.extend(stream)
    assert server.call("GET", f"/v1/conversations/{conv_id}").status == 404
    assert conv_id not in {c["id"] for c in server.call("GET", "/v1/conversations").json()["data"]}
    assert read_back(store_backend, conv_id) == (None, [])


def test_deleted_while_answering_without_a_stream_is_a_404(
    start_app: Callable[..., AppServer], store_backend: StoreBackend, openai_fake: FakeModelServer
) -> None:
    server = start_app(**store_backend.env)
    client = server.client()
    conv_id = client.chat.completions.with_raw_response.create(model="default", messages=USER).headers[
        "x-conversation-id"
    ]
    held = Behaviour(hold_before=0)
    openai_fake.push(held)
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(r=server.call(
        "POST", "/v1/chat/completions",
        body={"model": "default", "messages": USER, "conversation_id": conv_id})))
    worker.start()
    wait_for_call(openai_fake, 2)  # the history was read, the model is answering
    assert server.call("DELETE", f"/v1/conversations/{conv_id}").status == 200
    held.release.set()
    worker.join(30)
    reply = result["r"]
    assert reply.status == 404 and "deleted while the answer was generated" in reply.json()["error"]["message"]
    assert read_back(store_backend, conv_id) == (None, [])


@pytest.mark.anyio
async def test_a_turn_for_a_deleted_conversation_writes_nothing(store: Store) -> None:
    conv = Conversation(id="c1", tenant="acme", user="alice", prompt_version="v1", created_at=1.0, updated_at=1.0)
    reply = Message(role="assistant", content="late answer", created_at=2.0)
    with pytest.raises(ConversationGone):
        await store.record_turn(Turn(conversation=conv, is_new=False, messages=[reply]))
    assert await store.get_conversation("acme", "c1") is None
    assert await store.get_messages("acme", "c1") == []
    assert await store.get_profile("acme", "alice") is None
    # created, deleted, then a late turn: still gone
    await store.record_turn(Turn(conversation=conv, is_new=True, messages=[]))
    assert await store.delete_conversation("acme", "c1")
    with pytest.raises(ConversationGone):
        await store.record_turn(Turn(conversation=conv, is_new=False, messages=[reply]))
    assert await store.get_conversation("acme", "c1") is None
    assert await store.get_messages("acme", "c1") == []
