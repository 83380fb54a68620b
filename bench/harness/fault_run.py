"""Load with faults: our app against a misbehaving primary upstream and a healthy fallback.

The primary fake upstream injects (seeded) 10 % 500s, 5 % hangs and 5 % cut replies; the
app's chain (bench/config/app-faults/v1.yaml) falls back to a second, healthy upstream.
`concurrency` workers send plain and streamed requests (each with a unique marker in its
user message) until `--duration` seconds or `--max-requests`. Every reply body is checked.
Afterwards the app is stopped gracefully and its SQLite store is read: every reply the client
received must be stored exactly once, and nothing may be stored twice.

`--target aiohttp-passthrough` runs the same load through the bare passthrough (no fallback,
no store) to show what the faults look like when nothing handles them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs  # noqa: E402
import servers  # noqa: E402
from faults import STANDARD_FAULTS  # noqa: E402
from loadgen import _classify, require_loopback  # noqa: E402
from protocol import REPLY_TEXT, BadBody, check_completion, check_stream, stream_failure, stream_text  # noqa: E402

SERVER_CORE = 0
HARNESS_CORE = 1
MARKER = "bench-fault-request-"


@dataclass
class FaultResult:
    started: int = 0
    good: dict[str, int] = field(default_factory=lambda: {"plain": 0, "stream": 0})
    bad: Counter[str] = field(default_factory=Counter)
    good_markers: set[str] = field(default_factory=set)
    bad_markers: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0


async def one(session: aiohttp.ClientSession, url: str, headers: dict[str, str], n: int, stream: bool, chunks: int,
              model: str, res: FaultResult) -> None:
    marker = f"{MARKER}{n:07d}"
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": f"hello ({marker})"}]}
    if stream:
        body["stream"] = True
    mode = "stream" if stream else "plain"
    t0 = time.perf_counter()
    try:
        async with session.post(url, data=json.dumps(body).encode(), headers=headers) as resp:
            payload = await resp.read()
            status = resp.status
    except Exception as exc:  # noqa: BLE001 - counted by kind
        res.bad[f"{mode}:{_classify(exc)}"] += 1
        res.bad_markers.add(marker)
        return
    if status != 200:
        res.bad[f"{mode}:http_{status}"] += 1
        res.bad_markers.add(marker)
        return
    try:
        check_stream(payload, stream_text(chunks)) if stream else check_completion(payload, REPLY_TEXT)
    except BadBody:
        res.bad[f"{mode}:{stream_failure(payload) if stream else 'bad_body'}"] += 1
        res.bad_markers.add(marker)
        return
    res.good[mode] += 1
    res.good_markers.add(marker)
    res.latencies.append(time.perf_counter() - t0)


async def drive(url: str, headers: dict[str, str], args: argparse.Namespace, model: str) -> FaultResult:
    require_loopback(url)
    res = FaultResult()
    deadline = time.perf_counter() + args.duration
    counter = iter(range(args.max_requests))
    timeout = aiohttp.ClientTimeout(total=args.client_timeout)
    every = round(1 / args.stream_share) if args.stream_share > 0 else 0

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            n = next(counter, None)
            if n is None:
                return
            res.started += 1
            await one(session, url, headers, n, bool(every) and n % every == 0, args.chunks, model, res)

    t0 = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     headers={"Content-Type": "application/json"}) as session:
        progress = asyncio.create_task(report_progress(res, t0, args.duration))
        await asyncio.gather(*(worker(session) for _ in range(args.concurrency)))
        progress.cancel()
    res.elapsed_s = time.perf_counter() - t0
    return res


async def report_progress(res: FaultResult, t0: float, duration: float) -> None:
    while True:
        await asyncio.sleep(30)
        print(f"  ... {time.perf_counter() - t0:5.0f}/{duration:.0f} s: {res.started} sent, "
              f"{sum(res.good.values())} good, {sum(res.bad.values())} bad", flush=True)


def message_tables(db: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    found = []
    for table in tables:
        cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
        if "role" in cols and "content" in cols:
            found.append((table, cols))
    return found


def check_store(db_path: Path, res: FaultResult) -> dict[str, Any]:
    """Count, per request marker, the user and assistant messages the app stored."""
    if not db_path.exists():
        return {"error": f"no SQLite store at {db_path}"}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    tables = message_tables(db)
    if not tables:
        return {"error": "no table with role and content columns in the store",
                "tables": [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]}
    table, cols = tables[0]
    conv_col = next((c for c in cols if c in ("conversation_id", "conversation", "conv_id")), None)
    if conv_col is None:
        return {"error": f"table {table} has no conversation column: {cols}"}
    # conversation -> marker, from the stored user messages
    conv_marker: dict[str, str] = {}
    user_rows: Counter[str] = Counter()
    for conv, content in db.execute(f'SELECT "{conv_col}", content FROM "{table}" WHERE role = ?', ("user",)):
        idx = content.find(MARKER)
        if idx >= 0:
            marker = content[idx: idx + len(MARKER) + 7]
            conv_marker[conv] = marker
            user_rows[marker] += 1
    assistant_rows: Counter[str] = Counter()
    unmatched_assistant = 0
    for conv, content in db.execute(f'SELECT "{conv_col}", content FROM "{table}" WHERE role = ?', ("assistant",)):
        marker = conv_marker.get(conv)
        if marker is None:
            unmatched_assistant += 1
            continue
        assistant_rows[marker] += 1
    good = res.good_markers
    lost = sorted(m for m in good if assistant_rows[m] == 0)
    duplicated = sorted(m for m, c in assistant_rows.items() if c > 1) + sorted(m for m, c in user_rows.items() if c > 1)
    stored_for_failed = sorted(m for m in res.bad_markers if assistant_rows[m] > 0)
    return {
        "table": table,
        "replies_received": len(good),
        "assistant_rows_for_received": sum(min(assistant_rows[m], 99) for m in good),
        "assistant_rows_total": sum(assistant_rows.values()) + unmatched_assistant,
        "lost": len(lost),
        "lost_sample": lost[:5],
        "duplicated": len(duplicated),
        "duplicated_sample": duplicated[:5],
        "stored_for_client_failures": len(stored_for_failed),
        "unmatched_assistant_rows": unmatched_assistant,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=("ours", "aiohttp-passthrough"), default="ours")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load (bounded by --max-requests too)")
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stream-share", type=float, default=0.5, help="share of streamed requests (0, or 1/k)")
    parser.add_argument("--faults", default="error500=0.1,timeout=0.05,cut=0.05")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hang-seconds", type=float, default=10.0, help="how long a 'timeout' hangs (> the app's 2 s)")
    parser.add_argument("--client-timeout", type=float, default=60.0)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--base-port", type=int, default=18300)
    parser.add_argument("--out", type=Path, default=servers.BENCH / "out")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="faults-", dir=args.out))
    primary_port, fallback_port, app_port = args.base_port, args.base_port + 1, args.base_port + 2
    up = [str(servers.BENCH_PY), str(servers.HARNESS / "fake_upstream.py"), "--chunks", str(args.chunks)]
    primary = procs.start(up + ["--port", str(primary_port), "--faults", args.faults, "--seed", str(args.seed),
                                "--hang-seconds", str(args.hang_seconds)], core=HARNESS_CORE, log=workdir / "primary.log")
    fallback = procs.start(up + ["--port", str(fallback_port)], core=HARNESS_CORE, log=workdir / "fallback.log")
    for proc, port in ((primary, primary_port), (fallback, fallback_port)):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if procs.http_request(port, "GET", "/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.02)
    primary_url, fallback_url = f"http://127.0.0.1:{primary_port}", f"http://127.0.0.1:{fallback_port}"

    if args.target == "ours":
        if not servers.APP_PY.exists():
            print(f"our app's env is missing ({servers.APP_PY}): run bench/run.sh setup once app/ is runnable")
            return 2
        db_path = workdir / "chat.db"
        spec = servers.ours(app_port, fallback_url, db_path, config_dir=servers.BENCH / "config" / "app-faults")
        spec.env.update(BENCH_PRIMARY_BASE=primary_url + "/v1", BENCH_FALLBACK_BASE=fallback_url + "/v1")
        model = "fake-model"
    else:
        db_path = None
        spec = servers.passthrough("aiohttp", app_port, primary_url)
        model = "fake-model"
    print(f"fault run: {args.target}, faults {args.faults} (seed {args.seed}) on the primary, "
          f"{'fallback healthy' if args.target == 'ours' else 'no fallback'}, c{args.concurrency}, "
          f"up to {args.duration:g} s / {args.max_requests} requests, stream share {args.stream_share}", flush=True)
    t0 = time.perf_counter()
    server = procs.start(spec.argv, core=SERVER_CORE, env=spec.env, cwd=spec.cwd or workdir, log=workdir / "server.log")
    # the cold-start probe goes through the faulty primary too: allow for it
    procs.wait_cold_start(server, t0, spec.endpoint, check_completion, limit_s=60)
    url = f"http://127.0.0.1:{app_port}{spec.endpoint.chat_path}"
    res = asyncio.run(drive(url, spec.endpoint.headers, args, model))
    procs.stop(server, grace_s=15)  # graceful: the app finishes its writes
    served = json.loads(procs.http_request(primary_port, "GET", "/stats")[1])
    fallback_served = json.loads(procs.http_request(fallback_port, "GET", "/stats")[1])
    procs.stop(primary)
    procs.stop(fallback)

    good = sum(res.good.values())
    summary: dict[str, Any] = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "load_after": procs.load_now(),
        "target": args.target,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "requests": res.started,
        "good": res.good,
        "client_visible_errors": sum(res.bad.values()),
        # a stream broken after its first token reached the client: the app ends it with an error
        # event and stores the partial answer; a fallback could only take over by repeating text
        "client_errors_after_tokens": res.bad["stream:error_after_tokens"],
        "errors_by_kind": dict(res.bad),
        "elapsed_s": round(res.elapsed_s, 1),
        "good_per_s": round(good / res.elapsed_s, 1) if res.elapsed_s else 0,
        "primary_upstream_served": served,
        "fallback_upstream_requests": fallback_served["requests"],
    }
    if res.latencies:
        lat = sorted(res.latencies)
        summary["latency_ms"] = {"p50": round(1000 * lat[len(lat) // 2], 1), "p99": round(1000 * lat[int(len(lat) * 0.99)], 1),
                                 "max": round(1000 * lat[-1], 1)}
    if db_path is not None:
        summary["store"] = check_store(db_path, res)
    print(json.dumps(summary, indent=2))
    faults_seen = sum(v for k, v in served["served"].items() if k != "ok")
    print(f"\nfaults injected by the primary: {faults_seen} of {served['requests']} upstream calls "
          f"({json.dumps(served['served'])}); fallback upstream calls: {fallback_served['requests']}")
    print(f"client-visible errors: {summary['client_visible_errors']} of {res.started} requests "
          f"({summary['client_errors_after_tokens']} streams broken after their first token, "
          f"{summary['client_visible_errors'] - summary['client_errors_after_tokens']} other)")
    store = summary.get("store")
    if store and "error" not in store:
        print(f"store: {store['replies_received']} replies received, {store['lost']} lost, {store['duplicated']} duplicated, "
              f"{store['stored_for_client_failures']} stored for requests the client saw fail")
    elif store:
        print(f"store check failed: {store['error']}")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (args.out / f"faults-{args.target}-{stamp}.json").write_text(json.dumps(summary, indent=2))
    print(f"written: {args.out / f'faults-{args.target}-{stamp}.json'}")
    # a stream broken after its first token reached the client is the one error no fallback can take over
    avoidable = summary["client_visible_errors"] - summary["client_errors_after_tokens"]
    ok = avoidable == 0 and store is not None and store.get("lost") == 0 and store.get("duplicated") == 0
    return 0 if ok or args.target != "ours" else 1


if __name__ == "__main__":
    assert STANDARD_FAULTS.total == 0.2
    sys.exit(main())
