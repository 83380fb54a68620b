"""A fake GCE/Cloud Run metadata server: a real aiohttp server on 127.0.0.1.

google-auth finds it through GCE_METADATA_IP (the detection ping, read per call) and
GCE_METADATA_HOST (the computeMetadata/v1 root, read when google.auth.compute_engine._metadata is
imported, so the app under test runs as a fresh process). Every request must carry
`Metadata-Flavor: Google`, as on the real server. Tokens are numbered so a test can tell a cached
token from a refreshed one; ID tokens are JWTs (unsigned: google-auth only reads their `exp`).
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter

from aiohttp import web

EMAIL = "chat-app@test-project.iam.gserviceaccount.com"
SA = "/computeMetadata/v1/instance/service-accounts/default"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_id_token(audience: str, serial: int, lifetime_s: float) -> str:
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": "fake"}
    claims = {"aud": audience, "iss": "https://accounts.google.com", "sub": "1234", "email": EMAIL,
              "iat": now, "exp": now + int(lifetime_s), "serial": serial}
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(b"not-signed")])


class FakeMetadataServer:
    def __init__(self) -> None:
        self.port = 0
        self.calls: Counter[str] = Counter()  # path -> count
        self.unflavoured = 0  # requests without Metadata-Flavor: Google (refused)
        self.audiences: list[str] = []
        self.scopes: list[str] = []
        self.lifetime_s = 3600.0
        self.fail_status: int | None = None  # token and identity endpoints answer this when set
        self.issued: list[str] = []
        # "Bearer <token>" for every token issued; hand it to FakeModelServer.require_authorization
        self.valid: set[str] = set()
        self._runner: web.AppRunner | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def token_calls(self) -> int:
        return self.calls[f"{SA}/token"]

    def identity_calls(self) -> int:
        return self.calls[f"{SA}/identity"]

    async def start(self) -> None:
        app = web.Application(middlewares=[self._flavour])
        app.router.add_get("/", self._ping)
        app.router.add_get(f"{SA}/", self._info)
        app.router.add_get(f"{SA}/token", self._token)
        app.router.add_get(f"{SA}/identity", self._identity)
        app.router.add_get("/computeMetadata/v1/project/project-id", self._project)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @web.middleware
    async def _flavour(self, request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
        self.calls[request.path] += 1
        if request.headers.get("Metadata-Flavor") != "Google":
            self.unflavoured += 1
            return web.Response(status=403, text="Missing Metadata-Flavor: Google header")
        response = await handler(request)
        response.headers["Metadata-Flavor"] = "Google"
        return response

    async def _ping(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="computeMetadata/")

    async def _info(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"email": EMAIL, "aliases": ["default"], "scopes": ["https://www.googleapis.com/auth/cloud-platform"]})

    async def _project(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="test-project", content_type="application/text")

    async def _token(self, request: web.Request) -> web.StreamResponse:
        if self.fail_status is not None:
            return web.Response(status=self.fail_status, text="service account has no token here")
        self.scopes.append(request.query.get("scopes", ""))
        token = f"ya29.fake-access-{len(self.issued) + 1}"
        self.issued.append(token)
        self.valid.add(f"Bearer {token}")
        return web.json_response({"access_token": token, "expires_in": int(self.lifetime_s), "token_type": "Bearer"})

    async def _identity(self, request: web.Request) -> web.StreamResponse:
        if self.fail_status is not None:
            return web.Response(status=self.fail_status, text="no identity for this audience")
        audience = request.query.get("audience", "")
        self.audiences.append(audience)
        token = fake_id_token(audience, len(self.issued) + 1, self.lifetime_s)
        self.issued.append(token)
        self.valid.add(f"Bearer {token}")
        return web.Response(text=token, content_type="application/text")
