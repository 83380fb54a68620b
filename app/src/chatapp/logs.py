"""One JSON line per request on stdout, in Cloud Logging's structured format.

The middleware is plain ASGI (no BaseHTTPMiddleware: it buffers nothing, so streamed answers pass
straight through) and writes the line when the response has been sent in full, so the latency,
time to first token and token counts of a streamed answer are in it. Handlers add fields through
`request.scope[FIELDS]`. Keys and the Authorization header are never read here; message content
only reaches a line when CHAT_LOG_CONTENT=true puts it into the fields.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import orjson

FIELDS = "chatapp.log"

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=([01]))?$")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


def trace_fields(headers: dict[str, str], project: str | None) -> dict[str, Any]:
    """W3C traceparent first, X-Cloud-Trace-Context second; ids must be well formed."""
    trace = span = None
    sampled = False
    tp = headers.get("traceparent")
    if tp:
        m = _TRACEPARENT.match(tp.strip().lower())
        if m and m.group(1) != "0" * 32:
            trace, span, sampled = m.group(1), m.group(2), bool(int(m.group(3), 16) & 1)
    if trace is None:
        xc = headers.get("x-cloud-trace-context")
        if xc:
            m = _CLOUD_TRACE.match(xc.strip())
            if m:
                trace = m.group(1).lower()
                if m.group(2):
                    span = format(int(m.group(2)) & 0xFFFFFFFFFFFFFFFF, "016x")
                sampled = m.group(3) == "1"
    if trace is None:
        return {}
    out: dict[str, Any] = {
        "logging.googleapis.com/trace": f"projects/{project}/traces/{trace}" if project else trace,
        "logging.googleapis.com/trace_sampled": sampled,
    }
    if span:
        out["logging.googleapis.com/spanId"] = span
    return out


class JsonLog:
    """Writes structured lines; one instance per app. `stream` is swappable for tests."""

    def __init__(self, stream: TextIO | None = None, project: str | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.project = project

    def write(self, record: dict[str, Any]) -> None:
        self.stream.write(orjson.dumps(record, default=str).decode() + "\n")
        self.stream.flush()

    def event(self, severity: str, message: str, **fields: Any) -> None:
        self.write({"severity": severity, "message": message, **fields})


class JsonLogFormatter(logging.Formatter):
    """A standard-library log record (uvicorn's own: startup, shutdown, protocol errors) as one JSON
    line shaped like JsonLog's, so every line the process writes is structured. The level names
    are Cloud Logging severities as they are (DEBUG, INFO, WARNING, ERROR, CRITICAL:
    https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry#LogSeverity), and a JSON
    line's `severity` and `message` fields become the entry's
    (https://cloud.google.com/logging/docs/structured-logging)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"severity": record.levelname, "message": record.getMessage(), "logger": record.name}
        if record.exc_info:
            out["message"] += "\n" + self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


# uvicorn's loggers (https://www.uvicorn.org/concepts/logging/: `uvicorn`, `uvicorn.error` for the
# server's own messages, `uvicorn.access`), in the dictConfig form `uvicorn.run(log_config=...)`
# takes: on stderr, where uvicorn writes its server lines by default (stdout stays the app's own), but
# each line JSON like the app's.
class StartupFailure:
    """Set by the app when its startup failed and it has logged why (one CRITICAL line)."""

    reported = False


class ReportedStartupFailure(logging.Filter):
    """Drops the traceback uvicorn logs when the app's startup fails: Starlette hands uvicorn the
    formatted traceback as the lifespan's failure message, but the app has already logged the failure
    as one CRITICAL line naming each bad variable and its fix; a bad config never ends in a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (StartupFailure.reported and record.getMessage().startswith("Traceback (most recent call last)"))


UVICORN_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": f"{__name__}.JsonLogFormatter"}},
    "filters": {"reported": {"()": f"{__name__}.ReportedStartupFailure"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO", "filters": ["reported"]},
        "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


class AccessLog:
    def __init__(self, app: Callable[..., Any], log: JsonLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        fields: dict[str, Any] = {}
        scope[FIELDS] = fields
        scope["chatapp.t0"] = start  # usage.T0: a completion's total time counts from here
        state = {"status": 500, "size": 0}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body":
                state["size"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            fields["error"] = exc.__class__.__name__
            state["status"] = 500
            raise
        finally:
            self._emit(scope, state["status"], state["size"], time.perf_counter() - start, fields)

    def _emit(self, scope: Scope, status: int, size: int, elapsed: float, fields: dict[str, Any]) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        path = scope.get("path", "")
        method = scope.get("method", "")
        client = scope.get("client")
        remote = fields.pop("_remote_ip", None) or (client[0] if client else None)
        severity = "ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO"
        http_request: dict[str, Any] = {
            "requestMethod": method,
            "requestUrl": path,
            "status": status,
            "responseSize": str(size),
            "latency": f"{elapsed:.6f}s",
            "protocol": "HTTP/" + scope.get("http_version", "1.1"),
        }
        if remote:
            http_request["remoteIp"] = remote
        ua = headers.get("user-agent")
        if ua:
            http_request["userAgent"] = ua[:256]
        length = headers.get("content-length")
        if length:
            http_request["requestSize"] = length
        record: dict[str, Any] = {
            "severity": fields.pop("_severity", severity),
            "message": f"{method} {path} {status}",
            "httpRequest": http_request,
            "latency_ms": round(elapsed * 1000, 2),
        }
        record.update(trace_fields(headers, self.log.project))
        record.update(fields)
        self.log.write(record)
