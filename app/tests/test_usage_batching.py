"""The SQLite usage log's group commit (usage_store.SqliteUsageLog): records added together are
committed together, each `add` returns only once its record is stored, one bad record fails only
itself, and a graceful close writes everything that was queued."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from chatapp.usage import UsageRecord
from chatapp.usage_store import SqliteUsageLog


def record(n: int, tenant: str = "acme") -> UsageRecord:
    return UsageRecord(
        id=f"rec-{n}", tenant=tenant, user="u", key_id="k", model="m", provider="openai", prompt_version="v1",
        input_tokens=10, output_tokens=n, cost_nanos=100, priced=True, ttft_ms=1.0, total_ms=2.0,
        overhead_ms=0.5, fallback_used=False, finish_reason="stop", created_at=1764633600.0,
    )


def count(path: Path) -> tuple[int, int, int]:
    with sqlite3.connect(path) as conn:
        records = conn.execute("SELECT COUNT(*) FROM usage_records").fetchone()[0]
        requests, tokens = conn.execute("SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(output_tokens), 0) FROM usage_daily").fetchone()
    return records, requests, tokens


def test_concurrent_adds_are_all_stored_when_they_return(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"

    async def main() -> tuple[int, int, int]:
        log = SqliteUsageLog(str(path))
        await log.start()
        await asyncio.gather(*(log.add(record(n)) for n in range(200)))
        seen = count(path)  # read by another connection, before close: committed already
        await log.close()
        return seen

    assert asyncio.run(main()) == (200, 200, sum(range(200)))


def test_a_bad_record_fails_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"

    async def main() -> list[BaseException | None]:
        log = SqliteUsageLog(str(path))
        await log.start()
        await log.add(record(0))
        results = await asyncio.gather(*(log.add(record(n)) for n in range(5)), return_exceptions=True)
        await log.close()
        return list(results)  # type: ignore[arg-type]

    results = asyncio.run(main())
    assert isinstance(results[0], sqlite3.IntegrityError)  # rec-0 exists: its id is taken
    assert results[1:] == [None] * 4
    assert count(path) == (5, 5, 0 + 1 + 2 + 3 + 4)


def test_graceful_close_writes_what_was_queued(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"

    async def main() -> None:
        log = SqliteUsageLog(str(path))
        await log.start()
        adds = [asyncio.ensure_future(log.add(record(n))) for n in range(50)]
        await asyncio.sleep(0)  # queued, not yet committed
        assert count(path)[0] < 50
        await log.close()
        await asyncio.gather(*adds)

    asyncio.run(main())
    assert count(path) == (50, 50, sum(range(50)))


def test_reads_see_every_record_added_before_them(tmp_path: Path) -> None:
    async def main() -> tuple[int, int]:
        log = SqliteUsageLog(str(tmp_path / "chat.db"))
        await log.start()
        adds = [asyncio.ensure_future(log.add(record(n))) for n in range(30)]
        await asyncio.sleep(0)
        rows = await log.rollups("acme", "2025-01-01", "2027-01-01")
        records = await log.records("acme")
        await asyncio.gather(*adds)
        await log.close()
        return sum(r.requests for r in rows), len(records)

    assert asyncio.run(main()) == (30, 30)


def test_add_before_start_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="before start"):
        asyncio.run(SqliteUsageLog(str(tmp_path / "x.db")).add(record(1)))
