"""Per-tenant quotas that hold across instances: requests and tokens per window, and token or
dollar budgets per UTC day and month.

Why this shape. The per-key limiter (limits.py) lives in one process: N Cloud Run instances
allow N times its limit. Here every instance counts into its own shard of a shared counter in
Firestore, the distributed-counter pattern Google documents because one document takes about
one sustained write per second (https://cloud.google.com/firestore/docs/solutions/counters;
"a limit of one sustained write per second, per document",
https://firebase.google.com/products/extensions/firebase-firestore-counter):

    quota_counters/{tenant}~{kind}~{period}/shards/{instance}   n (Increment-ed), expire_at
    quota_instances/{instance}                                   seen (heartbeat), expire_at

Each instance writes its shard and heartbeat at most once per CHAT_QUOTA_SYNC_S (default 1 s)
and reads the shards' sum and the live instances; requests are admitted from that view, off the
request path (only a tenant's first request on an instance waits for one read). Firestore is in
every stack already, so nothing new is declared or paid for beyond these reads and writes (a
TTL policy on `expire_at` of the collection groups `shards` and `quota_instances` cleans up).
Measured here (2026-12-01, the npm Firestore emulator on loopback): one sync of 6 counters
(batch commit + reads) takes p50 13 ms, p95 95 ms; done per request inside a transaction that
would be added to every answer, done once a second per instance it adds nothing to any. Redis
(Debian's redis-server 7.0.15 on loopback, same day): INCR + EXPIRE per request p50 0.013 ms,
p95 0.028 ms, so a per-request exact check would be cheap in time; what decides is the rest:
Memorystore for Valkey/Redis would be exact per request, but it is a new always-on component,
needs VPC access from Cloud Run, and single-digit requests per second per tenant do not need it.

How exact. Requests per window: each of the n live instances may admit its share of what was
left at the last sync (the remainder goes to the first instances by id), so the total holds
exactly while the set of instances is stable; an instance that starts mid-window may add at most
its share once. Tokens and budgets are charged after the answer (the size is known only then):
a tenant can overshoot by the answers already under way plus what other instances charged within
one sync interval. Windows are fixed (CHAT_QUOTA_WINDOW_S, default 60): up to twice the rate can
pass across a window boundary, as with any fixed window.

When Firestore is unreachable: fail-static. Each instance keeps its last view and keeps admitting
only its own share (limit / instances last seen) for new windows, and budgets from the last known
totals plus its own spending; charges wait and are written when Firestore answers again. So an
outage neither lets a flood through (the total stays near the limit) nor blocks every tenant.

A refusal is a 429 in OpenAI's shape: `rate_limit_exceeded` for the rates (retry after the
window), and type `insufficient_quota` for a spent budget, which OpenAI also answers with 429 and
where retrying does not help until the period resets
(https://learn.microsoft.com/en-us/microsoft-cloud/dev/dev-proxy/concepts/openai-insufficient-quota).

Settings: CHAT_QUOTA_BACKEND (memory | firestore; memory counts in this process only, the MVP's
single instance), CHAT_TENANT_RPM, CHAT_TENANT_TPM, CHAT_TENANT_DAILY_TOKENS,
CHAT_TENANT_MONTHLY_TOKENS, CHAT_TENANT_DAILY_USD, CHAT_TENANT_MONTHLY_USD (0 = none),
CHAT_TENANT_QUOTAS (JSON: {"<tenant>": {"rpm": 10, "daily_usd": 5, ...}} overrides per tenant),
CHAT_QUOTA_SYNC_S, CHAT_QUOTA_WINDOW_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import orjson

if TYPE_CHECKING:
    from .logs import JsonLog
    from collections.abc import Mapping

    from .settings import Settings

NANOS_PER_USD = 1_000_000_000
SYNC_TIMEOUT_S = 2.0
QUOTA_FIELDS = ("rpm", "tpm", "daily_tokens", "monthly_tokens", "daily_usd", "monthly_usd")


@dataclass(frozen=True, slots=True)
class TenantQuota:
    rpm: int = 0
    tpm: int = 0
    daily_tokens: int = 0
    monthly_tokens: int = 0
    daily_nanos: int = 0
    monthly_nanos: int = 0

    def __bool__(self) -> bool:
        return any((self.rpm, self.tpm, self.daily_tokens, self.monthly_tokens, self.daily_nanos, self.monthly_nanos))


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str
    type: str
    code: str
    retry_after_s: int


@dataclass(slots=True)
class _Counter:
    total: int = 0  # every instance's count at the last sync (ours included)
    pending: int = 0  # ours since then
    expires: float = 0.0  # epoch seconds after which the period is over


class QuotaBackend(Protocol):
    async def sync(
        self, instance: str, deltas: dict[str, tuple[int, float]], keys: list[str]
    ) -> tuple[dict[str, int], list[str]]:
        """Adds this instance's deltas (key -> (delta, expires)) to its shards, then returns the
        total over all shards of each key, and the live instances' ids (sorted)."""

    async def close(self) -> None: ...


