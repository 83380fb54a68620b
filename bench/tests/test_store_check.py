"""The fault run's store check: lost and duplicated replies are found (synthetic SQLite store)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fault_run import MARKER, FaultResult, check_store
from profile_summary import parse, summarize


def make_store(path: Path, rows: list[tuple[str, str, str]]) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id TEXT, role TEXT, content TEXT)")
    db.executemany("INSERT INTO messages (conversation_id, role, content) VALUES (?, ?, ?)", rows)
    db.commit()
    db.close()


def marker(n: int) -> str:
    return f"{MARKER}{n:07d}"


def test_exactly_once_store_passes(tmp_path: Path) -> None:
    rows = []
    for n in range(3):
        rows += [(f"c{n}", "user", f"hello ({marker(n)})"), (f"c{n}", "assistant", "reply")]
    make_store(tmp_path / "chat.db", rows)
    res = FaultResult(good_markers={marker(n) for n in range(3)})
    out = check_store(tmp_path / "chat.db", res)
    assert out["lost"] == 0 and out["duplicated"] == 0 and out["replies_received"] == 3


def test_lost_duplicated_and_stored_for_failure_are_reported(tmp_path: Path) -> None:
    rows = [
        ("c0", "user", f"hello ({marker(0)})"), ("c0", "assistant", "reply"), ("c0", "assistant", "reply"),  # twice
        ("c1", "user", f"hello ({marker(1)})"),  # reply lost
        ("c2", "user", f"hello ({marker(2)})"), ("c2", "assistant", "reply"),  # client saw an error
    ]
    make_store(tmp_path / "chat.db", rows)
    res = FaultResult(good_markers={marker(0), marker(1)}, bad_markers={marker(2)})
    out = check_store(tmp_path / "chat.db", res)
    assert out["lost"] == 1 and out["lost_sample"] == [marker(1)]
    assert out["duplicated"] == 1 and out["duplicated_sample"] == [marker(0)]
    assert out["stored_for_client_failures"] == 1


def test_missing_store_or_schema_is_an_error_not_a_pass(tmp_path: Path) -> None:
    assert "error" in check_store(tmp_path / "absent.db", FaultResult())
    db = sqlite3.connect(tmp_path / "other.db")
    db.execute("CREATE TABLE t (x TEXT)")
    db.commit()
    db.close()
    assert "error" in check_store(tmp_path / "other.db", FaultResult())


def test_profile_summary_shares() -> None:
    stacks = parse([
        "process 1:\"x\";main (app.py:1);handler (app.py:5);json_dumps (json/encoder.py:9) 3",
        "process 1:\"x\";main (app.py:1);handler (app.py:5) 1",
    ])
    text = summarize(stacks)
    assert text.startswith("4 samples")
    assert "100.0%  handler (app.py:5)" in text
    assert "75.0%  json_dumps (json/encoder.py:9)" in text
