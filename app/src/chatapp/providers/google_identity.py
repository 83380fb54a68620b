"""Bearer tokens from Application Default Credentials for self-hosted upstreams on Google Cloud.

- google-access-token: an OAuth access token (cloud-platform scope), what a Vertex AI dedicated
  endpoint's OpenAI-compatible route expects;
- google-id-token: an ID token whose audience is the private Cloud Run service's URL (on Cloud
  Run it comes from the metadata server).

A token is cached until shortly before it expires; fetching runs in a worker thread (google-auth
is blocking) under a lock, so a burst of requests triggers one fetch. Tokens are never logged:
errors carry only the exception's class and google-auth's message, which holds no token.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from .base import UpstreamError

AuthMode = Literal["google-access-token", "google-id-token"]
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# google-auth gives each metadata call 3 s and retries 5xx itself; this bounds the whole fetch
FETCH_TIMEOUT_S = 15.0
# refresh this long before expiry, capped at a tenth of the token's lifetime (short-lived test tokens)
REFRESH_MARGIN_S = 120.0


class UpstreamAuthError(UpstreamError):
    """No token: google-auth already retried transient failures, so fall over to the next model
    at once, but count it for the breaker so a broken identity setup is skipped fast."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)

    @property
    def counts_for_breaker(self) -> bool:
        return True


class GoogleTokenSource:
    def __init__(self, mode: AuthMode, audience: str | None = None) -> None:
        if mode == "google-id-token" and not audience:
            raise ValueError("google-id-token needs an audience (CHAT_OPENAI_AUDIENCE)")
        self.mode = mode
        self._audience = audience
        self._token: str | None = None
        self._refresh_at = 0.0  # wall clock, seconds
        self._expires_at = 0.0
        self._credentials: Any = None  # google.auth credentials, kept so a refresh skips discovery
        self._lock = asyncio.Lock()
        self.fetches = 0

    @property
    def kind(self) -> str:
        return self.mode.removeprefix("google-").replace("-", " ")

    async def authorization(self) -> str:
        """The Authorization header value; raises UpstreamError when no token can be had."""
        token = self._token
        if token is None or time.time() >= self._refresh_at:
            async with self._lock:
                if self._token is None or time.time() >= self._refresh_at:
                    await self._refresh()
                token = self._token
        assert token is not None
        return f"Bearer {token}"

    async def _refresh(self) -> None:
        try:
            token, expires_at = await asyncio.wait_for(asyncio.to_thread(self._fetch), FETCH_TIMEOUT_S)
        except Exception as exc:
            if self._token is not None and time.time() < self._expires_at - 1.0:
                # an early refresh failed: the current token is still good; try again in a few seconds
                self._refresh_at = min(self._expires_at - 1.0, time.time() + 5.0)
                return
            self._token = None
            reason = f"within {FETCH_TIMEOUT_S:g}s" if isinstance(exc, asyncio.TimeoutError) else (
                f"({exc.__class__.__name__}: {str(exc)[:300]})"
            )
            raise UpstreamAuthError(f"no Google {self.kind} for the upstream {reason}") from None
        margin = min(REFRESH_MARGIN_S, max(0.0, expires_at - time.time()) / 10)
        self._token, self._expires_at, self._refresh_at = token, expires_at, expires_at - margin
        self.fetches += 1

    def _fetch(self) -> tuple[str, float]:
        """Blocking: runs in a worker thread. Returns (token, expiry as a Unix time)."""
        import google.auth.transport.requests

        request = google.auth.transport.requests.Request()
        if self.mode == "google-id-token":
            import google.auth.jwt
            import google.oauth2.id_token

            assert self._audience is not None
            id_token: str = google.oauth2.id_token.fetch_id_token(request, self._audience)  # type: ignore[no-untyped-call]
            claims = google.auth.jwt.decode(id_token, verify=False)  # type: ignore[no-untyped-call]
            return id_token, float(claims["exp"])
        import google.auth

        if self._credentials is None:
            self._credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        credentials = self._credentials
        credentials.refresh(request)
        expiry = credentials.expiry  # naive UTC datetime, or None when unknown
        expires_at = _utc_timestamp(expiry) if expiry is not None else time.time() + 300.0
        return str(credentials.token), expires_at


def _utc_timestamp(naive_utc: Any) -> float:
    import datetime

    return float(naive_utc.replace(tzinfo=datetime.timezone.utc).timestamp())
