"""Where a server's time goes under load: py-spy samples it while wrk drives 32 connections.

Same placement as compare.py (server on core 0; upstream, wrk and py-spy on core 1).
Prints the summary of the collapsed stacks; the raw file stays in bench/out/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs  # noqa: E402
import servers  # noqa: E402
from compare import HARNESS_CORE, SERVER_CORE, run_wrk  # noqa: E402
from profile_summary import parse, summarize  # noqa: E402
from protocol import check_completion  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="ours", help="ours, ours+CHANGE (whatif_app.py), aiohttp-passthrough, "
                        "httpx-passthrough or litellm")
    parser.add_argument("--stream", action="store_true", help="profile the streaming load instead of plain")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--base-port", type=int, default=18500)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the GIL (py-spy --gil): Python CPU time, not threads waiting")
    parser.add_argument("--out", type=Path, default=servers.BENCH / "out")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="profile-", dir=args.out))
    up_port, port = args.base_port, args.base_port + 1
    upstream = f"http://127.0.0.1:{up_port}"
    up = procs.start([str(servers.BENCH_PY), str(servers.HARNESS / "fake_upstream.py"), "--port", str(up_port),
                      "--chunks", str(args.chunks)], core=HARNESS_CORE, log=workdir / "upstream.log")
    procs.wait_cold_start(up, time.perf_counter(), procs.Endpoint(port=up_port, health_path="/healthz"), check_completion, 30)
    if args.server == "ours" or args.server.startswith("ours+"):
        spec = servers.ours(port, upstream, workdir / "chat.db", whatif=args.server.partition("+")[2])
    elif args.server == "litellm":
        spec = servers.litellm(port, upstream)
    else:
        spec = servers.passthrough(args.server.split("-")[0], port, upstream)
    server = procs.start(spec.argv, core=SERVER_CORE, env=spec.env, cwd=spec.cwd or workdir, log=workdir / "server.log")
    procs.wait_cold_start(server, time.perf_counter(), spec.endpoint, check_completion)
    url = f"http://127.0.0.1:{port}{spec.endpoint.chat_path}"
    common = {"model": spec.endpoint.model, "headers": spec.endpoint.headers, "chunks": args.chunks, "workdir": workdir}
    run_wrk(url, connections=32, duration_s=2, stream=args.stream, **common)  # warm-up

    raw = args.out / f"profile-{args.server}-{'stream' if args.stream else 'plain'}{'-gil' if args.gil else ''}.txt"
    pyspy = Path(sys.executable).with_name("py-spy")
    spy = subprocess.Popen(["taskset", "-c", str(HARNESS_CORE), str(pyspy), "record", "--pid", str(server.pid),
                            "--rate", str(args.rate), "--duration", str(int(args.duration)), "--format", "raw",
                            "--nonblocking", "-o", str(raw)] + (["--gil"] if args.gil else []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    result: dict[str, object] = {}
    load = threading.Thread(target=lambda: result.update(run_wrk(url, connections=32, duration_s=args.duration,
                                                                 stream=args.stream, **common)))
    load.start()
    load.join()
    _, err = spy.communicate(timeout=args.duration + 60)
    procs.stop(server)
    procs.stop(up)
    if spy.returncode != 0 or not raw.exists():
        print(f"py-spy failed ({spy.returncode}): {err.decode()[-500:]}")
        return 1
    print(f"{args.server} under wrk c32 {'stream' if args.stream else 'plain'} while profiled (--nonblocking): "
          f"{result.get('rps')} good/s, bad {result.get('bad')}")
    print(summarize(parse(raw.read_text().splitlines()), top=args.top))
    print(f"\nraw collapsed stacks: {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
