"""A store that is down or hangs: bounded answers, 503 + Retry-After, and nothing acknowledged
that was not stored (#18.2, #18.3). The last test stops and restarts the Firestore emulator
(and pauses it) under load from several clients.

No timed assertions: "bounded" means every request is answered well before its client gives up
(30 s), with the store bound at 0.5-1 s; the code before this bound waited minutes.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest

from chatapp.store.base import Conversation, ConversationGone, Message, Profile, StoreUnavailable, Turn
from chatapp.store.firestore import FirestoreStore
from chatapp.store.guard import GuardedStore
from chatapp.store.sqlite import SqliteStore
from conftest import KEY_ACME, AppServer
from fakes import FakeModelServer
from store_fixtures import Emulator, start_emulator

USER = [{"role": "user", "content": "hello"}]


class HangingStore(SqliteStore):
    """Answers normally until `hang` is set; then every call waits for ever (a paused database)."""

    hang = False

    async def _run(self, fn: Any) -> Any:
        if self.hang:
            await asyncio.sleep(3600)
        return await super()._run(fn)


class FailingWrites(SqliteStore):
    """record_turn raises `error` while it is set; reads work."""

    error: BaseException | None = None

    async def record_turn(self, turn: Turn) -> None:
        if self.error is not None:
            raise self.error
        await super().record_turn(turn)


def chat(server: AppServer, *, stream: bool = False, conversation: str | None = None, content: str = "hello") -> Any:
    body: dict[str, Any] = {"model": "default", "messages": [{"role": "user", "content": content}], "stream": stream}
    if conversation:
        body["conversation_id"] = conversation
    return server.call("POST", "/v1/chat/completions", body=body)


def assert_store_unavailable(reply: Any) -> None:
    assert reply.status == 503, reply.text
    assert int(reply.headers["retry-after"]) >= 1
    assert reply.json()["error"]["code"] == "store_unavailable"
    assert "x-conversation-id" not in reply.headers


def test_a_hanging_store_is_a_bounded_503_everywhere_and_recovers(base_env: dict[str, str], tmp_path: Path) -> None:
    store = HangingStore(str(tmp_path / "hang.db"))
    server = AppServer({**base_env, "CHAT_STORE_TIMEOUT_S": "0.5"}, store=store).start()
    try:
        before = chat(server)
        assert before.status == 200
        kept = before.headers["x-conversation-id"]
        store.hang = True
        assert_store_unavailable(server.call("GET", "/v1/conversations"))
        assert_store_unavailable(server.call("GET", f"/v1/conversations/{kept}"))
        assert_store_unavailable(server.call("DELETE", f"/v1/conversations/{kept}"))
        assert_store_unavailable(server.call("GET", "/v1/profile"))
        assert_store_unavailable(chat(server))  # new conversation: its write
        assert_store_unavailable(chat(server, stream=True))  # new and streamed: created before the stream
        assert_store_unavailable(chat(server, conversation=kept))  # reading the history
        assert server.call("GET", "/readyz", key=None).status == 503
        line = server.logs.requests("/v1/chat/completions")[-1]
        assert line["severity"] == "ERROR" and line["httpRequest"]["status"] == 503

        store.hang = False
        deadline = time.monotonic() + 20
        while server.call("GET", "/v1/conversations").status != 200:  # the guard's cooldown
            assert time.monotonic() < deadline, "the store did not come back"
            time.sleep(0.2)
        listed = server.call("GET", "/v1/conversations").json()["data"]
        assert [c["id"] for c in listed] == [kept]  # nothing of the outage half-written
        assert chat(server, conversation=kept).status == 200
    finally:
        store.hang = False
        server.stop()


def test_a_failed_write_is_never_acknowledged(base_env: dict[str, str], tmp_path: Path) -> None:
    store = FailingWrites(str(tmp_path / "w.db"))
    server = AppServer({**base_env, "CHAT_STORE_TIMEOUT_S": "2"}, store=store).start()
    try:
        existing = chat(server).headers["x-conversation-id"]
        store.error = ConnectionError("database connection reset")

        reply = chat(server)  # a new conversation whose turn cannot be written
        assert_store_unavailable(reply)
        line = server.logs.requests("/v1/chat/completions")[-1]
        assert line["stored"] is False and line["store_error"] == "StoreUnavailable" and line["severity"] == "ERROR"

        # streamed, continuing a conversation: the answer streams, then the write fails, and the
        # stream ends with an error event instead of [DONE]
        stream = server.client().chat.completions.create(
            model="default", messages=USER, stream=True, extra_body={"conversation_id": existing}
        )
        received: list[str] = []
        with pytest.raises(openai.APIError, match="could not be stored"):
            for part in stream:
                received.extend(c.delta.content or "" for c in part.choices)
        assert "".join(received).startswith("[primary-model]")
        raw = chat(server, stream=True, conversation=existing)
        assert b"store_unavailable" in raw.body and b"[DONE]" not in raw.body

        store.error = RuntimeError("a bug in the store")  # not an outage: a 500, still no 200
        reply = chat(server)
        assert reply.status == 500 and "x-conversation-id" not in reply.headers

        store.error = None
        listed = server.call("GET", "/v1/conversations").json()["data"]
        assert [c["id"] for c in listed] == [existing]
        assert listed[0]["message_count"] == 2  # the first turn only
    finally:
        server.stop()


class _Inner:
    """A store whose calls fail with `error` (or succeed) on demand, for the guard alone."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.calls = 0

    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return None


