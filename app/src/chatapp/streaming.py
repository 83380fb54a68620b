"""The per-stream machinery of a streamed answer, kept off the per-chunk path.

`Pump` reads the model's event generator in one task per stream and hands events over through
a deque: a chunk costs an append and, when the reader is waiting, one future. Keep-alive
comments and the SIGTERM drain cutoff are driven by one timer per `keepalive_s`, re-armed only
when it fires, instead of a task and an `asyncio.wait` with a timeout per chunk.

`ChunkTemplate` encodes a content chunk as the bytes `orjson.dumps` gives for the full
`chat.completion.chunk` object, but serialises only the new text: the envelope (id, created,
model) is the same for every chunk of a stream.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

KEEPALIVE_DUE = object()  # the reader should send a keep-alive comment
CUTOFF = object()  # the drain cutoff was reached: end the answer here
END = object()  # the generator ended (without an exception)


class ChunkTemplate:
    """`data: {...}\\n\\n` for a content delta, byte for byte what orjson makes of the object."""

    __slots__ = ("_head", "_tail")

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        envelope = orjson.dumps(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": None, "logprobs": None}],
            }
        )
        head, sep, tail = envelope.partition(b'"content":""')
        assert sep, "orjson output has the delta's content field"
        self._head = b"data: " + head + b'"content":'
        self._tail = tail + b"\n\n"

    def content(self, text: str) -> bytes:
        return self._head + orjson.dumps(text) + self._tail


class Pump:
    """Reads `events` in a task; `get()` returns the next event, KEEPALIVE_DUE when nothing came
    for `keepalive_s`, or CUTOFF once `cutoff()` (monotonic time, or None) has passed. END at its end.
    Exceptions of the generator are raised from `get()`.

    As before this module existed, a drain that begins while the model is silent is noticed at
    the next event or keep-alive tick, whichever comes first."""

    def __init__(
        self,
        events: AsyncGenerator[Any, None],
        keepalive_s: float,
        cutoff: Callable[[], float | None],
    ) -> None:
        self._events = events
        self._keepalive_s = keepalive_s
        self._cutoff = cutoff
        self._queue: collections.deque[tuple[Any, BaseException | None]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._last = time.monotonic()
        self._task = self._loop.create_task(self._run())
        self._timer: asyncio.TimerHandle | None = None
        self._draining = False
        self._arm(keepalive_s)

    async def _run(self) -> None:
        try:
            async for event in self._events:
                self._put(event, None)
                if not self._draining and self._cutoff() is not None:
                    self._draining = True  # a drain began: tick at its cutoff, not a keep-alive later
                    if self._timer is not None:
                        self._timer.cancel()
                    self._tick()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the reader, raised there
            self._put(END, exc)
        else:
            self._put(END, None)

    def _put(self, event: Any, exc: BaseException | None) -> None:
        self._last = time.monotonic()
        self._queue.append((event, exc))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _arm(self, delay: float) -> None:
        self._timer = self._loop.call_later(max(0.0, delay), self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        cutoff = self._cutoff()
        if cutoff is not None and now >= cutoff:
            self._timer = None
            self._task.cancel()  # the model's stream is closed; what was said is the answer
            self._put(CUTOFF, None)
            return
        idle = now - self._last
        if idle >= self._keepalive_s:
            self._put(KEEPALIVE_DUE, None)  # also counts as activity: the next one in keepalive_s
            idle = 0.0
        delay = self._keepalive_s - idle
        if cutoff is not None:
            delay = min(delay, cutoff - now)
        self._arm(delay)

    async def get(self) -> Any:
        while not self._queue:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        event, exc = self._queue.popleft()
        if exc is not None:
            raise exc
        return event

    async def aclose(self) -> None:
        """Stops the timer and the reading task; the generator itself is closed by its owner."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except BaseException:  # noqa: S110 - its outcome no longer matters
                pass


class SseResponse(StreamingResponse):
    """StreamingResponse without anyio: the body is sent by one task while this one waits for the
    client's disconnect (which cancels the body's task, so the answer's generator stores what was
    said), as Starlette does for servers of ASGI spec < 2.4 (uvicorn declares 2.3), with plain
    asyncio tasks instead of an anyio task group and cancel scopes per response."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = asyncio.ensure_future(self._send_body(send))
        watch = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((body, watch), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # this request is cancelled: so is the body, and it is waited for
            body.cancel()
            watch.cancel()
            await asyncio.wait((body, watch))
            raise
        watch.cancel()
        if not body.done():  # the client went away
            body.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await body
            return
        body.result()  # raises what the body raised

    async def _send_body(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async for chunk in self.body_iterator:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
