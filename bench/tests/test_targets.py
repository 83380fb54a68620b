"""Issue 22's targets are judged from CPU per request against the floor measured in the same run."""

from __future__ import annotations

from compare import targets_22


def _server(plain_cpu: float, stream_cpu: float, p50: float = 1.0, p99: float = 2.0) -> dict[str, object]:
    return {
        "wrk_plain_c32": {"cpu_ms_per_req": plain_cpu}, "wrk_stream_c32": {"cpu_ms_per_req": stream_cpu},
        "wrk_plain_c1": {"p50_ms": p50, "p99_ms": p99},
        "cold_start_health_s": 0.5, "rss_after_load_mb": 70.0,
    }


def test_cpu_ratios_against_the_floor_and_latency_bounds() -> None:
    direct = {"wrk_plain_c1": {"p50_ms": 0.1, "p99_ms": 0.2}}
    lines = targets_22({"ours": _server(0.5, 1.0, p50=1.0, p99=2.5), "aiohttp-passthrough": _server(0.2, 0.4)}, direct, 32)
    assert lines == [
        "- plain CPU ms/req / aiohttp-passthrough's: 2.5 (target <= 2) MISSED",
        "- stream CPU ms/req / aiohttp-passthrough's: 2.5 (target <= 3) met",
        "- added latency p50 ms (c1): 0.9 (target <= 1) met",
        "- added latency p99 ms (c1): 2.3 (target <= 2) MISSED",
        "- cold start to health s (median): 0.5 (target <= 0.6) met",
        "- RSS after load MB: 70.0 (target <= 120) met",
    ]
