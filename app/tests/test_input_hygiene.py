"""Bad client input is a 400 before anything goes upstream, and never counts against an
upstream's circuit breaker: one tenant's garbage cannot shut the model off for another (#18.1).

The fuzz test drives the app with property-based request bodies (hypothesis): arbitrary JSON,
near-valid chat requests with wrong types, lone surrogates and control characters, and raw bytes
that are not UTF-8 or not JSON at all. Bounded: a fixed number of examples, derandomized so CI
runs the same cases every time.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatapp.providers.base import UpstreamError, UpstreamRequest
from chatapp.providers.openai_compat import OpenAICompatProvider
from conftest import KEY_ACME, KEY_GLOBEX, AppServer
from fakes import FakeModelServer

USER = [{"role": "user", "content": "hello"}]
FUZZ_EXAMPLES = 200


def escaped(payload: Any) -> bytes:
    """JSON as a client sends it; a lone surrogate travels as the escape \\ud800."""
    return json.dumps(payload, ensure_ascii=True).encode()


def chat(content: Any, **fields: Any) -> dict[str, Any]:
    return {"model": "default", "messages": [{"role": "user", "content": content}], **fields}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("payload", "param", "needle"),
    [
        (chat("hi \ud800"), "messages[0].content", "lone surrogate"),
        (chat([{"type": "text", "text": "\udfff"}]), "messages[0].content[0].text", "lone surrogate"),
        (chat("nul \x00 byte"), "messages[0].content", "control character U+0000"),
        (chat("bell \x07"), "messages[0].content", "control character U+0007"),
        (chat("ok", user="bob\ud83d"), "user", "lone surrogate"),
        (chat("ok", stop=["\x1b["]), "stop[0]", "control character U+001B"),
        ({"model": "default\ud800", "messages": USER}, "model", "lone surrogate"),
    ],
)
def test_text_no_encoder_takes_is_400_naming_the_field_and_nothing_goes_upstream(
    app_server: AppServer, openai_fake: FakeModelServer, gemini_fake: FakeModelServer,
    payload: dict[str, Any], param: str, needle: str, stream: bool,
) -> None:
    r = app_server.call("POST", "/v1/chat/completions", raw=escaped({**payload, "stream": stream}))
    assert r.status == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and needle in error["message"], error
    assert openai_fake.calls() == [] and gemini_fake.calls() == []


def test_tabs_newlines_and_real_unicode_are_fine(app_server: AppServer, openai_fake: FakeModelServer) -> None:
    r = app_server.call("POST", "/v1/chat/completions",
                        raw=escaped(chat("line one\n\tline two\r\n\U0001f600 caf\u00e9", stop=["\n"])))
    assert r.status == 200, r.text
    assert openai_fake.calls()[0].body["messages"][-1]["content"] == "line one\n\tline two\r\n\U0001f600 caf\u00e9"


def test_invalid_input_never_opens_the_circuit_for_other_tenants(
    start_app: Callable[..., AppServer], openai_fake: FakeModelServer
) -> None:
    server = start_app(CHAT_BREAKER_FAILURES="2", CHAT_BREAKER_COOLDOWN_S="60")
    for stream in (True, False) * 3:  # three times the breaker's threshold, streamed and not
        r = server.call("POST", "/v1/chat/completions", raw=escaped(chat("\ud800", stream=stream)))
        assert r.status == 400, r.text
    raw = server.client(KEY_GLOBEX).chat.completions.with_raw_response.create(model="default", messages=USER)
    assert raw.headers["x-model"] == "primary-model" and raw.headers["x-fallback-used"] == "false"
    streamed = server.client(KEY_GLOBEX).chat.completions.create(model="default", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices).startswith("[primary-model]")


def test_a_request_the_provider_cannot_encode_is_not_the_upstreams_failure() -> None:
    # Defence in depth below the validation: were such text ever to reach a provider, nothing is
    # sent and the error does not count for the breaker.
    provider = OpenAICompatProvider(None, "http://127.0.0.1:9/v1", None)  # type: ignore[arg-type]
    request = UpstreamRequest(model="m", messages=[{"role": "user", "content": "\ud800"}])
    with pytest.raises(UpstreamError) as err:
        provider._payload(request, stream=True)
    assert not err.value.counts_for_breaker and not err.value.retryable


# --- fuzzing ---------------------------------------------------------------------------------

ANY_CHAR = st.characters(codec=None, categories=None, exclude_categories=())  # surrogates, controls too
TEXT = st.text(ANY_CHAR, max_size=40)
SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | TEXT
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)
CLEAN = st.text(max_size=40)  # hypothesis' default alphabet: no surrogates


def sometimes(rare: st.SearchStrategy[Any], usual: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`rare` about one time in four (`a | b` alone does not draw its branches evenly)."""
    return st.sampled_from(range(4)).flatmap(lambda i: rare if i == 0 else usual)


