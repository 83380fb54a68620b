"""Does a server reuse its connection to the model server? Sequential plain and streamed requests
through it; the fake upstream counts the TCP connections it accepted (GET /stats).

    python conn_reuse.py [--server ours|aiohttp-passthrough|httpx-passthrough] [--requests 20] [--end-gap-ms 5]

--end-gap-ms makes the upstream pause between a stream's `data: [DONE]` and the end of its
chunked body, as when the two travel in separate packets: a client that stops reading at
[DONE] then leaves the body unfinished and its connection cannot go back to the pool.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs  # noqa: E402
import servers  # noqa: E402
from protocol import check_completion, check_stream, stream_text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="ours", choices=("ours", "aiohttp-passthrough", "httpx-passthrough"))
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--end-gap-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--base-port", type=int, default=18700)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="conns-", dir=servers.BENCH / "out"))
    up_port, port = args.base_port, args.base_port + 1
    upstream = f"http://127.0.0.1:{up_port}"
    up = procs.start([str(servers.BENCH_PY), str(servers.HARNESS / "fake_upstream.py"), "--port", str(up_port),
                      "--chunks", str(args.chunks), "--end-gap-ms", str(args.end_gap_ms)], core=None, log=work / "upstream.log")
    procs.wait_cold_start(up, time.perf_counter(), procs.Endpoint(port=up_port, health_path="/healthz"), check_completion, 30)
    if args.server == "ours":
        spec = servers.ours(port, upstream, work / "chat.db")
    else:
        spec = servers.passthrough(args.server.split("-")[0], port, upstream)
    srv = procs.start(spec.argv, core=None, env=spec.env, cwd=spec.cwd or work, log=work / "server.log")
    procs.wait_cold_start(srv, time.perf_counter(), spec.endpoint, check_completion)
    headers = {"Content-Type": "application/json", **spec.endpoint.headers}
    out = {}
    for stream in (False, True):
        before = json.loads(procs.http_request(up_port, "GET", "/stats")[1])["connections"]
        for _ in range(args.requests):
            status, body = procs.http_request(port, "POST", spec.endpoint.chat_path, spec.endpoint.completion_body(stream), headers)
            if status != 200:
                raise SystemExit(f"{args.server} answered {status}: {body[:200]!r}")
            check_stream(body, stream_text(args.chunks)) if stream else check_completion(body)
        after = json.loads(procs.http_request(up_port, "GET", "/stats")[1])["connections"]
        mode = "stream" if stream else "plain"
        out[mode] = after - before - 1  # minus the /stats request itself
        print(f"{args.server}: {args.requests} {mode} requests, end gap {args.end_gap_ms:g} ms -> "
              f"{out[mode]} new upstream connections", flush=True)
    procs.stop(srv)
    procs.stop(up)
    return 0


if __name__ == "__main__":
    sys.exit(main())