@pytest.mark.anyio
async def test_guard_skips_a_store_that_keeps_failing_and_passes_other_errors_through() -> None:
    inner = _Inner()
    guard = GuardedStore(inner, 1.0, failures=3, cooldown_s=0.2)  # type: ignore[arg-type]
    inner.error = ConnectionRefusedError()
    for _ in range(3):
        with pytest.raises(StoreUnavailable):
            await guard.get_conversation("t", "c")
    with pytest.raises(StoreUnavailable, match="skipped"):
        await guard.get_conversation("t", "c")
    assert inner.calls == 3  # open: not called at all
    await asyncio.sleep(0.25)
    inner.error = None
    assert await guard.get_conversation("t", "c") is None  # the probe closes it
    inner.error = ConversationGone("c")
    for _ in range(5):  # an answer, not an outage: passed through and never opens the circuit
        with pytest.raises(ConversationGone):
            await guard.get_conversation("t", "c")
    assert not guard.is_open


# --- the Firestore emulator stopped, restarted and paused under load ---------------------------

@dataclass
class Outcome:
    kind: str  # "new" | "continue"
    stream: bool
    content: str
    started: float
    status: int = 0
    conversation: str | None = None
    reply: str = ""
    acknowledged: bool = False  # 200 JSON, or a stream that ended with [DONE]
    error: str | None = None
    retry_after: str | None = None


@dataclass
class Load:
    server: AppServer
    workers: int = 4
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    crashed: list[BaseException] = field(default_factory=list)

    def run(self) -> Iterator[None]:
        threads = [threading.Thread(target=self._worker, args=(i,), daemon=True) for i in range(self.workers)]
        for t in threads:
            t.start()
        try:
            yield
        finally:
            self.stop.set()
            for t in threads:
                t.join(60)

    def _worker(self, index: int) -> None:
        mine: str | None = None  # this worker's last acknowledged conversation
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                cont = mine is not None and n % 3 == 0
                outcome = Outcome("continue" if cont else "new", n % 2 == 0, f"w{index}-{n}-{uuid.uuid4().hex[:8]}",
                                  time.monotonic())
                reply = chat(self.server, stream=outcome.stream, conversation=mine if cont else None,
                             content=outcome.content)
                outcome.status = reply.status
                outcome.conversation = reply.headers.get("x-conversation-id")
                outcome.retry_after = reply.headers.get("retry-after")
                if reply.status == 200 and outcome.stream:
                    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
                    outcome.acknowledged = events[-1] == "[DONE]"
                    parts = [json.loads(e) for e in events if e != "[DONE]"]
                    outcome.reply = "".join(c["delta"].get("content") or "" for p in parts for c in p.get("choices", []))
                    if not outcome.acknowledged:
                        outcome.error = json.loads(events[-1])["error"]["code"]
                elif reply.status == 200:
                    outcome.acknowledged = True
                    outcome.reply = reply.json()["choices"][0]["message"]["content"]
                else:
                    outcome.error = reply.json()["error"]["code"]
                if outcome.acknowledged and outcome.conversation:
                    mine = outcome.conversation
                with self.lock:
                    self.outcomes.append(outcome)
                time.sleep(0.03)
        except BaseException as exc:  # e.g. the client's own 30 s timeout: reported by the test
            self.crashed.append(exc)

    def since(self, moment: float) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if o.started >= moment]

    def wait_for(self, moment: float, predicate: Callable[[Outcome], bool], what: str, bound_s: float = 60) -> None:
        deadline = time.monotonic() + bound_s
        while not any(predicate(o) for o in self.since(moment)):
            assert not self.crashed, self.crashed
            assert time.monotonic() < deadline, f"no {what} within {bound_s:g} s"
            time.sleep(0.05)


