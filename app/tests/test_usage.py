"""Usage records on both stores: what /v1/usage totals is the sum of the stored records, each
record's cost is its tokens x the model's list price from the estimator's own price file, and the
overhead (header and record) leaves out the time spent waiting on the model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from chatapp.usage import UsageRecord
from chatapp.usage_store import FirestoreUsageLog, SqliteUsageLog, UsageLog
from conftest import KEY_ACME, KEY_GLOBEX, AppServer
from fakes import Behaviour, FakeModelServer

if TYPE_CHECKING:
    from store_fixtures import StoreBackend

PRICE_FILE = Path(__file__).resolve().parents[2] / "stagewise" / "pricing" / "vertex_ai.yaml"
ADMIN_KEY = "sk-admin-0123456789abcdef"


def list_price(model: str) -> tuple[Decimal, Decimal]:
    """USD per input and output token, read from the estimator's YAML (not the app's copy)."""
    prices = yaml.safe_load(PRICE_FILE.read_text())["prices"]
    return (Decimal(str(prices[f"tokens_in.{model}"]["price"]["global"])),
            Decimal(str(prices[f"tokens_out.{model}"]["price"]["global"])))


def stored_records(backend: StoreBackend, tenant: str) -> list[UsageRecord]:
    async def read() -> list[UsageRecord]:
        log: UsageLog
        if backend.kind == "sqlite":
            assert backend.sqlite_path is not None
            log = SqliteUsageLog(backend.sqlite_path)
        else:
            assert backend.project is not None
            log = FirestoreUsageLog(backend.project)
        await log.start()
        try:
            return await log.records(tenant)
        finally:
            await log.close()

    return asyncio.run(read())


@pytest.fixture
def priced_app(start_app: Callable[..., AppServer], store_backend: StoreBackend) -> AppServer:
    return start_app(
        **store_backend.env,
        CHAT_VERTEX_MODEL="gemini-2.5-flash",
        CHAT_FALLBACK_MODEL="gemini-2.5-flash-lite",
        CHAT_ADMIN_API_KEYS=ADMIN_KEY,
    )


def test_usage_totals_are_the_stored_records_and_cost_is_tokens_times_price(
    priced_app: AppServer, store_backend: StoreBackend, openai_fake: FakeModelServer
) -> None:
    server = priced_app
    ask = {"model": "default", "messages": [{"role": "user", "content": "how much does this cost"}]}
    # 1. answered by the self-hosted primary: no list price, recorded as unpriced
    first = server.call("POST", "/v1/chat/completions", body=ask)
    assert first.status == 200, first.text
    # 2. the primary fails twice: Gemini 2.5 Flash answers (fallback), streamed with usage
    openai_fake.push(Behaviour(status=500), Behaviour(status=500))
    streamed = server.call(
        "POST", "/v1/chat/completions", body={**ask, "stream": True, "stream_options": {"include_usage": True}}
    )
    assert streamed.status == 200 and streamed.headers["x-model"] == "gemini-2.5-flash"
    # 3. the primary is slow: the overhead must not count the 300 ms spent waiting on it
    openai_fake.push(Behaviour(delay_s=0.3))
    slow = server.call("POST", "/v1/chat/completions", body=ask)
    assert slow.status == 200
    duration, overhead = float(slow.headers["x-stagewise-duration-ms"]), float(slow.headers["x-stagewise-overhead-ms"])
    assert duration >= 300 and 0 <= overhead < duration - 250, (duration, overhead)
    # another tenant's traffic, which acme must not see
    openai_fake.push(Behaviour(status=500), Behaviour(status=500))
    assert server.call("POST", "/v1/chat/completions", key=KEY_GLOBEX, body=ask).status == 200

    records = stored_records(store_backend, "acme")
    assert len(records) == 3
    by_model = {r.model: r for r in records}
    gemini = by_model["gemini-2.5-flash"]
    assert gemini.fallback_used and gemini.prompt_version == "t1" and gemini.provider == "vertex"
    assert gemini.input_tokens > 0 and gemini.output_tokens > 0 and gemini.ttft_ms is not None
    price_in, price_out = list_price("gemini-2.5-flash")
    assert Decimal(gemini.cost_nanos) / Decimal(10**9) == gemini.input_tokens * price_in + gemini.output_tokens * price_out
    assert gemini.priced and gemini.cost_nanos > 0
    primary = [r for r in records if r.model == "primary-model"]
    assert len(primary) == 2 and all(not r.priced and r.cost_nanos == 0 for r in primary)
    slow_record = max(primary, key=lambda r: r.total_ms)
    assert slow_record.total_ms >= 300 and slow_record.overhead_ms < slow_record.total_ms - 250
    assert all(r.user == "default" and r.key_id for r in records)

    usage = server.call("GET", "/v1/usage").json()
    assert usage["tenant"] == "acme" and {row["tenant"] for row in usage["data"]} == {"acme"}
    totals = usage["totals"]
    assert totals["requests"] == len(records)
    assert totals["input_tokens"] == sum(r.input_tokens for r in records)
    assert totals["output_tokens"] == sum(r.output_tokens for r in records)
    assert totals["cost_nano_usd"] == sum(r.cost_nanos for r in records)
    assert totals["cost_usd"] == pytest.approx(sum(r.cost_nanos for r in records) / 1e9)
    rows = {row["model"]: row for row in usage["data"]}
    assert rows["primary-model"]["requests"] == 2 and rows["gemini-2.5-flash"]["requests"] == 1
    assert rows["gemini-2.5-flash"]["cost_nano_usd"] == gemini.cost_nanos

    # an admin key sees every tenant; a tenant key is not an admin key and the reverse
    everyone = server.call("GET", "/v1/usage", key=ADMIN_KEY).json()
    assert everyone["tenant"] is None
    assert {row["tenant"] for row in everyone["data"]} == {"acme", "globex"}
    globex = stored_records(store_backend, "globex")
    assert everyone["totals"]["cost_nano_usd"] == sum(r.cost_nanos for r in records + globex)
    assert server.call("GET", "/v1/usage", key="sk-not-a-key-0123456789").status == 401


def test_usage_range_is_checked(priced_app: AppServer) -> None:
    bad = priced_app.call("GET", "/v1/usage?since=yesterday")
    assert bad.status == 400 and bad.json()["error"]["param"] == "since"
    reversed_range = priced_app.call("GET", "/v1/usage?since=2026-12-02&until=2026-12-01")
    assert reversed_range.status == 400
    empty = priced_app.call("GET", "/v1/usage?since=2020-01-01&until=2020-01-31").json()
    assert empty["data"] == [] and empty["totals"]["requests"] == 0
    assert json.dumps(empty)  # plain JSON
