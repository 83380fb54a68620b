"""What every provider speaks: a request, a completion, stream events and one error type."""

from __future__ import annotations

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
    counts_for_breaker: evidence that the upstream is unhealthy (not a 4xx caused by the request).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def counts_for_breaker(self) -> bool:
        return self.retryable


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
