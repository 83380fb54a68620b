from __future__ import annotations

import json

import pytest

from fake_upstream import completion_body, stream_events
from protocol import REPLY_TEXT, BadBody, check_completion, check_stream, stream_failure, stream_text


def test_completion_checker_accepts_whole_reply_and_rejects_broken_ones() -> None:
    body = completion_body("m")
    assert check_completion(body) == REPLY_TEXT
    with pytest.raises(BadBody, match="not JSON"):
        check_completion(body[: len(body) // 2])
    with pytest.raises(BadBody, match="no choices"):
        check_completion(json.dumps({"error": {"message": "x"}}).encode())
    other = json.loads(body)
    other["choices"][0]["message"]["content"] = REPLY_TEXT[:-5]
    with pytest.raises(BadBody, match="expected"):
        check_completion(json.dumps(other).encode())


@pytest.mark.parametrize("usage", [False, True])
def test_stream_checker(usage: bool) -> None:
    events = stream_events("m", 6, usage)
    whole = b"".join(events)
    assert check_stream(whole, stream_text(6)) == stream_text(6)
    # cut in the middle: no [DONE]
    with pytest.raises(BadBody, match="DONE"):
        check_stream(b"".join(events[: len(events) // 2]), stream_text(6))
    # a chunk missing but [DONE] present
    with pytest.raises(BadBody, match="expected"):
        check_stream(b"".join(events[:2] + events[3:]), stream_text(6))
    with pytest.raises(BadBody):
        check_stream(b"", stream_text(6))


def test_stream_failure_tells_a_broken_answer_from_an_early_error() -> None:
    events = stream_events("m", 6, False)
    error = b'data: {"error": {"message": "the model stream failed", "type": "api_error"}}\n\n'
    assert stream_failure(b"".join(events[:4]) + error) == "error_after_tokens"
    assert stream_failure(b"".join(events[:1]) + error) == "error_before_tokens"  # role chunk only, no content
    assert stream_failure(b"".join(events[:4])) == "bad_body"  # cut without any error event
    assert stream_failure(b"".join(events)) == "bad_body"  # ends with [DONE]: wrong text, not an error
    assert stream_failure(b"data: {not json\n\n") == "bad_body"
