"""Any OpenAI-compatible chat server (vLLM, NIM, Ollama, OpenAI) over one shared aiohttp session.

Everything read from the upstream is bounded and checked: the body of a completion, each SSE
line, the whole stream and the reply text (`UpstreamRequest.max_reply_chars`, cut there with
finish_reason "length"). A reply that is not what the Chat Completions format says (a number as
`content`, a line too long to be an event, JSON that is not an object) is that upstream's
failure: an `UpstreamError` that counts for its breaker and lets the router fall back, never an
exception that takes the request down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import aiohttp
import orjson

from .base import (
    Completion,
    Delta,
    ReplyBudget,
    StreamEvent,
    UpstreamError,
    UpstreamRequest,
    Usage,
    as_finish,
    as_int,
    as_text,
    clean_reply,
    error_for_status,
    malformed,
    unsendable,
)
from .google_identity import GoogleTokenSource

DRAIN_AFTER_DONE_S = 1.0
DRAIN_AFTER_DONE_BYTES = 64 * 1024  # more than this after [DONE]: close instead of pooling
ERROR_BODY_BYTES = 64 * 1024  # enough of an error body for the log line
MAX_SSE_LINE_BYTES = 1024 * 1024  # one event; a chunk of a few tokens is well under 1 KiB
# JSON escapes a character in at most 12 bytes (a surrogate pair as two \uXXXX); the rest of a
# completion (ids, usage, per-chunk envelopes) is small next to that
BYTES_PER_REPLY_CHAR = 12
ENVELOPE_BYTES = 1024 * 1024
STREAM_OVERHEAD_FACTOR = 4  # a stream repeats its envelope per chunk


def _usage(raw: object) -> Usage:
    if raw is None:
        return Usage()
    if not isinstance(raw, dict):
        raise TypeError("usage is not an object")
    return Usage(as_int(raw.get("prompt_tokens")), as_int(raw.get("completion_tokens")))


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or a malformed-reply error as soon as it exceeds `limit` bytes."""
    if resp.content_length is not None and resp.content_length > limit:
        raise malformed(f"a reply of {resp.content_length} bytes, more than the {limit} allowed")
    body = bytearray()
    async for data in resp.content.iter_chunked(64 * 1024):
        body += data
        if len(body) > limit:
            raise malformed(f"a reply of more than {limit} bytes")
    return bytes(body)