@pytest.fixture
def own_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    emulator = start_emulator()  # its own, so the outage touches no other test's emulator
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    try:
        yield emulator
    finally:
        if emulator.process.poll() is None:
            emulator.process.send_signal(signal.SIGCONT)
        emulator.stop()


def stored(project: str, tenant: str, conversation: str) -> list[Message]:
    async def read() -> list[Message]:
        store = FirestoreStore(project=project)
        await store.start()
        try:
            return await store.get_messages(tenant, conversation)
        finally:
            await store.close()

    return asyncio.run(read())


def test_firestore_stopped_restarted_and_paused_under_load(
    start_app: Callable[..., AppServer], own_emulator: Emulator, openai_fake: FakeModelServer
) -> None:
    project = f"outage-{uuid.uuid4().hex[:12]}"
    server = start_app(CHAT_STORE="firestore", GOOGLE_CLOUD_PROJECT=project, CHAT_STORE_TIMEOUT_S="1",
                       CHAT_RATE_RPM="1000000", CHAT_RATE_TPM="1000000000")
    load = Load(server)
    running = load.run()
    next(running)
    try:
        start = time.monotonic()
        load.wait_for(start, lambda o: o.acknowledged, "answer before the outage")

        down_at = time.monotonic()
        own_emulator.down()
        load.wait_for(down_at, lambda o: o.status == 503, "503 while the emulator is down")
        time.sleep(2)
        up_at = time.monotonic()
        own_emulator.up()
        load.wait_for(up_at, lambda o: o.acknowledged, "answer after the restart")

        paused_at = time.monotonic()
        own_emulator.process.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            load.wait_for(paused_at, lambda o: o.status == 503, "503 while the emulator is paused")
            time.sleep(2)
        finally:
            own_emulator.process.send_signal(signal.SIGCONT)
        resumed_at = time.monotonic()
        load.wait_for(resumed_at, lambda o: o.acknowledged, "answer after the pause")
        time.sleep(0.5)
    finally:
        next(running, None)

    assert load.crashed == []  # every request answered before its client's 30 s timeout
    outcomes = load.outcomes
    assert {o.status for o in outcomes} <= {200, 503}, sorted({o.status for o in outcomes})
    for o in outcomes:
        if o.status == 503:
            assert o.error == "store_unavailable" and o.retry_after and int(o.retry_after) >= 1, o
            assert o.conversation is None, o  # no id handed out for what was not stored
        if o.status == 200 and not o.acknowledged:
            assert o.error == "store_unavailable", o  # a stream told it was not stored
    acknowledged = [o for o in outcomes if o.acknowledged]
    assert len(acknowledged) >= 4 and sum(o.status == 503 for o in outcomes) >= 2

    # nothing acknowledged that is not in the store, and nothing lost across the restart
    for o in acknowledged:
        assert o.conversation is not None
        messages = [(m.role, m.content) for m in stored(project, "acme", o.conversation)]
        turn = [("user", o.content), ("assistant", o.reply)]
        assert any(messages[i:i + 2] == turn for i in range(len(messages))), (o, messages)
    listed = {c["id"] for c in server.call("GET", "/v1/conversations?limit=200", key=KEY_ACME).json()["data"]}
    news = {o.conversation for o in acknowledged if o.kind == "new"}
    if len(news) <= 200:
        assert news <= listed
