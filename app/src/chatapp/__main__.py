"""`python -m chatapp`: uvicorn on 0.0.0.0:$PORT with an ~8 s graceful shutdown for Cloud Run."""

from __future__ import annotations

import os
import sys


def main() -> None:
    import uvicorn

    raw_port = os.environ.get("PORT", "8080")
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        print(f"PORT={raw_port!r} is not a TCP port: set PORT to 1-65535", file=sys.stderr)
        raise SystemExit(2)
    try:
        grace = float(os.environ.get("CHAT_SHUTDOWN_GRACE_S", "8") or 8)
    except ValueError:
        grace = 8.0  # the app's settings check reports the bad value at startup
    uvicorn.run(
        "chatapp.main:app",
        host=os.environ.get("CHAT_HOST", "0.0.0.0"),
        port=int(raw_port),
        loop="auto",
        http="auto",
        access_log=False,  # the app writes one structured line per request itself
        proxy_headers=False,  # X-Forwarded-For is read by the app with CHAT_TRUSTED_PROXY_HOPS
        server_header=False,
        timeout_graceful_shutdown=max(1, int(grace)),
        timeout_keep_alive=620,  # longer than Google's front ends keep idle connections (600 s)
    )


if __name__ == "__main__":
    main()
