"""The store interface and its records."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ConversationGone(Exception):
    """record_turn on an existing conversation (is_new False) that no longer exists: it was
    deleted meanwhile. Nothing of the turn was written, so a deleted conversation never comes
    back because an answer that was already under way finished after the delete."""


class StoreUnavailable(Exception):
    """The database could not be reached or did not answer within the bound (the API answers
    503 with Retry-After). Raised by GuardedStore; `retry_after_s` is a hint for the client."""

    def __init__(self, message: str, retry_after_s: int = 2) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class Message:
    role: str
    content: str
    model: str | None = None
    prompt_version: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    created_at: float = 0.0

    def public(self) -> dict[str, object]:
        return {
            "role": self.role,
            "content": self.content,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            "finish_reason": self.finish_reason,
            "created_at": self.created_at,
        }


@dataclass(slots=True)
class Conversation:
    id: str
    tenant: str
    user: str
    prompt_version: str
    created_at: float
    updated_at: float
    title: str = ""
    message_count: int = 0

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "object": "conversation",
            "title": self.title,
            "user": self.user,
            "prompt_version": self.prompt_version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "message_count": self.message_count,
        }


@dataclass(slots=True)
class Profile:
    tenant: str
    user: str
    created_at: float
    last_seen: float
    message_count: int = 0

    def public(self) -> dict[str, object]:
        return {
            "id": self.user,
            "tenant": self.tenant,
            "created_at": self.created_at,
            "last_seen": self.last_seen,
            "message_count": self.message_count,
        }


@dataclass(slots=True)
class Turn:
    """What one chat request writes: the new messages, and whether the conversation is new."""

    conversation: Conversation
    is_new: bool
    messages: list[Message] = field(default_factory=list)


class Store(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raises when the backing database cannot be reached."""

    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        """None when it does not exist or belongs to another tenant."""

    async def get_messages(self, tenant: str, conversation_id: str, limit: int | None = None) -> list[Message]:
        """Oldest first; with a limit, the most recent `limit` messages."""

    async def list_conversations(self, tenant: str, limit: int = 50) -> list[Conversation]:
        """Most recently updated first."""

    async def delete_conversation(self, tenant: str, conversation_id: str) -> bool: ...

    async def record_turn(self, turn: Turn) -> None:
        """Writes the messages, bumps the conversation and the user's profile, in one go.

        With is_new False the conversation must still exist: otherwise nothing is written and
        ConversationGone is raised. With is_new True it is created (or, written again, updated).

        The caller passes the conversation as loaded (or freshly built when is_new, with
        message_count 0) and sets its updated_at; the store adds len(turn.messages) to its
        message_count, creates the profile (tenant, conversation.user) when missing, adds the
        number of role 'user' messages to the profile's message_count and sets last_seen to
        conversation.updated_at. Every message has created_at set by the caller.
        """

    async def get_profile(self, tenant: str, user: str) -> Profile | None: ...
