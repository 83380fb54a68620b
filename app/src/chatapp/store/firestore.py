"""Firestore store (official async client).

Layout, one subtree per tenant so isolation is a property of the path, not of a filter:

    tenants/{tenant}/conversations/{conversation}                 counters, timestamps, title
    tenants/{tenant}/conversations/{conversation}/messages/{seq}  one document per message
    tenants/{tenant}/profiles/{user}                              created, last seen, message count

`record_turn` is one atomic batch commit that reads nothing: message ids are sortable
(`<write time ns>-<index in turn>-<random>`) and the counters use `Increment`, so concurrent
turns on one conversation never overwrite each other and need no transaction retries. A turn
of an existing conversation updates it with `update()`, whose exists-precondition fails the
whole commit when the conversation was deleted meanwhile (ConversationGone): a delete always
wins over an answer still being written. With
`ttl_days`, messages and conversations carry a timestamp field `expire_at` for a Firestore TTL
policy on the `messages` (and `conversations`) collection groups.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.retry import AsyncRetry, if_exception_type
from google.cloud import firestore

from .base import Conversation, ConversationGone, Message, Profile, Turn

TENANTS = "tenants"
CONVERSATIONS = "conversations"
MESSAGES = "messages"
PROFILES = "profiles"
EXPIRE_AT = "expire_at"

BATCH_LIMIT = 500  # Firestore's maximum writes per commit
RPC_TIMEOUT_S = 15.0  # per call, retries included (the app's GuardedStore bounds it further)
DELETE_ATTEMPTS = 5  # a conversation written to while it is being deleted: read it again

# transient gRPC statuses: retried inside the call's deadline, then an outage (503) for the app
_TRANSIENT = (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError, gexc.Unknown,
              gexc.ResourceExhausted, gexc.Aborted)
_KNOWN_PROFILES_MAX = 10_000

_PLAIN_ID = re.compile(r"^[A-Za-z0-9_.@+=-]{1,200}$")


def doc_id(value: str) -> str:
    """A Firestore document id for a tenant, user or conversation id. Plain values are kept
    readable; anything Firestore would reject or reserve ('/', '__x__', '.', '..', too long)
    becomes '~' + sha256, which no plain value can collide with ('~' is not a plain character)."""
    if _PLAIN_ID.match(value) and value not in (".", "..") and not (value.startswith("__") and value.endswith("__")):
        return value
    return "~" + hashlib.sha256(value.encode()).hexdigest()


def _float(data: dict[str, Any], key: str, default: float = 0.0) -> float:
    value = data.get(key)
    return float(value) if isinstance(value, (int, float)) else default


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    return int(value) if isinstance(value, int) else 0


def _str_or_none(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


class FirestoreStore:
    outage_errors: tuple[type[BaseException], ...] = (*_TRANSIENT, gexc.RetryError)

    def __init__(
        self, project: str, database: str = "(default)", ttl_days: int | None = None, timeout_s: float = RPC_TIMEOUT_S
    ) -> None:
        if not project:
            raise ValueError("FirestoreStore needs a project: set GOOGLE_CLOUD_PROJECT to the project id")
        if not database:
            raise ValueError("FirestoreStore needs a database id: set CHAT_FIRESTORE_DATABASE, e.g. '(default)'")
        if ttl_days is not None and ttl_days < 0:
            raise ValueError(f"ttl_days={ttl_days} is negative: use a positive number of days, or 0/None for no expiry")
        self.project = project
        self.database = database
        self.ttl_days = ttl_days or None
        # One deadline per call, retries included: the client library's default retry for a
        # read keeps trying for minutes against an unreachable database.
        self.timeout_s = timeout_s
        self._retry = AsyncRetry(
            predicate=if_exception_type(*_TRANSIENT), initial=0.1, maximum=1.0, multiplier=2.0, timeout=timeout_s
        )
        # commits are not idempotent (Increment): retried only where the library's own default
        # retries them, on statuses that mean the write was not applied
        self._commit_retry = AsyncRetry(
            predicate=if_exception_type(gexc.ServiceUnavailable, gexc.ResourceExhausted),
            initial=0.1, maximum=1.0, multiplier=2.0, timeout=timeout_s,
        )
        self._client: firestore.AsyncClient | None = None
        # (tenant, user) pairs whose profile document is known to exist: skips a read per turn
        self._known_profiles: set[tuple[str, str]] = set()

    # -- plumbing -------------------------------------------------------------------------

    @property
    def client(self) -> firestore.AsyncClient:
        if self._client is None:
            raise RuntimeError("FirestoreStore used before start(): await store.start() first")
        return self._client

    def _tenant(self, tenant: str) -> firestore.AsyncDocumentReference:
        return self.client.collection(TENANTS).document(doc_id(tenant))

    def _conversation_ref(self, tenant: str, conversation_id: str) -> firestore.AsyncDocumentReference:
        ref: firestore.AsyncDocumentReference = (
            self._tenant(tenant).collection(CONVERSATIONS).document(doc_id(conversation_id))
        )
        return ref

    def _profile_ref(self, tenant: str, user: str) -> firestore.AsyncDocumentReference:
        ref: firestore.AsyncDocumentReference = self._tenant(tenant).collection(PROFILES).document(doc_id(user))
        return ref

    def _expire_at(self) -> datetime | None:
        if not self.ttl_days:
            return None
        return datetime.now(UTC) + timedelta(days=self.ttl_days)

    @staticmethod
    def _to_conversation(tenant: str, conversation_id: str, data: dict[str, Any]) -> Conversation:
        updated_at = _float(data, "updated_at")
        return Conversation(
            id=conversation_id,
            tenant=tenant,
            user=_str_or_none(data, "user") or "",
            prompt_version=_str_or_none(data, "prompt_version") or "",
            created_at=_float(data, "created_at", updated_at),
            updated_at=updated_at,
            title=_str_or_none(data, "title") or "",
            message_count=_int(data, "message_count"),
        )

    @staticmethod
    def _to_message(data: dict[str, Any]) -> Message:
        return Message(
            role=_str_or_none(data, "role") or "",
            content=_str_or_none(data, "content") or "",
            model=_str_or_none(data, "model"),
            prompt_version=_str_or_none(data, "prompt_version"),
            prompt_tokens=_int(data, "prompt_tokens"),
            completion_tokens=_int(data, "completion_tokens"),
            finish_reason=_str_or_none(data, "finish_reason"),
            created_at=_float(data, "created_at"),
        )

    def _rpc(self, *, commit: bool = False) -> dict[str, Any]:
        return {"retry": self._commit_retry if commit else self._retry, "timeout": self.timeout_s}

    # -- Store ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is None:
            # FIRESTORE_EMULATOR_HOST, when set, points the client at an emulator without credentials
            self._client = firestore.AsyncClient(project=self.project, database=self.database)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        # AsyncClient.close() leaves the gRPC aio channel open; close the transport we created
        api = getattr(client, "_firestore_api_internal", None)
        if api is not None:
            await api.transport.close()
        client.close()  # type: ignore[no-untyped-call]

    async def ping(self) -> None:
        await self.client.collection("_chatapp").document("ping").get(retry=None, timeout=min(5.0, self.timeout_s))

    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        snap = await self._conversation_ref(tenant, conversation_id).get(**self._rpc())
        if not snap.exists:
            return None
        return self._to_conversation(tenant, conversation_id, snap.to_dict() or {})

    async def get_messages(self, tenant: str, conversation_id: str, limit: int | None = None) -> list[Message]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit={limit} is negative: pass None for all messages or a count >= 0")
        if limit == 0:
            return []
        messages = self._conversation_ref(tenant, conversation_id).collection(MESSAGES)
        if limit is None:
            query = messages.order_by("seq")
            return [self._to_message(s.to_dict() or {}) async for s in query.stream(**self._rpc())]
        query = messages.order_by("seq", direction=firestore.Query.DESCENDING).limit(limit)
        newest = [self._to_message(s.to_dict() or {}) async for s in query.stream(**self._rpc())]
        newest.reverse()
        return newest

    async def list_conversations(self, tenant: str, limit: int = 50) -> list[Conversation]:
        if limit < 0:
            raise ValueError(f"limit={limit} is negative: pass a count >= 0")
        if limit == 0:
            return []
        query = (
            self._tenant(tenant)
            .collection(CONVERSATIONS)
            .order_by("updated_at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        result = []
        async for snap in query.stream(**self._rpc()):
            data = snap.to_dict() or {}
            result.append(self._to_conversation(tenant, _str_or_none(data, "id") or snap.id, data))
        return result

    async def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        ref = self._conversation_ref(tenant, conversation_id)
        messages = ref.collection(MESSAGES)
        for _ in range(DELETE_ATTEMPTS):
            snap = await ref.get(**self._rpc())
            if not snap.exists:
                return False
            # Messages first, in pages of one batch; the conversation document goes in the last
            # batch, so a failure half-way leaves the conversation visible and deletable again.
            # That last batch only applies if the conversation is unchanged since `snap`: a turn
            # that landed meanwhile (every turn updates it) makes the commit fail, and the
            # delete reads the conversation again, so no message of it is left behind.
            while True:
                page = [s.reference async for s in messages.limit(BATCH_LIMIT - 1).stream(**self._rpc())]
                batch = self.client.batch()
                for message_ref in page:
                    batch.delete(message_ref)
                last = len(page) < BATCH_LIMIT - 1
                if last:
                    batch.delete(ref, option=self.client.write_option(last_update_time=snap.update_time))
                try:
                    await batch.commit(**self._rpc(commit=True))
                except gexc.FailedPrecondition:
                    break  # written to meanwhile: read it again
                if last:
                    return True
        raise gexc.Aborted(  # type: ignore[no-untyped-call]
            f"conversation kept changing while being deleted ({DELETE_ATTEMPTS} attempts)"
        )

    async def record_turn(self, turn: Turn) -> None:
        """One atomic commit: the messages, the conversation (created from `turn.conversation`
        when `is_new`; otherwise its `updated_at` and `prompt_version` refreshed) and the
        user's profile. `message_count` of the conversation grows by the messages written;
        the profile's by the user-role ones."""
        conv = turn.conversation
        if len(turn.messages) > BATCH_LIMIT - 2:
            raise ValueError(
                f"a turn of {len(turn.messages)} messages exceeds one Firestore commit: "
                f"record at most {BATCH_LIMIT - 2} messages per turn"
            )
        now = time.time()
        updated_at = conv.updated_at or now
        expire_at = self._expire_at()
        profile_ref = self._profile_ref(conv.tenant, conv.user)
        profile_key = (conv.tenant, conv.user)
        profile_exists = profile_key in self._known_profiles
        if not profile_exists:
            profile_exists = (await profile_ref.get(**self._rpc())).exists

        batch = self.client.batch()
        conv_ref = self._conversation_ref(conv.tenant, conv.id)
        conv_fields: dict[str, Any] = {
            "id": conv.id,
            "tenant": conv.tenant,
            "user": conv.user,
            "prompt_version": conv.prompt_version,
            "updated_at": updated_at,
            "message_count": firestore.Increment(len(turn.messages)),
        }
        if turn.is_new:
            conv_fields["created_at"] = conv.created_at or now
        if turn.is_new or conv.title:
            conv_fields["title"] = conv.title
        if expire_at is not None:
            conv_fields[EXPIRE_AT] = expire_at
        if turn.is_new:
            batch.set(conv_ref, conv_fields, merge=True)
        else:  # fails the whole commit (NotFound) when the conversation was deleted meanwhile
            batch.update(conv_ref, conv_fields)

        stamp = time.time_ns()
        salt = secrets.token_hex(4)  # two turns in the same nanosecond still get distinct ids
        for index, m in enumerate(turn.messages):
            seq = f"{stamp:020d}-{index:04d}-{salt}"
            fields: dict[str, Any] = {
                "seq": seq,
                "role": m.role,
                "content": m.content,
                "model": m.model,
                "prompt_version": m.prompt_version,
                "prompt_tokens": m.prompt_tokens,
                "completion_tokens": m.completion_tokens,
                "finish_reason": m.finish_reason,
                "created_at": m.created_at or now,
            }
            if expire_at is not None:
                fields[EXPIRE_AT] = expire_at
            batch.set(conv_ref.collection(MESSAGES).document(seq), fields)

        profile_fields: dict[str, Any] = {
            "tenant": conv.tenant,
            "user": conv.user,
            "last_seen": updated_at,
            "message_count": firestore.Increment(sum(1 for m in turn.messages if m.role == "user")),
        }
        if not profile_exists:
            profile_fields["created_at"] = updated_at
        batch.set(profile_ref, profile_fields, merge=True)

        try:
            await batch.commit(**self._rpc(commit=True))
        except gexc.NotFound:
            raise ConversationGone(conv.id) from None
        if len(self._known_profiles) >= _KNOWN_PROFILES_MAX:
            self._known_profiles.clear()
        self._known_profiles.add(profile_key)

    async def get_profile(self, tenant: str, user: str) -> Profile | None:
        snap = await self._profile_ref(tenant, user).get(**self._rpc())
        if not snap.exists:
            return None
        data = snap.to_dict() or {}
        last_seen = _float(data, "last_seen")
        return Profile(
            tenant=tenant,
            user=user,
            created_at=_float(data, "created_at", last_seen),
            last_seen=last_seen,
            message_count=_int(data, "message_count"),
        )
