"""Bounds every store call in total and turns an outage into StoreUnavailable (503 Retry-After).

A client library's own retry policy is per attempt and can keep a call alive for minutes while
its database is down (Firestore's default retry deadlines ran 279-289 s here). The guard puts one
deadline around the whole call, retries included, and after `failures` consecutive outages it
answers at once for `cooldown_s` instead of letting every request wait out the deadline; then
calls go through again and the first success closes it.

What counts as an outage: the deadline, connection errors, and the store's own transient errors
(`outage_errors` on the store: gRPC UNAVAILABLE / DEADLINE_EXCEEDED for Firestore, a locked or
unreadable file for SQLite). Everything else (ConversationGone, a bad argument, a bug) passes
through unchanged, so a bug is still a 500 and not hidden as an outage.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .base import Conversation, Message, Profile, Store, StoreUnavailable, Turn

T = TypeVar("T")


class GuardedStore:
    def __init__(self, inner: Store, timeout_s: float, *, failures: int = 3, cooldown_s: float = 1.0) -> None:
        self.inner = inner
        self.timeout_s = timeout_s
        self.failures = failures
        self.cooldown_s = cooldown_s
        self.retry_after_s = max(1, math.ceil(cooldown_s * 2))
        self._outage: tuple[type[BaseException], ...] = (
            TimeoutError,
            ConnectionError,
            OSError,
            *getattr(inner, "outage_errors", ()),
        )
        self._count = 0
        self._open_until = 0.0

    def __getattr__(self, name: str) -> Any:  # e.g. purge_expired: background work, unguarded
        return getattr(self.inner, name)

    @property
    def is_open(self) -> bool:
        return self._count >= self.failures and time.monotonic() < self._open_until

    def _failed(self) -> None:
        self._count += 1
        if self._count >= self.failures:
            self._open_until = time.monotonic() + self.cooldown_s

    async def _guard(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        if self.is_open:
            raise StoreUnavailable(f"store unavailable ({op} skipped: recent calls failed)", self.retry_after_s)
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await call()
        except TimeoutError:
            self._failed()
            raise StoreUnavailable(f"store {op} did not answer within {self.timeout_s:g} s", self.retry_after_s) from None
        except self._outage as exc:
            self._failed()
            raise StoreUnavailable(f"store {op} failed: {exc.__class__.__name__}", self.retry_after_s) from exc
        self._count = 0
        return result

    # -- Store ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> None:
        await self._guard("ping", self.inner.ping)

    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        return await self._guard("read", lambda: self.inner.get_conversation(tenant, conversation_id))

    async def get_messages(self, tenant: str, conversation_id: str, limit: int | None = None) -> list[Message]:
        return await self._guard("read", lambda: self.inner.get_messages(tenant, conversation_id, limit))

    async def list_conversations(self, tenant: str, limit: int = 50) -> list[Conversation]:
        return await self._guard("read", lambda: self.inner.list_conversations(tenant, limit))

    async def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        return await self._guard("delete", lambda: self.inner.delete_conversation(tenant, conversation_id))

    async def record_turn(self, turn: Turn) -> None:
        await self._guard("write", lambda: self.inner.record_turn(turn))

    async def get_profile(self, tenant: str, user: str) -> Profile | None:
        return await self._guard("read", lambda: self.inner.get_profile(tenant, user))
