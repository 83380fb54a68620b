"""The shipped prompt configs under the environments the stacks set, and settings validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatapp.prompts import load_all, load_prompt
from chatapp.settings import Settings, SettingsError

APP = Path(__file__).resolve().parents[1]
KEYS = '{"acme": "sk-0123456789abcdef"}'


def settings_for(env: dict[str, str]) -> Settings:
    return Settings.from_env({"CHAT_API_KEYS": KEYS, "CHAT_CONFIG_DIR": str(APP / "configs"), **env})


def chain(env: dict[str, str], version: str = "v1") -> list[tuple[str, str]]:
    full = {"CHAT_API_KEYS": KEYS, **env}
    config = load_prompt(version, settings_for(env), full)
    return [(r.provider, r.model) for r in config.chain]


def test_mvp_gemini_only_uses_the_stack_models() -> None:
    env = {"GOOGLE_CLOUD_PROJECT": "p", "CHAT_VERTEX_MODEL": "gemini-2.5-pro", "CHAT_FALLBACK_MODEL": "gemini-2.5-flash"}
    assert chain(env) == [("vertex", "gemini-2.5-pro"), ("vertex", "gemini-2.5-flash")]


def test_defaults_when_the_stack_sets_no_model() -> None:
    assert chain({"GOOGLE_CLOUD_PROJECT": "p"}) == [("vertex", "gemini-3.1-flash-lite"), ("vertex", "gemini-3.5-flash")]


def test_self_hosted_primary_with_gemini_fallback() -> None:
    env = {"GOOGLE_CLOUD_PROJECT": "p", "CHAT_OPENAI_BASE_URL": "http://10.0.0.5:8000/v1",
           "CHAT_OPENAI_MODEL": "meta-llama/Llama-3.1-8B-Instruct", "CHAT_VERTEX_MODEL": "gemini-2.5-flash"}
    assert chain(env) == [("openai", "meta-llama/Llama-3.1-8B-Instruct"), ("vertex", "gemini-2.5-flash"),
                          ("vertex", "gemini-3.5-flash")]
    config = load_prompt("v1", settings_for(env), {"CHAT_API_KEYS": KEYS, **env})
    assert config.chain[0].base_url == "http://10.0.0.5:8000/v1"


def test_same_primary_and_fallback_is_one_entry() -> None:
    env = {"GOOGLE_CLOUD_PROJECT": "p", "CHAT_VERTEX_MODEL": "gemini-2.5-flash", "CHAT_FALLBACK_MODEL": "gemini-2.5-flash"}
    assert chain(env) == [("vertex", "gemini-2.5-flash")]


def test_self_hosted_only_without_a_project() -> None:
    env = {"CHAT_OPENAI_BASE_URL": "http://vllm:8000/v1", "CHAT_OPENAI_MODEL": "m"}
    assert chain(env) == [("openai", "m")]
    assert chain(env, "v2") == [("openai", "m")]


def test_no_usable_model_is_a_startup_error_saying_what_to_set() -> None:
    with pytest.raises(SettingsError) as err:
        load_all(settings_for({}), {})
    assert "CHAT_OPENAI_BASE_URL" in str(err.value) and "GOOGLE_CLOUD_PROJECT" in str(err.value)


def test_bad_config_file_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text("system_prompt: hi\ngeneration: {temperature: 9}\nchain: []\nextra: 1\n")
    settings = Settings.from_env({"CHAT_API_KEYS": KEYS, "CHAT_CONFIG_DIR": str(tmp_path)})
    with pytest.raises(SettingsError) as err:
        load_prompt("v1", settings, {})
    text = str(err.value)
    assert "generation.temperature" in text and "chain" in text and "extra" in text


def test_settings_collect_every_problem_naming_the_variable() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({
            "CHAT_STORE": "postgres", "CHAT_RATE_RPM": "0", "CHAT_LOG_CONTENT": "maybe",
            "CHAT_OPENAI_BASE_URL": "vllm:8000", "CHAT_PROMPT_VERSION": "../etc/passwd",
            "CHAT_ALLOWED_PROMPT_VERSIONS": "v1,v7", "CHAT_CONFIG_DIR": str(APP / "configs"),
        })
    text = str(err.value)
    for needle in ("CHAT_STORE", "CHAT_RATE_RPM", "CHAT_LOG_CONTENT", "CHAT_OPENAI_BASE_URL", "'../etc/passwd'",
                   "'v7'", "CHAT_API_KEYS"):
        assert needle in text, needle


def test_firestore_needs_a_project() -> None:
    with pytest.raises(SettingsError) as err:
        settings_for({"CHAT_STORE": "firestore"})
    assert "GOOGLE_CLOUD_PROJECT" in str(err.value)


def test_shipped_defaults() -> None:
    s = settings_for({})
    assert (s.store, s.sqlite_path, s.prompt_version, s.shutdown_grace_s, s.port) == ("sqlite", "./chat.db", "v1", 8.0, 8080)
    assert s.allow_anonymous is False and s.log_content is False
    assert "sk-0123456789abcdef" not in repr(s)
