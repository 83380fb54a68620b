"""Bare passthrough, httpx client: uvicorn forwards each request to the upstream as is.

Same shape as passthrough_aiohttp.py with httpx.AsyncClient, to show what the client library costs.
Run: UPSTREAM_URL=http://127.0.0.1:PORT uvicorn passthrough_httpx:app --no-access-log
"""

from __future__ import annotations

import os

import httpx

UPSTREAM = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:18001").rstrip("/")
_client: httpx.AsyncClient | None = None


def _get_client() -> httpx.AsyncClient:
    global _client
    if _client is None:
        _client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=None, max_keepalive_connections=64))
    return _client


async def _read_body(receive) -> bytes:  # type: ignore[no-untyped-def]
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _client is not None:
                    await _client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/healthz":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    body = await _read_body(receive)
    client = _get_client()
    request = client.build_request("POST", UPSTREAM + scope["path"], content=body, headers={"Content-Type": "application/json"})
    resp = await client.send(request, stream=True)
    try:
        ctype = resp.headers.get("Content-Type", "application/json").encode()
        await send({"type": "http.response.start", "status": resp.status_code, "headers": [(b"content-type", ctype)]})
        if ctype.startswith(b"text/event-stream"):
            async for chunk in resp.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": await resp.aread()})
    finally:
        await resp.aclose()
