"""Whole-process wall time and peak RSS of `uv run stagewise review <stack>`, per stack and for all
stacks, median of N runs; and of the test suite. Run from the repository root's environment.

Peak RSS is ru_maxrss from wait4() on the launched command: the largest resident set of the
command and the descendants it waited for (uv and the Python it starts), in MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procs import load_now  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"


ENV: dict[str, str] = dict(os.environ)


def timed(cmd: list[str], cwd: Path, timeout_s: float) -> dict[str, Any]:
    """Run cmd to completion; wall seconds, peak RSS MiB, exit code, last lines of output."""
    # Output to a file, read after the exit: a pipe nobody reads while the command runs fills at
    # 64 KiB and stops a command that prints more (three stacks' reviews do).
    sink = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = t0 + timeout_s
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, 9)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    sink.seek(0)
    output = sink.read().decode(errors="replace")
    sink.close()
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "exit": proc.returncode, "tail": output.strip().splitlines()[-3:]}


def series(label: str, cmd: list[str], runs: int, timeout_s: float) -> dict[str, Any]:
    results = [timed(cmd, ROOT, timeout_s) for _ in range(runs)]
    ok = [r for r in results if r["exit"] == 0]
    row: dict[str, Any] = {
        "label": label,
        "command": " ".join(cmd),
        "runs": runs,
        "ok_runs": len(ok),
        "exit_codes": sorted({r["exit"] for r in results}),
    }
    if ok:
        walls = [r["wall_s"] for r in ok]
        rss = [r["peak_rss_mb"] for r in ok]
        # CPU seconds (user + system of the command and the children it waited for): on a shared,
        # loaded machine the wall time grows with the load, the CPU time much less.
        row.update(median_s=round(statistics.median(walls), 3), min_s=round(min(walls), 3), max_s=round(max(walls), 3),
                   cpu_s=round(statistics.median(r["cpu_s"] for r in ok), 3), peak_rss_mb=round(statistics.median(rss), 1))
    else:
        row["error_tail"] = results[-1]["tail"]
    shown = f"median {row['median_s']:.3f} s (min {row['min_s']:.3f}, max {row['max_s']:.3f}), CPU {row['cpu_s']:.3f} s, " \
        f"peak RSS {row['peak_rss_mb']:.0f} MiB" \
        if ok else f"FAILED (exit {row['exit_codes']}): {' / '.join(row['error_tail'])}"
    print(f"  {label}: {shown}  [{len(ok)}/{runs} ok]", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks", default="mvp,staging,prod")
    parser.add_argument("--runs", type=int, default=5, help="runs per review command (median reported)")
    parser.add_argument("--all-runs", type=int, default=0, help="runs of all stacks back to back (default: --runs)")
    parser.add_argument("--suite-runs", type=int, default=1, help="runs of the test suite (0 to skip)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before one review run is killed")
    parser.add_argument("--suite-timeout", type=float, default=1800.0)
    parser.add_argument("--bytecode", choices=("warm", "none", "both"), default="both",
                        help="warm: a bytecode cache outside the tree (bench/.envs/pycache-review), as on a user's "
                             "machine after the first run; none: PYTHONDONTWRITEBYTECODE=1, every run compiles from source")
    parser.add_argument("--profile", metavar="STACK", help="also record a py-spy profile of one review (warm bytecode)")
    args = parser.parse_args(argv)
    stacks = [s.strip() for s in args.stacks.split(",") if s.strip()]
    rows: list[dict[str, Any]] = []
    load = {"before": load_now()}
    print(f"machine load before: {load['before']}", flush=True)
    modes = ["warm", "none"] if args.bytecode == "both" else [args.bytecode]
    for mode in modes:
        if mode == "warm":
            ENV.update(PYTHONPYCACHEPREFIX=str(ROOT / "bench" / ".envs" / "pycache-review"), PYTHONDONTWRITEBYTECODE="")
        else:
            ENV.pop("PYTHONPYCACHEPREFIX", None)
            ENV["PYTHONDONTWRITEBYTECODE"] = "1"
        print(f"review speed, bytecode {mode} ({args.runs} runs each, from {ROOT}):", flush=True)
        for stack in stacks:  # env sync and (warm mode) cache fill outside the timings
            timed(["uv", "run", "--frozen", "stagewise", "review", stack, "--values", "examples/values"], ROOT, args.timeout)
        rows += [{**row, "bytecode": mode} for row in review_rows(args, stacks)]
    if args.profile:
        rows.append(profile(args.profile, args.timeout))
    if args.suite_runs:
        ENV.pop("PYTHONPYCACHEPREFIX", None)
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV.update({k: v for k, v in os.environ.items() if k.startswith("PYTHON")})
        rows += suite_rows(args)

    load["after"] = load_now()
    print(f"machine load after: {load['after']}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = OUT / f"review-{stamp}.json"
    path.write_text(json.dumps({"date_utc": stamp, "load": load, "rows": rows}, indent=2))
    print(f"\nwritten: {path}")
    failed = [r for r in rows if r.get("ok_runs", 0) == 0 and r["label"] != "test suite"]
    return 1 if failed else 0


def profile(stack: str, timeout_s: float) -> dict[str, Any]:
    """py-spy (sampling, 250 Hz, subprocesses) over one `uv run stagewise review STACK`; prints where time goes."""
    from profile_summary import parse, summarize

    ENV.update(PYTHONPYCACHEPREFIX=str(ROOT / "bench" / ".envs" / "pycache-review"), PYTHONDONTWRITEBYTECODE="")
    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / f"profile-review-{stack}.txt"
    pyspy = Path(sys.executable).with_name("py-spy")
    cmd = [str(pyspy), "record", "--subprocesses", "--rate", "250", "--format", "raw", "-o", str(raw), "--",
           "uv", "run", "--frozen", "stagewise", "review", stack]
    subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, timeout=timeout_s, check=True)
    text = summarize(parse(raw.read_text().splitlines()), top=12)
    print(f"profile of review {stack} (py-spy, warm bytecode; raw stacks in {raw}):\n{text}", flush=True)
    imports = import_times(stack, timeout_s)
    print(f"import time of review {stack} (-X importtime, warm bytecode), top-level packages by own subtree:\n{imports}", flush=True)
    return {"label": f"profile review {stack}", "summary": text, "imports": imports}


def import_times(stack: str, timeout_s: float, top: int = 12) -> str:
    code = f"import sys; from stagewise.cli import main; sys.exit(main(['review', {stack!r}]))"
    out = subprocess.run(["uv", "run", "--frozen", "python", "-X", "importtime", "-c", code], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, timeout=timeout_s).stderr
    per_pkg: dict[str, int] = {}
    total = 0
    for line in out.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if name.startswith(" ") or line.split("|")[2].startswith("  "):
            continue  # nested import: counted in its parent's cumulative time
        pkg = name.split(".")[0]
        per_pkg[pkg] = per_pkg.get(pkg, 0) + int(cumulative)
        total += int(cumulative)
    rows = sorted(per_pkg.items(), key=lambda kv: -kv[1])[:top]
    return "\n".join([f"  total top-level imports {total / 1e6:.3f} s"] + [f"  {us / 1e6:7.3f} s  {pkg}" for pkg, us in rows])


def review_rows(args: argparse.Namespace, stacks: list[str]) -> list[dict[str, Any]]:
    uv = ["uv", "run", "--frozen"]
    values = ["--values", "examples/values"]  # staging's and prod's stack files stop at their REPLACE-ME values without it
    rows = [series("uv run python -c pass (uv + interpreter floor)", [*uv, "python", "-c", "pass"], args.runs, args.timeout),
            series("uv run python -c 'import pulumi' (the SDK alone)", [*uv, "python", "-c", "import pulumi"], args.runs, args.timeout)]
    for stack in stacks:
        rows.append(series(f"review {stack}", [*uv, "stagewise", "review", stack, *values], args.runs, args.timeout))
    if len(stacks) < 2:
        return rows
    runs = args.all_runs or args.runs
    chain = "; ".join(f"uv run --frozen stagewise review {s} {' '.join(values)} >/dev/null" for s in stacks)
    rows.append(series(f"review {', '.join(stacks)} (one process each, back to back: the old way)", ["bash", "-c", chain], runs, args.timeout))
    rows.append(series(f"review {' '.join(stacks)} (one process)", [*uv, "stagewise", "review", *stacks, *values], runs, args.timeout))
    rows += six_reviews(stacks, runs, args.timeout)
    return rows


def base_checkout(directory: Path) -> Path:
    """A second checkout, as the PR workflow's base: this commit's tracked code and stack files."""
    archive = subprocess.run(["git", "archive", "HEAD", "stagewise", "policies", "examples", "app/Dockerfile", "uv.lock",
                              "Pulumi.yaml", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))],
                             cwd=ROOT, capture_output=True, check=True, timeout=120).stdout
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory


def six_reviews(stacks: list[str], runs: int, timeout_s: float) -> list[dict[str, Any]]:
    """A pull request's reviews: every stack on its head and on its base (another checkout, its own
    code), JSON documents, as .github/scripts/review_stacks.sh runs them; the old way (one process
    per review) and one `python -m stagewise.cli.batch` process."""
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        base = base_checkout(Path(tmp) / "base")
        out = Path(tmp) / "out"
        out.mkdir()
        jobs = [{"checkout": str(root), "argv": ["review", stack, "--root", str(root), "--values", str(root / "examples" / "values"),
                                                 "--format", "json"],
                 "stdout": str(out / f"{side}-{stack}.json"), "stderr": str(out / f"{side}-{stack}.err")}
                for side, root in (("head", ROOT), ("base", base)) for stack in stacks]
        (out / "jobs.json").write_text(json.dumps(jobs))
        n = len(jobs)
        chain = "; ".join(f"(cd {job['checkout']} && uv run --frozen --project {ROOT} stagewise {' '.join(job['argv'])} >/dev/null)" for job in jobs)
        rows = [series(f"{n} reviews: {', '.join(stacks)} on head and base (one process each: the old way)", ["bash", "-c", chain], runs, timeout_s),
                series(f"{n} reviews: {', '.join(stacks)} on head and base (one process, stagewise.cli.batch)",
                       ["uv", "run", "--frozen", "python", "-m", "stagewise.cli.batch", str(out / "jobs.json")], runs, timeout_s)]
        codes = json.loads(timed(["uv", "run", "--frozen", "python", "-m", "stagewise.cli.batch", str(out / "jobs.json")], ROOT, timeout_s)["tail"][-1])
        if any(code not in (0, 1, 3) for code in codes):
            print(f"  note: review exit codes in the batch {codes}: a review did not run", flush=True)
        return rows


def suite_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    suite = None
    for candidate in (ROOT / "scripts" / "test.sh",):
        if candidate.exists():
            suite = candidate
    print("test suite (environment as given):", flush=True)
    if suite is not None:
        rows.append(series(f"test suite (bash {suite.relative_to(ROOT)})", ["bash", str(suite)], args.suite_runs, args.suite_timeout))
    else:
        print("  test suite: scripts/test.sh does not exist yet, not measured", flush=True)
        rows.append({"label": "test suite", "error_tail": ["scripts/test.sh does not exist yet"]})
    return rows


if __name__ == "__main__":
    sys.exit(main())
