"""Async load generator (aiohttp) for streaming replies and time to first token.

Each of `concurrency` workers sends requests back to back until `duration_s` has
passed or `max_requests` have been started; every reply body is checked (status
200 and the complete expected answer), and for streams the time to the first
content token is recorded. Loopback targets only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import REPLY_TEXT, BadBody, check_completion, check_stream, stream_text, stream_tokens  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host not in LOOPBACK and not host.startswith("127."):
        raise SystemExit(f"refusing to load {url!r}: benchmarks only target loopback addresses")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class LoadConfig:
    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 32
    duration_s: float = 10.0
    max_requests: int = 1_000_000
    timeout_s: float = 30.0
    chunks: int = 10  # what the fake upstream streams, to know the expected text


@dataclass
class LoadResult:
    started: int = 0
    good: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    ttft_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    replies: list[dict[str, Any]] = field(default_factory=list)  # good replies' metadata (id, header ids)

    @property
    def errors(self) -> int:
        return sum(self.bad.values())

    def summary(self) -> dict[str, Any]:
        ms = 1000.0
        return {
            "requests": self.started,
            "good": self.good,
            "bad": self.errors,
            "bad_by_reason": dict(self.bad),
            "elapsed_s": round(self.elapsed_s, 3),
            "good_per_s": round(self.good / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "latency_ms": {p: round(percentile(self.latencies_s, q) * ms, 3) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))},
            "ttft_ms": {p: round(percentile(self.ttft_s, q) * ms, 3) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))}
            if self.ttft_s
            else None,
        }


def _classify(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "client_timeout"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "cut_body"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "disconnected"
    if isinstance(exc, aiohttp.ClientConnectionError):
        return "connection_error"
    return type(exc).__name__


async def _one(session: aiohttp.ClientSession, cfg: LoadConfig, payload: bytes, result: LoadResult) -> None:
    stream = bool(cfg.body.get("stream"))
    first_token = stream_tokens(cfg.chunks)[0].encode() if stream else b""
    t0 = time.perf_counter()
    ttft = None
    try:
        async with session.post(cfg.url, data=payload, headers=cfg.headers) as resp:
            parts: list[bytes] = []
            if stream:
                async for piece in resp.content.iter_any():
                    if ttft is None and first_token in piece:
                        ttft = time.perf_counter() - t0
                    parts.append(piece)
            else:
                parts.append(await resp.read())
            body = b"".join(parts)
            status = resp.status
            reply_id = resp.headers.get("X-Request-Id") or resp.headers.get("x-request-id")
    except Exception as exc:  # noqa: BLE001 - every failure is counted by kind
        result.bad[_classify(exc)] += 1
        return
    elapsed = time.perf_counter() - t0
    if status != 200:
        result.bad[f"http_{status}"] += 1
        return
    try:
        if stream:
            check_stream(body, stream_text(cfg.chunks))
        else:
            check_completion(body, REPLY_TEXT)
    except BadBody:
        result.bad["bad_body"] += 1
        return
    result.good += 1
    result.latencies_s.append(elapsed)
    if ttft is not None:
        result.ttft_s.append(ttft)
    result.replies.append({"request_id": reply_id})


async def run_load(cfg: LoadConfig) -> LoadResult:
    require_loopback(cfg.url)
    payload = json.dumps(cfg.body).encode()
    headers = {"Content-Type": "application/json", **cfg.headers}
    cfg = LoadConfig(**{**cfg.__dict__, "headers": headers})
    result = LoadResult()
    deadline = time.perf_counter() + cfg.duration_s
    timeout = aiohttp.ClientTimeout(total=cfg.timeout_s)
    connector = aiohttp.TCPConnector(limit=cfg.concurrency, force_close=False)

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline and result.started < cfg.max_requests:
            result.started += 1
            await _one(session, cfg, payload, result)

    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(cfg.concurrency)))
    result.elapsed_s = time.perf_counter() - t0
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=10.0)
    parser.add_argument("-n", "--max-requests", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("-H", "--header", action="append", default=[], help="NAME: VALUE")
    args = parser.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    body: dict[str, Any] = {"model": args.model, "messages": [{"role": "user", "content": "hello"}]}
    if args.stream:
        body["stream"] = True
    cfg = LoadConfig(
        url=args.url,
        body=body,
        headers={k.strip(): v.strip() for k, v in headers.items()},
        concurrency=args.concurrency,
        duration_s=args.duration,
        max_requests=args.max_requests,
        timeout_s=args.timeout,
        chunks=args.chunks,
    )
    result = asyncio.run(run_load(cfg))
    print(json.dumps(result.summary(), indent=2))


if __name__ == "__main__":
    main()
