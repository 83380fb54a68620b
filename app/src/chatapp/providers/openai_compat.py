"""Any OpenAI-compatible chat server (vLLM, NIM, Ollama, OpenAI) over one shared aiohttp session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from .base import Completion, Delta, StreamEvent, UpstreamError, UpstreamRequest, Usage, error_for_status
from .google_identity import GoogleTokenSource

DRAIN_AFTER_DONE_S = 1.0


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
        return orjson.dumps(body)

    async def complete(self, request: UpstreamRequest, timeout: float) -> Completion:
        try:
            async with self._session.post(
                self._url,
                data=self._payload(request, False),
                headers=await self._request_headers(),
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    raise error_for_status(resp.status, raw.decode("utf-8", "replace"), resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamError(f"upstream unreachable or too slow: {exc.__class__.__name__}") from exc
        try:
            data = orjson.loads(raw)
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            usage = data.get("usage") or {}
            return Completion(
                text,
                choice.get("finish_reason") or "stop",
                Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
            )
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise UpstreamError("upstream sent a malformed completion") from exc

    async def stream(self, request: UpstreamRequest, timeout: float) -> AsyncIterator[StreamEvent]:
        # timeout bounds the wait for the headers and for each following chunk, not the whole answer
        client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        parts: list[str] = []
        finish = "stop"
        usage = Usage()
        done = False
        try:
            async with self._session.post(
                self._url, data=self._payload(request, True), headers=await self._request_headers(), timeout=client_timeout
            ) as resp:
                if resp.status != 200:
                    raw = await resp.read()
                    raise error_for_status(resp.status, raw.decode("utf-8", "replace"), resp.headers.get("Retry-After"))
                async for line in resp.content:
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        # Read to the end of the body so aiohttp pools the connection instead of
                        # closing it (a new TLS handshake per stream otherwise). Bounded: a server
                        # that keeps the stream open after [DONE] costs a reconnect, not the answer.
                        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                            await asyncio.wait_for(resp.content.read(), DRAIN_AFTER_DONE_S)
                        break
                    chunk = orjson.loads(data)
                    if "error" in chunk:
                        raise UpstreamError(f"upstream stream error: {str(chunk['error'])[:200]}")
                    if chunk.get("usage"):
                        u = chunk["usage"]
                        usage = Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0))
                    for choice in chunk.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            parts.append(text)
                            yield Delta(text)
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamError(f"upstream stream failed: {exc.__class__.__name__}") from exc
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            raise UpstreamError("upstream sent a malformed stream chunk") from exc
        if not done:
            raise UpstreamError("upstream closed the stream before [DONE]")
        yield Completion("".join(parts), finish, usage)

    async def close(self) -> None:  # the shared session is closed by the app
        return None