async def _read_prefix(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most `limit` bytes of an (error) body; the rest is not read."""
    body = bytearray()
    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
        async for data in resp.content.iter_chunked(16 * 1024):
            body += data
            if len(body) >= limit:
                break
    return bytes(body[:limit])


async def _sse_lines(content: aiohttp.StreamReader, max_line: int, max_total: int) -> AsyncGenerator[bytes, None]:
    """Lines of an event stream (CRLF or LF), each at most `max_line` bytes, all together at
    most `max_total`. aiohttp's own line reader raises an exception outside its ClientError
    hierarchy for a line over 128 KiB, which is why the lines are split here."""
    buf = bytearray()
    total = 0
    async for data in content.iter_any():
        total += len(data)
        if total > max_total:
            raise malformed(f"a stream of more than {max_total} bytes")
        buf += data
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            yield bytes(buf[start:end]).rstrip(b"\r")
            start = end + 1
        if start:
            del buf[:start]
        if len(buf) > max_line:
            raise malformed(f"an event line longer than {max_line} bytes")
    if buf:
        yield bytes(buf).rstrip(b"\r")


class OpenAICompatProvider:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str | None,
        token_source: GoogleTokenSource | None = None,
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._headers = headers
        self._token_source = token_source

    async def _request_headers(self) -> dict[str, str]:
        if self._token_source is None:
            return self._headers
        return {**self._headers, "Authorization": await self._token_source.authorization()}

    def _payload(self, request: UpstreamRequest, stream: bool) -> bytes:
        body: dict[str, Any] = {"model": request.model, "messages": request.messages, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = request.stop
        try:
            return orjson.dumps(body)
        except (TypeError, ValueError) as exc:  # e.g. a lone surrogate: nothing is sent
            raise unsendable(exc) from exc

    async def complete(self, request: UpstreamRequest, timeout: float) -> Completion:
        payload = self._payload(request, False)
        limit = request.max_reply_chars * BYTES_PER_REPLY_CHAR + ENVELOPE_BYTES
        try:
            async with self._session.post(
                self._url,
                data=payload,
                headers=await self._request_headers(),
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                if resp.status != 200:
                    raw = await _read_prefix(resp, ERROR_BODY_BYTES)
                    raise error_for_status(resp.status, raw.decode("utf-8", "replace"), resp.headers.get("Retry-After"))
                raw = await _read_capped(resp, limit)
        except UpstreamError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamError(f"upstream unreachable or too slow: {exc.__class__.__name__}") from exc
        except Exception as exc:  # anything else aiohttp raised while reading the reply
            raise malformed(f"an unreadable reply ({exc.__class__.__name__})") from exc
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict):
                raise TypeError("the completion is not a JSON object")
            choices = data["choices"]
            if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                raise TypeError("choices is not a non-empty list of objects")
            message = choices[0]["message"]
            if not isinstance(message, dict):
                raise TypeError("message is not an object")
            text = clean_reply(as_text(message.get("content")))
            finish = as_finish(choices[0].get("finish_reason"))
            usage = _usage(data.get("usage"))
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise malformed(f"a malformed completion ({exc.__class__.__name__})") from exc
        budget = ReplyBudget(request.max_reply_chars)
        text = budget.take(text)
        return Completion(text, "length" if budget.cut else finish, usage)

    async def stream(self, request: UpstreamRequest, timeout: float) -> AsyncIterator[StreamEvent]:
        payload = self._payload(request, True)
        # timeout bounds the wait for the headers and for each following chunk, not the whole answer
        client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        max_total = (request.max_reply_chars * BYTES_PER_REPLY_CHAR + ENVELOPE_BYTES) * STREAM_OVERHEAD_FACTOR
        budget = ReplyBudget(request.max_reply_chars)
        parts: list[str] = []
        finish = "stop"
        usage = Usage()
        done = False
        try:
            async with self._session.post(
                self._url, data=payload, headers=await self._request_headers(), timeout=client_timeout
            ) as resp:
                if resp.status != 200:
                    raw = await _read_prefix(resp, ERROR_BODY_BYTES)
                    raise error_for_status(resp.status, raw.decode("utf-8", "replace"), resp.headers.get("Retry-After"))
                lines = _sse_lines(resp.content, MAX_SSE_LINE_BYTES, max_total)
                try:
                    async for line in lines:
                        if not line.startswith(b"data:"):
                            continue  # comments (": keep-alive"), event names, blank separators
                        data = line[5:].strip()
                        if data == b"[DONE]":
                            done = True
                            break
                        for text, chunk_finish, chunk_usage in _parse_chunk(data):
                            if chunk_usage is not None:
                                usage = chunk_usage
                            if chunk_finish is not None:
                                finish = chunk_finish
                            if text:
                                kept = budget.take(text)
                                if kept:
                                    parts.append(kept)
                                    yield Delta(kept)
                        if budget.cut:
                            break
                finally:
                    await lines.aclose()
                if done:
                    await _drain(resp)
        except UpstreamError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamError(f"upstream stream failed: {exc.__class__.__name__}") from exc
        except Exception as exc:  # a chunk we cannot use, or aiohttp failing outside ClientError
            raise malformed(f"a malformed stream chunk ({exc.__class__.__name__})") from exc
        if budget.cut:  # the connection is closed here rather than read to the end
            yield Completion("".join(parts), "length", usage)
            return
        if not done:
            raise UpstreamError("upstream closed the stream before [DONE]")
        yield Completion("".join(parts), finish, usage)

    async def close(self) -> None:  # the shared session is closed by the app
        return None


def _parse_chunk(data: bytes) -> list[tuple[str, str | None, Usage | None]]:
    """(text, finish_reason, usage) per choice of one `chat.completion.chunk`; raises on anything
    that is not that shape. An `error` object in the stream is the upstream's failure."""
    chunk = orjson.loads(data)
    if not isinstance(chunk, dict):
        raise TypeError("a stream chunk is not a JSON object")
    if "error" in chunk:
        raise UpstreamError(f"upstream stream error: {str(chunk['error'])[:200]}")
    usage = _usage(chunk["usage"]) if chunk.get("usage") is not None else None
    choices = chunk.get("choices") or []
    if not isinstance(choices, list):
        raise TypeError("choices is not a list")
    out: list[tuple[str, str | None, Usage | None]] = []
    for choice in choices:
        if not isinstance(choice, dict):
            raise TypeError("a choice is not an object")
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise TypeError("delta is not an object")
        text = clean_reply(as_text(delta.get("content")))
        raw_finish = choice.get("finish_reason")
        out.append((text, as_finish(raw_finish) if raw_finish is not None else None, None))
    if usage is not None:
        out.append(("", None, usage))
    return out


async def _drain(resp: aiohttp.ClientResponse) -> None:
    """Reads what follows [DONE] so aiohttp pools the connection instead of closing it (a new TLS
    handshake per stream otherwise). Bounded in time and size: a server that keeps the stream
    open or keeps sending after [DONE] costs a reconnect, not the answer."""

    async def read() -> None:
        seen = 0
        async for data in resp.content.iter_chunked(16 * 1024):
            seen += len(data)
            if seen > DRAIN_AFTER_DONE_BYTES:
                resp.close()
                return

    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
        await asyncio.wait_for(read(), DRAIN_AFTER_DONE_S)
