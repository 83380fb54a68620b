"""Vertex AI Gemini through google-genai (async, aiohttp transport).

Retries are owned by chatapp.router (one policy, one deadline, one circuit breaker for every
provider), so the SDK is told explicitly to make a single attempt: HttpRetryOptions(attempts=1).
google.genai is imported on first use only, to keep cold starts short.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from .base import (
    Completion,
    Delta,
    ReplyBudget,
    StreamEvent,
    UpstreamError,
    UpstreamRequest,
    Usage,
    clean_reply,
    error_for_status,
    unsendable,
)

_FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
           "PROHIBITED_CONTENT": "content_filter", "BLOCKLIST": "content_filter", "SPII": "content_filter"}


class GeminiProvider:
    def __init__(
        self,
        *,
        project: str | None,
        location: str,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self._project = project
        self._location = location
        self._api_key = api_key
        self._base_url = base_url
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            from google import genai
            from google.genai import types

            options: dict[str, Any] = {"retry_options": types.HttpRetryOptions(attempts=1)}
            if self._base_url:
                # A proxy or a test double: resource names are relative to this URL, no credentials.
                options["base_url"] = self._base_url
                options["base_url_resource_scope"] = types.ResourceScope.COLLECTION
                client = genai.Client(vertexai=True, http_options=types.HttpOptions(**options))
            elif self._api_key:
                client = genai.Client(api_key=self._api_key, http_options=types.HttpOptions(**options))
            else:
                client = genai.Client(
                    vertexai=True,
                    project=self._project,
                    location=self._location,
                    http_options=types.HttpOptions(**options),
                )
            self._client = client
        return self._client

    @staticmethod
    def _contents(request: UpstreamRequest) -> tuple[str | None, list[dict[str, Any]]]:
        system: list[str] = []
        contents: list[dict[str, Any]] = []
        for msg in request.messages:
            if msg["role"] == "system":
                system.append(msg["content"])
                continue
            role = "model" if msg["role"] == "assistant" else "user"
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].append({"text": msg["content"]})
            else:
                contents.append({"role": role, "parts": [{"text": msg["content"]}]})
        return ("\n\n".join(system) or None), contents

    def _config(self, request: UpstreamRequest, system: str | None, timeout: float) -> dict[str, Any]:
        config: dict[str, Any] = {"http_options": {"timeout": int(timeout * 1000)}}
        if system:
            config["system_instruction"] = system
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.top_p is not None:
            config["top_p"] = request.top_p
        if request.max_tokens is not None:
            config["max_output_tokens"] = request.max_tokens
        if request.stop:
            config["stop_sequences"] = request.stop
        return config

    @staticmethod
    def _wrap(exc: BaseException) -> UpstreamError:
        from google.genai import errors

        if isinstance(exc, errors.APIError):
            return error_for_status(int(exc.code or 500), str(exc.message or exc.status or ""))
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return UpstreamError("gemini timed out")
        if isinstance(exc, UnicodeEncodeError):  # the request could not be encoded: nothing was sent
            return unsendable(exc)
        return UpstreamError(f"gemini call failed: {exc.__class__.__name__}")

    @staticmethod
    def _usage(response: Any) -> Usage:
        meta = getattr(response, "usage_metadata", None)
        if meta is None:
            return Usage()
        return Usage(int(meta.prompt_token_count or 0), int(meta.candidates_token_count or 0))

    @staticmethod
    def _finish(response: Any) -> str | None:
        candidates = getattr(response, "candidates", None) or []
        if candidates and candidates[0].finish_reason is not None:
            name = getattr(candidates[0].finish_reason, "name", str(candidates[0].finish_reason))
            return _FINISH.get(name, "stop")
        return None

    async def complete(self, request: UpstreamRequest, timeout: float) -> Completion:
        system, contents = self._contents(request)
        client = self._sdk()
        try:
            async with asyncio.timeout(timeout):
                response = await client.aio.models.generate_content(
                    model=request.model, contents=contents, config=self._config(request, system, timeout)
                )
        except UpstreamError:
            raise
        except Exception as exc:  # the SDK raises APIError, aiohttp and pydantic errors
            raise self._wrap(exc) from exc
        try:
            text = clean_reply(response.text or "")
            finish = self._finish(response) or "stop"
            usage = self._usage(response)
        except Exception as exc:  # a reply the SDK parsed but that does not hold what it should
            raise self._wrap(exc) from exc
        budget = ReplyBudget(request.max_reply_chars)
        text = budget.take(text)
        return Completion(text, "length" if budget.cut else finish, usage)

    async def stream(self, request: UpstreamRequest, timeout: float) -> AsyncIterator[StreamEvent]:
        system, contents = self._contents(request)
        client = self._sdk()
        parts: list[str] = []
        finish: str | None = None
        usage = Usage()
        budget = ReplyBudget(request.max_reply_chars)
        try:
            async with asyncio.timeout(timeout):
                iterator = await client.aio.models.generate_content_stream(
                    model=request.model, contents=contents, config=self._config(request, system, timeout)
                )
            it = aiter(iterator)
            while True:
                try:
                    async with asyncio.timeout(timeout):
                        chunk = await anext(it)
                except StopAsyncIteration:
                    break
                text = chunk.text if chunk.candidates else None
                if text:
                    kept = budget.take(clean_reply(text))
                    if kept:
                        parts.append(kept)
                        yield Delta(kept)
                finish = self._finish(chunk) or finish
                if getattr(chunk, "usage_metadata", None) is not None:
                    usage = self._usage(chunk)
                if budget.cut:  # the reply limit: stop reading, end the answer as "length"
                    close = getattr(it, "aclose", None)
                    if close is not None:
                        await close()
                    break
        except Exception as exc:
            raise self._wrap(exc) from exc
        if budget.cut:
            yield Completion("".join(parts), "length", usage)
            return
        if finish is None:  # Gemini marks its last chunk; without it the stream was cut
            raise UpstreamError("gemini stream ended without a finish reason")
        yield Completion("".join(parts), finish, usage)

    async def close(self) -> None:
        if self._client is not None:
            try:
                await self._client.aio.aclose()
            except Exception:  # closing is best effort at shutdown
                pass
