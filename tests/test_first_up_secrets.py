"""Issue 14, item 1: on a fresh project every secret Cloud Run reads already has a version when the
first revision starts, the app starts with that first value and refuses every keyed request, and
nothing a rotation with gcloud does is undone by the next `pulumi up`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
from stack_values import run_with_values

from stagewise.engine.record import REPO_ROOT, DeclaredResource, ProgramRun
from stagewise.engine.wire import SECRET_SIG_KEY, SECRET_SIG_VALUE

SERVICE = "gcp:cloudrunv2/service:Service"
VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET = "gcp:secretmanager/secret:Secret"
ACCESSOR = "gcp:secretmanager/secretIamMember:SecretIamMember"
STACKS = [s for s in ("mvp", "staging", "prod") if (REPO_ROOT / f"Pulumi.{s}.yaml").is_file()]


@pytest.fixture(scope="module", params=STACKS)
def stack_run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_with_values(request.param)


def secret_refs(service: DeclaredResource) -> dict[str, str]:
    """env name -> secret id, for every env var of the service read from Secret Manager."""
    refs = {}
    for container in service.inputs["template"]["containers"]:
        for env in container.get("envs", []):
            ref = (env.get("valueSource") or {}).get("secretKeyRef")
            if ref:
                refs[env["name"]] = ref["secret"]
    return refs


def version_of(run: ProgramRun, secret_id: str) -> DeclaredResource:
    secret = next(r for r in run.of_type(SECRET) if r.inputs["secretId"] == secret_id)
    versions = [v for v in run.of_type(VERSION) if secret.urn in v.dependencies]
    assert len(versions) == 1, f"secret {secret_id} has {len(versions)} versions declared; Cloud Run reads it at latest"
    return versions[0]


def plain(value: Any) -> Any:
    """A secret-marked input's value (the engine wraps Output.secret values in a signature)."""
    if isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
        return value["value"]
    return value


def test_every_secret_a_service_reads_has_a_version_before_the_service(stack_run: ProgramRun) -> None:
    services = [s for s in stack_run.of_type(SERVICE) if secret_refs(s)]
    assert services, "each stack's chat service reads its API keys from Secret Manager"
    for service in services:
        account = service.inputs["template"]["serviceAccount"]
        for variable, secret_id in secret_refs(service).items():
            version = version_of(stack_run, secret_id)
            # the first revision cannot start before the version exists, nor before it may read it
            assert version.urn in service.dependencies, f"{service.name} does not wait for {secret_id}'s version"
            accessors = [a for a in stack_run.of_type(ACCESSOR) if a.inputs["secretId"] == secret_id
                         and a.inputs["member"] == f"serviceAccount:{account}"
                         and a.inputs["role"] == "roles/secretmanager.secretAccessor"]
            assert len(accessors) == 1 and accessors[0].urn in service.dependencies, (service.name, variable)


def test_the_first_version_is_a_pulumi_secret_that_rotation_never_undoes(stack_run: ProgramRun) -> None:
    for version in stack_run.of_type(VERSION):
        data = version.inputs["secretData"]
        assert isinstance(data, dict) and data.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE, "encrypted in state"
        # `gcloud secrets versions add` / `… disable 1` must not be reverted by the next `pulumi up`
        assert {"secretData", "enabled"} <= set(version.ignore_changes)
        assert version.inputs["deletionPolicy"] == "ABANDON"
        assert "[secret]" in json.dumps(version.to_document()["inputs"])  # review documents redact it


def test_no_first_value_grants_anything_and_no_two_collide(stack_run: ProgramRun) -> None:
    digests = []
    for version in stack_run.of_type(VERSION):
        data = plain(version.inputs["secretData"])
        keys = list(json.loads(data).values()) if data.startswith("{") else [data]
        assert all(key.startswith("sha256:") and len(key) == 7 + 64 for key in keys), data
        digests += keys
    assert len(set(digests)) == len(digests)


