"""Fake model servers: real aiohttp HTTP servers on 127.0.0.1 speaking the OpenAI Chat
Completions and the Gemini (Vertex generateContent) wire formats, streaming too.

Each answer is "[<model>] <text>" so a test sees which model answered. A test scripts the next
answers (`push`) or sets the default behaviour: slow, an error status, or a stream cut short.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Behaviour:
    status: int = 200
    delay_s: float = 0.0  # before the response starts
    chunk_delay_s: float = 0.0  # between streamed chunks
    cut_after: int | None = None  # streamed: drop the connection after this many chunks
    text: str = "Hello there, this is a streamed answer."
    retry_after: str | None = None
    # streamed (OpenAI format): stop before this chunk until the test sets `release` (at most 60 s),
    # so a test sees a partial answer for certain instead of racing the delays; not streamed:
    # any value holds the whole answer until then
    hold_before: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    # the whole response body as these byte chunks instead of a well-formed answer (status 200,
    # text/event-stream when the request streams): for malformed, huge or cut replies. A
    # callable is called per request, so a huge body is generated as it is sent, not held.
    raw: list[bytes] | Callable[[], Iterable[bytes]] | None = None


@dataclass
class Seen:
    path: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class FakeModelServer:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.default = Behaviour()
        self.script: deque[Behaviour] = deque()
        self.seen: list[Seen] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        # when set, /v1/chat/completions answers 401 to any other Authorization header
        self.require_authorization: set[str] | None = None

    # --- control (from the test thread) ----------------------------------------------------
    def push(self, *behaviours: Behaviour) -> None:
        self.script.extend(behaviours)

    def reset(self) -> None:
        self.require_authorization = None
        self.default = Behaviour()
        self.script.clear()
        self.seen.clear()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls(self, model: str | None = None) -> list[Seen]:
        return [s for s in self.seen if model is None or s.model == model]

    # --- server ----------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/{prefix:.*}models/{model}:generateContent", self._gemini)
        app.router.add_post("/{prefix:.*}models/{model}:streamGenerateContent", self._gemini_stream)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _next(self) -> Behaviour:
        return self.script.popleft() if self.script else self.default

    @staticmethod
    def _words(text: str) -> list[str]:
        words = text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    async def _error(self, b: Behaviour) -> web.Response:
        headers = {"Retry-After": b.retry_after} if b.retry_after else {}
        body = {"error": {"message": f"fake upstream says {b.status}", "code": b.status, "status": "UNAVAILABLE"}}
        return web.json_response(body, status=b.status, headers=headers)

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        peek = await request.json()
        model = peek["model"]
        if self.require_authorization is not None and request.headers.get("Authorization") not in self.require_authorization:
            self.seen.append(Seen(request.path, model, peek, dict(request.headers)))
            return web.json_response({"error": {"message": "bad bearer token", "code": 401}}, status=401)
        body, b, error = await self._begin(request, model)
        if error is not None:
            return error
        if b.raw is not None:
            return await self._raw(request, b, bool(body.get("stream")))
        text = f"[{model}] {b.text}"
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                 "total_tokens": prompt_tokens + len(text.split())}
        if not body.get("stream"):
            if b.hold_before is not None:  # not streamed: hold the whole answer the same way
                await asyncio.get_running_loop().run_in_executor(None, b.release.wait, 60)
            return web.json_response({
                "id": "cmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": usage,
            })
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i, word in enumerate(self._words(text)):
            if b.cut_after is not None and i >= b.cut_after:
                await asyncio.sleep(0.1)  # let the client take what was sent, then drop the connection
                request.transport.close()  # type: ignore[union-attr]
                return resp
            if b.hold_before is not None and i == b.hold_before:
                await asyncio.get_running_loop().run_in_executor(None, b.release.wait, 60)
            chunk = {"id": "c", "object": "chat.completion.chunk", "model": model,
                     "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            if b.chunk_delay_s:
                await asyncio.sleep(b.chunk_delay_s)
        last = {"id": "c", "object": "chat.completion.chunk", "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        await resp.write(b"data: " + json.dumps(last).encode() + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            await resp.write(b"data: " + json.dumps({"id": "c", "choices": [], "usage": usage}).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    @staticmethod
    async def _raw(request: web.Request, b: Behaviour, stream: bool) -> web.StreamResponse:
        kind = "text/event-stream" if stream else "application/json"
        resp = web.StreamResponse(headers={"Content-Type": kind})
        await resp.prepare(request)
        chunks = b.raw() if callable(b.raw) else b.raw or []
        try:
            for piece in chunks:
                await resp.write(piece)
                if b.chunk_delay_s:
                    await asyncio.sleep(b.chunk_delay_s)
            await resp.write_eof()
        except (ConnectionResetError, RuntimeError):  # the app stopped reading (a bounded reader)
            pass
        return resp

    @staticmethod
    def _gemini_text(body: dict[str, Any]) -> int:
        return sum(len(p.get("text", "").split()) for c in body.get("contents", []) for p in c.get("parts", []))

    async def _begin(self, request: web.Request, model: str) -> tuple[dict[str, Any], Behaviour, web.Response | None]:
        """Records the call, applies the delay; an error response when the behaviour asks for one."""
        body = await request.json()
        self.seen.append(Seen(request.path, model, body, dict(request.headers)))
        b = self._next()
        if b.delay_s:
            await asyncio.sleep(b.delay_s)
        return body, b, (await self._error(b) if b.status != 200 else None)

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        model = request.match_info["model"]
        body, b, error = await self._begin(request, model)
        if error is not None:
            return error
        text = f"[{model}] {b.text}"
        return web.json_response({
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": self._gemini_text(body), "candidatesTokenCount": len(text.split())},
        })

    async def _gemini_stream(self, request: web.Request) -> web.StreamResponse:
        model = request.match_info["model"]
        body, b, error = await self._begin(request, model)
        if error is not None:
            return error
        text = f"[{model}] {b.text}"
        words = self._words(text)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i, word in enumerate(words):
            if b.cut_after is not None and i >= b.cut_after:
                await asyncio.sleep(0.1)  # let the client take what was sent, then drop the connection
                request.transport.close()  # type: ignore[union-attr]
                return resp
            cand: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": word}]}}
            event: dict[str, Any] = {"candidates": [cand]}
            if i == len(words) - 1:
                cand["finishReason"] = "STOP"
                event["usageMetadata"] = {"promptTokenCount": self._gemini_text(body),
                                          "candidatesTokenCount": len(words)}
            await resp.write(b"data: " + json.dumps(event).encode() + b"\r\n\r\n")
            if b.chunk_delay_s:
                await asyncio.sleep(b.chunk_delay_s)
        await resp.write_eof()
        return resp


class LoopThread:
    """An asyncio loop in a daemon thread, for servers the tests talk to over loopback."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def fake_servers(count: int) -> Iterator[list[FakeModelServer]]:
    lt = LoopThread()
    servers = [FakeModelServer(lt.loop) for _ in range(count)]
    for s in servers:
        lt.run(s.start())
    try:
        yield servers
    finally:
        for s in servers:
            lt.run(s.stop())
        lt.close()
