"""OpenTelemetry traces: one server span per request, a child span per store call and per
upstream attempt (so a fallback is its own span), GenAI semantic-convention attributes.

Attribute names follow the GenAI client spans convention (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans):
an attempt span is named "{gen_ai.operation.name} {gen_ai.request.model}" ("chat gemini-2.5-flash"),
kind CLIENT, with gen_ai.operation.name, gen_ai.provider.name (gcp.vertex_ai | openai),
gen_ai.request.model, and on success gen_ai.response.model, gen_ai.usage.input_tokens,
gen_ai.usage.output_tokens and gen_ai.response.finish_reasons; a failed attempt has error.type.
The server span carries the same usage attributes for the model that answered, plus
stagewise.tenant, stagewise.fallback_used and stagewise.attempts.

CHAT_TRACING: `gcp` exports to Cloud Trace with Application Default Credentials (the Cloud Run
service account; opentelemetry-exporter-gcp-trace), `console` prints spans, `memory` keeps them in
this process (tests), `off`. The default is `gcp` on Cloud Run and `off` elsewhere.
CHAT_TRACE_SAMPLE_RATIO (default 1.0) samples new traces; a caller's sampled traceparent is kept.
The request's log line names the trace (`logging.googleapis.com/trace`, spanId, trace_sampled),
so Cloud Logging joins it with the spans; an incoming W3C traceparent continues its trace.
The SDK is imported only when tracing is on (cold start).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .logs import FIELDS

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Span, Tracer

    from .logs import JsonLog
    from .runtime import Runtime
    from .settings import Settings

PROVIDER_NAMES = {"vertex": "gcp.vertex_ai", "openai": "openai"}
MEMORY_EXPORTERS: list[InMemorySpanExporter] = []  # CHAT_TRACING=memory: newest last (tests read them)


class Tracing:
    def __init__(self, provider: TracerProvider, project: str | None, memory: InMemorySpanExporter | None) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("chatapp")
        self.project = project
        self.memory = memory

    def shutdown(self) -> None:
        self.provider.shutdown()

    @contextlib.contextmanager
    def span(self, name: str, kind: str = "INTERNAL", **attributes: Any) -> Iterator[Span]:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        with self.tracer.start_as_current_span(name, kind=getattr(SpanKind, kind),
                                               attributes=_clean(attributes), record_exception=False) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_attribute("error.type", exc.__class__.__name__)
                span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
                raise


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}


def build_tracing(settings: Settings, env: Mapping[str, str] | None, log: JsonLog | None = None) -> Tracing | None:
    """Bad CHAT_TRACING settings stop startup; an exporter that cannot be created (no
    Application Default Credentials, say) only costs the traces: a WARNING, and the app serves."""
    from .settings import SettingsError

    problems: list[str] = []
    try:
        tracing = parse_tracing(os.environ if env is None else env, settings, problems)
    except Exception as exc:  # noqa: BLE001 - observability must not take the service down
        if log is not None:
            log.event("WARNING", "tracing is off: the span exporter could not be created",
                      error=f"{exc.__class__.__name__}: {exc}"[:300])
        tracing = None
    if problems:
        raise SettingsError(problems)
    return tracing


def parse_tracing(env: Mapping[str, str], settings: Settings, problems: list[str]) -> Tracing | None:
    """CHAT_TRACING and CHAT_TRACE_SAMPLE_RATIO (settings.TracingEnv); a bad one adds to `problems`."""
    from .settings import TracingEnv, read_env

    before = len(problems)
    read = read_env(TracingEnv, env, problems)
    if len(problems) > before:
        return None
    mode = read.mode or ("gcp" if settings.on_cloud_run else "off")
    ratio = read.sample_ratio
    if mode == "gcp" and not settings.google_cloud_project:
        problems.append("CHAT_TRACING=gcp needs GOOGLE_CLOUD_PROJECT: set it to the project id")
        return None
    if mode == "off":
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create({"service.name": os.environ.get("K_SERVICE", "chatapp"),
                                "service.version": os.environ.get("K_REVISION", "local")})
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(ratio)))
    memory = None
    if mode == "gcp":
        # Google's Cloud Trace exporter still works but is deprecated in favour of OTLP export to
        # the Telemetry API (https://cloud.google.com/trace/docs/migrate-to-otlp-endpoints; the
        # exporters' repositories are archived after 2027-01-01). Moving means
        # opentelemetry-exporter-otlp-proto-http with an authorized session, the Telemetry API
        # enabled and its writer role: a follow-up, not done here.
        from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter

        exporter = CloudTraceSpanExporter(project_id=settings.google_cloud_project)  # type: ignore[no-untyped-call]
        provider.add_span_processor(BatchSpanProcessor(exporter))
    elif mode == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        memory = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        MEMORY_EXPORTERS.append(memory)
    return Tracing(provider, settings.google_cloud_project, memory)


class TraceMiddleware:
    """The server span around each /v1 request; its ids go into the request's log line."""

    def __init__(self, app: Callable[..., Any], runtime: Callable[[], Runtime | None]) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        runtime = self.runtime() if scope["type"] == "http" else None
        tracing = runtime.tracing if runtime is not None else None
        path = scope.get("path", "")
        if tracing is None or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind, Status, StatusCode

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        status = {"code": 500}

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        method = scope.get("method", "")
        with tracing.tracer.start_as_current_span(
            f"{method} {path if not path.startswith('/v1/conversations/') else '/v1/conversations/{id}'}",
            context=extract(carrier), kind=SpanKind.SERVER, record_exception=False,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:
            ctx = span.get_span_context()
            fields: dict[str, Any] = scope.get(FIELDS, {})
            trace_id = format(ctx.trace_id, "032x")
            fields["logging.googleapis.com/trace"] = (
                f"projects/{tracing.project}/traces/{trace_id}" if tracing.project else trace_id)
            fields["logging.googleapis.com/spanId"] = format(ctx.span_id, "016x")
            fields["logging.googleapis.com/trace_sampled"] = ctx.trace_flags.sampled
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                span.set_attribute("http.response.status_code", status["code"])
                if status["code"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                _request_attributes(span, fields)


def _request_attributes(span: Span, fields: dict[str, Any]) -> None:
    """What the request's log fields say about the answer, as span attributes."""
    model = fields.get("model")
    attributes = {
        "stagewise.tenant": fields.get("tenant"),
        "gen_ai.operation.name": "chat" if model else None,
        "gen_ai.response.model": model,
        "gen_ai.provider.name": PROVIDER_NAMES.get(str(fields.get("provider")), fields.get("provider")),
        "gen_ai.usage.input_tokens": fields.get("prompt_tokens"),
        "gen_ai.usage.output_tokens": fields.get("completion_tokens"),
        "gen_ai.conversation.id": fields.get("conversation_id"),
        "stagewise.prompt_version": fields.get("prompt_version"),
        "stagewise.fallback_used": fields.get("fallback_used"),
        "stagewise.attempts": fields.get("attempts"),
        "stagewise.cost_usd": fields.get("cost_usd"),
        "stagewise.overhead_ms": fields.get("overhead_ms"),
        "stagewise.ttft_ms": fields.get("ttft_ms"),
    }
    if fields.get("finish_reason"):
        attributes["gen_ai.response.finish_reasons"] = [str(fields["finish_reason"])]
    span.set_attributes(_clean(attributes))


@contextlib.contextmanager
def attempt_span(tracing: Tracing | None, provider: str, model: str, index: int, attempt: int) -> Iterator[Span | None]:
    """One upstream call: its own span, so retries and the fallback attempt are visible."""
    if tracing is None:
        yield None
        return
    with tracing.span(
        f"chat {model}", "CLIENT",
        **{"gen_ai.operation.name": "chat", "gen_ai.provider.name": PROVIDER_NAMES.get(provider, provider),
           "gen_ai.request.model": model, "stagewise.chain_index": index, "stagewise.retry": attempt,
           "stagewise.fallback": index > 0},
    ) as span:
        yield span


def record_result(span: Span | None, result: Any) -> None:
    """Usage of a completed (non-streamed) attempt, when the provider reported it."""
    if span is None:
        return
    usage = getattr(result, "usage", None)
    if usage is not None:
        span.set_attributes({"gen_ai.usage.input_tokens": usage.prompt_tokens,
                             "gen_ai.usage.output_tokens": usage.completion_tokens})
    finish = getattr(result, "finish_reason", None)
    if finish:
        span.set_attribute("gen_ai.response.finish_reasons", [str(finish)])


class TracedStore:
    """Wraps the store: one span per call (`store.<method>`)."""

    def __init__(self, inner: Any, tracing: Tracing) -> None:
        self._inner = inner
        self._tracing = tracing

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name not in ("get_conversation", "get_messages", "list_conversations", "delete_conversation",
                        "record_turn", "get_profile"):
            return target

        async def traced(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            with self._tracing.span(f"store.{name}", "CLIENT", **{"db.operation.name": name}) as span:
                result = await target(*args, **kwargs)
                span.set_attribute("stagewise.duration_ms", round((time.perf_counter() - started) * 1000, 3))
                return result

        return traced
