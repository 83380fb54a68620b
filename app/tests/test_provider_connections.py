"""The OpenAI-compatible provider reuses upstream connections across streams."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from chatapp.providers.base import Completion, UpstreamRequest
from chatapp.providers.openai_compat import OpenAICompatProvider


async def _serve(end_gap_s: float) -> tuple[web.AppRunner, int, set[int]]:
    connections: set[int] = set()

    async def completions(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        connections.add(id(request.transport))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n')
        await response.write(b"data: [DONE]\n\n")
        await asyncio.sleep(end_gap_s)  # the body ends a little after [DONE], as real servers do
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port, connections


async def _three_streams(end_gap_s: float) -> tuple[int, list[str]]:
    runner, port, connections = await _serve(end_gap_s)
    try:
        async with aiohttp.ClientSession() as session:
            provider = OpenAICompatProvider(session, f"http://127.0.0.1:{port}/v1", None)
            answers = []
            for _ in range(3):
                events = [e async for e in provider.stream(UpstreamRequest("m", [{"role": "user", "content": "x"}]), 5.0)]
                completion = events[-1]
                assert isinstance(completion, Completion)
                answers.append(completion.text)
        return len(connections), answers
    finally:
        await runner.cleanup()


def test_streams_share_one_connection_when_the_body_ends_after_done() -> None:
    count, answers = asyncio.run(_three_streams(0.05))
    assert answers == ["hi", "hi", "hi"]
    assert count == 1


def test_a_server_that_lingers_after_done_costs_a_reconnect_not_the_answer() -> None:
    count, answers = asyncio.run(_three_streams(3.0))
    assert answers == ["hi", "hi", "hi"]
    assert count == 3
