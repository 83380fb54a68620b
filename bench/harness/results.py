"""Markdown figures for bench/RESULTS.md from the JSON the benchmarks wrote to bench/out/.

    python results.py [--compare FILE] [--faults FILE] [--review FILE]

Without a file, the newest of its kind in bench/out/ is used. Prints the sections
(machine and versions, comparison table, ratios and targets, cold starts, fault run,
review speed) so RESULTS.md quotes exactly what a run measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
OUT = Path(__file__).resolve().parents[1] / "out"


def newest(pattern: str) -> Path | None:
    files = sorted(OUT.glob(pattern), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None


def compare_section(path: Path) -> str:
    from compare import report

    data: dict[str, Any] = json.loads(path.read_text())
    args = argparse.Namespace(**data["settings"])
    lines = [f"### Comparison ({path.name}, {data['date_utc']} UTC)", ""]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in data["machine"].items()]
    lines += [f"| load before | {data.get('load_before', 'not recorded')} |", f"| load after | {data.get('load_after', 'not recorded')} |"]
    s = data["settings"]
    lines += ["", f"Settings: {s['connections']} connections, {s['duration']:g} s per wrk run, {s['latency_duration']:g} s at "
              f"1 connection, {s['chunks']} chunks per stream {s['chunk_interval_ms']:g} ms apart, "
              f"{'1 cold start' if s.get('quick') else '3 cold starts'} per server.", ""]
    lines.append(report(data, args))
    lines += ["", "Cold starts (process start to first 200 on the health endpoint / to the first good completion, "
              "and the CPU seconds used until healthy):", ""]
    for r in data["servers"]:
        if "error" in r:
            continue
        runs = ", ".join(f"{c['health_s']:.3f} / {c['first_completion_s']:.3f} s (CPU {c.get('health_cpu_s', 0):.3f} s)"
                         for c in r["cold_starts"])
        lines.append(f"- {r['name']}: {runs}")
    lines += ["", "Streaming through the Python generator (every body checked; TTFT = time to the first content token):", "",
              "| server | c1 good/s | c1 TTFT p50 / p99 ms | c32 good/s | c32 TTFT p50 / p99 ms | bad |", "|---|---|---|---|---|---|"]
    for r in data["servers"]:
        if "error" in r:
            continue
        a, b = r["stream_c1"], r["stream_c32"]
        lines.append(f"| {r['name']} | {a['good_per_s']} | {ttft(a)} | {b['good_per_s']} | {ttft(b)} | {a['bad'] + b['bad']} |")
    d = data["direct"]["stream_c1"]
    lines.append(f"| (upstream direct) | {d['good_per_s']} | {ttft(d)} | | | {d['bad']} |")
    lines += ["", "Upstream connections each server opened over its whole measurement (a pooling client opens about one "
              "per connection of the load, plus one per cold start):", ""]
    for r in data["servers"]:
        if "upstream_connections" in r:
            lines.append(f"- {r['name']}: {r['upstream_requests']} upstream requests over {r['upstream_connections']} new connections")
    return "\n".join(lines)


def ttft(summary: dict[str, Any]) -> str:
    t = summary.get("ttft_ms")
    return f"{t['p50']:.2f} / {t['p99']:.2f}" if t else "n/a"


def faults_section(path: Path) -> str:
    d: dict[str, Any] = json.loads(path.read_text())
    s = d["settings"]
    store = d.get("store") or {}
    lines = [f"### Fault run ({path.name}, {d['date_utc']} UTC)", "",
             f"Target {d['target']}; primary upstream faults `{s['faults']}` (seed {s['seed']}, a 'timeout' hangs "
             f"{s['hang_seconds']:g} s), healthy fallback; {s['concurrency']} connections for {d['elapsed_s']} s; "
             f"stream share {s['stream_share']}. Load: {d.get('load_after', 'not recorded')}.", "",
             "| figure | value |", "|---|---|",
             f"| requests sent | {d['requests']} |",
             f"| good replies (plain / stream) | {d['good']['plain']} / {d['good']['stream']} |",
             f"| client-visible errors | {d['client_visible_errors']} |",
             f"| of which streams broken after their first token | {d.get('client_errors_after_tokens', 'n/a')} |",
             f"| errors by kind | {json.dumps(d['errors_by_kind']) if d['errors_by_kind'] else 'none'} |",
             f"| primary upstream: calls and faults served | {d['primary_upstream_served']['requests']}: "
             f"{json.dumps(d['primary_upstream_served']['served'])} |",
             f"| fallback upstream calls | {d['fallback_upstream_requests']} |",
             f"| good replies/s | {d['good_per_s']} |"]
    if "latency_ms" in d:
        lat = d["latency_ms"]
        lines.append(f"| latency of good replies p50 / p99 / max ms | {lat['p50']} / {lat['p99']} / {lat['max']} |")
    if store and "error" not in store:
        lines += [f"| replies received / assistant rows stored for them | {store['replies_received']} / "
                  f"{store['assistant_rows_for_received']} |",
                  f"| **lost** (received, not stored) | **{store['lost']}** |",
                  f"| **duplicated** (stored twice) | **{store['duplicated']}** |",
                  f"| partial answers stored for requests the client saw fail | {store['stored_for_client_failures']} |"]
    elif store:
        lines.append(f"| store check | failed: {store['error']} |")
    return "\n".join(lines)


def review_section(path: Path) -> str:
    d: dict[str, Any] = json.loads(path.read_text())
    load = d.get("load", {})
    lines = [f"### Review speed ({path.name})", "",
             f"Load before: {load.get('before', 'not recorded')}; after: {load.get('after', 'not recorded')}.", "",
             "| command | bytecode | runs ok | median s | min / max s | CPU s (median) | peak RSS MiB |",
             "|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        if "summary" in r:
            continue
        if r.get("ok_runs"):
            lines.append(f"| `{r['command']}` ({r['label']}) | {r.get('bytecode', '-')} | {r['ok_runs']}/{r['runs']} | "
                         f"{r['median_s']:.3f} | {r['min_s']:.3f} / {r['max_s']:.3f} | {r.get('cpu_s', float('nan')):.3f} | "
                         f"{r['peak_rss_mb']:.0f} |")
        else:
            lines.append(f"| {r['label']} | {r.get('bytecode', '-')} | 0 | failed: {' / '.join(r.get('error_tail', []))[:150]} | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--faults", type=Path)
    parser.add_argument("--review", type=Path)
    args = parser.parse_args(argv)
    sections = []
    for path, pattern, render in ((args.compare, "compare-*.json", compare_section),
                                  (args.faults, "faults-ours-*.json", faults_section),
                                  (args.review, "review-*.json", review_section)):
        path = path or newest(pattern)
        sections.append(render(path) if path else f"(no {pattern} in {OUT})")
    print("\n\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
