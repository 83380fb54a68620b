"""Usage records: one per completion, with its tokens, its cost and where its time went.

A record names the tenant, user and key, the model that answered (after any fallback), the prompt
version, input/output tokens, the cost, the time to first token, the total time and the app's
own overhead (total time less the time spent waiting on the model). Costs are integers in
nano-USD: tokens x the model's per-token price from `data/model_prices.json`, which
`scripts/app_prices.py` exports from the estimator's own price file, so sums are exact and the
recorded cost and `stagewise cost` agree on every price. A model with no list price (a
self-hosted server) is recorded with cost 0 and `priced: false`, never a guessed price.

Each record is written with a per-(tenant, day, model) rollup in one unit (SQLite transaction,
Firestore batch with `Increment`); `GET /v1/usage` reads the rollups. The overhead is also a
response header, as MLflow's AI Gateway reports `X-MLflow-Gateway-Duration-Ms` and
`X-MLflow-Gateway-Overhead-Duration-Ms` ("total_ms - provider_call_ms";
https://mlflow.org/docs/latest/genai/governance/ai-gateway/benchmarks/).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson

from .errors import ApiError, invalid

if TYPE_CHECKING:
    from .runtime import Runtime

PRICES_FILE = "model_prices.json"
NANOS_PER_USD = 1_000_000_000
DURATION_HEADER = "x-stagewise-duration-ms"
OVERHEAD_HEADER = "x-stagewise-overhead-ms"
T0 = "chatapp.t0"  # ASGI scope key: perf_counter() when the request arrived (set by AccessLog)
MAX_RANGE_DAYS = 366
_VERSION_SUFFIX = re.compile(r"^-(\d{3}|preview.*|exp.*|latest)$")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_nanos: int
    output_nanos: int


class PriceTable:
    def __init__(self, models: dict[str, ModelPrice], source: str, read: str) -> None:
        self.models = models
        self.source = source
        self.read = read

    @classmethod
    def shipped(cls) -> PriceTable:
        return _shipped()

    def lookup(self, model: str) -> ModelPrice | None:
        """Exact name, or a versioned name of a priced model (gemini-2.5-flash-001,
        publishers/google/models/gemini-2.5-flash); the longest priced prefix wins."""
        name = model.rsplit("/", 1)[-1]
        if name in self.models:
            return self.models[name]
        best = ""
        for known in self.models:
            if name.startswith(known) and len(known) > len(best) and _VERSION_SUFFIX.match(name[len(known):]):
                best = known
        return self.models.get(best) if best else None

    def cost_nanos(self, model: str, input_tokens: int, output_tokens: int) -> tuple[int, bool]:
        price = self.lookup(model)
        if price is None:
            return 0, False
        return input_tokens * price.input_nanos + output_tokens * price.output_nanos, True


@lru_cache(maxsize=1)
def _shipped() -> PriceTable:
    raw = orjson.loads(resources.files("chatapp.data").joinpath(PRICES_FILE).read_bytes())
    models = {
        name: ModelPrice(int(entry["input_nano_usd_per_token"]), int(entry["output_nano_usd_per_token"]))
        for name, entry in raw["models"].items()
    }
    return PriceTable(models, str(raw["source"]), str(raw["read"]))


@dataclass(slots=True)
class UsageRecord:
    id: str
    tenant: str
    user: str
    key_id: str
    model: str
    provider: str
    prompt_version: str
    input_tokens: int
    output_tokens: int
    cost_nanos: int
    priced: bool
    ttft_ms: float | None
    total_ms: float
    overhead_ms: float
    fallback_used: bool
    finish_reason: str
    created_at: float

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.created_at, UTC).date().isoformat()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UsageRecord:
        fields = {k: data[k] for k in cls.__dataclass_fields__}
        return cls(**fields)


@dataclass(slots=True)
class UsageRow:
    """One (tenant, day, model) rollup."""

    tenant: str
    day: str
    model: str
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_nanos: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "day": self.day,
            "model": self.model,
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_nano_usd": self.cost_nanos,
            "cost_usd": self.cost_nanos / NANOS_PER_USD,
        }


def new_record(
    *,
    prices: PriceTable,
    tenant: str,
    user: str,
    key_id: str,
    model: str,
    provider: str,
    prompt_version: str,
    input_tokens: int,
    output_tokens: int,
    ttft_ms: float | None,
    total_ms: float,
    upstream_ms: float,
    fallback_used: bool,
    finish_reason: str,
) -> UsageRecord:
    cost, priced = prices.cost_nanos(model, input_tokens, output_tokens)
    return UsageRecord(
        id=f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}",
        tenant=tenant,
        user=user,
        key_id=key_id,
        model=model,
        provider=provider,
        prompt_version=prompt_version,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_nanos=cost,
        priced=priced,
        ttft_ms=ttft_ms,
        total_ms=round(total_ms, 3),
        overhead_ms=round(max(0.0, total_ms - upstream_ms), 3),
        fallback_used=fallback_used,
        finish_reason=finish_reason,
        created_at=time.time(),
    )


def request_started(scope: Mapping[str, Any]) -> float:
    value = scope.get(T0)
    return float(value) if isinstance(value, (int, float)) else time.perf_counter()


def timing_headers(started: float, upstream_s: float) -> dict[str, str]:
    """The duration so far and the part of it not spent waiting on the model (ms)."""
    total = (time.perf_counter() - started) * 1000
    return {DURATION_HEADER: f"{total:.2f}", OVERHEAD_HEADER: f"{max(0.0, total - upstream_s * 1000):.2f}"}


# --- GET /v1/usage -------------------------------------------------------------------------


class AdminKeys:
    """CHAT_ADMIN_API_KEYS: a comma-separated list of keys (plain or 'sha256:<hex>') that may
    read every tenant's usage. Only digests are kept; comparison is constant-time."""

    def __init__(self, raw: str | None) -> None:
        self._digests: list[bytes] = []
        for item in (raw or "").split(","):
            item = item.strip()
            if not item:
                continue
            if item.startswith("sha256:") and re.fullmatch(r"[0-9a-f]{64}", item[7:]):
                self._digests.append(bytes.fromhex(item[7:]))
            else:
                self._digests.append(hashlib.sha256(item.encode()).digest())

    def __bool__(self) -> bool:
        return bool(self._digests)

    def match(self, key: str | None) -> bool:
        if not key or not self._digests:
            return False
        presented = hashlib.sha256(key.encode()).digest()
        found = False
        for d in self._digests:
            found |= hmac.compare_digest(presented, d)
        return found


