"""OpenAI-shaped errors: every 4xx/5xx body is {"error": {message, type, param, code}}."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class ApiError(Exception):
    """An error that maps to one HTTP response in OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)

    def response(self) -> Response:
        return Response(
            orjson.dumps(self.body()),
            status_code=self.status,
            media_type="application/json",
            headers=self.headers,
        )


def error_body(message: str, type: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def invalid(param: str | None, message: str, *, status: int = 400, code: str = "invalid_value") -> ApiError:
    return ApiError(status, message, param=param, code=code)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", code="not_found")


def loc_to_param(loc: tuple[Any, ...]) -> str | None:
    """Turn a pydantic error location into OpenAI's param style: messages[0].content."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header"):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _is_union_tag(part):
            continue  # pydantic names the union member tried ('str', 'list[TextPart]'): not a field
        else:
            out += f".{part}" if out else str(part)
    return out or None


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "bytes"}


def _is_union_tag(part: str) -> bool:
    return part in _TYPE_TAGS or "[" in part or "-" in part or part[:1].isupper()
