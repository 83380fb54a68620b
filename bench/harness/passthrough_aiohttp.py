"""Bare passthrough, aiohttp client: uvicorn forwards each request to the upstream as is.

No validation, no logging, no auth: the floor of what a Python ASGI service can do.
Run: UPSTREAM_URL=http://127.0.0.1:PORT uvicorn passthrough_aiohttp:app --no-access-log
"""

from __future__ import annotations

import os

import aiohttp

UPSTREAM = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:18001").rstrip("/")
_session: aiohttp.ClientSession | None = None


async def _client() -> aiohttp.ClientSession:
    global _session
    if _session is None:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60))
    return _session


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
                if _session is not None:
                    await _session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/healthz":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    body = await _read_body(receive)
    session = await _client()
    async with session.post(
        UPSTREAM + scope["path"], data=body, headers={"Content-Type": "application/json"}
    ) as resp:
        ctype = resp.headers.get("Content-Type", "application/json").encode()
        await send({"type": "http.response.start", "status": resp.status, "headers": [(b"content-type", ctype)]})
        if ctype.startswith(b"text/event-stream"):
            async for chunk in resp.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": await resp.read()})