def _app_env(run: ProgramRun, service: DeclaredResource) -> dict[str, str]:
    """The service's environment as the first revision sees it (secrets resolved to their first
    versions), on a local SQLite store instead of Firestore."""
    env: dict[str, str] = {}
    for container in service.inputs["template"]["containers"]:
        for item in container.get("envs", []):
            name = item["name"]
            ref = (item.get("valueSource") or {}).get("secretKeyRef")
            if ref:
                env[name] = plain(version_of(run, ref["secret"]).inputs["secretData"])
            elif isinstance(item.get("value"), str) and not name.startswith("CHAT_FIRESTORE"):
                env[name] = item["value"]
    return env


# Runs in the app's own environment (app/uv.lock): the real settings parser and server.
APP_CHECK = r"""
import http.client, json, secrets, socket, sys, tempfile, threading, time
import uvicorn
from chatapp.api import create_app
from chatapp.settings import Settings

env = json.loads(sys.stdin.read())
env.update(CHAT_STORE="sqlite", CHAT_SQLITE_PATH=tempfile.mkdtemp() + "/chat.db")
settings = Settings.from_env(env)  # raises SettingsError (the revision would never be ready) if refused
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
server = uvicorn.Server(uvicorn.Config(create_app(settings, env=env), host="127.0.0.1", port=port,
                                       log_level="error", lifespan="on"))
threading.Thread(target=server.run, daemon=True).start()
deadline = time.monotonic() + 90  # a loaded machine starts slowly
while not server.started:
    assert time.monotonic() < deadline, "the app did not start"
    time.sleep(0.05)

def get(path, key=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
    return conn.getresponse().status

result = {"ready": get("/ready"), "no_key": get("/v1/models"),
          "keys": [get("/v1/models", "sk-" + secrets.token_hex(16)) for _ in range(3)]}
# A file of its own: the app's JSON log lines share stdout and may interleave with a print there.
with open(sys.argv[1], "w") as out:
    json.dump(result, out)
server.should_exit = True
"""


def _run_in_app_env(env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    uv = os.environ.get("UV") or shutil.which("uv")
    out = tmp_path / "result.json"
    command = [uv, "run", "--locked", "--project", str(REPO_ROOT / "app"), "python", "-c", APP_CHECK, str(out)] if uv else None
    assert command, "uv is needed to run the app's own environment (scripts/ensure_uv.sh installs it)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHAT_", "VIRTUAL_ENV", "GOOGLE_"))}
    done = subprocess.run(command, input=json.dumps(env), capture_output=True, text=True, timeout=300,
                          cwd=REPO_ROOT / "app", env=clean, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.is_file(), done.stdout[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.mark.parametrize(("stack", "service_name"), [("mvp", "chat"), ("staging", "chat"), ("staging", "chat-partners")])
def test_the_app_starts_on_the_first_values_and_refuses_every_key(stack: str, service_name: str, tmp_path: Path) -> None:
    run = run_with_values(stack)
    service = next(s for s in run.of_type(SERVICE) if s.inputs["name"] == service_name)
    env = _app_env(run, service)
    assert any(name == "CHAT_API_KEYS" or name.startswith("CHAT_API_KEY_") for name in env), env
    result = _run_in_app_env(env, tmp_path)
    assert result["ready"] == 200  # the startup/readiness probe passes: the revision becomes ready
    assert result["keys"] == [401, 401, 401]  # no key matches a first value
    anonymous = env.get("CHAT_ALLOW_ANONYMOUS") == "true"
    assert result["no_key"] == (200 if anonymous else 401)


def test_secret_env_only_takes_variables_the_program_can_give_a_first_value() -> None:
    from stagewise.stacks.config import ConfigError, load_config
    from stagewise.engine.record import load_stack_file

    raw = load_stack_file("mvp")
    service = json.loads(raw["stagewise:service"])
    service["secretEnv"] = {"CHAT_API_KEYS": "chat-api-keys", "CHAT_OPENAI_API_KEY": "openai-key"}
    with pytest.raises(ConfigError) as caught:
        load_config({**raw, "stagewise:service": json.dumps(service)}, "mvp")
    assert "stagewise:service.secretEnv: CHAT_OPENAI_API_KEY" in str(caught.value)


def test_a_first_value_for_a_secret_the_set_does_not_create_is_refused() -> None:
    from stagewise.components.secrets import SecretSetArgs

    with pytest.raises(ValueError, match="not in secret_ids"):
        SecretSetArgs(project="p", secret_ids=["a"], replica_locations=["us-central1"], initial_values={"b": "x"})


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
