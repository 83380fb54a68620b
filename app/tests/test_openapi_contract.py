"""The OpenAI features this server does not implement are refused with a 400 naming the field,
never answered as if honoured; the OpenAPI document says what the app sends (400, not 422; 401,
404, 413, 429 ...), checked against the running app by schemathesis (#18.9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi import checks as oas_checks

from chatapp.api import create_app
from chatapp.settings import Settings
from conftest import KEY_ACME, AppServer

USER = [{"role": "user", "content": "hello"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tools", TOOLS),
        ("tool_choice", "auto"),
        ("tool_choice", {"type": "function", "function": {"name": "get_weather"}}),
        ("response_format", {"type": "json_object"}),
        ("response_format", {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}),
        ("logprobs", True),
        ("top_logprobs", 3),
    ],
)
def test_unsupported_openai_features_are_a_400_naming_the_field(
    app_server: AppServer, field: str, value: Any
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        app_server.client().chat.completions.create(model="default", messages=USER, **{field: value})  # type: ignore[call-overload]
    body = err.value.body
    assert isinstance(body, dict) and body["param"] == field and body["code"] == "unsupported_parameter", body
    assert "not supported" in body["message"]


def test_their_no_op_forms_are_accepted(app_server: AppServer) -> None:
    r = app_server.call("POST", "/v1/chat/completions", body={
        "model": "default", "messages": USER, "tools": [], "tool_choice": "none", "response_format": {"type": "text"},
        "logprobs": False, "parallel_tool_calls": True,
    })
    assert r.status == 200, r.text


def test_the_document_lists_what_the_app_sends(app_server: AppServer) -> None:
    doc = app_server.call("GET", "/openapi.json", key=None).json()
    assert doc == create_app(Settings()).openapi()  # what schemathesis checks below is what is served
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert "422" not in operation["responses"], (method, path)
            assert operation["security"] and "401" in operation["responses"], (method, path)
    chat = doc["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert {"200", "400", "401", "404", "413", "429", "502", "503", "504"} <= set(chat)
    assert chat["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "Retry-After" in chat["429"]["headers"] and "Retry-After" in chat["503"]["headers"]
    assert set(chat["200"]["content"]) == {"application/json", "text/event-stream"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]


# --- schemathesis: generated requests against the live app, bounded -------------------------

schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
CHECKS = [
    oas_checks.status_code_conformance,  # every status sent is documented (no 422 in disguise)
    oas_checks.content_type_conformance,
    oas_checks.response_headers_conformance,  # e.g. Retry-After on 429 / 503
    oas_checks.response_schema_conformance,  # every error body in OpenAI's shape
    oas_checks.negative_data_rejection,  # what the schema says is invalid is a 4xx
]
# Not positive_data_acceptance: a request can match the schema and still be refused with a
# documented 400, since some rules follow the revision's settings (the models of its chain, the
# allowed prompt versions, CHAT_MAX_* limits, a user message being present).


@pytest.fixture
def open_server(start_app: Callable[..., AppServer]) -> AppServer:
    return start_app(CHAT_RATE_RPM="1000000", CHAT_RATE_TPM="1000000000")  # no 429 from the volume


@schema.parametrize()
@settings(max_examples=15, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_app_answers_as_its_openapi_document_says(case: schemathesis.Case, open_server: AppServer) -> None:
    response = case.call(base_url=open_server.url, headers={"Authorization": f"Bearer {KEY_ACME}"}, timeout=30)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    case.validate_response(response, checks=CHECKS)
