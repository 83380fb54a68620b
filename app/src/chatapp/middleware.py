"""ASGI middleware of the app (the access log is in logs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ApiError


class BodyTooLarge(Exception):
    pass


@dataclass(slots=True)
class LimitBox:
    limit: int  # set from the settings at startup; the middleware stack is built before that


class BodyLimit:
    """Rejects bodies over CHAT_MAX_BODY_BYTES before they are read into memory."""

    def __init__(self, app: Any, box: LimitBox) -> None:
        self.app = app
        self.box = box

    @property
    def limit(self) -> int:
        return self.box.limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await too_large(self.limit).response()(scope, receive, send)
                return
        seen = 0

        async def limited() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited, send)


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body is larger than {limit} bytes (CHAT_MAX_BODY_BYTES)", param="body", code="body_too_large")
