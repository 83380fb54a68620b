"""SQLite store: the embedded default for local runs.

One connection, owned by one worker thread: the standard `sqlite3` module blocks, so every call
runs in that thread and the event loop never waits on disk. SQLite has a single writer anyway,
so serialising calls costs nothing, and `record_turn` is one `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .base import Conversation, ConversationGone, Message, Profile, Turn
from .checkpoint import Checkpointer, file_backed

T = TypeVar("T")

SCHEMA_VERSION = 1
SECONDS_PER_DAY = 86_400.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    user            TEXT NOT NULL,
    prompt_version  TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    message_count   INTEGER NOT NULL DEFAULT 0,
    expire_at       REAL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_by_recency ON conversations (tenant, updated_at DESC);
CREATE INDEX IF NOT EXISTS conversations_by_expiry ON conversations (expire_at) WHERE expire_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS messages (
    tenant              TEXT NOT NULL,
    conversation_id     TEXT NOT NULL,
    seq                 INTEGER NOT NULL,
    role                TEXT NOT NULL,
    content             TEXT NOT NULL,
    model               TEXT,
    prompt_version      TEXT,
    prompt_tokens       INTEGER NOT NULL DEFAULT 0,
    completion_tokens   INTEGER NOT NULL DEFAULT 0,
    finish_reason       TEXT,
    created_at          REAL NOT NULL,
    expire_at           REAL,
    PRIMARY KEY (tenant, conversation_id, seq),
    FOREIGN KEY (tenant, conversation_id) REFERENCES conversations (tenant, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expire_at) WHERE expire_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS profiles (
    tenant          TEXT NOT NULL,
    user            TEXT NOT NULL,
    created_at      REAL NOT NULL,
    last_seen       REAL NOT NULL,
    message_count   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, user)
) WITHOUT ROWID;
"""

