"""What every provider speaks: a request, a completion, stream events and one error type."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class UpstreamRequest:
    model: str
    messages: list[dict[str, str]]  # {"role": system|user|assistant, "content": str}
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    # the most reply text read from the upstream (CHAT_MAX_REPLY_CHARS): a longer reply is cut
    # there with finish_reason "length", so what is stored and sent back later stays bounded
    max_reply_chars: int = 100_000


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class Completion:
    text: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)


@dataclass(slots=True)
class Delta:
    """A piece of streamed text; the last event of a stream is a Completion with the totals."""

    text: str


StreamEvent = Delta | Completion


class UpstreamError(Exception):
    """A failed call to a model server.

    retryable: worth another attempt at the same upstream (429, 5xx, timeout, connection).
    counts_for_breaker: evidence that the upstream itself is unhealthy: it could not be reached,
    timed out, answered 408/429/5xx or sent a reply that is malformed or too large. Never a 4xx
    caused by the request, and never a request this app could not even encode: one client's bad
    input must not open the circuit for every tenant. Defaults to `retryable`.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
        counts_for_breaker: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self._counts = retryable if counts_for_breaker is None else counts_for_breaker

    @property
    def counts_for_breaker(self) -> bool:
        return self._counts


def malformed(what: str) -> UpstreamError:
    """The upstream answered, but not with something we can use: its own failure (counts for the
    breaker), worth one more try and then the next model of the chain."""
    return UpstreamError(f"upstream sent {what}", retryable=True, counts_for_breaker=True)


def unsendable(exc: BaseException) -> UpstreamError:
    """The request could not be encoded for the upstream (nothing was sent): not the upstream's
    fault, so it neither counts for the breaker nor is retried."""
    return UpstreamError(
        f"request could not be encoded for the upstream: {exc.__class__.__name__}",
        retryable=False,
        counts_for_breaker=False,
    )


def as_int(value: object) -> int:
    """A token count from an upstream reply: a non-negative int (bools and floats refused)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"token count {value!r} is not a non-negative integer")
    return value


def as_text(value: object) -> str:
    """Reply text from an upstream: a string (None for none); anything else is malformed."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"content {type(value).__name__} is not a string")
    return value


def as_finish(value: object, default: str = "stop") -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not value or len(value) > 64:
        raise TypeError("finish_reason is not a short string")
    return value


def error_for_status(status: int, detail: str, retry_after: str | None = None) -> UpstreamError:
    retryable = status in (408, 409, 425, 429) or status >= 500
    delay: float | None = None
    if retry_after:
        try:
            delay = max(0.0, float(retry_after))
        except ValueError:
            delay = None
    return UpstreamError(f"upstream answered {status}: {detail[:200]}", status=status, retryable=retryable, retry_after=delay)


class Provider(Protocol):
    async def complete(self, request: UpstreamRequest, timeout: float) -> Completion: ...

    def stream(self, request: UpstreamRequest, timeout: float) -> AsyncIterator[StreamEvent]: ...

    async def close(self) -> None: ...


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_reply(text: str) -> str:
    """Reply text as it can be sent and stored: a lone surrogate (possible from a JSON decoder
    that lets `"\\ud800"` through) becomes U+FFFD instead of failing the response encoder."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


class ReplyBudget:
    """Counts reply text against `max_reply_chars`; `take` returns what still fits."""

    __slots__ = ("left", "cut")

    def __init__(self, max_chars: int) -> None:
        self.left = max_chars
        self.cut = False

    def take(self, text: str) -> str:
        if len(text) <= self.left:
            self.left -= len(text)
            return text
        self.cut = True
        kept, self.left = text[: self.left], 0
        return kept
