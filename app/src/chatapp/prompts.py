"""Versioned prompt/model configs: app/configs/<version>.yaml.

A config holds the system prompt, generation defaults and the model chain (primary first, then
fallbacks). `${VAR}` / `${VAR:-default}` in a chain entry is read from the environment, so one
file serves a stage with a self-hosted primary (CHAT_OPENAI_MODEL) and one without: entries whose
model resolves empty or whose provider is not configured in this revision are dropped at startup,
and an entry repeating an earlier one (e.g. CHAT_FALLBACK_MODEL equal to CHAT_VERTEX_MODEL) too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .settings import Settings, SettingsError

_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class Generation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)


class ChainEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: Literal["openai", "vertex"]
    model: str
    base_url: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=1, ge=0, le=5)


class PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    system_prompt: str = ""
    generation: Generation = Generation()
    chain: list[ChainEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Route:
    """One usable model in a chain, with its upstream resolved."""

    provider: str
    model: str
    base_url: str | None
    timeout_s: float
    max_retries: int

    @property
    def key(self) -> str:
        return f"{self.provider}|{self.base_url or ''}|{self.model}"


@dataclass(frozen=True)
class PromptConfig:
    version: str
    system_prompt: str
    generation: Generation
    chain: tuple[Route, ...]

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.model for r in self.chain))

    def routes_for(self, requested: str) -> tuple[Route, ...]:
        """The chain to try: the requested model first (if it is in the chain), then the rest."""
        if requested in ("default", "auto", self.version):
            return self.chain
        first = [r for r in self.chain if r.model == requested]
        return tuple(first + [r for r in self.chain if r.model != requested])


def _expand(value: str, env: Mapping[str, str]) -> str:
    """${VAR} is the variable or empty; ${VAR:-default} falls back when it is unset or empty."""
    return _VAR.sub(lambda m: env.get(m.group(1), "").strip() or (m.group(2) or ""), value)


def _provider_available(provider: str, settings: Settings, base_url: str | None) -> bool:
    if provider == "openai":
        return bool(base_url)
    return bool(settings.gemini_base_url or settings.gemini_api_key or settings.vertex_project)


def load_prompt(version: str, settings: Settings, env: Mapping[str, str] | None = None) -> PromptConfig:
    env = os.environ if env is None else env
    path = Path(settings.config_dir) / f"{version}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = PromptFile.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError([f"{path}: cannot read prompt config: {exc}"]) from exc
    except ValidationError as exc:
        problems = [f"{path}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SettingsError(problems) from exc
    routes: list[Route] = []
    for entry in parsed.chain:
        model = _expand(entry.model, env).strip()
        base_url = _expand(entry.base_url, env).strip() if entry.base_url else None
        if entry.provider == "openai" and not base_url:
            base_url = settings.openai_base_url
        duplicate = any(r.provider == entry.provider and r.model == model and r.base_url == base_url for r in routes)
        if model and not duplicate and _provider_available(entry.provider, settings, base_url):
            routes.append(Route(entry.provider, model, base_url, entry.timeout_s, entry.max_retries))
    if not routes:
        raise SettingsError([
            f"{path}: no model in the chain is usable in this environment: set CHAT_OPENAI_BASE_URL "
            "and CHAT_OPENAI_MODEL for an OpenAI-compatible server, or CHAT_VERTEX_PROJECT / "
            "GOOGLE_CLOUD_PROJECT (or CHAT_GEMINI_API_KEY) for Gemini"
        ])
    return PromptConfig(version, parsed.system_prompt.strip(), parsed.generation, tuple(routes))


def load_all(settings: Settings, env: Mapping[str, str] | None = None) -> dict[str, PromptConfig]:
    configs: dict[str, PromptConfig] = {}
    problems: list[str] = []
    for version in settings.all_prompt_versions:
        try:
            configs[version] = load_prompt(version, settings, env)
        except SettingsError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SettingsError(problems)
    return configs
