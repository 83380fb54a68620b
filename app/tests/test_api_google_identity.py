"""CHAT_OPENAI_AUTH: Google access / ID tokens from Application Default Credentials, fetched from
a fake metadata server on loopback, checked by the fake OpenAI-compatible upstream.

The app runs as a fresh `python -m chatapp` process because google-auth reads GCE_METADATA_HOST
when it is imported. Its environment holds no credentials file, an empty gcloud config, and a
dead proxy for everything but loopback, so nothing here can reach a real Google host.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from conftest import KEY_ACME, free_port
from fake_metadata import FakeMetadataServer
from fakes import FakeModelServer, LoopThread
from test_lifecycle import spawn, wait_healthy

from chatapp.settings import Settings, SettingsError

AUDIENCE = "https://vllm-gpu-abc123-ew.a.run.app"
USER = [{"role": "user", "content": "hello"}]


@pytest.fixture
def metadata() -> Iterator[FakeMetadataServer]:
    loop = LoopThread()
    server = FakeMetadataServer()
    loop.run(server.start())
    try:
        yield server
    finally:
        loop.run(server.stop())
        loop.close()


class AppProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.proc = spawn(env, self.port)
        wait_healthy(self.proc, self.port)
        self.client = openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=KEY_ACME, max_retries=0, timeout=60)
        self.stdout = ""
        self.stderr = ""

    def ask(self, stream: bool = False) -> tuple[str, dict[str, str]]:
        if stream:
            with self.client.chat.completions.with_streaming_response.create(model="default", messages=USER, stream=True) as r:
                text = "".join(c.choices[0].delta.content or "" for c in r.parse() if c.choices)
                return text, dict(r.headers)
        raw = self.client.chat.completions.with_raw_response.create(model="default", messages=USER)
        return raw.parse().choices[0].message.content or "", dict(raw.headers)

    def stop(self) -> list[dict[str, Any]]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        self.stdout, self.stderr = out.decode(), err.decode()
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def run_app(base_env: dict[str, str], metadata: FakeMetadataServer, tmp_path: Path) -> Iterator[Any]:
    procs: list[AppProcess] = []

    def start(**overrides: str) -> AppProcess:
        (tmp_path / "gcloud").mkdir(exist_ok=True)
        env = {
            **base_env,
            "GCE_METADATA_HOST": metadata.host,
            "GCE_METADATA_IP": metadata.host,
            "GCE_METADATA_TIMEOUT": "2",
            "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),  # no gcloud ADC file
            "HOME": str(tmp_path),
            "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",  # dead end for non-loopback
            "NO_PROXY": "127.0.0.1,localhost",
            **overrides,
        }
        assert "GOOGLE_APPLICATION_CREDENTIALS" not in env
        app = AppProcess(env)
        procs.append(app)
        return app

    yield start
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.communicate()


def _no_token_leaked(app: AppProcess, metadata: FakeMetadataServer) -> None:
    for token in metadata.issued:
        assert token not in app.stdout and token not in app.stderr


def test_id_token_for_the_private_cloud_run_upstream_is_attached_and_cached(
    run_app: Any, metadata: FakeMetadataServer, openai_fake: FakeModelServer
) -> None:
    openai_fake.require_authorization = metadata.valid
    app = run_app(CHAT_OPENAI_AUTH="google-id-token", CHAT_OPENAI_AUDIENCE=AUDIENCE)
    for stream in (False, True, False):
        text, headers = app.ask(stream)
        assert text.startswith("[primary-model]") and headers["x-fallback-used"] == "false"
    records = app.stop()
    assert metadata.identity_calls() == 1 and metadata.audiences == [AUDIENCE]
    assert metadata.unflavoured == 0
    sent = {c.headers["Authorization"] for c in openai_fake.calls("primary-model")}
    assert sent == {f"Bearer {metadata.issued[0]}"} and len(openai_fake.calls()) == 3
    assert [r["model"] for r in records if "httpRequest" in r and r["httpRequest"]["requestUrl"] == "/v1/chat/completions"] == ["primary-model"] * 3
    _no_token_leaked(app, metadata)


def test_access_token_for_a_vertex_endpoint_has_the_cloud_platform_scope_and_is_cached(
    run_app: Any, metadata: FakeMetadataServer, openai_fake: FakeModelServer
) -> None:
    openai_fake.require_authorization = metadata.valid
    app = run_app(CHAT_OPENAI_AUTH="google-access-token")
    for stream in (False, True):
        text, _ = app.ask(stream)
        assert text.startswith("[primary-model]")
    app.stop()
    assert metadata.token_calls() == 1 and metadata.identity_calls() == 0
    assert metadata.scopes == ["https://www.googleapis.com/auth/cloud-platform"]
    assert {c.headers["Authorization"] for c in openai_fake.calls()} == {"Bearer ya29.fake-access-1"}
    _no_token_leaked(app, metadata)


def test_expired_token_is_refreshed_and_a_metadata_failure_falls_over_to_the_fallback(
    run_app: Any, metadata: FakeMetadataServer, openai_fake: FakeModelServer
) -> None:
    openai_fake.require_authorization = metadata.valid
    metadata.lifetime_s = 2
    app = run_app(CHAT_OPENAI_AUTH="google-id-token", CHAT_OPENAI_AUDIENCE=AUDIENCE)
    assert app.ask()[0].startswith("[primary-model]")
    assert metadata.identity_calls() == 1

    def wait_past_expiry() -> None:
        payload = metadata.issued[-1].split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
        time.sleep(max(0.0, exp - time.time()) + 0.3)

    wait_past_expiry()
    assert app.ask()[0].startswith("[primary-model]")  # a fresh token, accepted by the upstream
    assert metadata.identity_calls() == 2
    assert openai_fake.calls()[-1].headers["Authorization"] == f"Bearer {metadata.issued[1]}"

    wait_past_expiry()
    metadata.fail_status = 403
    upstream_calls = len(openai_fake.calls())
    text, headers = app.ask()
    assert text.startswith("[gemini-main]") and headers["x-fallback-used"] == "true"
    assert len(openai_fake.calls()) == upstream_calls  # no request went out without a token

    metadata.fail_status = None  # identity back: the primary serves again
    assert app.ask()[0].startswith("[primary-model]")
    records = app.stop()
    chats = [r for r in records if "httpRequest" in r and r["httpRequest"]["requestUrl"] == "/v1/chat/completions"]
    assert [r["model"] for r in chats] == ["primary-model", "primary-model", "gemini-main", "primary-model"]
    reason = " ".join(chats[2]["upstream_errors"])
    assert "openai/primary-model" in reason and "no Google id token" in reason and "403" in reason
    assert chats[2]["fallback_used"] is True and "upstream_errors" not in chats[3]
    _no_token_leaked(app, metadata)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"CHAT_OPENAI_AUTH": "gcp"}, "CHAT_OPENAI_AUTH='gcp' is unknown"),
        ({"CHAT_OPENAI_AUTH": "google-id-token"}, "needs CHAT_OPENAI_AUDIENCE"),
        ({"CHAT_OPENAI_AUDIENCE": AUDIENCE}, "CHAT_OPENAI_AUDIENCE is set but CHAT_OPENAI_AUTH='none'"),
        ({"CHAT_OPENAI_AUTH": "google-access-token", "CHAT_OPENAI_API_KEY": "sk-upstream-0123456789"}, "keep one"),
    ],
)
def test_openai_auth_settings_are_validated(base_env: dict[str, str], env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**base_env, **env})
    assert needle in str(err.value)
    assert "0123456789" not in str(err.value)


def test_openai_auth_modes_parse() -> None:
    base = {"CHAT_ALLOW_ANONYMOUS": "true", "CHAT_OPENAI_BASE_URL": "http://10.0.0.5:8000/v1"}
    assert Settings.from_env(base).openai_auth == "none"
    assert Settings.from_env({**base, "CHAT_OPENAI_AUTH": "none"}).openai_auth == "none"
    assert Settings.from_env({**base, "CHAT_OPENAI_AUTH": "Google-Access-Token"}).openai_auth == "google-access-token"
    s = Settings.from_env({**base, "CHAT_OPENAI_AUTH": "google-id-token", "CHAT_OPENAI_AUDIENCE": AUDIENCE})
    assert (s.openai_auth, s.openai_audience) == ("google-id-token", AUDIENCE)
