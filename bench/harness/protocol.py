"""What the fake upstream answers, and checkers that tell a whole reply from a broken one.

The checkers accept OpenAI-style replies; they are used by the Python load
generator, and the same rule (the full expected text is present) is applied by
bench/harness/check_body.lua inside wrk.
"""

from __future__ import annotations

import json

# Non-streaming answer; a marker that cannot appear in an error body.
REPLY_TEXT = "stagewise-bench reply: the quick brown fox jumps over the lazy dog."


def stream_tokens(n_chunks: int) -> list[str]:
    return [f"tok{i:03d} " for i in range(n_chunks)]


def stream_text(n_chunks: int) -> str:
    return "".join(stream_tokens(n_chunks))


class BadBody(ValueError):
    """A reply whose body is not the complete expected answer."""


def check_completion(body: bytes, expected_text: str = REPLY_TEXT) -> str:
    """Return the assistant text of a non-streaming chat completion, or raise BadBody."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise BadBody(f"not JSON: {body[:80]!r}") from exc
    try:
        text = doc["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise BadBody(f"no choices[0].message.content in {body[:120]!r}") from exc
    if text != expected_text:
        raise BadBody(f"content {text[:60]!r} != expected {expected_text[:60]!r}")
    return text


def parse_sse_events(body: bytes) -> list[str]:
    """Split a text/event-stream body into the payloads of its `data:` lines."""
    events = []
    for raw in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        for line in raw.split(b"\n"):
            if line.startswith(b"data:"):
                events.append(line[5:].strip().decode())
    return events


def delta_text(payload: str) -> str:
    """The content carried by one chunk payload ('' for role/usage/finish chunks)."""
    chunk = json.loads(payload)
    text = ""
    for choice in chunk.get("choices") or []:
        text += (choice.get("delta") or {}).get("content") or ""
    return text


def check_stream(body: bytes, expected_text: str) -> str:
    """Return the streamed text of a complete OpenAI-style SSE reply, or raise BadBody."""
    events = parse_sse_events(body)
    if not events or events[-1] != "[DONE]":
        raise BadBody(f"stream does not end with [DONE] ({len(events)} events)")
    try:
        text = "".join(delta_text(p) for p in events[:-1])
    except ValueError as exc:
        raise BadBody(f"chunk is not JSON: {exc}") from exc
    if text != expected_text:
        raise BadBody(f"streamed text {text[:60]!r} != expected {expected_text[:60]!r}")
    return text


def stream_failure(body: bytes) -> str:
    """Why a streamed reply that failed check_stream failed, from what the client saw:
    "error_after_tokens" when content arrived and the stream then ended in an error event
    (an answer broken after its first token: a fallback cannot take it over without
    repeating what was already shown), "error_before_tokens" for an error event with no
    content before it, else "bad_body" (truncated, garbled, or ending without [DONE])."""
    events = parse_sse_events(body)
    if not events or events[-1] == "[DONE]":
        return "bad_body"
    try:
        last = json.loads(events[-1])
        text = "".join(delta_text(p) for p in events[:-1])
    except ValueError:
        return "bad_body"
    if not isinstance(last, dict) or "error" not in last:
        return "bad_body"
    return "error_after_tokens" if text else "error_before_tokens"
