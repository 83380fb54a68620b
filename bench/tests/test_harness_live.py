"""The harness pieces against a real fake upstream on loopback (correctness only, nothing timed)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import procs
from loadgen import LoadConfig, run_load
from protocol import check_completion, check_stream, stream_text

HARNESS = Path(__file__).resolve().parents[1] / "harness"
BODY = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def post(port: int, body: dict[str, object]) -> tuple[int, bytes]:
    return procs.http_request(port, "POST", "/v1/chat/completions", json.dumps(body).encode(),
                              {"Content-Type": "application/json"})


def test_plain_and_streamed_replies_pass_the_checkers(upstream) -> None:  # type: ignore[no-untyped-def]
    port = upstream("--chunks", "5", "--chunk-interval-ms", "0.5")
    status, body = post(port, BODY)
    assert status == 200
    check_completion(body)
    status, body = post(port, {**BODY, "stream": True})
    assert status == 200
    check_stream(body, stream_text(5))


def test_loadgen_counts_every_injected_fault(upstream) -> None:  # type: ignore[no-untyped-def]
    port = upstream("--faults", "error500=0.2,timeout=0.1,cut=0.1", "--seed", "5", "--hang-seconds", "3",
                    "--chunks", "4", "--chunk-interval-ms", "0")
    cfg = LoadConfig(url=f"http://127.0.0.1:{port}/v1/chat/completions", body={**BODY, "stream": True},
                     concurrency=8, duration_s=30, max_requests=300, timeout_s=1.0, chunks=4)
    result = asyncio.run(run_load(cfg))
    served = json.loads(procs.http_request(port, "GET", "/stats")[1])["served"]
    assert result.started == 300 == sum(served.values())
    assert result.good == served["ok"]
    assert result.bad["http_500"] == served["error500"]
    assert result.bad["client_timeout"] == served["timeout"]
    assert result.bad["cut_body"] == served["cut"]
    assert served["error500"] > 30 and served["timeout"] > 10 and served["cut"] > 10


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (bench/run.sh setup installs it)")
@pytest.mark.parametrize(("faults", "expect_bad"), [("", False), ("error500=0.5", True)])
def test_wrk_body_checker_counts_bad_bodies(upstream, tmp_path: Path, faults: str, expect_bad: bool) -> None:  # type: ignore[no-untyped-def]
    port = upstream("--faults", faults, "--seed", "2")
    body_file = tmp_path / "body.json"
    body_file.write_text(json.dumps(BODY))
    out = subprocess.run(
        ["wrk", "-t1", "-c4", "-d1s", "-s", str(HARNESS / "check_body.lua"), f"http://127.0.0.1:{port}/v1/chat/completions"],
        env={"WRK_BODY_FILE": str(body_file), "WRK_EXPECT": "the lazy dog.", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK_RESULT"))
    fields = dict(kv.split("=") for kv in line.split()[1:])
    stats = json.loads(procs.http_request(port, "GET", "/stats")[1])["served"]
    good, bad = int(fields["good"]), int(fields["bad"])
    assert good + bad == int(fields["requests"]) > 0
    # wrk drops the replies still in flight on its 4 connections when it stops
    assert stats["ok"] - 4 <= good <= stats["ok"]
    assert stats.get("error500", 0) - 4 <= bad <= stats.get("error500", 0)
    assert (bad > 0) is expect_bad
    if expect_bad:
        assert "injected upstream failure" in out


def test_wrk_checker_rejects_a_reply_missing_the_expected_text(upstream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed")
    port = upstream()
    body_file = tmp_path / "body.json"
    body_file.write_text(json.dumps(BODY))
    out = subprocess.run(
        ["wrk", "-t1", "-c2", "-d1s", "-s", str(HARNESS / "check_body.lua"), f"http://127.0.0.1:{port}/v1/chat/completions"],
        env={"WRK_BODY_FILE": str(body_file), "WRK_EXPECT": "the lazy dog.&&text the upstream never sends", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    assert " good=0 " in out and " bad=0 " not in out


def test_upstream_counts_the_connections_clients_open(upstream) -> None:  # type: ignore[no-untyped-def]
    import http.client

    port = upstream()
    before = json.loads(procs.http_request(port, "GET", "/stats")[1])["connections"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(3):  # one kept-alive connection
        conn.request("POST", "/v1/chat/completions", json.dumps(BODY).encode(), {"Content-Type": "application/json"})
        check_completion(conn.getresponse().read())
    conn.close()
    for _ in range(2):  # a new connection each
        check_completion(post(port, BODY)[1])
    after = json.loads(procs.http_request(port, "GET", "/stats")[1])["connections"]
    assert after - before == 1 + 2 + 1  # the kept-alive one, two posts, this /stats (counted before it answers)


def test_end_gap_still_sends_a_whole_stream(upstream) -> None:  # type: ignore[no-untyped-def]
    port = upstream("--chunks", "4", "--end-gap-ms", "20")
    status, body = post(port, {**BODY, "stream": True})
    assert status == 200
    check_stream(body, stream_text(4))
