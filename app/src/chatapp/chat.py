"""POST /v1/chat/completions: conversation, prompt, the model chain, the store, JSON or SSE."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Request
from starlette.responses import Response

from . import auth, metering
from .errors import ApiError, error_body, invalid, not_found
from .guardrails import GuardrailBlocked, guard_stream, screen_prompts, screen_reply
from .logs import FIELDS
from .prompts import PromptConfig
from .providers.base import Completion, Delta, UpstreamError, UpstreamRequest, Usage
from .router import AllUpstreamsFailed, Outcome
from .runtime import Runtime
from .schemas import ChatRequest
from .store.base import CONVERSATION_ID, Conversation, ConversationGone, Message, Store, Turn
from .streaming import CUTOFF, END, KEEPALIVE_DUE, ChunkTemplate, Pump, SseResponse
from .usage import request_started, timing_headers

T = TypeVar("T")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


@dataclass(slots=True)
class Caller:
    principal: auth.Principal
    limit_key: str
    anonymous: bool
    rpm_limit: int = 0
    rpm_remaining: int = 0


@dataclass(slots=True)
class ChatContext:
    caller: Caller
    conversation: Conversation
    is_new: bool
    new_messages: list[Message]
    version: str
    fields: dict[str, Any]
    started: float
    include_usage: bool
    completion_id: str
    created: int


async def complete_chat(runtime: Runtime, request: Request, body: ChatRequest, who: Caller) -> Response:
    """POST /v1/chat/completions: history, prompt, model chain, store, then JSON or SSE."""
    settings = runtime.settings
    fields: dict[str, Any] = request.scope[FIELDS]
    version = pick_version(runtime, body, request)
    config = runtime.prompts[version]
    fields["prompt_version"] = version
    check_limits(runtime, body, version)
    conv_id = body.conversation_id or request.headers.get("x-conversation-id")
    now = time.time()
    history: list[Message] = []
    if conv_id:
        conversation = await owned(runtime.store, who, conv_id)
        if settings.history_messages:
            history = await runtime.store.get_messages(who.principal.tenant, conversation.id, settings.history_messages)
    else:
        first_user = next((m.text() for m in body.messages if m.role == "user"), "")
        conversation = Conversation(
            id=uuid.uuid4().hex,
            tenant=who.principal.tenant,
            user=body.user or ("anonymous" if who.anonymous else "default"),
            prompt_version=version,
            created_at=now,
            updated_at=now,
            title=" ".join(first_user.split())[:80],
        )
    fields["conversation_id"] = conversation.id
    upstream = upstream_request(config, body, history, settings.max_output_tokens, settings.max_reply_chars)
    new_messages = [
        Message(role=m.role, content=m.text(), prompt_version=version, created_at=now)
        for m in body.messages
        if m.role in ("user", "assistant")
    ]
    await screen_prompts(runtime.guardrails, new_messages, fields)  # refuses, or redacts what is stored
    if settings.log_content:
        fields["request_messages"] = [{"role": m.role, "content": m.text()} for m in body.messages]
    ctx = ChatContext(
        caller=who,
        conversation=conversation,
        is_new=not conv_id,
        new_messages=new_messages,
        version=version,
        fields=fields,
        started=request_started(request.scope),
        include_usage=bool(body.stream_options and body.stream_options.include_usage),
        completion_id="chatcmpl-" + uuid.uuid4().hex,
        created=int(now),
    )
    headers = {
        "X-Conversation-Id": conversation.id,
        "X-Prompt-Version": version,
        "X-RateLimit-Limit-Requests": str(who.rpm_limit),
        "X-RateLimit-Remaining-Requests": str(who.rpm_remaining),
    }
    routes = config.routes_for(body.model)
    deadline = time.monotonic() + settings.request_deadline_s
    if body.stream:
        outcome: list[Outcome] = []
        events = guard_stream(runtime.guardrails, runtime.router.stream(routes, upstream, deadline, outcome), fields)
        try:
            first = await before_cutoff(runtime, anext(events), fields)
        except AllUpstreamsFailed as exc:
            raise upstream_failure(runtime, fields, exc) from None
        except GuardrailBlocked as exc:  # refused before a byte was sent: a plain error response
            note_outcome(fields, outcome[0], ctx)
            await persist(runtime, ctx, outcome[0], "", "content_filter", Usage())
            raise exc.verdict.error() from None
        note_outcome(fields, outcome[0], ctx)
        if ctx.is_new:
            # The response headers name the conversation before the answer exists, so a new one
            # is created in the store first (empty; the turn itself is written as one unit at
            # the end): the id a client is given always names a stored conversation. A store
            # that is down is a 503 here, before anything is sent.
            try:
                await runtime.store.record_turn(Turn(conversation, True, []))
            except BaseException as exc:
                note_store_failure(fields, exc)
                await events.aclose()
                raise
            ctx.is_new = False
        headers["X-Model"] = outcome[0].route.model
        headers["X-Fallback-Used"] = "true" if outcome[0].fallback_used else "false"
        headers.update(timing_headers(ctx.started, outcome[0].upstream_s))
        return SseResponse(
            sse(runtime, ctx, outcome[0], first, events),
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **headers},
        )
    try:
        completion, result = await before_cutoff(runtime, runtime.router.complete(routes, upstream, deadline), fields)
    except AllUpstreamsFailed as exc:
        raise upstream_failure(runtime, fields, exc) from None
    note_outcome(fields, result, ctx)
    fields["ttft_ms"] = fields["latency_to_answer_ms"] = round((time.perf_counter() - ctx.started) * 1000, 2)
    verdict = await screen_reply(runtime.guardrails, completion.text, fields)
    if verdict is not None and verdict.blocked:  # stored as refused, without the refused text
        await persist(runtime, ctx, result, "", "content_filter", completion.usage)
        raise verdict.error()
    await persist(runtime, ctx, result, completion.text, completion.finish_reason, completion.usage)
    headers["X-Model"] = result.route.model
    headers["X-Fallback-Used"] = "true" if result.fallback_used else "false"
    headers.update(timing_headers(ctx.started, result.upstream_s))
    return json_response(
        {
            "id": ctx.completion_id,
            "object": "chat.completion",
            "created": ctx.created,
            "model": result.route.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text},
                    "finish_reason": completion.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": usage_body(completion.usage),
            "conversation_id": conversation.id,
            "prompt_version": version,
        },
        headers=headers,
    )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def owned(store: Store, who: Caller, conversation_id: str) -> Conversation:
    """The caller's conversation, or 404 whether it is missing or another tenant's."""
    if not CONVERSATION_ID.match(conversation_id):
        raise not_found(f"conversation {conversation_id[:64]!r}")
    conv = await store.get_conversation(who.principal.tenant, conversation_id)
    if conv is None or conv.tenant != who.principal.tenant:
        raise not_found(f"conversation {conversation_id!r}")
    return conv


def pick_version(runtime: Runtime, body: ChatRequest, request: Request) -> str:
    requested = body.prompt_version
    param = "prompt_version"
    if requested is None:
        requested = request.headers.get("x-prompt-version")
        param = "X-Prompt-Version"
    if requested is None:
        return runtime.settings.prompt_version
    if requested not in runtime.prompts:
        allowed = ", ".join(runtime.prompts)
        raise invalid(param, f"prompt version {requested[:64]!r} is not allowed here; use one of: {allowed}")
    return requested


def check_limits(runtime: Runtime, body: ChatRequest, version: str) -> None:
    s = runtime.settings
    if len(body.messages) > s.max_messages:
        raise invalid("messages", f"messages has {len(body.messages)} items; at most {s.max_messages} are allowed (CHAT_MAX_MESSAGES)")
    for index, message in enumerate(body.messages):
        length = len(message.text())
        if length > s.max_content_chars:
            raise invalid(
                f"messages[{index}].content",
                f"messages[{index}].content has {length} characters; at most {s.max_content_chars} are allowed",
            )
    if not any(m.role == "user" for m in body.messages):
        raise invalid("messages", "messages must contain at least one message with role 'user'")
    if body.model not in runtime.allowed_models[version]:
        allowed = ", ".join(sorted(runtime.allowed_models[version]))
        raise invalid("model", f"model {body.model[:128]!r} is not available; use one of: {allowed}", code="model_not_found")
    stops = body.stop_list()
    if stops is not None and len(stops) > 4:
        raise invalid("stop", "stop takes at most 4 sequences")
    for name in ("max_tokens", "max_completion_tokens"):
        value = getattr(body, name)
        if value is not None and value > s.max_output_tokens:
            raise invalid(name, f"{name} is {value}; at most {s.max_output_tokens} is allowed (CHAT_MAX_OUTPUT_TOKENS)")
    refused = body.unsupported()
    if refused is not None:
        raise invalid(refused[0], refused[1], code="unsupported_parameter")


def upstream_request(
    config: PromptConfig, body: ChatRequest, history: list[Message], max_out: int, max_reply_chars: int
) -> UpstreamRequest:
    system = [config.system_prompt] if config.system_prompt else []
    system += [m.text() for m in body.messages if m.role in ("system", "developer")]
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": "\n\n".join(system)})
    turns = [m for m in history if m.role in ("user", "assistant") and m.content]  # no empty partial answers
    while turns and turns[0].role != "user":  # a window cut mid-turn: models expect the user first
        turns.pop(0)
    messages += [{"role": m.role, "content": m.content} for m in turns]
    messages += [{"role": m.role, "content": m.text()} for m in body.messages if m.role in ("user", "assistant")]
    gen = config.generation
    max_tokens = body.max_completion_tokens or body.max_tokens or gen.max_tokens
    return UpstreamRequest(
        model="",
        messages=messages,
        temperature=body.temperature if body.temperature is not None else gen.temperature,
        top_p=body.top_p if body.top_p is not None else gen.top_p,
        max_tokens=min(max_tokens, max_out) if max_tokens else None,
        stop=body.stop_list(),
        max_reply_chars=max_reply_chars,
    )


async def before_cutoff(runtime: Runtime, awaitable: Awaitable[T], fields: dict[str, Any]) -> T:
    """Awaits an upstream call unless a SIGTERM drain reaches its cutoff first; then the call is
    cancelled and the client gets a 503 to retry elsewhere, instead of a reset at SIGKILL. The
    call runs in the request's own task, which the drain cancels at the cutoff (one timer for
    every request), rather than in a task of its own raced against a second one per request."""
    task = asyncio.current_task()
    assert task is not None
    runtime.drain.watch(task)
    cut = False
    try:
        return await awaitable
    except asyncio.CancelledError:
        cut = runtime.drain.unwatch(task)
        if not cut or task.uncancel() > 0:  # cancelled for another reason too (client gone)
            raise
    finally:
        if not cut:
            runtime.drain.unwatch(task)
    fields["drained"] = True
    raise ApiError(503, "the server is shutting down; retry the request", type="api_error",
                   code="shutting_down", headers={"Retry-After": "1"})


def note_outcome(fields: dict[str, Any], outcome: Outcome, ctx: ChatContext) -> None:
    fields["model"] = outcome.route.model
    fields["provider"] = outcome.route.provider
    fields["fallback_used"] = outcome.fallback_used
    fields["attempts"] = outcome.attempts
    if outcome.failures:
        fields["upstream_errors"] = list(outcome.failures)


def upstream_failure(runtime: Runtime, fields: dict[str, Any], exc: AllUpstreamsFailed) -> ApiError:
    fields["upstream_error"] = str(exc)[:300]
    if exc.deadline:
        return ApiError(504, "the model did not answer in time; try again", type="api_error", code="upstream_timeout")
    if exc.breaker_skips:
        retry = max(1, int(runtime.settings.breaker_cooldown_s))
        return ApiError(
            503,
            "the model is unavailable right now; try again later",
            type="api_error",
            code="upstream_unavailable",
            headers={"Retry-After": str(retry)},
        )
    return ApiError(502, "the model failed to answer; try again", type="api_error", code="upstream_error")


def usage_body(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def note_store_failure(fields: dict[str, Any], exc: BaseException) -> None:
    fields["stored"] = False
    fields["store_error"] = exc.__class__.__name__
    if not isinstance(exc, ConversationGone):  # a delete that won the race is no error of ours
        fields["_severity"] = "ERROR"


async def persist(runtime: Runtime, ctx: ChatContext, outcome: Outcome, text: str, finish: str, usage: Usage) -> None:
    """Writes the user's message(s) and the reply before the response completes. Raises when
    they could not be stored (StoreUnavailable, ConversationGone, ...): the caller then tells the
    client so (503 / 404, or an error event instead of [DONE]) instead of acknowledging it."""
    now = time.time()
    reply = Message(
        role="assistant",
        content=text,
        model=outcome.route.model,
        prompt_version=ctx.version,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        finish_reason=finish,
        created_at=now,
    )
    ctx.conversation.updated_at = now
    turn = Turn(ctx.conversation, ctx.is_new, [*ctx.new_messages, reply])
    tokens = usage.total_tokens or (sum(len(m.content) for m in turn.messages) // 4)
    limiter = runtime.anon_limiter if ctx.caller.anonymous else runtime.limiter
    limiter.charge(ctx.caller.limit_key, tokens)
    fields = ctx.fields
    fields["prompt_tokens"] = usage.prompt_tokens
    fields["completion_tokens"] = usage.completion_tokens
    fields["finish_reason"] = finish
    if runtime.settings.log_content:
        fields["reply"] = text
    try:
        await runtime.store.record_turn(turn)
    except BaseException as exc:
        note_store_failure(fields, exc)
        raise
    fields["stored"] = True
    await metering.after_turn(runtime, ctx, outcome, usage, finish)


def error_event(message: str, type: str, code: str) -> bytes:
    """A stream's last event when it failed: no [DONE] follows, so no client takes it as complete."""
    return b"data: " + orjson.dumps(error_body(message, type, None, code)) + b"\n\n"


