"""Zero-latency OpenAI-compatible fake model server for benchmarks (loopback only).

POST /v1/chat/completions answers at once; with "stream": true it sends
--chunks content chunks, --chunk-interval-ms apart, then [DONE].
With --faults it misbehaves on a seeded share of requests: a 500, a hang
(--hang-seconds, then the connection is dropped), or a reply cut in the middle.
GET /healthz, GET /v1/models, GET /stats (request and fault counts).

It is a bare asyncio protocol on httptools (the parser uvicorn uses) rather than a
web framework, so that it costs a small fraction of a core even while the load
generator shares its core: the servers under test, not the harness, set the pace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

import httptools

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import CUT, ERROR_500, OK, TIMEOUT, FaultPlan, FaultRates  # noqa: E402
from protocol import REPLY_TEXT, stream_tokens  # noqa: E402

CREATED = 1_700_000_000


def completion_body(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY_TEXT}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 13, "total_tokens": 22},
        },
        separators=(",", ":"),
    ).encode()


def _sse(obj: object) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def stream_events(model: str, n_chunks: int, include_usage: bool) -> list[bytes]:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": CREATED, "model": model}
    events = [_sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})]
    for tok in stream_tokens(n_chunks):
        events.append(_sse({**base, "choices": [{"index": 0, "delta": {"content": tok}, "finish_reason": None}]}))
    events.append(_sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if include_usage:
        usage = {"prompt_tokens": 9, "completion_tokens": n_chunks, "total_tokens": 9 + n_chunks}
        events.append(_sse({**base, "choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return events


def http_response(status: int, body: bytes, content_type: bytes = b"application/json", keep_alive: bool = True) -> bytes:
    reason = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 500: b"Internal Server Error"}[status]
    conn = b"" if keep_alive else b"Connection: close\r\n"
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (status, reason, content_type, len(body), conn)
        + body
    )


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
ERROR_BODY = json.dumps({"error": {"message": "injected upstream failure", "type": "server_error"}}).encode()


class Upstream:
    """Shared state: settings, the fault plan, cached replies and counters."""

    def __init__(self, n_chunks: int, interval_s: float, plan: FaultPlan | None, hang_s: float, end_gap_s: float = 0.0) -> None:
        self.n_chunks = n_chunks
        self.interval_s = interval_s
        self.plan = plan
        self.hang_s = hang_s
        self.end_gap_s = end_gap_s  # pause between the last event ([DONE]) and the end of the chunked body
        self.requests = 0
        self.streams = 0
        self.connections = 0
        self._bodies: dict[str, bytes] = {}
        self._events: dict[tuple[str, bool], list[bytes]] = {}

    def body(self, model: str) -> bytes:
        if model not in self._bodies:
            self._bodies[model] = completion_body(model)
        return self._bodies[model]

    def events(self, model: str, include_usage: bool) -> list[bytes]:
        key = (model, include_usage)
        if key not in self._events:
            self._events[key] = stream_events(model, self.n_chunks, include_usage)
        return self._events[key]

    def stats(self) -> bytes:
        served = dict(self.plan.served) if self.plan else {OK: self.requests}
        return json.dumps({"requests": self.requests, "streams": self.streams, "connections": self.connections,
                           "served": served}).encode()


class UpstreamProtocol(asyncio.Protocol):
    def __init__(self, upstream: Upstream) -> None:
        self.up = upstream
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.up.connections += 1  # how many TCP connections clients opened: tells pooling from reconnecting

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write(http_response(400, b'{"error":"bad request"}', keep_alive=False))
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.task is not None:
            self.task.cancel()

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        if method == b"POST" and path in (b"/v1/chat/completions", b"/chat/completions"):
            self._chat(b"".join(self.body), keep_alive)
        elif method == b"GET" and path == b"/healthz":
            self._reply(http_response(200, b"ok", b"text/plain", keep_alive), keep_alive)
        elif method == b"GET" and path == b"/v1/models":
            models = b'{"object":"list","data":[{"id":"fake-model","object":"model"}]}'
            self._reply(http_response(200, models, keep_alive=keep_alive), keep_alive)
        elif method == b"GET" and path == b"/stats":
            self._reply(http_response(200, self.up.stats(), keep_alive=keep_alive), keep_alive)
        else:
            self._reply(http_response(404, b'{"error":"not found"}', keep_alive=keep_alive), keep_alive)

    # -- behaviour
    def _chat(self, raw: bytes, keep_alive: bool) -> None:
        up = self.up
        up.requests += 1
        try:
            payload = json.loads(raw)
            model = str(payload.get("model") or "fake-model")
            stream = bool(payload.get("stream"))
            include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
        except (ValueError, AttributeError):
            self._reply(http_response(400, b'{"error":{"message":"body must be a JSON object"}}', keep_alive=keep_alive), keep_alive)
            return
        kind = up.plan.next() if up.plan else OK
        if kind == ERROR_500:
            self._reply(http_response(500, ERROR_BODY, keep_alive=keep_alive), keep_alive)
        elif kind == TIMEOUT:
            self._start(self._hang())
        elif stream:
            up.streams += 1
            self._start(self._stream(up.events(model, include_usage), kind == CUT, keep_alive))
        elif kind == CUT:
            reply = http_response(200, up.body(model))
            self._write(reply[: len(reply) - len(up.body(model)) // 2])
            self._abort()
        else:
            self._reply(http_response(200, up.body(model), keep_alive=keep_alive), keep_alive)

    def _start(self, coro: "asyncio.coroutines.Coroutine[None, None, None]") -> None:  # type: ignore[name-defined]
        # Clients here never pipeline; stop reading until this reply is done anyway.
        assert self.transport is not None
        self.transport.pause_reading()
        self.task = asyncio.get_running_loop().create_task(coro)

    async def _hang(self) -> None:
        await asyncio.sleep(self.up.hang_s)
        self._abort()

    async def _stream(self, events: list[bytes], cut: bool, keep_alive: bool) -> None:
        self._write(STREAM_HEAD + chunk(events[0]))
        last = len(events) // 2 if cut else len(events)
        for event in events[1:last]:
            if self.up.interval_s:
                await asyncio.sleep(self.up.interval_s)
            if not self._write(chunk(event)):
                return
        if cut:
            self._abort()
            return
        if self.up.end_gap_s:
            await asyncio.sleep(self.up.end_gap_s)
        self._write(b"0\r\n\r\n")
        self.task = None
        if keep_alive:
            assert self.transport is not None
            self.transport.resume_reading()
        else:
            self._close()

    def _reply(self, data: bytes, keep_alive: bool) -> None:
        self._write(data)
        if not keep_alive:
            self._close()

    def _write(self, data: bytes) -> bool:
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def serve(upstream: Upstream, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: UpstreamProtocol(upstream), "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=10, help="content chunks per streamed reply")
    parser.add_argument("--chunk-interval-ms", type=float, default=1.0, help="pause between streamed chunks")
    parser.add_argument("--faults", default="", help='e.g. "error500=0.1,timeout=0.05,cut=0.05"')
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end-gap-ms", type=float, default=0.0,
                        help="pause between a stream's [DONE] and the end of its body (as when they travel in separate packets)")
    parser.add_argument("--hang-seconds", type=float, default=30.0, help="how long a 'timeout' request hangs")
    args = parser.parse_args(argv)
    rates = FaultRates.parse(args.faults)
    plan = FaultPlan(rates, args.seed) if rates.total else None
    upstream = Upstream(args.chunks, args.chunk_interval_ms / 1000, plan, args.hang_seconds, args.end_gap_ms / 1000)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(serve(upstream, args.port))


if __name__ == "__main__":
    main()
