"""Traces: the exported spans of a request whose primary model fails carry the GenAI
semantic-convention attributes, show each upstream attempt and the fallback, the store calls,
and the request's log line names the same trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatapp import tracing
from conftest import PROJECT, AppServer
from fakes import Behaviour, FakeModelServer


def spans_of(trace_id: int) -> list[Any]:
    exporter = tracing.MEMORY_EXPORTERS[-1]
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def test_spans_show_genai_attributes_attempts_and_the_fallback(
    start_app: Callable[..., AppServer], openai_fake: FakeModelServer
) -> None:
    server = start_app(CHAT_TRACING="memory", CHAT_VERTEX_MODEL="gemini-2.5-flash")
    openai_fake.push(Behaviour(status=500), Behaviour(status=500))  # primary: one try + one retry, both fail
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    reply = server.call("POST", "/v1/chat/completions", headers={"traceparent": parent},
                        body={"model": "default", "messages": [{"role": "user", "content": "trace me"}]})
    assert reply.status == 200 and reply.headers["x-model"] == "gemini-2.5-flash"
    trace_id = int("0af7651916cd43dd8448eb211c80319c", 16)
    spans = spans_of(trace_id)
    by_name: dict[str, list[Any]] = {}
    for s in spans:
        by_name.setdefault(s.name, []).append(s)

    server_span = by_name["POST /v1/chat/completions"][0]
    assert server_span.parent is not None and server_span.parent.span_id == int("b7ad6b7169203331", 16)
    attrs = dict(server_span.attributes)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.response.model"] == "gemini-2.5-flash"
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["stagewise.fallback_used"] is True and attrs["stagewise.tenant"] == "acme"
    assert attrs["http.response.status_code"] == 200

    failed = by_name["chat primary-model"]
    assert len(failed) == 2 and all(dict(s.attributes)["error.type"] == "UpstreamError" for s in failed)
    assert all(dict(s.attributes)["gen_ai.provider.name"] == "openai" for s in failed)
    fallback = by_name["chat gemini-2.5-flash"]
    assert len(fallback) == 1
    fb = dict(fallback[0].attributes)
    assert fb["stagewise.fallback"] is True and fb["gen_ai.request.model"] == "gemini-2.5-flash"
    assert fb["gen_ai.usage.input_tokens"] == attrs["gen_ai.usage.input_tokens"]
    assert "error.type" not in fb
    assert all(s.parent is not None and s.parent.span_id == server_span.context.span_id for s in failed + fallback)
    assert "store.record_turn" in by_name

    line = server.logs.requests("/v1/chat/completions")[-1]
    assert line["logging.googleapis.com/trace"] == f"projects/{PROJECT}/traces/0af7651916cd43dd8448eb211c80319c"
    assert line["logging.googleapis.com/spanId"] == format(server_span.context.span_id, "016x")


def test_a_request_without_traceparent_gets_a_trace_that_its_log_line_names(
    start_app: Callable[..., AppServer],
) -> None:
    server = start_app(CHAT_TRACING="memory")
    reply = server.call("POST", "/v1/chat/completions",
                        body={"model": "default", "messages": [{"role": "user", "content": "hi"}]})
    assert reply.status == 200
    line = server.logs.requests("/v1/chat/completions")[-1]
    trace_id = line["logging.googleapis.com/trace"].rsplit("/", 1)[-1]
    spans = spans_of(int(trace_id, 16))
    assert {s.name for s in spans} >= {"POST /v1/chat/completions", "chat primary-model"}


def test_bad_tracing_settings_fail_at_startup(start_app: Callable[..., AppServer]) -> None:
    from chatapp.settings import Settings, SettingsError

    try:
        tracing.build_tracing(Settings(), {"CHAT_TRACING": "jaeger"})
    except SettingsError as exc:
        assert "CHAT_TRACING='jaeger' is unknown" in str(exc)
    else:
        raise AssertionError("CHAT_TRACING=jaeger was accepted")
    try:
        tracing.build_tracing(Settings(), {"CHAT_TRACING": "gcp"})
    except SettingsError as exc:
        assert "needs GOOGLE_CLOUD_PROJECT" in str(exc)
    else:
        raise AssertionError("CHAT_TRACING=gcp without a project was accepted")


def test_no_credentials_for_cloud_trace_turns_tracing_off_not_the_app(
    start_app: Callable[..., AppServer], tmp_path: Any,
) -> None:
    # On Cloud Run (K_SERVICE) tracing defaults to Cloud Trace; without credentials the app still serves.
    server = start_app(K_SERVICE="chat", GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "missing.json"))
    reply = server.call("POST", "/v1/chat/completions",
                        body={"model": "default", "messages": [{"role": "user", "content": "hi"}]})
    assert reply.status == 200
    warnings = [r for r in server.logs.records() if r.get("message", "").startswith("tracing is off")]
    assert warnings and warnings[0]["severity"] == "WARNING"
