"""One contract, two stores: every test here runs on SQLite and on Firestore (the official async
client against the npm emulator), through the `store` / `store_backend` fixtures."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import TYPE_CHECKING, Any

import pytest

from chatapp.store.base import Conversation, Message, Store, Turn
from chatapp.store.firestore import FirestoreStore, doc_id
from chatapp.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from store_fixtures import StoreBackend

pytestmark = pytest.mark.anyio

DAY = 86_400.0


def conversation(cid: str = "c1", tenant: str = "acme", user: str = "alice", at: float = 1_700_000_000.0,
                 title: str = "", prompt_version: str = "v1") -> Conversation:
    return Conversation(id=cid, tenant=tenant, user=user, prompt_version=prompt_version,
                        created_at=at, updated_at=at, title=title)


def exchange(question: str, answer: str, at: float, model: str = "gemini-x", version: str = "v1") -> list[Message]:
    return [
        Message(role="user", content=question, prompt_version=version, created_at=at),
        Message(role="assistant", content=answer, model=model, prompt_version=version, prompt_tokens=11,
                completion_tokens=7, finish_reason="stop", created_at=at + 0.5),
    ]


async def record(store: Store, cid: str, at: float, question: str, answer: str, *, is_new: bool = False,
                 tenant: str = "acme", user: str = "alice", title: str = "") -> None:
    conv = conversation(cid, tenant, user, at, title)
    await store.record_turn(Turn(conversation=conv, is_new=is_new, messages=exchange(question, answer, at)))


async def test_a_recorded_turn_reads_back_field_for_field(store: Store) -> None:
    conv = conversation("c1", at=1_700_000_000.25, title="Greetings")
    messages = exchange("hello?", "hi there", 1_700_000_000.25, model="llama-3")
    messages.append(Message(role="assistant", content="cut", model="gemini-2", prompt_version="v2",
                            prompt_tokens=3, completion_tokens=0, finish_reason="length", created_at=1_700_000_001.0))
    await store.record_turn(Turn(conversation=conv, is_new=True, messages=messages))

    got = await store.get_conversation("acme", "c1")
    assert got == Conversation(id="c1", tenant="acme", user="alice", prompt_version="v1",
                               created_at=1_700_000_000.25, updated_at=1_700_000_000.25, title="Greetings",
                               message_count=3)
    assert await store.get_messages("acme", "c1") == messages
    await store.ping()


async def test_later_turns_append_in_order_and_bump_the_conversation(store: Store) -> None:
    await record(store, "c1", 1000.0, "q1", "a1", is_new=True, title="First question")
    await record(store, "c1", 2000.0, "q2", "a2")
    await record(store, "c1", 3000.0, "q3", "a3")

    contents = [m.content for m in await store.get_messages("acme", "c1")]
    assert contents == ["q1", "a1", "q2", "a2", "q3", "a3"]
    got = await store.get_conversation("acme", "c1")
    assert got is not None
    assert (got.created_at, got.updated_at, got.message_count, got.title) == (1000.0, 3000.0, 6, "First question")


async def test_message_limit_returns_the_most_recent_oldest_first(store: Store) -> None:
    for i in range(4):
        await record(store, "c1", 1000.0 + i, f"q{i}", f"a{i}", is_new=i == 0)
    assert [m.content for m in await store.get_messages("acme", "c1", limit=3)] == ["a2", "q3", "a3"]
    assert [m.content for m in await store.get_messages("acme", "c1", limit=1)] == ["a3"]
    assert len(await store.get_messages("acme", "c1", limit=100)) == 8
    assert await store.get_messages("acme", "c1", limit=0) == []
    with pytest.raises(ValueError, match="limit"):
        await store.get_messages("acme", "c1", limit=-1)
    assert await store.get_messages("acme", "missing") == []


async def test_conversations_list_most_recent_first_with_a_limit(store: Store) -> None:
    await record(store, "old", 1000.0, "q", "a", is_new=True)
    await record(store, "new", 3000.0, "q", "a", is_new=True)
    await record(store, "mid", 2000.0, "q", "a", is_new=True)
    assert [c.id for c in await store.list_conversations("acme")] == ["new", "mid", "old"]
    await record(store, "old", 4000.0, "again", "yes")
    assert [c.id for c in await store.list_conversations("acme")] == ["old", "new", "mid"]
    assert [c.id for c in await store.list_conversations("acme", limit=2)] == ["old", "new"]
    assert await store.list_conversations("acme", limit=0) == []
    assert await store.list_conversations("nobody") == []


async def test_another_tenant_sees_nothing_and_cannot_delete(store: Store) -> None:
    await record(store, "shared-id", 1000.0, "secret question", "secret answer", is_new=True, tenant="acme")

    assert await store.get_conversation("globex", "shared-id") is None
    assert await store.get_messages("globex", "shared-id") == []
    assert await store.list_conversations("globex") == []
    assert await store.get_profile("globex", "alice") is None
    assert await store.delete_conversation("globex", "shared-id") is False

    # the same conversation id in another tenant is a different conversation
    await record(store, "shared-id", 2000.0, "theirs", "ok", is_new=True, tenant="globex")
    assert [m.content for m in await store.get_messages("acme", "shared-id")] == ["secret question", "secret answer"]
    assert [m.content for m in await store.get_messages("globex", "shared-id")] == ["theirs", "ok"]
    acme = await store.get_conversation("acme", "shared-id")
    assert acme is not None and acme.message_count == 2 and acme.updated_at == 1000.0


async def test_delete_removes_the_conversation_and_its_messages(store: Store) -> None:
    await record(store, "gone", 1000.0, "q", "a", is_new=True)
    await record(store, "gone", 2000.0, "q2", "a2")
    await record(store, "kept", 1500.0, "q", "a", is_new=True)

    assert await store.delete_conversation("acme", "gone") is True
    assert await store.get_conversation("acme", "gone") is None
    assert await store.get_messages("acme", "gone") == []
    assert [c.id for c in await store.list_conversations("acme")] == ["kept"]
    assert await store.delete_conversation("acme", "gone") is False
    assert len(await store.get_messages("acme", "kept")) == 2

    # an id used again after deletion starts from scratch
    await record(store, "gone", 3000.0, "fresh", "start", is_new=True)
    got = await store.get_conversation("acme", "gone")
    assert got is not None and got.message_count == 2
    assert [m.content for m in await store.get_messages("acme", "gone")] == ["fresh", "start"]


async def test_profile_counts_the_users_messages_and_tracks_first_and_last_seen(store: Store) -> None:
    assert await store.get_profile("acme", "alice") is None
    await record(store, "c1", 1000.0, "q1", "a1", is_new=True)
    await record(store, "c2", 2000.0, "q2", "a2", is_new=True)
    await record(store, "c1", 3000.0, "q3", "a3")
    await record(store, "c3", 2500.0, "q", "a", is_new=True, user="bob")

    alice = await store.get_profile("acme", "alice")
    assert alice is not None
    assert (alice.tenant, alice.user, alice.created_at, alice.last_seen, alice.message_count) == (
        "acme", "alice", 1000.0, 3000.0, 3)
    bob = await store.get_profile("acme", "bob")
    assert bob is not None and (bob.created_at, bob.message_count) == (2500.0, 1)


async def test_concurrent_turns_lose_no_message_and_no_count(store: Store) -> None:
    await record(store, "busy", 1000.0, "start", "ok", is_new=True)
    turns = [record(store, "busy", 1001.0 + i, f"q{i}", f"a{i}") for i in range(25)]
    await asyncio.gather(*turns)

    messages = await store.get_messages("acme", "busy")
    assert len(messages) == 52
    assert sorted(m.content for m in messages[2:] if m.role == "user") == sorted(f"q{i}" for i in range(25))
    # each turn's question is directly followed by its own answer
    for question, answer in zip(messages[::2], messages[1::2], strict=True):
        assert (question.role, answer.role) == ("user", "assistant")
        assert answer.content == "a" + question.content[1:] or (question.content, answer.content) == ("start", "ok")
    conv = await store.get_conversation("acme", "busy")
    assert conv is not None and conv.message_count == 52
    profile = await store.get_profile("acme", "alice")
    assert profile is not None and profile.message_count == 26


async def test_ids_firestore_would_reject_are_stored_safely(store: Store) -> None:
    odd_tenant, odd_user = "partner/one", "__reserved__"
    await record(store, "__c__", 1000.0, "q", "a", is_new=True, tenant=odd_tenant, user=odd_user)
    await record(store, "plain", 1000.0, "q", "a", is_new=True, tenant="partner", user="one")

    got = await store.get_conversation(odd_tenant, "__c__")
    assert got is not None and (got.tenant, got.user, got.id) == (odd_tenant, odd_user, "__c__")
    assert [c.id for c in await store.list_conversations(odd_tenant)] == ["__c__"]
    assert [c.id for c in await store.list_conversations("partner")] == ["plain"]
    profile = await store.get_profile(odd_tenant, odd_user)
    assert profile is not None and profile.user == odd_user
    assert await store.delete_conversation(odd_tenant, "__c__") is True


async def _raw_expiry(backend: StoreBackend, store: Store, tenant: str, cid: str) -> tuple[list[Any], list[Any]]:
    """expire_at of the conversation and of each message, read underneath the store."""
    if isinstance(store, SqliteStore):
        assert backend.sqlite_path is not None
        with sqlite3.connect(backend.sqlite_path) as c:
            conv = [r[0] for r in c.execute("SELECT expire_at FROM conversations WHERE tenant=? AND id=?", (tenant, cid))]
            msgs = [r[0] for r in c.execute(
                "SELECT expire_at FROM messages WHERE tenant=? AND conversation_id=? ORDER BY seq", (tenant, cid))]
        return conv, msgs
    assert isinstance(store, FirestoreStore)
    ref = store.client.collection("tenants").document(doc_id(tenant)).collection("conversations").document(cid)
    snap = await ref.get()
    conv_data = snap.to_dict() or {}
    msgs = [(s.to_dict() or {}).get("expire_at") async for s in ref.collection("messages").stream()]
    return [conv_data.get("expire_at")], msgs


def _epoch(value: Any) -> float:
    return value if isinstance(value, float) else value.timestamp()


@pytest.mark.parametrize("ttl_days", [None, 0, 30])
async def test_expire_at_is_set_exactly_when_a_ttl_is_configured(store_backend: StoreBackend,
                                                                  ttl_days: int | None) -> None:
    store = store_backend.open(ttl_days=ttl_days)
    await store.start()
    try:
        before = time.time()
        await record(store, "c1", before, "q", "a", is_new=True)
        conv, msgs = await _raw_expiry(store_backend, store, "acme", "c1")
        assert len(conv) == 1 and len(msgs) == 2
        if not ttl_days:
            assert conv == [None] and msgs == [None, None]
        else:
            for value in conv + msgs:
                assert before + ttl_days * DAY - 5 <= _epoch(value) <= time.time() + ttl_days * DAY + 5
    finally:
        await store.close()


async def test_data_survives_closing_and_reopening_the_store(store_backend: StoreBackend) -> None:
    first = store_backend.open()
    await first.start()
    await record(first, "c1", 1000.0, "persist me", "done", is_new=True)
    await first.close()

    second = store_backend.open()
    await second.start()
    try:
        assert [m.content for m in await second.get_messages("acme", "c1")] == ["persist me", "done"]
    finally:
        await second.close()


async def test_using_a_store_before_start_says_what_to_do(store_backend: StoreBackend) -> None:
    with pytest.raises(RuntimeError, match=r"start\(\)"):
        await store_backend.open().get_conversation("acme", "c1")


@pytest.mark.parametrize("ttl_days", [-1])
def test_a_negative_ttl_is_refused_naming_the_setting(ttl_days: int) -> None:
    with pytest.raises(ValueError, match="ttl_days"):
        SqliteStore(":memory:", ttl_days=ttl_days)
    with pytest.raises(ValueError, match="ttl_days"):
        FirestoreStore("p", "(default)", ttl_days=ttl_days)
    with pytest.raises(ValueError, match="GOOGLE_CLOUD_PROJECT"):
        FirestoreStore("", "(default)", ttl_days=None)


# -- backend-specific details ---------------------------------------------------------------


async def test_sqlite_uses_wal_and_purges_expired_rows(tmp_path: Any) -> None:
    path = str(tmp_path / "nested" / "chat.db")
    store = SqliteStore(path, ttl_days=1)
    await store.start()
    try:
        await record(store, "c1", time.time(), "q", "a", is_new=True)
        assert await store.purge_expired() == 0
        assert await store.purge_expired(now=time.time() + 2 * DAY) == 3  # 2 messages + the conversation
        assert await store.get_conversation("acme", "c1") is None
    finally:
        await store.close()
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_refuses_a_database_from_a_newer_app(tmp_path: Any) -> None:
    path = str(tmp_path / "chat.db")
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA user_version=99")
    store = SqliteStore(path)
    with pytest.raises(RuntimeError, match="schema version 99"):
        await store.start()


async def test_firestore_deletes_conversations_larger_than_one_batch(firestore_store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chatapp.store.firestore.BATCH_LIMIT", 4)  # pages of 3 messages
    for i in range(5):
        await record(firestore_store, "long", 1000.0 + i, f"q{i}", f"a{i}", is_new=i == 0)
    assert await firestore_store.delete_conversation("acme", "long") is True
    assert await firestore_store.get_messages("acme", "long") == []
    assert await firestore_store.get_conversation("acme", "long") is None


async def test_firestore_layout_keeps_tenants_in_their_own_subtree(firestore_store: Store) -> None:
    assert isinstance(firestore_store, FirestoreStore)
    await record(firestore_store, "c1", 1000.0, "q", "a", is_new=True)
    tenant = firestore_store.client.collection("tenants").document("acme")
    conv = await tenant.collection("conversations").document("c1").get()
    assert conv.exists and (conv.to_dict() or {})["message_count"] == 2
    messages = [s async for s in tenant.collection("conversations").document("c1").collection("messages").stream()]
    assert [(s.to_dict() or {})["role"] for s in sorted(messages, key=lambda s: s.id)] == ["user", "assistant"]
    profile = await tenant.collection("profiles").document("alice").get()
    assert profile.exists and (profile.to_dict() or {})["message_count"] == 1
