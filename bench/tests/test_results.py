"""RESULTS.md figures are rendered from what a run wrote, not typed in by hand."""

from __future__ import annotations

import json
from pathlib import Path

from results import faults_section, review_section


def test_fault_section_shows_lost_and_duplicated_from_the_store_check(tmp_path: Path) -> None:
    run = {
        "date_utc": "2026-11-23 17:30:00", "load_after": "load average 1.00", "target": "ours",
        "settings": {"faults": "error500=0.1,timeout=0.05,cut=0.05", "seed": 1, "hang_seconds": 10.0,
                     "concurrency": 32, "stream_share": 0.5},
        "requests": 100, "good": {"plain": 50, "stream": 47}, "client_visible_errors": 3,
        "client_errors_after_tokens": 2, "errors_by_kind": {"stream:error_after_tokens": 2, "plain:http_502": 1},
        "elapsed_s": 10.0, "good_per_s": 9.7, "primary_upstream_served": {"requests": 60, "served": {"ok": 48, "cut": 12}},
        "fallback_upstream_requests": 52, "latency_ms": {"p50": 4.0, "p99": 40.0, "max": 4000.0},
        "store": {"replies_received": 97, "assistant_rows_for_received": 98, "lost": 1, "duplicated": 1,
                  "stored_for_client_failures": 2},
    }
    path = tmp_path / "faults-ours-x.json"
    path.write_text(json.dumps(run))
    text = faults_section(path)
    assert "| **lost** (received, not stored) | **1** |" in text
    assert "| **duplicated** (stored twice) | **1** |" in text
    assert "| of which streams broken after their first token | 2 |" in text
    assert "| good replies (plain / stream) | 50 / 47 |" in text
    run["store"] = {"error": "no SQLite store at /x"}
    path.write_text(json.dumps(run))
    assert "| store check | failed: no SQLite store at /x |" in faults_section(path)


def test_review_section_lists_each_command_and_failures(tmp_path: Path) -> None:
    rows = [
        {"label": "review mvp", "command": "uv run --frozen stagewise review mvp", "runs": 3, "ok_runs": 3,
         "median_s": 2.5, "min_s": 2.4, "max_s": 2.9, "cpu_s": 2.2, "peak_rss_mb": 160.4, "bytecode": "warm"},
        {"label": "review prod", "command": "uv run --frozen stagewise review prod", "runs": 3, "ok_runs": 0,
         "exit_codes": [1], "error_tail": ["no stack prod"], "bytecode": "warm"},
    ]
    path = tmp_path / "review-x.json"
    path.write_text(json.dumps({"date_utc": "x", "load": {"before": "b", "after": "a"}, "rows": rows}))
    text = review_section(path)
    assert "| `uv run --frozen stagewise review mvp` (review mvp) | warm | 3/3 | 2.500 | 2.400 / 2.900 | 2.200 | 160 |" in text
    assert "| review prod | warm | 0 | failed: no stack prod |" in text
