"""One Cloud Logging JSON line per request; no content unless enabled; never a key."""

from __future__ import annotations

from collections.abc import Callable

from conftest import KEY_ACME, PROJECT, AppServer

SECRET_TEXT = "my-very-private-question-7731"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_one_structured_line_per_request_with_trace_and_no_content(app_server: AppServer) -> None:
    client = app_server.client()
    client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": SECRET_TEXT}],
        extra_headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"},
    )
    stream = client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": SECRET_TEXT}], stream=True,
        extra_headers={"X-Cloud-Trace-Context": f"{TRACE}/12345;o=1"},
    )
    for _ in stream:
        pass
    lines = app_server.logs.requests("/v1/chat/completions")
    assert len(lines) == 2
    plain, streamed = lines
    for line in lines:
        assert line["severity"] == "INFO"
        assert line["message"] == "POST /v1/chat/completions 200"
        assert line["httpRequest"]["requestMethod"] == "POST"
        assert line["httpRequest"]["status"] == 200
        assert line["httpRequest"]["latency"].endswith("s")
        assert line["logging.googleapis.com/trace"] == f"projects/{PROJECT}/traces/{TRACE}"
        assert line["logging.googleapis.com/trace_sampled"] is True
        assert line["tenant"] == "acme"
        assert line["model"] == "primary-model"
        assert line["fallback_used"] is False
        assert line["prompt_version"] == "t1"
        assert line["completion_tokens"] > 0
        assert line["ttft_ms"] >= 0 and line["latency_ms"] >= line["ttft_ms"]
    assert plain["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"
    assert streamed["logging.googleapis.com/spanId"] == format(12345, "016x")
    assert int(streamed["httpRequest"]["responseSize"]) > 0
    everything = app_server.logs.text()
    assert SECRET_TEXT not in everything
    assert "Hello there" not in everything  # the reply is content too
    assert KEY_ACME not in everything and KEY_ACME[:12] not in everything


def test_errors_are_logged_with_severity_and_without_keys(app_server: AppServer) -> None:
    app_server.call("POST", "/v1/chat/completions", key="sk-some-wrong-key-000000", body={"model": "default"})
    app_server.call("POST", "/v1/chat/completions", body={"model": "default", "messages": "x"})
    lines = app_server.logs.requests("/v1/chat/completions")
    assert [line["httpRequest"]["status"] for line in lines] == [401, 400]
    assert all(line["severity"] == "WARNING" for line in lines)
    assert "sk-some-wrong-key" not in app_server.logs.text()


def test_content_is_logged_only_when_enabled(start_app: Callable[..., AppServer]) -> None:
    server = start_app(CHAT_LOG_CONTENT="true")
    server.client().chat.completions.create(model="default", messages=[{"role": "user", "content": SECRET_TEXT}])
    line = server.logs.requests("/v1/chat/completions")[-1]
    assert line["request_messages"][-1]["content"] == SECRET_TEXT
    assert "Hello there" in line["reply"]
    assert KEY_ACME not in server.logs.text()


def test_startup_line_and_every_record_is_one_json_object(app_server: AppServer) -> None:
    app_server.call("GET", "/healthz", key=None)
    records = app_server.logs.records()  # json.loads of every line: fails on any non-JSON line
    assert records[0]["message"] == "chatapp started" and records[0]["severity"] == "INFO"
    assert records[-1]["httpRequest"]["requestUrl"] == "/healthz"


def test_trace_header_parsing() -> None:
    from chatapp.logs import trace_fields

    good = trace_fields({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-00"}, "p")
    assert good == {"logging.googleapis.com/trace": f"projects/p/traces/{TRACE}",
                    "logging.googleapis.com/trace_sampled": False,
                    "logging.googleapis.com/spanId": "00f067aa0ba902b7"}
    # a malformed or all-zero traceparent falls back to X-Cloud-Trace-Context
    fallback = trace_fields({"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
                             "x-cloud-trace-context": f"{TRACE.upper()}/1;o=0"}, "p")
    assert fallback["logging.googleapis.com/trace"] == f"projects/p/traces/{TRACE}"
    assert fallback["logging.googleapis.com/spanId"] == "0000000000000001"
    assert trace_fields({"traceparent": "garbage"}, "p") == {}
    assert trace_fields({"x-cloud-trace-context": "not-a-trace"}, "p") == {}
    assert trace_fields({"x-cloud-trace-context": TRACE}, None)["logging.googleapis.com/trace"] == TRACE
