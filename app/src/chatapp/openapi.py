"""What /openapi.json says each route answers, so the document matches what the app sends.

FastAPI documents a 422 for every route with parameters; this app never sends one (a request
that fails validation is a 400 in OpenAI's error shape, see api.validation_error), so the 422s are
removed and the statuses the app does send (400, 401, 404, 413, 429, 502/503/504) are listed with
the error schema and, where the app sets it, the Retry-After header. tests/test_openapi.py checks
the document against the running app with schemathesis.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """OpenAI's error shape; every 4xx and 5xx body has it."""

    error: ErrorDetail


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
_JSON_OBJECT: dict[str, Any] = {"application/json": {"schema": {"type": "object"}}}


def _error(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {"model": ErrorResponse, "description": description}
    if retry_after:
        doc["headers"] = _RETRY_AFTER
    return doc


E400 = _error("Invalid request: `param` names the field (a body that is not a JSON object: `body`).")
E401 = _error("Missing or wrong API key (Authorization: Bearer <key>, or x-api-key).")
# A key limited to its partner's source ranges (CHAT_ALLOWED_CIDRS_<TENANT>) used from elsewhere.
E403_SOURCE = {
    "description": "This API key is not allowed from the client's address (its partner's source ranges).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
}
E404 = _error("Not found, or another tenant's: the two look the same.")
E413 = _error("Request body larger than CHAT_MAX_BODY_BYTES.")
E429 = _error("Over this key's requests or tokens per minute.", retry_after=True)
E502 = _error("No model of the chain gave a usable answer.")
E503 = _error(
    "No model is available right now (circuits open), the conversation store is unavailable, or the "
    "server is shutting down.",
    retry_after=True,
)
E503_STORE = _error("The conversation store is unavailable right now.", retry_after=True)
E504 = _error("No model answered within CHAT_REQUEST_DEADLINE_S.")

_CHAT_200 = {
    "description": "A chat.completion (JSON) or, with `stream: true`, chat.completion.chunk events (SSE) "
    "ending with `data: [DONE]`; a stream that fails ends with an error event instead.",
    "content": {
        "application/json": {"schema": {"type": "object"}},
        # one server-sent event: `data` is a chat.completion.chunk as JSON, an error object, or [DONE]
        "text/event-stream": {"schema": {
            "type": "object", "required": ["data"],
            "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
        }},
    },
}

ROUTE_DOCS: dict[str, dict[str, Any]] = {
    "chat_completions": {
        "responses": {
            200: _CHAT_200, 400: E400, 401: E401, 404: E404, 413: E413, 429: E429, 502: E502, 503: E503, 504: E504,
        },
    },
    "list_models": {"responses": {200: {"content": _JSON_OBJECT}, 401: E401, 429: E429}},
    "get_model": {"responses": {200: {"content": _JSON_OBJECT}, 401: E401, 404: E404, 429: E429}},
    "list_conversations": {
        "responses": {200: {"content": _JSON_OBJECT}, 400: E400, 401: E401, 429: E429, 503: E503_STORE},
    },
    "get_conversation": {
        "responses": {200: {"content": _JSON_OBJECT}, 401: E401, 404: E404, 429: E429, 503: E503_STORE},
    },
    "delete_conversation": {
        "responses": {200: {"content": _JSON_OBJECT}, 401: E401, 404: E404, 429: E429, 503: E503_STORE},
    },
    "get_usage": {
        "summary": "Usage totals by day and model",
        "description": "The caller's tenant's requests, tokens and cost (USD, from the shipped list prices) by "
        "UTC day and model, from `since` (default: the first of this month) to `until` (default: today); a "
        "key in CHAT_ADMIN_API_KEYS gets every tenant's.",
        "responses": {200: {"content": _JSON_OBJECT}, 400: E400, 401: E401, 404: E404, 429: E429, 503: E503_STORE},
    },
    "get_profile": {
        "responses": {200: {"content": _JSON_OBJECT}, 400: E400, 401: E401, 404: E404, 429: E429, 503: E503_STORE},
    },
}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <API key>"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
               "description": "The API key; read before Authorization."},
}


def finish_openapi(app: FastAPI) -> None:
    """Replaces app.openapi with one that drops FastAPI's 422s and adds the security schemes."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path_item in doc.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, dict):
                    continue
                operation.get("responses", {}).pop("422", None)
                if "401" in operation.get("responses", {}):
                    operation["security"] = [{"bearer": []}, {"apiKey": []}]
                    operation["responses"].setdefault("403", E403_SOURCE)  # source_ranges.enforce, any keyed route
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        doc["components"]["securitySchemes"] = SECURITY_SCHEMES
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
