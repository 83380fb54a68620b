"""Calls the model chain: retries with backoff inside an overall deadline, fallback to the next
model, and a circuit breaker per upstream so a dead one is skipped without waiting on it."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .prompts import Route
from .providers.base import Completion, Delta, Provider, StreamEvent, UpstreamError, UpstreamRequest
from .tracing import Tracing, attempt_span, record_result

T = TypeVar("T")

BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 4.0


class CircuitBreaker:
    """Opens after `failures` consecutive failures; after `cooldown_s` lets one probe through."""

    __slots__ = ("failures", "cooldown_s", "_count", "_open_until")

    def __init__(self, failures: int, cooldown_s: float) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._count = 0
        self._open_until = 0.0

    def allow(self, now: float) -> bool:
        if self._count < self.failures:
            return True
        if now >= self._open_until:
            self._open_until = now + self.cooldown_s  # half-open: this caller is the probe
            return True
        return False

    def success(self) -> None:
        self._count = 0
        self._open_until = 0.0

    def failure(self, now: float) -> None:
        self._count += 1
        if self._count >= self.failures:
            self._open_until = now + self.cooldown_s

    @property
    def is_open(self) -> bool:
        return self._count >= self.failures and time.monotonic() < self._open_until


class AllUpstreamsFailed(Exception):
    def __init__(self, message: str, *, deadline: bool, breaker_skips: int) -> None:
        super().__init__(message)
        self.deadline = deadline
        self.breaker_skips = breaker_skips


@dataclass(slots=True)
class Outcome:
    route: Route
    attempts: int
    fallback_used: bool
    # why earlier attempts failed ("<provider>/<model>: <reason>"), for the request's log line
    failures: tuple[str, ...] = ()
    # perf_counter() when the chain was first called, and the seconds spent waiting on it
    # (every attempt and backoff; for a stream, up to the last event received): usage.py's overhead
    upstream_started: float = 0.0
    upstream_s: float = 0.0


def _backoff(attempt: int, error: UpstreamError) -> float:
    if error.retry_after is not None:
        return min(error.retry_after, BACKOFF_CAP_S)
    delay: float = min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2**attempt)) * random.uniform(0.5, 1.0)
    return delay


class Router:
    def __init__(self, providers: dict[str, Provider], failures: int, cooldown_s: float) -> None:
        self.providers = providers
        self._failures = failures
        self._cooldown_s = cooldown_s
        self._breakers: dict[str, CircuitBreaker] = {}
        self.tracing: Tracing | None = None  # a span per attempt (tracing.py)

    def provider_for(self, route: Route) -> Provider:
        return self.providers[f"{route.provider}|{route.base_url or ''}"]

    def breaker(self, route: Route) -> CircuitBreaker:
        b = self._breakers.get(route.key)
        if b is None:
            b = self._breakers[route.key] = CircuitBreaker(self._failures, self._cooldown_s)
        return b

    async def _first_success(
        self,
        routes: Sequence[Route],
        request: UpstreamRequest,
        deadline: float,
        call: Callable[[Provider, UpstreamRequest, float], Awaitable[T]],
    ) -> tuple[T, Outcome]:
        started = time.perf_counter()
        skips = 0
        attempts = 0
        last: UpstreamError | None = None
        failures: list[str] = []
        for index, route in enumerate(routes):
            breaker = self.breaker(route)
            provider = self.provider_for(route)
            request.model = route.model
            for attempt in range(route.max_retries + 1):
                now = time.monotonic()
                remaining = deadline - now
                if remaining <= 0:
                    raise AllUpstreamsFailed(f"no answer within the deadline: {last}", deadline=True, breaker_skips=skips)
                if not breaker.allow(now):
                    skips += 1
                    break
                attempts += 1
                try:
                    with attempt_span(self.tracing, route.provider, route.model, index, attempt) as span:
                        result = await call(provider, request, min(route.timeout_s, remaining))
                        record_result(span, result)
                except UpstreamError as exc:
                    last = exc
                    failures.append(f"{route.provider}/{route.model}: {str(exc)[:400]}")
                    if exc.counts_for_breaker:
                        breaker.failure(time.monotonic())
                    if not exc.retryable or attempt == route.max_retries:
                        break
                    delay = _backoff(attempt, exc)
                    if time.monotonic() + delay >= deadline:
                        break
                    await asyncio.sleep(delay)
                    continue
                breaker.success()
                return result, Outcome(route, attempts, index > 0, tuple(failures), started,
                                       time.perf_counter() - started)
        raise AllUpstreamsFailed(
            f"every model in the chain failed: {last}" if last else "every model in the chain is unavailable",
            deadline=time.monotonic() >= deadline,
            breaker_skips=skips,
        )

    async def complete(
        self, routes: Sequence[Route], request: UpstreamRequest, deadline: float
    ) -> tuple[Completion, Outcome]:
        return await self._first_success(routes, request, deadline, _call_complete)

    async def stream(
        self, routes: Sequence[Route], request: UpstreamRequest, deadline: float, outcome: list[Outcome]
    ) -> AsyncGenerator[StreamEvent, None]:
        """Streams from the first model that produces a first event. Until then failures fall
        back transparently; after it, a failure is raised to the caller (tokens were sent)."""
        (events, first), result = await self._first_success(routes, request, deadline, _open_stream)
        outcome.append(result)
        breaker = self.breaker(result.route)
        try:
            yield first
            async for event in events:
                result.upstream_s = time.perf_counter() - result.upstream_started
                yield event
        except UpstreamError as exc:
            if exc.counts_for_breaker:  # only the upstream's own failures, never the request's
                breaker.failure(time.monotonic())
            raise
        finally:
            await events.aclose()


async def _call_complete(provider: Provider, request: UpstreamRequest, timeout: float) -> Completion:
    return await provider.complete(request, timeout)


async def _open_stream(
    provider: Provider, request: UpstreamRequest, timeout: float
) -> tuple[AsyncGenerator[StreamEvent, None], StreamEvent]:
    events = provider.stream(request, timeout)
    assert isinstance(events, AsyncGenerator)
    try:
        first = await anext(events)
    except StopAsyncIteration:
        raise UpstreamError("upstream sent an empty stream") from None
    except BaseException:
        await events.aclose()
        raise
    return events, first


__all__ = ["AllUpstreamsFailed", "CircuitBreaker", "Delta", "Outcome", "Router"]
