"""HTTP API: routes, auth and limits, errors in OpenAI's shape, startup and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, JSONResponse, Response

from . import auth, source_ranges
from .chat import Caller, complete_chat, json_response, owned
from .errors import ApiError, invalid, loc_to_param, not_found
from .metering import admit, usage_route
from .tracing import TraceMiddleware
from .schemas import check_text
from .lean import LeanChat
from .logs import FIELDS, AccessLog, JsonLog, StartupFailure
from .middleware import BodyLimit, BodyTooLarge, LimitBox, too_large
from .runtime import Runtime, build_runtime, hook_sigterm
from .openapi import ROUTE_DOCS, finish_openapi
from .schemas import ChatRequest
from .settings import Settings, SettingsError
from .store.base import ConversationGone, Store, StoreUnavailable

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_HEADERS = {  # the page's own CSP meta tag covers scripts and styles; these cover the rest
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    log_stream: TextIO | None = None,
    env: dict[str, str] | None = None,
    lean_chat: bool = True,
) -> FastAPI:
    """The ASGI app. Settings are read and validated at startup (lifespan), not at import.
    `lean_chat=False` leaves every chat request to the FastAPI route (tests compare the two)."""
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
            StartupFailure.reported = True
            raise
        except Exception as exc:  # e.g. the store cannot be opened: say so in the log, then fail
            log.event("CRITICAL", "chatapp cannot start", error=f"{exc.__class__.__name__}: {exc}"[:500])
            StartupFailure.reported = True
            raise
        state["rt"] = runtime
        body_limit.limit = active.max_body_bytes
        hook_sigterm(runtime.drain)
        for job in (_warm_imports(runtime), _purge_expired(runtime)):
            task = asyncio.create_task(job)
            runtime.background.add(task)
            task.add_done_callback(runtime.background.discard)
        # Everything imported and built so far lives as long as the process: moved out of the
        # collector's generations, a full collection under load no longer walks it (the pauses
        # were the p99 at one connection; https://docs.python.org/3/library/gc.html#gc.freeze)
        gc.freeze()
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

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_: Request, exc: StoreUnavailable) -> Response:
        return store_down_response(exc)

    @app.exception_handler(ConversationGone)
    async def _gone(_: Request, exc: ConversationGone) -> Response:
        return gone_response(exc)

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
                if auth.looks_like_identity_token(key):
                    raise ApiError(
                        401,
                        "Authorization carries an identity token, not an API key: send the API key in the "
                        "x-api-key header",
                        type="authentication_error",
                        param="x-api-key",
                        code="invalid_api_key",
                    )
                raise ApiError(401, "invalid API key", type="authentication_error", code="invalid_api_key")
            result = Caller(principal, principal.key_id, False)
        elif runtime.settings.allow_anonymous:
            ip = client_ip(request, runtime.settings.trusted_proxy_hops)
            if ip is None:
                raise ApiError(
                    401,
                    "anonymous access needs a client address the server can trust, and this request has none "
                    "(X-Forwarded-For lacks the entry of the trusted proxy); send an API key",
                    type="authentication_error",
                    param="Authorization",
                    code="missing_api_key",
                )
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
        hops = runtime.settings.trusted_proxy_hops
        source_ranges.enforce(runtime.settings.source_ranges, principal.tenant, lambda: client_ip(request, hops), fields)
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
        result.rpm_limit, result.rpm_remaining = verdict.limit, verdict.remaining
        return result

    # --- health ------------------------------------------------------------------------------
    # /health and /ready are what the stacks probe: Cloud Run reserves some URL paths ending in `z`,
    # and a request to one never reaches the container
    # (https://cloud.google.com/run/docs/known-issues, "Reserved URL paths"). /healthz and /readyz
    # stay for local runs and other platforms.
    @app.get("/health", include_in_schema=False)
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/ready", include_in_schema=False)
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
    @app.get("/v1/models", **ROUTE_DOCS["list_models"])
    async def list_models(_: Caller = Depends(caller)) -> Response:
        runtime = rt()
        names: dict[str, None] = {"default": None}
        for config in runtime.prompts.values():
            names.update(dict.fromkeys(config.model_names))
        return json_response({"object": "list", "data": [model_card(n) for n in names]})

    @app.get("/v1/models/{model_id:path}", **ROUTE_DOCS["get_model"])
    async def get_model(model_id: str, _: Caller = Depends(caller)) -> Response:
        if model_id != "default" and not any(model_id in c.model_names for c in rt().prompts.values()):
            raise ApiError(404, f"model {model_id[:128]!r} not found", type="invalid_request_error",
                           param="model", code="model_not_found")
        return json_response(model_card(model_id))

    # --- conversations -----------------------------------------------------------------------
    @app.get("/v1/conversations", **ROUTE_DOCS["list_conversations"])
    async def list_conversations(limit: int = 50, who: Caller = Depends(caller)) -> Response:
        if not 1 <= limit <= 200:
            raise invalid("limit", "limit must be between 1 and 200")
        items = await rt().store.list_conversations(who.principal.tenant, limit)
        return json_response({"object": "list", "data": [c.public() for c in items]})

    @app.get("/v1/conversations/{conversation_id}", **ROUTE_DOCS["get_conversation"])
    async def get_conversation(conversation_id: str, who: Caller = Depends(caller)) -> Response:
        store = rt().store
        conv = await owned(store, who, conversation_id)
        messages = await store.get_messages(who.principal.tenant, conv.id)
        body = conv.public()
        body["messages"] = [m.public() for m in messages]
        return json_response(body)

    @app.delete("/v1/conversations/{conversation_id}", **ROUTE_DOCS["delete_conversation"])
    async def delete_conversation(conversation_id: str, who: Caller = Depends(caller)) -> Response:
        store = rt().store
        conv = await owned(store, who, conversation_id)
        if not await store.delete_conversation(who.principal.tenant, conv.id):
            raise not_found(f"conversation {conversation_id!r}")
        return json_response({"id": conv.id, "object": "conversation.deleted", "deleted": True})

    @app.get("/v1/profile", **ROUTE_DOCS["get_profile"])
    async def get_profile(user: str = "default", who: Caller = Depends(caller)) -> Response:
        if not 1 <= len(user) <= 128:
            raise invalid("user", "user must be 1-128 characters")
        try:
            check_text(user)
        except ValueError as exc:
            raise invalid("user", f"user {exc}") from None
        profile = await rt().store.get_profile(who.principal.tenant, user)
        if profile is None:
            raise not_found(f"profile {user!r}")
        return json_response(profile.public())

    # --- usage (metering.py) ------------------------------------------------------------------
    @app.get("/v1/usage", **ROUTE_DOCS["get_usage"])
    async def get_usage(request: Request, since: str | None = None, until: str | None = None) -> Response:
        return json_response(await usage_route(rt(), request, caller, since, until))

    # --- chat --------------------------------------------------------------------------------
    @app.post("/v1/chat/completions", **ROUTE_DOCS["chat_completions"])
    async def chat_completions(request: Request, body: ChatRequest, who: Caller = Depends(caller)) -> Response:
        await admit(rt(), who)  # the tenant's shared quotas and budgets (quotas.py)
        return await complete_chat(rt(), request, body, who)

    if lean_chat:  # innermost: inside the access log, tracing and the body limit (lean.py)

        async def lean_chat_handler(request: Request, body: ChatRequest) -> Response:
            who = await caller(request)  # the route's dependency, then its body
            return await chat_completions(request, body, who)

        app.add_middleware(LeanChat, handler=lean_chat_handler, store_down=store_down_response, gone=gone_response)
    app.add_middleware(BodyLimit, box=body_limit)
    app.add_middleware(TraceMiddleware, runtime=lambda: state.get("rt"))  # inside AccessLog: its fields
    app.add_middleware(AccessLog, log=log)
    finish_openapi(app)
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


def store_down_response(exc: StoreUnavailable) -> Response:
    # the reason is in the access log line (store_error); nothing was acknowledged
    return ApiError(
        503,
        "the conversation store is unavailable right now; try again",
        type="api_error",
        code="store_unavailable",
        headers={"Retry-After": str(exc.retry_after_s)},
    ).response()


def gone_response(exc: ConversationGone) -> Response:
    return ApiError(
        404, f"conversation {str(exc)!r} not found: it was deleted while the answer was generated",
        code="not_found",
    ).response()


def model_card(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "stagewise"}


def validation_error(errors: Any) -> ApiError:
    problems: list[str] = []
    first_param: str | None = None
    errors = list(errors)
    # A union field (content: str | list of parts) reports one error per member; when one member
    # matched the type and failed on the value, the others' "not a string/list" is noise.
    valued = [loc_to_param(tuple(e.get("loc", ()))) or "" for e in errors if not str(e.get("type", "")).endswith("_type")]
    errors = [
        e for e in errors
        if not str(e.get("type", "")).endswith("_type")
        or not any(v.startswith(loc_to_param(tuple(e.get("loc", ()))) or "\0") for v in valued)
    ]
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
        msg = "is required" if kind == "missing" else str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        problems.append(f"{param}: {msg}")
    text = "; ".join(dict.fromkeys(problems)) or "invalid request"
    return ApiError(400, text, param=first_param, code="invalid_value")


def client_ip(request: Request, hops: int) -> str | None:
    """The client's address, for anonymous tenants and their limits; None when it cannot be told.

    Only entries that a proxy in front of the app appended can be trusted: everything to their
    left is whatever the client sent. Google's load balancer appends `<client-ip>,<lb-ip>` to the
    client's own X-Forwarded-For and verifies nothing before them
    (https://cloud.google.com/load-balancing/docs/https#x-forwarded-for_header), and Cloud Run's
    front end appends the address of the client it served as the last entry, directly and behind
    that load balancer alike (`<client>, <lb-ip>, <client>` as seen in a container,
    https://github.com/kubernetes/registry.k8s.io/pull/61). So on Cloud Run the rightmost entry
    (CHAT_TRUSTED_PROXY_HOPS=1, the default when K_SERVICE is set) is the one a client cannot
    choose; `hops` counts the proxies that append, from the right. Run directly (hops 0, the
    default elsewhere) the header is the client's own and the socket peer is used.

    Every X-Forwarded-For header line counts, in order (several lines are one comma list): reading
    only the first line would let a client's own line stand in front of the proxy's.
    """
    if hops <= 0:
        return request.client.host if request.client else None
    parts = [p.strip() for line in request.headers.getlist("x-forwarded-for") for p in line.split(",") if p.strip()]
    if len(parts) < hops:
        return None  # not through the proxies the settings describe
    try:
        return str(ipaddress.ip_address(parts[-hops]))
    except ValueError:
        return None


