"""HTTP API: OpenAI-compatible chat completions, conversation history, models, health."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from . import auth
from .errors import ApiError, error_body, invalid, loc_to_param, not_found
from .logs import FIELDS, AccessLog, JsonLog
from .prompts import PromptConfig
from .providers.base import Completion, Delta, UpstreamError, UpstreamRequest, Usage
from .router import AllUpstreamsFailed, Outcome
from .runtime import Runtime, build_runtime, hook_sigterm
from .schemas import ChatRequest
from .settings import Settings, SettingsError
from .store.base import CONVERSATION_ID, Conversation, Message, Store, Turn

T = TypeVar("T")
STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_HEADERS = {  # the page's own CSP meta tag covers scripts and styles; these cover the rest
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


class BodyTooLarge(Exception):
    pass


@dataclass(slots=True)
class LimitBox:
    limit: int  # set from the settings at startup; the middleware stack is built before that


class BodyLimit:
    """Rejects bodies over CHAT_MAX_BODY_BYTES before they are read into memory."""

    def __init__(self, app: Any, box: LimitBox) -> None:
        self.app = app
        self.box = box

    @property
    def limit(self) -> int:
        return self.box.limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await too_large(self.limit).response()(scope, receive, send)
                return
        seen = 0

        async def limited() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited, send)


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body is larger than {limit} bytes (CHAT_MAX_BODY_BYTES)", param="body", code="body_too_large")


@dataclass(slots=True)
class Caller:
    principal: auth.Principal
    limit_key: str
    anonymous: bool


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


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    log_stream: TextIO | None = None,
    env: dict[str, str] | None = None,
) -> FastAPI:
    """The ASGI app. Settings are read and validated at startup (lifespan), not at import."""
    state: dict[str, Runtime] = {}
    log = JsonLog(log_stream)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            active = settings if settings is not None else Settings.from_env(env)
            log.project = active.google_cloud_project
            runtime = await build_runtime(active, log, store, env)
        except SettingsError as exc:
            log.event("CRITICAL", "chatapp cannot start: invalid settings", problems=exc.problems)
            raise
        except Exception as exc:  # e.g. the store cannot be opened: say so in the log, then fail
            log.event("CRITICAL", "chatapp cannot start", error=f"{exc.__class__.__name__}: {exc}"[:500])
            raise
        state["rt"] = runtime
        body_limit.limit = active.max_body_bytes
        hook_sigterm(runtime.drain)
        for job in (_warm_imports(runtime), _purge_expired(runtime)):
            task = asyncio.create_task(job)
            runtime.background.add(task)
            task.add_done_callback(runtime.background.discard)
        log.event(
            "INFO",
            "chatapp started",
            store=active.store,
            prompt_versions=list(runtime.prompts),
            models={v: [r.model for r in c.chain] for v, c in runtime.prompts.items()},
            tenants=len(runtime.keys),
            anonymous=active.allow_anonymous,
        )
        try:
            yield
        finally:
            for task in list(runtime.background):
                task.cancel()
            await runtime.close()
            log.event("INFO", "chatapp stopped")

    app = FastAPI(
        title="stagewise chat backend",
        version="0.1.0",
        description="OpenAI-compatible chat completions with stored conversations.",
        lifespan=lifespan,
    )
    body_limit = LimitBox(1_048_576)

    def rt() -> Runtime:
        return state["rt"]

    # --- errors in OpenAI's shape ------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        # the access log line (severity ERROR) names the exception class; the client gets the shape
        return ApiError(500, "internal error; try again", type="api_error", code="internal_error").response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return validation_error(exc.errors()).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, BodyTooLarge):
            return too_large(rt().settings.max_body_bytes).response()
        if exc.status_code == 400 and exc.__cause__ is not None:
            return ApiError(400, "request body could not be read", param="body").response()
        kind = "not_found" if exc.status_code == 404 else "invalid_request_error"
        return ApiError(exc.status_code, str(exc.detail), type=kind, headers=dict(exc.headers or {})).response()

    # --- auth and limits ---------------------------------------------------------------------
    async def caller(request: Request) -> Caller:
        runtime = rt()
        headers = request.headers
        key = auth.presented_key(headers.get("authorization"), headers.get("x-api-key"))
        fields = request.scope[FIELDS]
        if key is not None:
            principal = runtime.keys.lookup(key)
            if principal is None:
                raise ApiError(401, "invalid API key", type="authentication_error", code="invalid_api_key")
            result = Caller(principal, principal.key_id, False)
        elif runtime.settings.allow_anonymous:
            ip = client_ip(request, runtime.settings.trusted_proxy_hops)
            fields["_remote_ip"] = ip
            principal = auth.anonymous(ip)
            result = Caller(principal, principal.key_id, True)
        else:
            raise ApiError(
                401,
                "missing API key: send 'Authorization: Bearer <key>'",
                type="authentication_error",
                param="Authorization",
                code="missing_api_key",
            )
        fields["tenant"] = principal.tenant
        fields["key_id"] = principal.key_id
        limiter = runtime.anon_limiter if result.anonymous else runtime.limiter
        verdict = limiter.acquire(result.limit_key)
        if not verdict.allowed:
            fields["rate_limited"] = verdict.reason
            raise ApiError(
                429,
                f"rate limit exceeded ({verdict.reason}, limit {verdict.limit}); retry after {verdict.retry_after_s} s",
                type="rate_limit_error",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(verdict.retry_after_s)},
            )
        return result

    # --- health ------------------------------------------------------------------------------
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        runtime = rt()
        if runtime.drain.active:
            return JSONResponse({"status": "draining"}, status_code=503)
        try:
            async with asyncio.timeout(3.0):
                await runtime.store.ping()
        except Exception as exc:  # any failure means not ready; the reason goes to the log only
            runtime.log.event("WARNING", "readiness check failed: store unreachable", error=exc.__class__.__name__)
            return JSONResponse({"status": "store unreachable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    # --- page --------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC_DIR / "index.html"
        if not page.is_file():
            return ApiError(404, "the chat page is not installed", type="not_found").response()
        return FileResponse(page, media_type="text/html", headers=PAGE_HEADERS)

    # --- models ------------------------------------------------------------------------------
    @app.get("/v1/models")
    async def list_models(_: Caller = Depends(caller)) -> Response:
        runtime = rt()
        names: dict[str, None] = {"default": None}
        for config in runtime.prompts.values():
            names.update(dict.fromkeys(config.model_names))
        return json_response({"object": "list", "data": [model_card(n) for n in names]})

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str, _: Caller = Depends(caller)) -> Response:
        if model_id != "default" and not any(model_id in c.model_names for c in rt().prompts.values()):
            raise ApiError(404, f"model {model_id[:128]!r} not found", type="invalid_request_error",
                           param="model", code="model_not_found")
        return json_response(model_card(model_id))

    # --- conversations -----------------------------------------------------------------------
    @app.get("/v1/conversations")
    async def list_conversations(limit: int = 50, who: Caller = Depends(caller)) -> Response:
        if not 1 <= limit <= 200:
            raise invalid("limit", "limit must be between 1 and 200")
        items = await rt().store.list_conversations(who.principal.tenant, limit)
        return json_response({"object": "list", "data": [c.public() for c in items]})

    @app.get("/v1/conversations/{conversation_id}")
    async def get_conversation(conversation_id: str, who: Caller = Depends(caller)) -> Response:
        store = rt().store
        conv = await owned(store, who, conversation_id)
        messages = await store.get_messages(who.principal.tenant, conv.id)
        body = conv.public()
        body["messages"] = [m.public() for m in messages]
        return json_response(body)

    @app.delete("/v1/conversations/{conversation_id}")
    async def delete_conversation(conversation_id: str, who: Caller = Depends(caller)) -> Response:
        store = rt().store
        conv = await owned(store, who, conversation_id)
        if not await store.delete_conversation(who.principal.tenant, conv.id):
            raise not_found(f"conversation {conversation_id!r}")
        return json_response({"id": conv.id, "object": "conversation.deleted", "deleted": True})

    @app.get("/v1/profile")
    async def get_profile(user: str = "default", who: Caller = Depends(caller)) -> Response:
        if not 1 <= len(user) <= 128:
            raise invalid("user", "user must be 1-128 characters")
        profile = await rt().store.get_profile(who.principal.tenant, user)
        if profile is None:
            raise not_found(f"profile {user!r}")
        return json_response(profile.public())

    # --- chat --------------------------------------------------------------------------------
    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request, body: ChatRequest, who: Caller = Depends(caller)) -> Response:
        runtime = rt()
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
        upstream = upstream_request(config, body, history, settings.max_output_tokens)
        new_messages = [
            Message(role=m.role, content=m.text(), prompt_version=version, created_at=now)
            for m in body.messages
            if m.role in ("user", "assistant")
        ]
        if settings.log_content:
            fields["request_messages"] = [{"role": m.role, "content": m.text()} for m in body.messages]
        ctx = ChatContext(
            caller=who,
            conversation=conversation,
            is_new=not conv_id,
            new_messages=new_messages,
            version=version,
            fields=fields,
            started=time.perf_counter(),
            include_usage=bool(body.stream_options and body.stream_options.include_usage),
            completion_id="chatcmpl-" + uuid.uuid4().hex,
            created=int(now),
        )
        headers = {"X-Conversation-Id": conversation.id, "X-Prompt-Version": version}
        routes = config.routes_for(body.model)
        deadline = time.monotonic() + settings.request_deadline_s
        if body.stream:
            outcome: list[Outcome] = []
            events = runtime.router.stream(routes, upstream, deadline, outcome)
            try:
                first = await before_cutoff(runtime, anext(events), fields)
            except AllUpstreamsFailed as exc:
                raise upstream_failure(runtime, fields, exc) from None
            note_outcome(fields, outcome[0], ctx)
            headers["X-Model"] = outcome[0].route.model
            headers["X-Fallback-Used"] = "true" if outcome[0].fallback_used else "false"
            return StreamingResponse(
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
        await persist(runtime, ctx, result, completion.text, completion.finish_reason, completion.usage)
        headers["X-Model"] = result.route.model
        headers["X-Fallback-Used"] = "true" if result.fallback_used else "false"
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

    app.add_middleware(BodyLimit, box=body_limit)
    app.add_middleware(AccessLog, log=log)
    return app


async def _warm_imports(runtime: Runtime) -> None:
    """Import the Gemini SDK off the request path once the server is up."""
    if any(r.provider == "vertex" for c in runtime.prompts.values() for r in c.chain):
        with contextlib.suppress(Exception):
            await asyncio.to_thread(__import__, "google.genai")


async def _purge_expired(runtime: Runtime) -> None:
    """With CHAT_TTL_DAYS, a store that cannot expire records itself (SQLite) is purged hourly;
    Firestore leaves it to its TTL policy."""
    purge = getattr(runtime.store, "purge_expired", None)
    if not runtime.settings.ttl_days or purge is None:
        return
    while True:
        try:
            removed = await purge()
            if removed:
                runtime.log.event("INFO", "expired records purged", removed=removed)
        except Exception as exc:  # retried next hour; the reason is logged
            runtime.log.event("WARNING", "purging expired records failed", error=exc.__class__.__name__)
        await asyncio.sleep(3600)


def model_card(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "stagewise"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def validation_error(errors: Any) -> ApiError:
    problems: list[str] = []
    first_param: str | None = None
    for err in errors:
        loc = tuple(err.get("loc", ()))
        param = loc_to_param(loc)
        kind = err.get("type", "")
        if kind == "json_invalid":
            return ApiError(400, "request body is not valid JSON", param="body", code="invalid_json")
        if param is None:
            if kind == "missing":
                return ApiError(400, "request body is missing: send a JSON object", param="body", code="missing_body")
            return ApiError(400, "request body must be a JSON object", param="body", code="invalid_type")
        first_param = first_param or param
        msg = "is required" if kind == "missing" else str(err.get("msg", "is invalid"))
        problems.append(f"{param}: {msg}")
    text = "; ".join(dict.fromkeys(problems)) or "invalid request"
    return ApiError(400, text, param=first_param, code="invalid_value")


def client_ip(request: Request, hops: int) -> str:
    xff = request.headers.get("x-forwarded-for")
    if xff and hops > 0:
        parts = [p.strip() for p in xff.split(",") if p.strip()]
        if len(parts) >= hops:
            return parts[-hops]
    return request.client.host if request.client else "unknown"


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


def upstream_request(config: PromptConfig, body: ChatRequest, history: list[Message], max_out: int) -> UpstreamRequest:
    system = [config.system_prompt] if config.system_prompt else []
    system += [m.text() for m in body.messages if m.role in ("system", "developer")]
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": "\n\n".join(system)})
    messages += [{"role": m.role, "content": m.content} for m in history if m.role in ("user", "assistant")]
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
    )


async def before_cutoff(runtime: Runtime, awaitable: Awaitable[T], fields: dict[str, Any]) -> T:
    """Awaits an upstream call unless a SIGTERM drain reaches its cutoff first; then the call is
    cancelled and the client gets a 503 to retry elsewhere, instead of a reset at SIGKILL."""
    work: asyncio.Future[T] = asyncio.ensure_future(awaitable)
    cutoff = asyncio.ensure_future(runtime.drain.reached())
    both: set[asyncio.Future[Any]] = {work, cutoff}
    try:
        await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
    finally:
        cutoff.cancel()
        if not work.done():
            work.cancel()  # also when this request itself is cancelled (client gone)
    if work.cancelled() or not work.done():
        fields["drained"] = True
        raise ApiError(503, "the server is shutting down; retry the request", type="api_error",
                       code="shutting_down", headers={"Retry-After": "1"})
    return work.result()


def note_outcome(fields: dict[str, Any], outcome: Outcome, ctx: ChatContext) -> None:
    fields["model"] = outcome.route.model
    fields["provider"] = outcome.route.provider
    fields["fallback_used"] = outcome.fallback_used
    fields["attempts"] = outcome.attempts


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


async def persist(runtime: Runtime, ctx: ChatContext, outcome: Outcome, text: str, finish: str, usage: Usage) -> None:
    """Writes the user's message(s) and the reply before the response completes."""
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
        fields["stored"] = True
    except Exception as exc:  # the answer is still served; the failure is logged as an error
        fields["stored"] = False
        fields["store_error"] = exc.__class__.__name__
        fields["_severity"] = "ERROR"


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
    keepalive = runtime.settings.keepalive_s
    parts: list[str] = []
    final: Completion | None = None
    stored = False
    event: Any = first
    pending: asyncio.Future[Any] | None = None
    yield chunk(ctx, model, {"role": "assistant", "content": ""}, None)
    try:
        while True:
            if isinstance(event, Delta):
                if not parts:
                    fields["ttft_ms"] = round((time.perf_counter() - ctx.started) * 1000, 2)
                parts.append(event.text)
                yield chunk(ctx, model, {"content": event.text}, None)
            elif isinstance(event, Completion):
                final = event
                break
            task: asyncio.Future[Any] = asyncio.ensure_future(anext(events))
            pending = task
            event = None
            while event is None:
                cutoff = runtime.drain.cutoff()
                wait = keepalive if cutoff is None else max(0.0, min(keepalive, cutoff - time.monotonic()))
                done, _ = await asyncio.wait({task}, timeout=wait)
                if done:
                    try:
                        event = task.result()
                    except StopAsyncIteration:
                        event = Completion("".join(parts), "stop", Usage())
                    pending = None
                elif cutoff is not None and time.monotonic() >= cutoff:
                    fields["drained"] = True
                    break
                else:
                    yield KEEPALIVE
            if event is None:  # drained: end the answer here
                final = Completion("".join(parts), "length", Usage())
                break
    except UpstreamError as exc:
        fields["upstream_error"] = str(exc)[:300]
        fields["_severity"] = "ERROR"
        await persist(runtime, ctx, outcome, "".join(parts), "error", Usage())
        stored = True
        yield b"data: " + orjson.dumps(error_body("the model stream failed: " + str(exc)[:200], "api_error", None, "upstream_error")) + b"\n\n"
        return
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
        if final is None and not stored:  # client went away or cancelled: keep what was said
            fields["client_disconnected"] = True
            with contextlib.suppress(BaseException):
                await asyncio.shield(persist(runtime, ctx, outcome, "".join(parts), "cancelled", Usage()))
            stored = True
        with contextlib.suppress(BaseException):
            await events.aclose()
    text = "".join(parts)
    await persist(runtime, ctx, outcome, text, final.finish_reason, final.usage)
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
