"""The servers under test: how to start each one against a given upstream."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from procs import Endpoint

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
HARNESS = BENCH / "harness"
ENVS = BENCH / ".envs"
BENCH_PY = ENVS / "bench" / "bin" / "python"
APP_PY = ENVS / "app" / "bin" / "python"
LITELLM_BIN = ENVS / "litellm" / "bin" / "litellm"

LITELLM_KEY = "sk-bench-master"
APP_KEY = "bench-key-0123456789abcdef"
APP_TENANT = "bench"


@dataclass
class ServerSpec:
    name: str
    argv: list[str]
    endpoint: Endpoint
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    cold_runs: int = 3
    note: str = ""


def passthrough(kind: str, port: int, upstream: str) -> ServerSpec:
    module = {"aiohttp": "passthrough_aiohttp", "httpx": "passthrough_httpx"}[kind]
    return ServerSpec(
        name=f"{kind}-passthrough",
        argv=[str(BENCH_PY), "-m", "uvicorn", f"{module}:app", "--host", "127.0.0.1", "--port", str(port),
              "--workers", "1", "--no-access-log", "--log-level", "warning"],
        endpoint=Endpoint(port=port, health_path="/healthz"),
        env={"UPSTREAM_URL": upstream},
        cwd=HARNESS,
        note=f"uvicorn + {kind} client, no validation, no logging",
    )


def litellm(port: int, upstream: str) -> ServerSpec:
    return ServerSpec(
        name="litellm",
        argv=[str(LITELLM_BIN), "--config", str(BENCH / "config" / "litellm.yaml"), "--host", "127.0.0.1",
              "--port", str(port), "--num_workers", "1"],
        endpoint=Endpoint(port=port, health_path="/health/liveliness",
                          headers={"Authorization": f"Bearer {LITELLM_KEY}"}),
        env={
            "BENCH_UPSTREAM_BASE": upstream + "/v1",
            "LITELLM_MASTER_KEY": LITELLM_KEY,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
        },
        cwd=BENCH,
        note="litellm[proxy] 1.106.2, no database, OpenTelemetry installed, num_workers 1",
    )


def app_env(upstream: str, sqlite_path: Path, config_dir: Path | None = None) -> dict[str, str]:
    """Our app as it would run: SQLite store, API keys on, JSON logging on (to a file)."""
    env = {
        "CHAT_STORE": "sqlite",
        "CHAT_SQLITE_PATH": str(sqlite_path),
        "CHAT_OPENAI_BASE_URL": upstream + "/v1",
        "CHAT_OPENAI_MODEL": "fake-model",
        "CHAT_OPENAI_API_KEY": "bench-upstream-key",
        "CHAT_API_KEYS": json.dumps({APP_TENANT: APP_KEY}),
        "CHAT_ALLOW_ANONYMOUS": "false",
        # one tenant sends all the load: lift the per-tenant quota out of the way
        "CHAT_RATE_RPM": "100000000",
        "CHAT_RATE_TPM": "100000000000",
        # no Google credentials here: keep Vertex out of the chain
        "GOOGLE_CLOUD_PROJECT": "",
        "CHAT_VERTEX_PROJECT": "",
    }
    if config_dir is not None:
        env["CHAT_CONFIG_DIR"] = str(config_dir)
    return env


def ours(port: int, upstream: str, sqlite_path: Path, config_dir: Path | None = None, whatif: str = "") -> ServerSpec:
    """`python -m chatapp`; with `whatif` ("inline-sqlite+no-log"), the profiling variant in whatif_app.py."""
    model = os.environ.get("BENCH_APP_MODEL", "fake-model")
    env = {**app_env(upstream, sqlite_path, config_dir), "PORT": str(port)}
    argv = [str(APP_PY), "-m", "chatapp"]
    note = "chatapp (python -m chatapp): SQLite store, API keys, JSON logs to a file"
    if whatif:
        argv = [str(APP_PY), str(HARNESS / "whatif_app.py")]
        env["BENCH_WHATIF"] = whatif.replace("+", ",")
        note = f"profiling variant of ours, changed: {whatif} (bench/harness/whatif_app.py)"
    return ServerSpec(
        name="ours" + (f"+{whatif}" if whatif else ""),
        argv=argv,
        endpoint=Endpoint(port=port, health_path="/healthz", headers={"Authorization": f"Bearer {APP_KEY}"},
                          model=model),
        env=env,
        cwd=sqlite_path.parent,
        note=note,
    )