def parse_day(param: str, value: str | None, default: date) -> date:
    if value is None or value == "":
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(param, f"{param} must be a date YYYY-MM-DD, not {value[:32]!r}") from None


async def usage_view(runtime: Runtime, tenant: str | None, since_raw: str | None, until_raw: str | None) -> dict[str, Any]:
    """Totals by day and model, for one tenant (None: every tenant, for an admin key)."""
    meter = runtime.meter
    if meter is None or meter.log is None:
        raise ApiError(404, "usage recording is off on this server", type="not_found")
    today = datetime.now(UTC).date()
    until = parse_day("until", until_raw, today)
    since = parse_day("since", since_raw, today.replace(day=1))
    if since > until:
        raise invalid("since", f"since ({since}) is after until ({until})")
    if (until - since) > timedelta(days=MAX_RANGE_DAYS):
        raise invalid("since", f"the range is at most {MAX_RANGE_DAYS} days: narrow since/until")
    rows = await meter.log.rollups(tenant, since.isoformat(), until.isoformat())
    rows.sort(key=lambda r: (r.tenant, r.day, r.model))
    totals = UsageRow(tenant or "*", "", "")
    for row in rows:
        totals.requests += row.requests
        totals.input_tokens += row.input_tokens
        totals.output_tokens += row.output_tokens
        totals.cost_nanos += row.cost_nanos
    summary = totals.public()
    for key in ("tenant", "day", "model"):
        summary.pop(key)
    return {
        "object": "usage",
        "tenant": tenant,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "data": [r.public() for r in rows],
        "totals": summary,
        "prices": {"source": meter.prices.source, "read": meter.prices.read},
    }
