"""What an upstream sends is bounded and checked (#18.5): a malformed reply is that upstream's
failure (fallback before the first token, an error event and the partial answer stored after),
a huge one is cut at CHAT_MAX_REPLY_CHARS, and what the client was told is what was stored.

The fuzz test feeds the app property-based upstream replies (hypothesis): event streams and JSON
bodies with wrong types, broken JSON, bytes that are not UTF-8, long lines, cut streams and no
[DONE]. Bounded: a fixed number of examples, derandomized.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AppServer
from fakes import Behaviour, FakeModelServer

USER = [{"role": "user", "content": "hello"}]
GEMINI = "[gemini-main] Hello there, this is a streamed answer."
FUZZ_EXAMPLES = 200


def event(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def delta(content: Any, finish: Any = None) -> bytes:
    return event({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": content},
                                                                  "finish_reason": finish}]})


DONE = b"data: [DONE]\n\n"


def streamed_text(server: AppServer, **extra: Any) -> tuple[str, Any]:
    raw = server.client().chat.completions.with_raw_response.create(model="default", messages=USER, stream=True,
                                                                     **extra)
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    return text, raw.headers


def stored_reply(server: AppServer, conv_id: str) -> dict[str, Any]:
    messages = server.call("GET", f"/v1/conversations/{conv_id}").json()["messages"]
    assert messages[-1]["role"] == "assistant", messages
    reply: dict[str, Any] = messages[-1]
    return reply


@pytest.mark.parametrize("stream", [True, False])
def test_a_number_as_content_is_the_upstreams_failure_and_falls_back(
    app_server: AppServer, openai_fake: FakeModelServer, stream: bool
) -> None:
    if stream:
        bad = Behaviour(raw=[delta(5), delta(None, "stop"), DONE])
    else:
        bad = Behaviour(raw=[json.dumps({"choices": [{"message": {"role": "assistant", "content": 5},
                                                      "finish_reason": "stop"}]}).encode()])
    openai_fake.push(bad, bad)  # the first try and its retry
    if stream:
        text, headers = streamed_text(app_server)
    else:
        raw = app_server.client().chat.completions.with_raw_response.create(model="default", messages=USER)
        text, headers = raw.parse().choices[0].message.content, raw.headers
    assert text == GEMINI and headers["x-fallback-used"] == "true"
    assert stored_reply(app_server, headers["x-conversation-id"])["content"] == GEMINI
    line = app_server.logs.requests("/v1/chat/completions")[-1]
    assert any("malformed" in e for e in line["upstream_errors"]), line


def test_a_bad_chunk_after_tokens_ends_the_stream_with_an_error_and_keeps_the_partial_answer(
    app_server: AppServer, openai_fake: FakeModelServer
) -> None:
    openai_fake.push(Behaviour(raw=[delta("Hello"), delta(" there"), delta({"oops": 1}), DONE]))
    raw = app_server.client().chat.completions.with_raw_response.create(model="default", messages=USER, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError, match="stream failed"):
        for part in raw.parse():
            received.extend(c.delta.content or "" for c in part.choices)
    assert "".join(received) == "Hello there"
    reply = stored_reply(app_server, raw.headers["x-conversation-id"])
    assert (reply["content"], reply["finish_reason"]) == ("Hello there", "error")


def test_event_lines_longer_than_aiohttps_limit_are_read_and_beyond_ours_fall_back(
    app_server: AppServer, openai_fake: FakeModelServer
) -> None:
    padded = json.dumps({"choices": [{"delta": {"content": "long"}, "finish_reason": None}],
                         "pad": "x" * 200_000}).encode()
    openai_fake.push(Behaviour(raw=[b"data: " + padded + b"\n\n", delta(" line", "stop"), DONE]))
    text, headers = streamed_text(app_server)
    assert text == "long line" and headers["x-fallback-used"] == "false"

    endless = Behaviour(raw=lambda: (b"data: {" + b"x" * 65_536 for _ in range(40)))  # 2.5 MiB, no newline
    openai_fake.push(endless, endless)
    text, headers = streamed_text(app_server)
    assert text == GEMINI and headers["x-fallback-used"] == "true"


@pytest.fixture
def capped(start_app: Callable[..., AppServer]) -> AppServer:
    return start_app(CHAT_MAX_REPLY_CHARS="5000")


def fifty_mb_stream() -> Iterator[bytes]:
    piece = delta("y" * 1000)
    for _ in range(50_000):
        yield piece
    yield DONE


def test_a_50_mb_stream_is_cut_at_the_reply_limit_and_the_conversation_goes_on(
    capped: AppServer, openai_fake: FakeModelServer
) -> None:
    openai_fake.push(Behaviour(raw=fifty_mb_stream))
    stream = capped.client().chat.completions.with_raw_response.create(model="default", messages=USER, stream=True)
    parts = list(stream.parse())
    text = "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
    assert text == "y" * 5000
    assert [c.choices[0].finish_reason for c in parts if c.choices][-1] == "length"
    conv_id = stream.headers["x-conversation-id"]
    reply = stored_reply(capped, conv_id)
    assert (len(reply["content"]), reply["finish_reason"]) == (5000, "length")
    # the next turn carries the bounded answer as history and is answered
    later = capped.client().chat.completions.create(model="default", messages=USER,
                                                    extra_body={"conversation_id": conv_id})
    assert later.choices[0].message.content.startswith("[primary-model]")
    assert len(openai_fake.calls()[-1].body["messages"][-2]["content"]) == 5000


def test_a_50_mb_completion_is_not_read_and_falls_back(capped: AppServer, openai_fake: FakeModelServer) -> None:
    def huge() -> Iterator[bytes]:
        yield b'{"choices": [{"message": {"role": "assistant", "content": "'
        for _ in range(50_000):
            yield b"z" * 1000
        yield b'"}, "finish_reason": "stop"}]}'

    openai_fake.push(Behaviour(raw=huge), Behaviour(raw=huge))
    raw = capped.client().chat.completions.with_raw_response.create(model="default", messages=USER)
    assert raw.parse().choices[0].message.content == GEMINI and raw.headers["x-fallback-used"] == "true"
    line = capped.logs.requests("/v1/chat/completions")[-1]
    assert any("more than" in e for e in line["upstream_errors"]), line


# --- fuzzing ---------------------------------------------------------------------------------

ANY_CHAR = st.characters(codec=None, categories=None, exclude_categories=())
TEXT = st.text(ANY_CHAR, max_size=12)
SCALAR = st.none() | st.booleans() | st.integers(-5, 2**64) | st.floats() | TEXT
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=8)
GOOD_TEXT = st.text(max_size=12)


def rarely(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = JSON) -> st.SearchStrategy[Any]:
    """Mostly what the format says; about one time in twenty anything (`one_of` alone would pick
    the bad branch far more often: hypothesis does not draw its branches evenly)."""
    return st.sampled_from(range(20)).flatmap(lambda i: bad if i == 7 else good)


CHOICE = st.fixed_dictionaries(
    {"delta": rarely(st.fixed_dictionaries({"content": rarely(GOOD_TEXT | st.none())}, optional={"role": JSON}))},
    optional={"finish_reason": rarely(st.sampled_from([None, "stop", "length"])), "index": JSON},
)
CHUNK = st.fixed_dictionaries(
    {"choices": rarely(st.lists(CHOICE, min_size=1, max_size=2))},
    optional={"usage": rarely(st.fixed_dictionaries({"prompt_tokens": rarely(st.integers(0, 99)),
                                                     "completion_tokens": rarely(st.integers(0, 99))})),
              "object": JSON},
)


@st.composite
def sse_line(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["chunk"] * 30 + ["json", "comment", "garbage", "broken", "error"]))
    if kind == "comment":
        return b": keep-alive\n\n"
    if kind == "garbage":
        return draw(st.binary(max_size=40)) + b"\n"
    if kind == "error":
        return event({"error": draw(JSON)})
    body = json.dumps(draw(CHUNK if kind != "json" else JSON), ensure_ascii=draw(st.booleans()), allow_nan=True)
    raw = body.encode("utf-8", "surrogatepass")
    if kind == "broken":
        raw = raw[: draw(st.integers(0, len(raw)))]
    newline = draw(st.sampled_from([b"\n\n", b"\r\n\r\n", b"\n"]))
    return b"data: " + raw + newline


@st.composite
def upstream_reply(draw: st.DrawFn) -> tuple[bool, list[bytes]]:
    stream = draw(st.booleans())
    if stream:
        lines = draw(st.lists(sse_line(), max_size=8))
        if draw(st.sampled_from([True, True, True, False])):
            lines.append(DONE)
        return True, lines
    message = st.fixed_dictionaries({"content": rarely(GOOD_TEXT), "role": JSON})
    body = draw(rarely(st.fixed_dictionaries({"choices": rarely(st.lists(st.fixed_dictionaries(
        {"message": rarely(message)}, optional={"finish_reason": rarely(st.sampled_from(["stop", "length"]))}),
        min_size=1, max_size=2))}, optional={"usage": JSON})))
    raw = json.dumps(body, allow_nan=True, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if draw(st.sampled_from([False, False, False, True])):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return False, [raw]


def test_fuzzed_upstream_replies_never_crash_and_what_is_told_is_what_is_stored(
    start_app: Callable[..., AppServer], openai_fake: FakeModelServer
) -> None:
    # one model without retries (tests/configs/slow.yaml): each example is one upstream reply;
    # the breaker out of the way so every example reaches the reply parser
    server = start_app(CHAT_PROMPT_VERSION="slow", CHAT_ALLOWED_PROMPT_VERSIONS="slow", CHAT_BREAKER_FAILURES="1000000",
                       CHAT_RATE_RPM="1000000", CHAT_RATE_TPM="1000000000")
    client = server.client()
    problems: list[str] = []

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(reply=upstream_reply())
    def one(reply: tuple[bool, list[bytes]]) -> None:
        stream, chunks = reply
        openai_fake.script.clear()
        openai_fake.push(Behaviour(raw=chunks))
        try:
            if stream:
                raw = client.chat.completions.with_raw_response.create(model="default", messages=USER, stream=True)
                told, finish, failed = "", None, False
                try:
                    for part in raw.parse():
                        for c in part.choices:
                            told += c.delta.content or ""
                            finish = c.finish_reason or finish
                except openai.APIError:
                    failed = True
            else:
                raw = client.chat.completions.with_raw_response.create(model="default", messages=USER)
                choice = raw.parse().choices[0]
                told, finish, failed = choice.message.content, choice.finish_reason, False
        except openai.APIStatusError as exc:
            if exc.status_code >= 500 and exc.status_code not in (502, 503, 504):
                problems.append(f"{exc.status_code} for {chunks!r:.300}")
            return
        reply_row = stored_reply(server, raw.headers["x-conversation-id"])
        if reply_row["content"] != told:
            problems.append(f"told {told!r:.80} but stored {reply_row['content']!r:.80}")
        if failed and reply_row["finish_reason"] != "error":
            problems.append(f"a failed stream stored as {reply_row['finish_reason']}")
        if not failed and reply_row["finish_reason"] != finish:
            problems.append(f"finish {finish} but stored {reply_row['finish_reason']}")

    one()
    assert problems == []
