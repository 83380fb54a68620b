"""`python -m chatapp`: uvicorn on 0.0.0.0:$PORT with an ~8 s graceful shutdown for Cloud Run,
a deadline for receiving each request and an idle timeout that suits where it runs."""

from __future__ import annotations

import os
import sys


def _seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default  # the app's settings check reports the bad value at startup
    return value if value > 0 else default


def main() -> None:
    import uvicorn

    from .logs import UVICORN_LOG_CONFIG
    from .server import protocol_class
    from .settings import IDLE_TIMEOUT_CLOUD_RUN_S, IDLE_TIMEOUT_DIRECT_S, on_cloud_run

    raw_port = os.environ.get("PORT", "8080")
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        print(f"PORT={raw_port!r} is not a TCP port: set PORT to 1-65535", file=sys.stderr)
        raise SystemExit(2)
    grace = _seconds("CHAT_SHUTDOWN_GRACE_S", 8.0)
    idle_default = IDLE_TIMEOUT_CLOUD_RUN_S if on_cloud_run(os.environ) else IDLE_TIMEOUT_DIRECT_S
    uvicorn.run(
        "chatapp.main:app",
        host=os.environ.get("CHAT_HOST", "0.0.0.0"),
        port=int(raw_port),
        loop="auto",
        http=protocol_class(_seconds("CHAT_READ_TIMEOUT_S", 30.0)),
        access_log=False,  # the app writes one structured line per request itself
        log_config=UVICORN_LOG_CONFIG,  # uvicorn's own lines as JSON too
        proxy_headers=False,  # X-Forwarded-For is read by the app with CHAT_TRUSTED_PROXY_HOPS
        server_header=False,
        timeout_graceful_shutdown=max(1, int(grace)),
        timeout_keep_alive=int(max(1.0, _seconds("CHAT_IDLE_TIMEOUT_S", idle_default))),
    )


if __name__ == "__main__":
    main()
