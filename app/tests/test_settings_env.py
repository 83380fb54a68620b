"""How the environment is read (settings.py's pydantic-settings models), and the README's table of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chatapp.logs import JsonLog
from chatapp.quotas import parse_quotas
from chatapp.settings import (
    IDLE_TIMEOUT_CLOUD_RUN_S,
    EnvModel,
    MeterEnv,
    QuotaEnv,
    Settings,
    SettingsError,
    TracingEnv,
    read_env,
)
from chatapp.tracing import parse_tracing

APP = Path(__file__).resolve().parents[1]
KEYS = '{"acme": "sk-0123456789abcdef"}'
BASE = {"CHAT_API_KEYS": KEYS, "CHAT_CONFIG_DIR": str(APP / "configs")}
MODELS: list[type[EnvModel]] = [Settings, MeterEnv, QuotaEnv, TracingEnv]


def problems_of(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**BASE, **env})
    return err.value.problems


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CHAT_RATE_TPM": "2e5"}, "CHAT_RATE_TPM='2e5' is not an integer: set e.g. CHAT_RATE_TPM=200000"),
        ({"CHAT_MAX_MESSAGES": "1.5"}, "CHAT_MAX_MESSAGES='1.5' is not an integer: set e.g. CHAT_MAX_MESSAGES=100"),
        ({"CHAT_REQUEST_DEADLINE_S": "soon"},
         "CHAT_REQUEST_DEADLINE_S='soon' is not a number: set e.g. CHAT_REQUEST_DEADLINE_S=60"),
        ({"CHAT_MAX_BODY_BYTES": "100"}, "CHAT_MAX_BODY_BYTES='100' is below the minimum 1024: raise it"),
        ({"CHAT_TTL_DAYS": "-1"}, "CHAT_TTL_DAYS='-1' is below the minimum 0: raise it"),
        ({"PORT": "0"}, "PORT='0' is below the minimum 1: raise it"),
        ({"CHAT_ALLOW_ANONYMOUS": "sometimes"}, "CHAT_ALLOW_ANONYMOUS='sometimes' is not a boolean: use true or false"),
        ({"CHAT_STORE": "Postgres"}, "CHAT_STORE='postgres' is unknown: use 'sqlite' or 'firestore'"),
        ({"CHAT_GEMINI_BASE_URL": "localhost:9000"},
         "CHAT_GEMINI_BASE_URL='localhost:9000' must start with http:// or https://"),
        # a stage default (computed from K_SERVICE) still has a readable message when set wrong
        ({"K_SERVICE": "chat", "CHAT_IDLE_TIMEOUT_S": "long"},
         "CHAT_IDLE_TIMEOUT_S='long' is not a number: set e.g. CHAT_IDLE_TIMEOUT_S=30"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_the_fix(env: dict[str, str], expected: str) -> None:
    assert problems_of(env) == [expected]


def test_every_bad_value_is_reported_at_once_and_the_cross_checks_still_run() -> None:
    problems = problems_of({
        "CHAT_RATE_RPM": "lots", "CHAT_TRUSTED_PROXY_HOPS": "-1", "K_SERVICE": "chat",
        "CHAT_STORE": "firestore", "CHAT_PROMPT_VERSION": "v404", "CHAT_API_KEYS": "",
    })
    joined = "\n".join(problems)
    for needle in ("CHAT_RATE_RPM='lots'", "CHAT_TRUSTED_PROXY_HOPS='-1'", "needs GOOGLE_CLOUD_PROJECT",
                   "'v404' has no config file", "no way to authenticate"):
        assert needle in joined, problems
    assert len(problems) == 5 and all("\n" not in p for p in problems), problems


def test_values_are_stripped_and_a_blank_one_is_the_default() -> None:
    s = Settings.from_env({**BASE, "CHAT_RATE_RPM": " 7\n", "CHAT_STORE": " SQLite ", "CHAT_HISTORY_MESSAGES": "  ",
                           "CHAT_ALLOWED_PROMPT_VERSIONS": " v2, ,v1 ", "CHAT_LOG_CONTENT": "On"})
    assert (s.rate_rpm, s.store, s.history_messages, s.allowed_prompt_versions, s.log_content) == (
        7, "sqlite", 40, ("v2", "v1"), True)


def test_stage_dependent_defaults_follow_k_service_unless_set() -> None:
    direct = Settings.from_env(BASE)
    cloud_run = Settings.from_env({**BASE, "K_SERVICE": "chat", "GOOGLE_CLOUD_PROJECT": "p"})
    assert (direct.on_cloud_run, direct.trusted_proxy_hops, direct.idle_timeout_s) == (False, 0, 30.0)
    assert (cloud_run.on_cloud_run, cloud_run.trusted_proxy_hops, cloud_run.idle_timeout_s) == (
        True, 1, IDLE_TIMEOUT_CLOUD_RUN_S)
    assert cloud_run.vertex_project == "p"  # CHAT_VERTEX_PROJECT defaults to GOOGLE_CLOUD_PROJECT
    pinned = Settings.from_env({**BASE, "K_SERVICE": "chat", "CHAT_TRUSTED_PROXY_HOPS": "2",
                                "CHAT_IDLE_TIMEOUT_S": "90", "GOOGLE_CLOUD_PROJECT": "p", "CHAT_VERTEX_PROJECT": "v"})
    assert (pinned.trusted_proxy_hops, pinned.idle_timeout_s, pinned.vertex_project) == (2, 90.0, "v")


def test_only_the_given_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_RATE_RPM", "7")
    monkeypatch.setenv("CHAT_API_KEYS", KEYS)
    assert Settings().rate_rpm == 60  # built directly: the defaults
    assert Settings.from_env(BASE).rate_rpm == 60  # a mapping given: only that mapping
    assert Settings.from_env().rate_rpm == 7  # none given: the process environment


def test_the_process_environment_never_leaks_into_a_model_built_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_TENANT_RPM", "5")
    problems: list[str] = []
    assert read_env(QuotaEnv, {}, problems).rpm == 0 and QuotaEnv().rpm == 0 and problems == []
    assert read_env(QuotaEnv, None, problems).rpm == 5


def test_a_secret_is_never_echoed() -> None:
    s = Settings.from_env({**BASE, "CHAT_GEMINI_API_KEY": "AIza-secret-0123", "CHAT_OPENAI_API_KEY": "sk-up-0123"})
    assert "0123" not in repr(s) and "0123" not in str(s)
    problems: list[str] = []
    read_env(MeterEnv, {"CHAT_ADMIN_API_KEYS": "sk-admin-0123", "CHAT_USAGE": "nope"}, problems)
    assert problems == ["CHAT_USAGE='nope' is not a boolean: use true or false"]


def test_bad_tracing_and_quota_values_name_the_variable() -> None:
    problems: list[str] = []
    assert parse_tracing({"CHAT_TRACE_SAMPLE_RATIO": "1.5"}, Settings(), problems) is None
    assert problems == ["CHAT_TRACE_SAMPLE_RATIO='1.5' is above the maximum 1: lower it"]
    problems = []
    assert parse_tracing({"CHAT_TRACING": "Jaeger"}, Settings(), problems) is None
    assert problems == ["CHAT_TRACING='jaeger' is unknown: use 'off', 'gcp', 'console' or 'memory'"]
    problems = []
    assert parse_quotas({"CHAT_TENANT_TPM": "x", "CHAT_QUOTA_SYNC_S": "0", "CHAT_QUOTA_BACKEND": "redis"},
                        Settings(), JsonLog(), problems) is None
    assert problems == [
        "CHAT_QUOTA_BACKEND='redis' is unknown: use 'memory' or 'firestore'",
        "CHAT_TENANT_TPM='x' is not an integer: set e.g. CHAT_TENANT_TPM=0",
        "CHAT_QUOTA_SYNC_S='0' is below the minimum 0.05: raise it",
    ]


# --- the README's environment table ---------------------------------------------------------------

# read elsewhere than the models: __main__ (CHAT_HOST), the prompt configs' ${VAR}s, guardrails.py,
# and the per-tenant families settings.py / source_ranges.py scan for
NOT_IN_MODELS = {"CHAT_HOST", "CHAT_VERTEX_MODEL", "CHAT_FALLBACK_MODEL", "CHAT_API_KEY_<TENANT>",
                 "CHAT_ALLOWED_CIDRS_<TENANT>"}
SET_BY_CLOUD_RUN = {"K_SERVICE"}


def readme_table() -> dict[str, str]:
    """Variable -> its Default cell, from app/README.md's "Environment" table."""
    text = (APP / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Environment\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_<>]+)`", cells[0])
        defaults = [d.strip() for d in cells[1].split(" / ")]
        for i, name in enumerate(names):
            rows[name] = defaults[i] if len(defaults) == len(names) else cells[1]
    return rows


def model_variables() -> dict[str, Any]:
    """Variable -> its default, for every variable a settings model reads."""
    found: dict[str, Any] = {}
    for model in MODELS:
        for field in model.model_fields.values():
            if isinstance(field.validation_alias, str):
                found[field.validation_alias] = field.get_default(call_default_factory=True, validated_data={})
    return found


def test_the_readme_table_lists_exactly_the_variables_read() -> None:
    table, read = set(readme_table()), set(model_variables())
    assert read - SET_BY_CLOUD_RUN - table == set(), "read but missing from app/README.md's Environment table"
    assert table - read - NOT_IN_MODELS == set(), "in app/README.md's Environment table but read by nothing"


def test_the_readme_table_shows_the_defaults() -> None:
    table = readme_table()
    checked = 0
    for name, default in model_variables().items():
        cell = table.get(name, "")
        literal = re.fullmatch(r"`([^`]*)`", cell)
        if default is None or isinstance(default, (tuple, dict, Path)) or not literal:
            continue  # '–', a stage default written out, a path or another variable: read by eye
        shown = literal.group(1)
        if isinstance(default, bool):
            assert shown == str(default).lower(), name
        elif isinstance(default, (int, float)):
            assert float(shown) == default, name
        else:
            assert shown == default, name
        checked += 1
    assert checked >= 30


def test_the_readme_shows_the_shipped_configs_model_defaults() -> None:
    """CHAT_VERTEX_MODEL / CHAT_FALLBACK_MODEL are read by the chains' `${VAR:-default}` (prompts.py)."""
    table = readme_table()
    for name in ("CHAT_VERTEX_MODEL", "CHAT_FALLBACK_MODEL"):
        shipped = {m for path in sorted((APP / "configs").glob("*.yaml"))
                   for m in re.findall(r"\$\{" + name + r":-([^}]+)\}", path.read_text(encoding="utf-8"))}
        assert shipped and table[name] in {f"`{m}`" for m in shipped}, (name, table[name], shipped)
        readme = (APP / "README.md").read_text(encoding="utf-8")
        assert all(m in shipped for m in re.findall(r"\$\{" + name + r":-([^}]+)\}", readme)), name


def test_every_variable_the_stacks_set_on_the_service_is_read() -> None:
    """The CHAT_* names the stagewise stacks and components put in the Cloud Run service's env."""
    stagewise = APP.parent / "stagewise"  # app/ lives in the stagewise checkout: the tests run from it
    assert stagewise.is_dir(), stagewise
    set_by_stacks = {name for path in stagewise.rglob("*.py")
                     for name in re.findall(r'"(CHAT_[A-Z0-9_]*[A-Z0-9])"', path.read_text(encoding="utf-8"))}
    guardrails = set(re.findall(r'"(CHAT_GUARDRAILS_[A-Z_]*[A-Z])"',
                                (APP / "src" / "chatapp" / "guardrails.py").read_text(encoding="utf-8")))
    assert {"CHAT_STORE", "CHAT_TRUSTED_PROXY_HOPS", "CHAT_QUOTA_BACKEND"} <= set_by_stacks  # the scan finds them
    assert set_by_stacks - set(model_variables()) - NOT_IN_MODELS - guardrails == set()
