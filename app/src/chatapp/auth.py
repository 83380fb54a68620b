"""API keys -> tenants.

CHAT_API_KEYS is JSON mapping a tenant to its key(s), plain or already hashed:
    {"acme": "sk-...", "globex": ["sk-old", "sk-new"], "initech": "sha256:<64 hex>"}
and CHAT_API_KEY_<TENANT> holds one tenant's single key (the staging stack injects one Secret
Manager secret per partner this way): CHAT_API_KEY_ACME_CORP=sk-... is tenant 'acme-corp'.
Only SHA-256 digests are kept in memory; a presented key is hashed and compared against every
digest with hmac.compare_digest, so neither the match nor its position leaks through timing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from .errors import ApiError
from .settings import PARTNER_KEY_PREFIX, SettingsError

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ANONYMOUS_PREFIX = "anon-"


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    key_id: str  # first 12 hex chars of the key digest: safe to log, names the key for limits
    anonymous: bool = False


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class KeyRing:
    def __init__(self, entries: list[tuple[str, bytes]]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def parse(cls, raw: str | None, partner_keys: Sequence[tuple[str, str]] = ()) -> KeyRing:
        """CHAT_API_KEYS (JSON) merged with one CHAT_API_KEY_<TENANT> variable per partner.

        Raises SettingsError naming the variables (never echoing a key) when malformed, when a
        tenant is defined twice, or when one key belongs to two tenants.
        """
        problems: list[str] = []
        # (tenant, defining variable, [(where, key)])
        definitions: list[tuple[str, str, list[tuple[str, object]]]] = []
        if raw:
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise SettingsError(['CHAT_API_KEYS is not valid JSON: use {"<tenant>": "<key>", ...}']) from None
            if not isinstance(data, dict) or not data:
                raise SettingsError(['CHAT_API_KEYS must be a non-empty JSON object {"<tenant>": "<key>" | ["<key>", ...]}'])
            for tenant, value in data.items():
                if not isinstance(value, list):
                    definitions.append((tenant, "CHAT_API_KEYS", [(f"CHAT_API_KEYS[{tenant!r}]", value)]))
                    continue
                if not value:
                    problems.append(f"CHAT_API_KEYS[{tenant!r}] has no key: give a key or a list of keys")
                keys = [(f"CHAT_API_KEYS[{tenant!r}][{i}]", key) for i, key in enumerate(value)]
                definitions.append((tenant, "CHAT_API_KEYS", keys))
        for variable, partner_key in partner_keys:
            definitions.append((partner_tenant(variable), variable, [(variable, partner_key)]))

        entries: list[tuple[str, bytes]] = []
        defined_by: dict[str, str] = {}
        seen: dict[bytes, tuple[str, str]] = {}  # digest -> (tenant, where)
        for tenant, source, keys in definitions:
            if not _TENANT.match(tenant) or tenant.startswith(ANONYMOUS_PREFIX):
                name = f"CHAT_API_KEYS tenant {tenant[:64]!r}" if source == "CHAT_API_KEYS" else f"{source} (tenant {tenant[:64]!r})"
                problems.append(
                    f"{name} must be 1-64 letters, digits, '_', '.', '-' and not start with {ANONYMOUS_PREFIX!r}"
                )
                continue
            if tenant in defined_by:
                problems.append(
                    f"tenant {tenant!r} is defined twice, by {defined_by[tenant]} and by {source}: keep one"
                )
                continue
            defined_by[tenant] = source
            for where, key in keys:
                d = _key_digest(where, key, problems)
                if d is None:
                    continue
                if d in seen and seen[d][0] != tenant:
                    other_tenant, other_where = seen[d]
                    problems.append(
                        f"{where} is also a key of tenant {other_tenant!r} ({other_where}): a key maps to one tenant"
                    )
                    continue
                seen[d] = (tenant, where)
                entries.append((tenant, d))
        if problems:
            raise SettingsError(problems)
        return cls(entries)

    def lookup(self, key: str) -> Principal | None:
        presented = digest(key)
        found: str | None = None
        found_digest = b""
        for tenant, d in self._entries:  # no early exit: same work whichever entry matches
            if hmac.compare_digest(presented, d):
                found, found_digest = tenant, d
        if found is None:
            return None
        return Principal(found, found_digest.hex()[:12])


def partner_tenant(variable: str) -> str:
    """CHAT_API_KEY_ACME_CORP -> 'acme-corp': the inverse of the stacks' partner-key -> variable mapping."""
    return variable[len(PARTNER_KEY_PREFIX):].lower().replace("_", "-")


def _key_digest(where: str, key: object, problems: list[str]) -> bytes | None:
    if not isinstance(key, str):
        problems.append(f"{where} must be a string key or 'sha256:<64 hex digits>'")
        return None
    if key.startswith("sha256:"):
        hexpart = key[7:].lower()
        if not _HEX64.match(hexpart):
            problems.append(f"{where} has a malformed hash: use 'sha256:' + 64 hex digits")
            return None
        return bytes.fromhex(hexpart)
    if len(key) < 16:
        problems.append(f"{where} is shorter than 16 characters: use a long random key")
        return None
    return digest(key)


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The API key of a request: `x-api-key` first, then `Authorization: Bearer <key>`.

    x-api-key comes first because Authorization may hold something else: on a Cloud Run service
    that only lets signed-in callers through (IAM invoker, the staging partner service), the
    caller's Google ID token goes in Authorization (or X-Serverless-Authorization) and Cloud Run
    checks it (https://cloud.google.com/run/docs/authenticating/service-to-service; both headers:
    https://github.com/GoogleCloudPlatform/cloud-run-proxy/pull/25), then passes it on to the
    container with its signature replaced by SIGNATURE_REMOVED_BY_GOOGLE (as seen in a container:
    https://pc.atsuhiro-me.net/entry/2022/08/11/081130). Such a caller sends its API key in
    x-api-key; a Google token alone matches no key and gets a 401 that says where the key goes.
    """
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                401,
                "Authorization header must be 'Bearer <API key>'",
                type="authentication_error",
                param="Authorization",
                code="invalid_api_key",
            )
        return token
    return None


_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


def looks_like_identity_token(key: str) -> bool:
    """A JWT (three base64url parts, a JSON header), as Google's ID tokens are. Only used to word
    the 401 for a key that matched nothing, so a caller learns the key goes in x-api-key."""
    return bool(_JWT.match(key))


def anonymous(client_id: str) -> Principal:
    """Each anonymous client (by address) is its own tenant: it sees only its own conversations."""
    h = hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:16]
    return Principal(ANONYMOUS_PREFIX + h, "anon:" + h, anonymous=True)