SOME_TEXT = sometimes(TEXT, CLEAN)  # now and then a lone surrogate or a control character
ROLE = st.sampled_from(["user", "user", "assistant", "system", "developer", "tool", "robot"]) | JSON
CONTENT = (CLEAN | CLEAN | TEXT | JSON
           | st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"]) | JSON,
                                             "text": CLEAN | TEXT | JSON}), max_size=3))


VALID_FIELDS = {
    "stream": st.booleans(),
    "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "max_tokens": st.integers(1, 300),
    "stop": SOME_TEXT | st.lists(SOME_TEXT, max_size=4),
    "n": st.just(1),
    "user": sometimes(st.text(ANY_CHAR, min_size=1, max_size=20), st.text(min_size=1, max_size=20)),
    "prompt_version": st.sampled_from(["t1", "t2"]),
    "tools": st.just([]),
    "tool_choice": st.just("none"),
    "response_format": st.just({"type": "text"}),
    "logprobs": st.just(False),
}
VALID_MESSAGE = st.fixed_dictionaries({
    "role": st.sampled_from(["user", "assistant", "system", "developer"]),
    "content": SOME_TEXT | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": SOME_TEXT}),
                                    min_size=1, max_size=3),
})
# values a client might send by mistake, for one field at a time
WRONG = (TEXT | JSON | st.sampled_from(["auto", "required", {"type": "json_object"}, True, [{"type": "function"}],
                                         "\ud800", "\x00", 1e309, -1, 2, 10**9]))


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request (model, messages with a user turn, some optional fields), then half the
    time one field or one message part replaced by something wrong."""
    messages = draw(st.lists(VALID_MESSAGE, max_size=3))
    messages.insert(draw(st.integers(0, len(messages))), {"role": "user", "content": draw(SOME_TEXT)})
    body: dict[str, Any] = {"model": draw(st.sampled_from(["default", "primary-model", "gemini-main"])),
                            "messages": messages}
    for name in draw(st.lists(st.sampled_from(sorted(VALID_FIELDS)), max_size=4, unique=True)):
        body[name] = draw(VALID_FIELDS[name])
    if draw(st.booleans()):
        target = draw(st.sampled_from(["field", "message"]))
        if target == "field":
            fields = ["model", "messages", *VALID_FIELDS, "conversation_id", "top_logprobs"]
            body[draw(st.sampled_from(fields))] = draw(WRONG)
        else:
            message = draw(st.sampled_from(messages))
            message[draw(st.sampled_from(["role", "content", "name"]))] = draw(WRONG | ROLE | CONTENT)
    return body


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["near-valid"] * 6 + ["json", "bytes", "broken"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    value = draw(near_valid() if kind == "near-valid" else JSON)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), allow_nan=True)
    raw = text.encode("utf-8", "surrogatepass")  # unescaped surrogates: bytes that are not UTF-8
    if kind == "broken":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    return raw


@pytest.fixture
def fuzz_server(start_app: Callable[..., AppServer]) -> AppServer:
    # limits out of the way so every example reaches validation; a breaker that trips at 2
    return start_app(CHAT_RATE_RPM="1000000", CHAT_RATE_TPM="100000000", CHAT_BREAKER_FAILURES="2",
                     CHAT_BREAKER_COOLDOWN_S="60", CHAT_MAX_CONTENT_CHARS="200")


def test_fuzzed_bodies_are_never_a_5xx_and_the_other_tenant_is_unaffected(
    fuzz_server: AppServer, openai_fake: FakeModelServer, gemini_fake: FakeModelServer
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fuzz_server.port, timeout=30)
    failures: list[tuple[int, bytes, str]] = []

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=bodies())
    def one(body: bytes) -> None:
        calls_before = len(openai_fake.seen) + len(gemini_fake.seen)
        conn.request("POST", "/v1/chat/completions", body=body,
                     headers={"Authorization": f"Bearer {KEY_ACME}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status >= 500 or resp.status == 422:
            failures.append((resp.status, body[:300], data.decode("utf-8", "replace")[:300]))
            return
        if resp.status >= 400:
            error = json.loads(data)["error"]
            assert error["message"] and error["type"], data
            assert len(openai_fake.seen) + len(gemini_fake.seen) == calls_before, "a rejected request went upstream"
        elif resp.getheader("content-type", "").startswith("text/event-stream"):
            assert data.rstrip().endswith(b"data: [DONE]"), data[-300:]

    one()
    conn.close()
    assert failures == []
    # the other tenant: answered by the primary, its circuit closed
    raw = fuzz_server.client(KEY_GLOBEX).chat.completions.with_raw_response.create(model="default", messages=USER)
    assert raw.headers["x-model"] == "primary-model" and raw.headers["x-fallback-used"] == "false"
    logged = [r for r in fuzz_server.logs.requests("/v1/chat/completions") if r.get("upstream_errors")]
    assert logged == [], logged[:3]
