"""POST /v1/chat/completions without FastAPI's per-request machinery, for well-formed requests.

Profiles put FastAPI/Starlette's routing, exception and exit-stack middleware, request object and
dependency solving at about a quarter of a request's CPU (bench/RESULTS.md), more than the chat
work itself. This ASGI layer sits inside the app's own middleware (access log, tracing, body
limit) and answers a chat request itself when its body is a JSON object (Content-Type
application/json) that the request model accepts: then it runs exactly what the FastAPI route
runs (auth and limits, quotas, `complete_chat`) and turns the same exceptions into the same
responses. Everything else, a bad body included, goes on to FastAPI with the body replayed, so
validation errors, and the OpenAPI document (the route stays registered), are FastAPI's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError
from .schemas import ChatRequest
from .store.base import ConversationGone, StoreUnavailable

PATH = "/v1/chat/completions"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[Request, ChatRequest], Awaitable[Response]]


def is_json(content_type: bytes | None) -> bool:
    """Plain `application/json` (parameters allowed): what every client sends. FastAPI accepts
    more (`+json` subtypes, a parsed Content-Type header); those requests take its route."""
    if content_type is None:
        return False
    return content_type.split(b";", 1)[0].strip().lower() == b"application/json"


class LeanChat:
    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        handler: Handler,
        store_down: Callable[[StoreUnavailable], Response],
        gone: Callable[[ConversationGone], Response],
    ) -> None:
        self.app = app
        self.handler = handler
        self.store_down = store_down
        self.gone = gone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        content_type = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
                break
        if not is_json(content_type):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        failure: BaseException | None = None
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except Exception as exc:  # e.g. the body limit: FastAPI's route makes the response
            failure = exc
        body: ChatRequest | None = None
        if failure is None and messages and messages[-1]["type"] == "http.request":
            try:
                data = orjson.loads(b"".join(chunks))
                if type(data) is dict:
                    body = ChatRequest.model_validate(data)
            except (orjson.JSONDecodeError, ValidationError):
                body = None
        if body is None:
            await self.app(scope, _replay(messages, failure, receive), send)
            return
        request = Request(scope, receive)
        try:
            response = await self.handler(request, body)
        except ApiError as exc:
            response = exc.response()
        except StoreUnavailable as exc:
            response = self.store_down(exc)
        except ConversationGone as exc:
            response = self.gone(exc)
        await response(scope, receive, send)


def _replay(messages: list[Message], failure: BaseException | None, receive: Receive) -> Receive:
    """A receive that gives the messages already read again, then the read's failure, then the
    connection's own receive."""
    pending = list(messages)

    async def replayed() -> Message:
        nonlocal failure
        if pending:
            return pending.pop(0)
        if failure is not None:
            exc, failure = failure, None
            raise exc
        return await receive()

    return replayed