_CONVERSATION_COLUMNS = "id, tenant, user, prompt_version, created_at, updated_at, title, message_count"
_MESSAGE_COLUMNS = (
    "role, content, model, prompt_version, prompt_tokens, completion_tokens, finish_reason, created_at"
)


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        tenant=row["tenant"],
        user=row["user"],
        prompt_version=row["prompt_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        title=row["title"],
        message_count=row["message_count"],
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        role=row["role"],
        content=row["content"],
        model=row["model"],
        prompt_version=row["prompt_version"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        finish_reason=row["finish_reason"],
        created_at=row["created_at"],
    )


class SqliteStore:
    """`path` is a file (its folder is created) or `:memory:`. With `ttl_days`, rows carry an
    `expire_at` (epoch seconds) like the Firestore documents, and expired rows are purged when
    the store starts and by `purge_expired`."""

    # a locked database (another writer past busy_timeout) or a file that cannot be read: the
    # guard answers 503 for these; other sqlite3 errors are bugs
    outage_errors: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)

    def __init__(self, path: str, ttl_days: int | None = None) -> None:
        if ttl_days is not None and ttl_days < 0:
            raise ValueError(f"ttl_days={ttl_days} is negative: use a positive number of days, or 0/None for no expiry")
        self.path = path
        self.ttl_days = ttl_days or None
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None

    # -- plumbing -------------------------------------------------------------------------

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None:
            raise RuntimeError("SqliteStore used before start(): await store.start() first")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._conn is not None
        return fn(self._conn)

    def _open(self) -> None:
        if self.path != ":memory:" and not self.path.startswith("file:"):
            Path(self.path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, uri=self.path.startswith("file:"))
        except sqlite3.Error as exc:
            raise RuntimeError(f"cannot open the SQLite database at CHAT_SQLITE_PATH={self.path!r}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it consistent
        if file_backed(self.path):
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run beside the requests (checkpoint.py)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")  # another process (e.g. a second worker) holds the lock
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise RuntimeError(
                f"the SQLite database at {self.path!r} has schema version {version}, newer than this "
                f"app's {SCHEMA_VERSION}: upgrade the app or point CHAT_SQLITE_PATH at another file"
            )
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._conn = conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- Store ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-sqlite")
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._open)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        if file_backed(self.path):
            self._checkpointer = Checkpointer(self.path)
            self._checkpointer.start()
        if self.ttl_days:
            await self.purge_expired()

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        await asyncio.get_running_loop().run_in_executor(executor, self._close)
        executor.shutdown(wait=True)

    async def ping(self) -> None:
        await self._run(lambda c: c.execute("SELECT 1").fetchone())

    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        def read(c: sqlite3.Connection) -> Conversation | None:
            row = c.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE tenant = ? AND id = ?",
                (tenant, conversation_id),
            ).fetchone()
            return _conversation(row) if row else None

        return await self._run(read)

    async def get_messages(self, tenant: str, conversation_id: str, limit: int | None = None) -> list[Message]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit={limit} is negative: pass None for all messages or a count >= 0")

        def read(c: sqlite3.Connection) -> list[Message]:
            rows = c.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE tenant = ? AND conversation_id = ?"
                " ORDER BY seq DESC LIMIT ?",
                (tenant, conversation_id, -1 if limit is None else limit),
            ).fetchall()
            return [_message(r) for r in reversed(rows)]

        return await self._run(read)

    async def list_conversations(self, tenant: str, limit: int = 50) -> list[Conversation]:
        if limit < 0:
            raise ValueError(f"limit={limit} is negative: pass a count >= 0")

        def read(c: sqlite3.Connection) -> list[Conversation]:
            rows = c.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE tenant = ?"
                " ORDER BY updated_at DESC, id DESC LIMIT ?",
                (tenant, limit),
            ).fetchall()
            return [_conversation(r) for r in rows]

        return await self._run(read)

    async def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        def delete(c: sqlite3.Connection) -> bool:
            with _transaction(c):
                # messages go with it through ON DELETE CASCADE
                cur = c.execute("DELETE FROM conversations WHERE tenant = ? AND id = ?", (tenant, conversation_id))
                return cur.rowcount > 0

        return await self._run(delete)

    async def record_turn(self, turn: Turn) -> None:
        """Upserts the conversation (created with `turn.conversation` when missing; otherwise its
        `updated_at`, `prompt_version` and an empty title are refreshed), appends the messages
        after the last stored one, and bumps the user's profile. `message_count` of the
        conversation grows by the messages written; the profile's by the user-role ones."""
        conv = turn.conversation
        now = time.time()
        expire_at = now + self.ttl_days * SECONDS_PER_DAY if self.ttl_days else None
        updated_at = conv.updated_at or now
        user_messages = sum(1 for m in turn.messages if m.role == "user")

        def write(c: sqlite3.Connection) -> None:
            with _transaction(c):
                if turn.is_new:
                    c.execute(
                        "INSERT INTO conversations (tenant, id, user, prompt_version, title, created_at, updated_at,"
                        " message_count, expire_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (tenant, id) DO UPDATE SET"
                        "  updated_at = max(updated_at, excluded.updated_at),"
                        "  prompt_version = excluded.prompt_version,"
                        "  title = CASE WHEN title = '' THEN excluded.title ELSE title END,"
                        "  message_count = message_count + excluded.message_count,"
                        "  expire_at = excluded.expire_at",
                        (
                            conv.tenant,
                            conv.id,
                            conv.user,
                            conv.prompt_version,
                            conv.title,
                            conv.created_at or now,
                            updated_at,
                            len(turn.messages),
                            expire_at,
                        ),
                    )
                else:  # an existing conversation: only while it still exists (a delete wins)
                    cur = c.execute(
                        "UPDATE conversations SET"
                        "  updated_at = max(updated_at, ?),"
                        "  prompt_version = ?,"
                        "  title = CASE WHEN title = '' THEN ? ELSE title END,"
                        "  message_count = message_count + ?,"
                        "  expire_at = ?"
                        " WHERE tenant = ? AND id = ?",
                        (updated_at, conv.prompt_version, conv.title, len(turn.messages), expire_at, conv.tenant, conv.id),
                    )
                    if cur.rowcount == 0:
                        raise ConversationGone(conv.id)
                last = c.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE tenant = ? AND conversation_id = ?",
                    (conv.tenant, conv.id),
                ).fetchone()[0]
                c.executemany(
                    f"INSERT INTO messages (tenant, conversation_id, seq, {_MESSAGE_COLUMNS}, expire_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            conv.tenant,
                            conv.id,
                            last + i,
                            m.role,
                            m.content,
                            m.model,
                            m.prompt_version,
                            m.prompt_tokens,
                            m.completion_tokens,
                            m.finish_reason,
                            m.created_at or now,
                            expire_at,
                        )
                        for i, m in enumerate(turn.messages, start=1)
                    ],
                )
                c.execute(
                    "INSERT INTO profiles (tenant, user, created_at, last_seen, message_count) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (tenant, user) DO UPDATE SET"
                    "  last_seen = max(last_seen, excluded.last_seen),"
                    "  message_count = message_count + excluded.message_count",
                    (conv.tenant, conv.user, updated_at, updated_at, user_messages),
                )

        await self._run(write)

    async def get_profile(self, tenant: str, user: str) -> Profile | None:
        def read(c: sqlite3.Connection) -> Profile | None:
            row = c.execute(
                "SELECT tenant, user, created_at, last_seen, message_count FROM profiles WHERE tenant = ? AND user = ?",
                (tenant, user),
            ).fetchone()
            if row is None:
                return None
            return Profile(
                tenant=row["tenant"],
                user=row["user"],
                created_at=row["created_at"],
                last_seen=row["last_seen"],
                message_count=row["message_count"],
            )

        return await self._run(read)

    # -- expiry ---------------------------------------------------------------------------

    async def purge_expired(self, now: float | None = None) -> int:
        """Deletes conversations and messages whose `expire_at` has passed; returns how many rows."""
        cutoff = time.time() if now is None else now

        def purge(c: sqlite3.Connection) -> int:
            with _transaction(c):
                gone = c.execute("DELETE FROM messages WHERE expire_at < ?", (cutoff,)).rowcount
                gone += c.execute("DELETE FROM conversations WHERE expire_at < ?", (cutoff,)).rowcount
                return gone

        return await self._run(purge)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error: takes the write lock up front so two
    writers never deadlock upgrading a read lock."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
