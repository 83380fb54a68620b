"""Where usage records live: beside the conversations, in the same database as the store.

SQLite (a second connection to CHAT_SQLITE_PATH, tables `usage_records` and `usage_daily`) or
Firestore:

    tenants/{tenant}/usage/{record id}              one document per completion
    tenants/{tenant}/usage_daily/{day}~{model}      Increment-ed rollup: requests, tokens, cost
    usage_tenants/{tenant}                          marks a tenant with usage (for the admin view)

Record and rollup are written in one unit (a transaction, a batch commit), so the totals
`/v1/usage` reads from the rollups always equal the sum of the records. The admin view lists
`usage_tenants` and reads each tenant's rollups (a range filter on one field of one collection:
Firestore's automatic single-field index serves it, no composite index is declared). The marker is
written with a tenant's first record seen by each instance, not with every record. With CHAT_TTL_DAYS the
records carry `expire_at` like messages (a TTL policy on the `usage` collection group expires
them); rollups are small and kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from .store.checkpoint import file_backed
from .usage import UsageRecord, UsageRow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_records (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, day TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_records_by_tenant ON usage_records (tenant, day);
CREATE TABLE IF NOT EXISTS usage_daily (
    tenant TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0, cost_nanos INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, day, model)
) WITHOUT ROWID;
"""


