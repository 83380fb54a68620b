"""The per-stream pump and chunk template behind streamed answers (chatapp/streaming.py):
the bytes are the ones the old per-chunk `orjson.dumps` of the whole object gave, keep-alives
come while the model is silent, the drain cutoff ends a stream that is still flowing, and the
model's errors reach the reader."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

import orjson
import pytest

from chatapp.streaming import CUTOFF, END, KEEPALIVE_DUE, ChunkTemplate, Pump


@pytest.mark.parametrize(
    "text", ["", "hello", 'quote " and \\ backslash', "line\nbreak\ttab", "é ü 日本 🎉", "\u2028\u2029", "x" * 5000]
)
@pytest.mark.parametrize("model", ["m", 'we"ird/model:1'])
def test_chunk_bytes_equal_the_full_object_encoded(text: str, model: str) -> None:
    expected = b"data: " + orjson.dumps(
        {
            "id": "chatcmpl-abc",
            "object": "chat.completion.chunk",
            "created": 1764633600,
            "model": model,
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None, "logprobs": None}],
        }
    ) + b"\n\n"
    assert ChunkTemplate("chatcmpl-abc", 1764633600, model).content(text) == expected


async def _gen(items: list[Any], delay: float = 0.0, fail: BaseException | None = None) -> AsyncGenerator[Any, None]:
    for item in items:
        if delay:
            await asyncio.sleep(delay)
        yield item
    if fail is not None:
        raise fail


async def _drain_pump(pump: Pump, limit: int = 100) -> list[Any]:
    out: list[Any] = []
    for _ in range(limit):
        event = await pump.get()
        out.append(event)
        if event is END or event is CUTOFF:
            break
    await pump.aclose()
    return out


def test_events_in_order_then_end() -> None:
    async def main() -> list[Any]:
        return await _drain_pump(Pump(_gen([1, 2, 3]), 10.0, lambda: None))

    assert asyncio.run(main()) == [1, 2, 3, END]


def test_keepalive_while_the_model_is_silent() -> None:
    async def main() -> list[Any]:
        return await _drain_pump(Pump(_gen(["a", "b"], delay=0.35), 0.1, lambda: None))

    events = asyncio.run(main())
    assert [e for e in events if e is not KEEPALIVE_DUE] == ["a", "b", END]
    assert 4 <= events.count(KEEPALIVE_DUE) <= 7  # about three per 0.35 s gap at 0.1 s


def test_no_keepalive_while_chunks_flow() -> None:
    async def main() -> list[Any]:
        return await _drain_pump(Pump(_gen(list(range(20)), delay=0.01), 0.1, lambda: None))

    assert asyncio.run(main()) == [*range(20), END]


def test_errors_of_the_model_reach_the_reader() -> None:
    async def main() -> list[Any]:
        pump = Pump(_gen(["a"], fail=ValueError("cut")), 10.0, lambda: None)
        first = await pump.get()
        with pytest.raises(ValueError, match="cut"):
            await pump.get()
        await pump.aclose()
        return [first]

    assert asyncio.run(main()) == ["a"]


def test_cutoff_ends_a_flowing_stream_and_closes_the_model_stream() -> None:
    closed: list[bool] = []

    async def endless() -> AsyncGenerator[str, None]:
        try:
            while True:
                await asyncio.sleep(0.02)
                yield "w"
        finally:
            closed.append(True)

    async def main() -> tuple[list[Any], float]:
        cutoff: list[float | None] = [None]
        pump = Pump(endless(), 30.0, lambda: cutoff[0])  # keep-alive far away: the drain must not wait for it
        await pump.get()
        started = time.monotonic()
        cutoff[0] = started + 0.2  # a SIGTERM drain begins
        events = await _drain_pump(pump, limit=1000)
        return events, time.monotonic() - started

    events, took = asyncio.run(main())
    assert events[-1] is CUTOFF and set(events[:-1]) == {"w"}
    assert 0.15 <= took < 1.0
    assert closed == [True]


def test_aclose_stops_a_waiting_pump() -> None:
    async def main() -> None:
        pump = Pump(_gen(["a"], delay=30), 10.0, lambda: None)
        task = asyncio.ensure_future(pump.get())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(pump.aclose(), 1.0)

    asyncio.run(main())
