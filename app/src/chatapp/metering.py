"""The hooks chat.py and api.py call: record a completion's usage, read usage, admit a request.

Kept apart from the chat flow so the flow only calls `after_turn` (when a turn was stored) and
`admit` (before the model is called). Settings (environment):

- CHAT_USAGE=false turns usage records off (default on).
- CHAT_ADMIN_API_KEYS: comma-separated keys (plain or sha256:<hex>) that read every tenant's usage.
- the quota variables, see quotas.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .logs import FIELDS
from .settings import MeterEnv, Settings, SettingsError, read_env
from .store.base import StoreUnavailable
from .usage import AdminKeys, PriceTable, UsageRecord, new_record, usage_view
from .quotas import Quotas, parse_quotas
from .usage_store import FirestoreUsageLog, SqliteUsageLog, UsageLog

if TYPE_CHECKING:
    from fastapi import Request

    from .chat import Caller, ChatContext
    from .logs import JsonLog
    from .providers.base import Usage
    from .router import Outcome
    from .runtime import Runtime

USAGE_WRITE_TIMEOUT_S = 5.0


@dataclass
class Meter:
    prices: PriceTable
    log: UsageLog | None
    admin: AdminKeys
    quotas: Quotas | None = None

    async def start(self) -> None:
        if self.log is not None:
            await self.log.start()
        if self.quotas is not None:
            await self.quotas.start()

    async def close(self) -> None:
        if self.quotas is not None:
            await self.quotas.close()
        if self.log is not None:
            await self.log.close()


def build_meter(settings: Settings, env: Mapping[str, str] | None, log: JsonLog) -> Meter | None:
    """Reads the metering variables; raises SettingsError naming each bad one."""
    import os

    env = os.environ if env is None else env
    problems: list[str] = []
    read = read_env(MeterEnv, env, problems)
    enabled = read.usage
    admin = AdminKeys(read.admin_api_keys)
    quotas = parse_quotas(env, settings, log, problems)
    if problems:
        raise SettingsError(problems)
    if not enabled and quotas is None:
        return None
    usage_log: UsageLog | None = None
    if not enabled:
        pass
    elif settings.store == "firestore":
        usage_log = FirestoreUsageLog(settings.google_cloud_project or "", settings.firestore_database, settings.ttl_days)
    else:
        usage_log = SqliteUsageLog(settings.sqlite_path)
    return Meter(PriceTable.shipped(), usage_log, admin, quotas)


async def after_turn(runtime: Runtime, ctx: ChatContext, outcome: Outcome, usage: Usage, finish: str) -> None:
    """Records the completion (and charges the tenant's token and dollar quotas). Never raises:
    the answer is already stored; a failure is a field of the request's log line."""
    meter = runtime.meter
    if meter is None:
        return
    fields = ctx.fields
    principal = ctx.caller.principal
    ttft = fields.get("ttft_ms")
    record = new_record(
        prices=meter.prices,
        tenant=principal.tenant,
        user=ctx.conversation.user,
        key_id=principal.key_id,
        model=outcome.route.model,
        provider=outcome.route.provider,
        prompt_version=ctx.version,
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        ttft_ms=float(ttft) if isinstance(ttft, (int, float)) else None,
        total_ms=(time.perf_counter() - ctx.started) * 1000,
        upstream_ms=outcome.upstream_s * 1000,
        fallback_used=outcome.fallback_used,
        finish_reason=finish,
    )
    fields["cost_usd"] = record.cost_nanos / 1e9
    fields["cost_priced"] = record.priced
    fields["overhead_ms"] = record.overhead_ms
    if meter.quotas is not None:
        meter.quotas.charge(principal.tenant, record.input_tokens + record.output_tokens, record.cost_nanos)
    if meter.log is None:
        return
    try:
        async with asyncio.timeout(USAGE_WRITE_TIMEOUT_S):
            await meter.log.add(record)
        fields["usage_recorded"] = True
    except Exception as exc:  # noqa: BLE001 - logged, never fails the answer
        fields["usage_recorded"] = False
        fields["usage_error"] = exc.__class__.__name__
        fields["_severity"] = "ERROR"


async def admit(runtime: Runtime, who: Caller) -> None:
    """Refuses (429) a tenant over its shared requests/tokens per window or a spent budget."""
    meter = runtime.meter
    if meter is None or meter.quotas is None or who.anonymous:
        return
    refusal = await meter.quotas.admit(who.principal.tenant)
    if refusal is not None:
        raise ApiError(429, refusal.message, type=refusal.type, code=refusal.code,
                       headers={"Retry-After": str(refusal.retry_after_s)})


def record_view(record: UsageRecord) -> dict[str, Any]:
    return record.to_dict()


async def usage_route(
    runtime: Runtime,
    request: Request,
    caller: Callable[[Request], Awaitable[Caller]],
    since: str | None,
    until: str | None,
) -> dict[str, Any]:
    """GET /v1/usage: an admin key (CHAT_ADMIN_API_KEYS) sees every tenant, any other key its own."""
    from . import auth

    meter = runtime.meter
    key = auth.presented_key(request.headers.get("authorization"), request.headers.get("x-api-key"))
    if meter is not None and meter.admin.match(key):
        request.scope[FIELDS]["tenant"] = "*admin*"
        tenant: str | None = None
    else:
        who = await caller(request)
        tenant = who.principal.tenant
    try:
        return await usage_view(runtime, tenant, since, until)
    except ApiError:
        raise
    except Exception as exc:
        raise StoreUnavailable(f"usage read failed: {exc.__class__.__name__}") from exc
