"""WAL checkpoints off the request path.

SQLite runs a checkpoint inside the COMMIT that takes the write-ahead log past 1000 pages
(https://www.sqlite.org/wal.html#automatic_checkpoint): that commit copies the log into the
database and syncs it to disk, and the request whose turn it was waits for the sync (at one
connection, the p99). The app's connections turn that off (`PRAGMA wal_autocheckpoint=0`) and this
thread, on a connection of its own, runs a PASSIVE checkpoint every `interval_s`: it neither waits
for nor blocks the writers (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html), so the syncs
happen beside the requests. The last connection to close checkpoints what is left.
"""

from __future__ import annotations

import sqlite3
import threading


def file_backed(path: str) -> bool:
    return path != ":memory:" and "mode=memory" not in path


class Checkpointer:
    def __init__(self, path: str, interval_s: float = 0.5) -> None:
        self.path = path
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="chat-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, uri=self.path.startswith("file:"),
                                   check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.runs += 1
                except sqlite3.Error:  # busy or locked: the next round tries again
                    continue
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