class MemoryBackend:
    """One process: the MVP's single instance (and what a test compares with)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def sync(
        self, instance: str, deltas: dict[str, tuple[int, float]], keys: list[str]
    ) -> tuple[dict[str, int], list[str]]:
        for key, (delta, _) in deltas.items():
            self.counts[key] = self.counts.get(key, 0) + delta
        return {k: self.counts.get(k, 0) for k in keys}, [instance]

    async def close(self) -> None:
        return None


class FirestoreBackend:
    def __init__(self, project: str, database: str, instance_ttl_s: float) -> None:
        from google.cloud import firestore

        self.client: Any = firestore.AsyncClient(project=project, database=database)
        self.instance_ttl_s = instance_ttl_s

    async def sync(
        self, instance: str, deltas: dict[str, tuple[int, float]], keys: list[str]
    ) -> tuple[dict[str, int], list[str]]:
        from google.cloud import firestore
        from google.cloud.firestore_v1.base_query import FieldFilter

        now = time.time()
        batch = self.client.batch()
        for key, (delta, expires) in deltas.items():
            batch.set(
                self.client.collection("quota_counters").document(key).collection("shards").document(instance),
                {"n": firestore.Increment(delta), "expire_at": datetime.fromtimestamp(expires, UTC) + timedelta(days=1)},
                merge=True,
            )
        batch.set(
            self.client.collection("quota_instances").document(instance),
            {"seen": now, "expire_at": datetime.fromtimestamp(now, UTC) + timedelta(days=1)},
        )
        await batch.commit(timeout=SYNC_TIMEOUT_S)

        async def total(key: str) -> int:
            shards = self.client.collection("quota_counters").document(key).collection("shards")
            return sum([int((s.to_dict() or {}).get("n", 0)) async for s in shards.stream(timeout=SYNC_TIMEOUT_S)])

        async def live() -> list[str]:
            query = self.client.collection("quota_instances").where(
                filter=FieldFilter("seen", ">=", now - self.instance_ttl_s))
            return sorted([s.id async for s in query.stream(timeout=SYNC_TIMEOUT_S)])

        instances, totals = await asyncio.gather(live(), asyncio.gather(*(total(k) for k in keys)))
        return dict(zip(keys, totals, strict=True)), instances or [instance]

    async def close(self) -> None:
        self.client.close()


def _doc_key(tenant: str, kind: str, period: str) -> str:
    from .store.firestore import doc_id

    return f"{doc_id(tenant)}~{kind}~{period}"


@dataclass
class Quotas:
    default: TenantQuota
    overrides: dict[str, TenantQuota]
    backend: QuotaBackend
    log: JsonLog | None = None
    sync_s: float = 1.0
    window_s: float = 60.0
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    counters: dict[str, _Counter] = field(default_factory=dict)
    instances: list[str] = field(default_factory=list)
    healthy: bool = True
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _task: asyncio.Task[None] | None = None

    def quota_for(self, tenant: str) -> TenantQuota:
        return self.overrides.get(tenant, self.default)

    async def start(self) -> None:
        with contextlib.suppress(Exception):  # an outage at startup: fail-static from the start
            await self.sync()
        self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        with contextlib.suppress(Exception):
            await self.sync()  # what this instance charged last
        await self.backend.close()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.sync_s)
            with contextlib.suppress(Exception):
                await self.sync()

    # --- periods -------------------------------------------------------------------------

    def _keys(self, tenant: str, now: float) -> dict[str, tuple[str, float]]:
        """kind -> (counter key, the period's end) for the current window, day and month."""
        window = math.floor(now / self.window_s)
        moment = datetime.fromtimestamp(now, UTC)
        day_end = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)
        month_end = (moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
        day, month = moment.strftime("%Y%m%d"), moment.strftime("%Y%m")
        w_end = (window + 1) * self.window_s
        return {
            "req": (_doc_key(tenant, "req", str(window)), w_end),
            "tok": (_doc_key(tenant, "tok", str(window)), w_end),
            "tok_d": (_doc_key(tenant, "tok_d", day), day_end.timestamp()),
            "usd_d": (_doc_key(tenant, "usd_d", day), day_end.timestamp()),
            "tok_m": (_doc_key(tenant, "tok_m", month), month_end.timestamp()),
            "usd_m": (_doc_key(tenant, "usd_m", month), month_end.timestamp()),
        }

    def _counter(self, key: str, expires: float) -> _Counter:
        c = self.counters.get(key)
        if c is None:
            c = self.counters[key] = _Counter(expires=expires)
        return c

    # --- shared state ----------------------------------------------------------------------

    async def sync(self) -> None:
        async with self._lock:
            now = time.time()
            for key in [k for k, c in self.counters.items() if c.expires < now and c.pending == 0]:
                del self.counters[key]
            deltas = {k: (c.pending, c.expires) for k, c in self.counters.items() if c.pending}
            keys = list(self.counters)
            try:
                async with asyncio.timeout(SYNC_TIMEOUT_S * 2):
                    totals, instances = await self.backend.sync(self.instance, deltas, keys)
            except Exception as exc:
                if self.healthy and self.log is not None:
                    self.log.event("WARNING", "quota state unreachable: admitting from the last view (fail-static)",
                                   error=exc.__class__.__name__)
                self.healthy = False
                raise
            for key, (delta, _) in deltas.items():
                self.counters[key].pending -= delta  # charges made meanwhile stay pending
            for key, value in totals.items():
                if key in self.counters:
                    self.counters[key].total = value
            self.instances = instances
            if not self.healthy and self.log is not None:
                self.log.event("INFO", "quota state reachable again")
            self.healthy = True

    # --- admission and charges ---------------------------------------------------------------

    async def admit(self, tenant: str) -> Refusal | None:
        quota = self.quota_for(tenant)
        if not quota:
            return None
        now = time.time()
        keys = self._keys(tenant, now)
        if any(key not in self.counters for key, _ in keys.values()):
            for key, expires in keys.values():
                self._counter(key, expires)
            if self.healthy:  # a tenant's first request here (or a new window): read the totals
                with contextlib.suppress(Exception):
                    await self.sync()
        c = {kind: self._counter(key, expires) for kind, (key, expires) in keys.items()}
        day_reset = int(keys["tok_d"][1] - now) + 1
        month_reset = int(keys["tok_m"][1] - now) + 1
        window_reset = int(keys["req"][1] - now) + 1
        budgets = (
            ("tok_d", quota.daily_tokens, "daily token budget", f"{quota.daily_tokens} tokens", day_reset,
             "daily_token_budget_exceeded", "00:00 UTC"),
            ("usd_d", quota.daily_nanos, "daily spend limit", f"${quota.daily_nanos / NANOS_PER_USD:g}", day_reset,
             "daily_spend_limit_exceeded", "00:00 UTC"),
            ("tok_m", quota.monthly_tokens, "monthly token budget", f"{quota.monthly_tokens} tokens", month_reset,
             "monthly_token_budget_exceeded", "the first of next month (UTC)"),
            ("usd_m", quota.monthly_nanos, "monthly spend limit", f"${quota.monthly_nanos / NANOS_PER_USD:g}",
             month_reset, "monthly_spend_limit_exceeded", "the first of next month (UTC)"),
        )
        for kind, limit, what, amount, reset, code, when in budgets:
            if limit and c[kind].total + c[kind].pending >= limit:
                return Refusal(f"tenant {tenant!r} has used its {what} of {amount}; it resets at {when}",
                               "insufficient_quota", code, reset)
        if quota.tpm and c["tok"].total + c["tok"].pending >= quota.tpm:
            return Refusal(f"tenant {tenant!r} is over its {quota.tpm} tokens per {self.window_s:g} s; "
                           f"retry after {window_reset} s", "rate_limit_error", "rate_limit_exceeded", window_reset)
        if quota.rpm:
            req = c["req"]
            if req.pending >= self._share(quota.rpm - req.total):
                return Refusal(f"tenant {tenant!r} is over its {quota.rpm} requests per {self.window_s:g} s; "
                               f"retry after {window_reset} s", "rate_limit_error", "rate_limit_exceeded",
                               window_reset)
            req.pending += 1
        return None

    def _share(self, remaining: int) -> int:
        """This instance's part of what the window has left: an even split over the instances
        seen at the last sync, the remainder going to the first ones by id."""
        if remaining <= 0:
            return 0
        instances = self.instances or [self.instance]
        n = len(instances)
        rank = instances.index(self.instance) if self.instance in instances else n - 1
        return remaining // n + (1 if rank < remaining % n else 0)

    def charge(self, tenant: str, tokens: int, cost_nanos: int) -> None:
        if not self.quota_for(tenant):
            return
        keys = self._keys(tenant, time.time())
        for kind, amount in (("tok", tokens), ("tok_d", tokens), ("tok_m", tokens),
                             ("usd_d", cost_nanos), ("usd_m", cost_nanos)):
            if amount:
                key, expires = keys[kind]
                self._counter(key, expires).pending += amount


def _quota(problems: list[str], raw: dict[str, Any], where: str, base: TenantQuota) -> TenantQuota:
    updates: dict[str, int] = {}
    for name, value in raw.items():
        if name not in QUOTA_FIELDS:
            problems.append(f"{where}: unknown quota {name!r}; use {', '.join(QUOTA_FIELDS)}")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append(f"{where}.{name} must be a number >= 0 (0 = no limit)")
            continue
        if name.endswith("_usd"):
            updates[name.replace("_usd", "_nanos")] = round(value * NANOS_PER_USD)
        else:
            updates[name] = int(value)
    return replace(base, **updates)


def parse_quotas(env: Mapping[str, str], settings: Settings, log: JsonLog, problems: list[str]) -> Quotas | None:
    """The CHAT_TENANT_* and CHAT_QUOTA_* variables (settings.QuotaEnv); None when no quota is set.
    Each bad value adds a line to `problems`."""
    from .settings import QuotaEnv, read_env

    before = len(problems)
    read = read_env(QuotaEnv, env, problems)
    backend_name = read.backend
    if backend_name == "firestore" and not settings.google_cloud_project:
        problems.append("CHAT_QUOTA_BACKEND=firestore needs GOOGLE_CLOUD_PROJECT: set it to the project id")
    default = _quota(problems, {name: getattr(read, name) for name in QUOTA_FIELDS}, "CHAT_TENANT_*", TenantQuota())
    overrides = {tenant: _quota(problems, raw, f"CHAT_TENANT_QUOTAS[{tenant!r}]", default)
                 for tenant, raw in read.tenant_quotas.items()}
    sync_s, window_s = read.sync_s, read.window_s
    if len(problems) > before or (not default and not any(overrides.values())):
        return None
    backend: QuotaBackend
    if backend_name == "firestore":
        backend = FirestoreBackend(settings.google_cloud_project or "", settings.firestore_database,
                                   max(10.0, 5 * sync_s))
    else:
        backend = MemoryBackend()
    return Quotas(default, overrides, backend, log, sync_s=sync_s, window_s=window_s)