class UsageLog(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def add(self, record: UsageRecord) -> None:
        """Writes the record and adds it to its (tenant, day, model) rollup, in one unit."""

    async def rollups(self, tenant: str | None, since: str, until: str) -> list[UsageRow]:
        """Rollups with since <= day <= until (ISO dates), of one tenant or of all (None)."""

    async def records(self, tenant: str) -> list[UsageRecord]:
        """Every stored record of a tenant, oldest first (tests, exports)."""


_INSERT_RECORD = "INSERT INTO usage_records (id, tenant, day, body) VALUES (?, ?, ?, ?)"
_ADD_TO_ROLLUP = (
    "INSERT INTO usage_daily (tenant, day, model, requests, input_tokens, output_tokens, cost_nanos)"
    " VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (tenant, day, model) DO UPDATE SET"
    " requests = requests + 1, input_tokens = input_tokens + excluded.input_tokens,"
    " output_tokens = output_tokens + excluded.output_tokens,"
    " cost_nanos = cost_nanos + excluded.cost_nanos"
)


class SqliteUsageLog:
    """Group commit: records added while a write is under way go to the database together, in
    one transaction and one hand-off to the writer thread, instead of one each (under load the
    hand-off cost more than the write). `add` still returns only once its record is committed;
    a batch that fails is retried record by record, so one bad record fails only itself. Like the
    store (store/sqlite.py), the connection uses WAL with synchronous=NORMAL: no fsync per commit
    (https://www.sqlite.org/pragma.html#pragma_synchronous: "WAL mode is always consistent with
    synchronous=NORMAL")."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[UsageRecord, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    def _open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        if file_backed(self.path):
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the store's checkpointer runs them (store/checkpoint.py)
        conn.executescript(_SCHEMA)
        self._conn = conn

    async def _run(self, fn: Any) -> Any:
        if self._executor is None:
            raise RuntimeError("SqliteUsageLog used before start()")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-usage")
        await self._run(self._open)

    async def close(self) -> None:
        if self._executor is None:
            return
        await self.flush()  # nothing queued is lost on a graceful stop
        conn = self._conn
        if conn is not None:
            await self._run(conn.close)
        self._executor.shutdown(wait=True)
        self._executor = None

    async def add(self, record: UsageRecord) -> None:
        if self._executor is None:
            raise RuntimeError("SqliteUsageLog used before start()")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())
        await asyncio.shield(done)  # a caller's timeout must not drop a record others share a batch with

    async def flush(self) -> None:
        """Returns once every record added so far is committed (or has failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._run(lambda: self._write(batch))
                outcomes: list[BaseException | None] = [None] * len(batch)
            except Exception:  # noqa: BLE001 - retried one by one: only the bad record fails
                outcomes = []
                for item in batch:
                    try:
                        await self._run(lambda one=item: self._write([one]))
                        outcomes.append(None)
                    except Exception as exc:  # noqa: BLE001 - handed to that record's caller
                        outcomes.append(exc)
            for (_, done), failure in zip(batch, outcomes, strict=True):
                if done.done():
                    continue
                if failure is None:
                    done.set_result(None)
                else:
                    done.set_exception(failure)

    def _write(self, batch: list[tuple[UsageRecord, asyncio.Future[None]]]) -> None:
        import orjson

        c = self._conn
        assert c is not None
        c.execute("BEGIN IMMEDIATE")
        try:
            for record, _ in batch:
                c.execute(_INSERT_RECORD, (record.id, record.tenant, record.day, orjson.dumps(record.to_dict()).decode()))
                c.execute(_ADD_TO_ROLLUP, (record.tenant, record.day, record.model, record.input_tokens,
                                           record.output_tokens, record.cost_nanos))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    async def rollups(self, tenant: str | None, since: str, until: str) -> list[UsageRow]:
        await self.flush()

        def read() -> list[UsageRow]:
            c = self._conn
            assert c is not None
            sql = "SELECT * FROM usage_daily WHERE day >= ? AND day <= ?"
            args: tuple[str, ...] = (since, until)
            if tenant is not None:
                sql += " AND tenant = ?"
                args += (tenant,)
            return [
                UsageRow(r["tenant"], r["day"], r["model"], r["requests"], r["input_tokens"], r["output_tokens"],
                         r["cost_nanos"])
                for r in c.execute(sql, args).fetchall()
            ]

        result: list[UsageRow] = await self._run(read)
        return result

    async def records(self, tenant: str) -> list[UsageRecord]:
        import orjson

        await self.flush()

        def read() -> list[UsageRecord]:
            c = self._conn
            assert c is not None
            rows = c.execute("SELECT body FROM usage_records WHERE tenant = ? ORDER BY id", (tenant,)).fetchall()
            return [UsageRecord.from_dict(orjson.loads(r["body"])) for r in rows]

        result: list[UsageRecord] = await self._run(read)
        return result


def _doc_id(value: str) -> str:
    from .store.firestore import doc_id

    return doc_id(value)


def _rollup_id(day: str, model: str) -> str:
    # '/' cannot appear in a document id; a model name with one is hashed
    safe = model if "/" not in model and len(model) <= 200 else "~" + hashlib.sha256(model.encode()).hexdigest()
    return f"{day}~{safe}"


class FirestoreUsageLog:
    def __init__(self, project: str, database: str = "(default)", ttl_days: int | None = None) -> None:
        self.project = project
        self.database = database
        self.ttl_days = ttl_days or None
        self._client: Any = None
        self._marked: set[str] = set()

    async def start(self) -> None:
        from google.cloud import firestore

        self._client = firestore.AsyncClient(project=self.project, database=self.database)

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _tenant(self, tenant: str) -> Any:
        return self._client.collection("tenants").document(_doc_id(tenant))

    async def add(self, record: UsageRecord) -> None:
        from google.cloud import firestore

        tenant = self._tenant(record.tenant)
        body = record.to_dict()
        if self.ttl_days:
            body["expire_at"] = datetime.now(UTC) + timedelta(days=self.ttl_days)
        batch = self._client.batch()
        batch.create(tenant.collection("usage").document(record.id), body)
        batch.set(
            tenant.collection("usage_daily").document(_rollup_id(record.day, record.model)),
            {
                "tenant": record.tenant,
                "day": record.day,
                "model": record.model,
                "requests": firestore.Increment(1),
                "input_tokens": firestore.Increment(record.input_tokens),
                "output_tokens": firestore.Increment(record.output_tokens),
                "cost_nanos": firestore.Increment(record.cost_nanos),
            },
            merge=True,
        )
        if record.tenant not in self._marked:
            batch.set(self._client.collection("usage_tenants").document(_doc_id(record.tenant)),
                      {"tenant": record.tenant})
        await batch.commit(timeout=10.0)
        self._marked.add(record.tenant)

    async def rollups(self, tenant: str | None, since: str, until: str) -> list[UsageRow]:
        from google.cloud.firestore_v1.base_query import FieldFilter  # here: importing the app stays light

        if tenant is not None:
            tenants = [tenant]
        else:
            tenants = [str((s.to_dict() or {}).get("tenant", ""))
                       async for s in self._client.collection("usage_tenants").stream(timeout=10.0)]
        rows: list[UsageRow] = []
        for name in tenants:
            query = self._tenant(name).collection("usage_daily").where(
                filter=FieldFilter("day", ">=", since)).where(filter=FieldFilter("day", "<=", until))
            async for snap in query.stream(timeout=10.0):
                rows.append(_row(snap.to_dict() or {}))
        return rows

    async def records(self, tenant: str) -> list[UsageRecord]:
        out: list[UsageRecord] = []
        async for snap in self._tenant(tenant).collection("usage").order_by("id").stream(timeout=10.0):
            d = snap.to_dict() or {}
            out.append(UsageRecord.from_dict(d))
        return out


def _row(d: dict[str, Any]) -> UsageRow:
    return UsageRow(
        str(d.get("tenant", "")), str(d.get("day", "")), str(d.get("model", "")), int(d.get("requests", 0)),
        int(d.get("input_tokens", 0)), int(d.get("output_tokens", 0)), int(d.get("cost_nanos", 0)),
    )