def chunk(ctx: ChatContext, model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    return (
        b"data: "
        + orjson.dumps(
            {
                "id": ctx.completion_id,
                "object": "chat.completion.chunk",
                "created": ctx.created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }
        )
        + b"\n\n"
    )


async def sse(
    runtime: Runtime, ctx: ChatContext, outcome: Outcome, first: Any, events: AsyncGenerator[Any, None]
) -> AsyncIterator[bytes]:
    model = outcome.route.model
    fields = ctx.fields
    template = ChunkTemplate(ctx.completion_id, ctx.created, model)
    parts: list[str] = []
    final: Completion | None = None
    stored = False
    event: Any = first
    pump: Pump | None = None
    yield chunk(ctx, model, {"role": "assistant", "content": ""}, None)
    try:
        while True:
            if isinstance(event, Delta):
                if not parts:
                    fields["ttft_ms"] = round((time.perf_counter() - ctx.started) * 1000, 2)
                parts.append(event.text)
                yield template.content(event.text)
            elif isinstance(event, Completion):
                final = event
                break
            if pump is None:  # one reading task and one timer per stream, not per chunk
                pump = Pump(events, runtime.settings.keepalive_s, runtime.drain.cutoff)
            event = await pump.get()
            while event is KEEPALIVE_DUE:
                yield KEEPALIVE
                event = await pump.get()
            if event is END:  # the generator ended without a Completion
                event = Completion("".join(parts), "stop", Usage())
            elif event is CUTOFF:  # drained: end the answer here
                fields["drained"] = True
                final = Completion("".join(parts), "length", Usage())
                break
    except UpstreamError as exc:
        fields["upstream_error"] = str(exc)[:300]
        fields["_severity"] = "ERROR"
        stored = True
        with contextlib.suppress(Exception):  # the failure is in the log line's fields
            await persist(runtime, ctx, outcome, "".join(parts), "error", Usage())
        yield error_event("the model stream failed: " + str(exc)[:200], "api_error", "upstream_error")
        return
    except GuardrailBlocked as exc:  # stored as refused, without the refused text
        stored = True
        with contextlib.suppress(Exception):
            await persist(runtime, ctx, outcome, "", "content_filter", Usage())
        error = exc.verdict.error()
        yield error_event(error.message, error.type, error.code or "guardrail")
        return
    finally:
        if pump is not None:
            await pump.aclose()
        if final is None and not stored:  # client went away or cancelled: keep what was said
            fields["client_disconnected"] = True
            with contextlib.suppress(BaseException):
                await asyncio.shield(persist(runtime, ctx, outcome, "".join(parts), "cancelled", Usage()))
            stored = True
        with contextlib.suppress(BaseException):
            await events.aclose()
    text = "".join(parts)
    try:
        await persist(runtime, ctx, outcome, text, final.finish_reason, final.usage)
    except ConversationGone:
        yield error_event(
            "the conversation was deleted while the answer was generated; the answer was not stored",
            "invalid_request_error", "conversation_deleted",
        )
        return
    except Exception:  # StoreUnavailable, or anything else: the client must not take it as stored
        yield error_event("the answer could not be stored; try again", "api_error", "store_unavailable")
        return
    fields["latency_to_answer_ms"] = round((time.perf_counter() - ctx.started) * 1000, 2)
    yield chunk(ctx, model, {}, final.finish_reason)
    if ctx.include_usage:
        yield b"data: " + orjson.dumps(
            {
                "id": ctx.completion_id,
                "object": "chat.completion.chunk",
                "created": ctx.created,
                "model": model,
                "choices": [],
                "usage": usage_body(final.usage),
            }
        ) + b"\n\n"
    yield DONE
