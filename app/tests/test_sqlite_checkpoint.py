"""WAL checkpoints run beside the requests (store/checkpoint.py): the request-path connections do
not checkpoint in their commits, and the checkpointer keeps the write-ahead log bounded."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from pathlib import Path

from chatapp.store.base import Conversation, Message, Turn
from chatapp.store.sqlite import SqliteStore


def _turn(text: str) -> Turn:
    now = time.time()
    conv = Conversation(id=uuid.uuid4().hex, tenant="acme", user="u", prompt_version="v1", created_at=now,
                        updated_at=now, title="t")
    return Turn(conv, True, [Message(role="user", content=text, created_at=now),
                             Message(role="assistant", content=text, created_at=now)])


def test_the_log_stays_bounded_while_commits_never_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    wal = Path(str(path) + "-wal")

    async def main() -> tuple[list[int], int, int]:
        store = SqliteStore(str(path))
        await store.start()
        sizes = []
        for _ in range(4):  # each round writes about 7 MB of log: 4 rounds without checkpoints, 28 MB
            for _ in range(150):
                await store.record_turn(_turn("x" * 5000))
            sizes.append(wal.stat().st_size)
            await asyncio.sleep(1.2)  # the checkpointer runs every 0.5 s
        auto = await store._run(lambda c: c.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        runs = store._checkpointer.runs if store._checkpointer else 0
        await store.close()
        return sizes, auto, runs

    sizes, auto, runs = asyncio.run(main())
    assert auto == 0  # no commit of a request checkpoints (and syncs) on its own
    assert runs >= 3
    assert sizes[-1] < 2 * sizes[0], sizes  # the log is reused after each checkpoint, not grown for ever
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 4 * 150 * 2
    assert not wal.exists() or os.path.getsize(wal) < 2 * sizes[0]
