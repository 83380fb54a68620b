"""Settings from the environment, validated once at startup.

Each variable is a field of a pydantic-settings model below (its env name is the field's
`validation_alias`). Every problem is collected and reported together, one line each naming the
variable and the fix, so a bad Cloud Run revision fails its startup probe with a readable reason
instead of a traceback: pydantic's errors are turned into those lines by `read_env`, and the checks
that involve several variables run afterwards on the values that did validate.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from .source_ranges import SourceRanges, read_env as read_source_ranges

_SOURCE_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# app/configs when run from the source tree; ./configs for an installed package (the image sets
# CHAT_CONFIG_DIR=/app/configs explicitly)
DEFAULT_CONFIG_DIR = _SOURCE_CONFIGS if _SOURCE_CONFIGS.is_dir() else Path("configs")

# Cloud Run sets K_SERVICE (with K_REVISION, K_CONFIGURATION) in every service container:
# https://cloud.google.com/run/docs/reference/container-contract ("Environment variables").
# Its front end is then the only client the app talks to, which decides two defaults below.
CLOUD_RUN_MARKER = "K_SERVICE"
# Google's front ends keep idle connections to the container for up to 600 s: stay open longer
# there, so the front end closes first; run directly, an idle connection is dropped sooner.
IDLE_TIMEOUT_CLOUD_RUN_S = 620.0
IDLE_TIMEOUT_DIRECT_S = 30.0
PARTNER_KEY_PREFIX = "CHAT_API_KEY_"
_PARTNER_SUFFIX = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_OWN_NAMES = ("CHAT_", "GOOGLE_CLOUD_PROJECT", "PORT", CLOUD_RUN_MARKER)  # what the models may read


def on_cloud_run(env: Mapping[str, str]) -> bool:
    return bool((env.get(CLOUD_RUN_MARKER) or "").strip())


class SettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n  - " + "\n  - ".join(problems))


# --- reading a model from an environment --------------------------------------------------------

# The environment the models read: `read_env` sets it (os.environ in the service, a dict in tests),
# so a model built directly (`Settings()`) holds the defaults, whatever the process environment.
_ENV: ContextVar[Mapping[str, str]] = ContextVar("chatapp_env", default={})


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over `_ENV`: values stripped (a secret written with
    `echo` ends in a newline), a blank value is unset, names matched exactly."""

    # The one hook overridden: the variables the source reads (os.environ in pydantic-settings);
    # its alias matching and JSON decoding of complex fields stay as they are.
    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k: v.strip() for k, v in _ENV.get().items() if k.startswith(_OWN_NAMES) and v.strip()}


class EnvModel(BaseSettings):
    """Base of the settings models: read only through `read_env`, immutable once read."""

    model_config = SettingsConfigDict(case_sensitive=True, frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _Environment(settings_cls)


M = TypeVar("M", bound=EnvModel)


@contextmanager
def _reading(env: Mapping[str, str]) -> Iterator[None]:
    token = _ENV.set(env)
    try:
        yield
    finally:
        _ENV.reset(token)


def read_env(model: type[M], env: Mapping[str, str] | None, problems: list[str], **values: Any) -> M:
    """`model` read from `env` (os.environ when None). A variable that does not validate adds one
    line to `problems` and its default is used, so the checks after this one still run and every
    problem is reported at once. `values` are set directly (not read from the environment)."""
    env = os.environ if env is None else env
    with _reading(env):
        try:
            return model(**values)
        except ValidationError as exc:
            bad = set()
            for error in exc.errors():
                if error["type"] == "default_factory_not_called":
                    continue  # a stage default waits for a variable above that did not validate
                name = str(error["loc"][0]) if error["loc"] else ""
                bad.add(name)
                problems.append(_describe(model, name, error))
        with _reading({k: v for k, v in env.items() if k not in bad}):
            return model(**values)


def _describe(model: type[EnvModel], name: str, error: Any) -> str:
    """One pydantic error as 'VAR=value is ...: fix' (never echoing a secret's value)."""
    field = next((f for f in model.model_fields.values() if f.validation_alias == name), None)
    raw = error.get("input")
    shown = f"{name}={raw!r}" if field is None or field.repr else f"{name} (value hidden)"
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("int_parsing", "int_from_float", "float_parsing"):
        what = "a number" if kind == "float_parsing" else "an integer"
        example = _default(field)
        return f"{shown} is not {what}: set e.g. {name}={example:g}" if example is not None else f"{shown} is not {what}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{shown} is below the minimum {ctx.get('ge', ctx.get('gt')):g}: raise it"
    if kind in ("less_than_equal", "less_than"):
        return f"{shown} is above the maximum {ctx.get('le', ctx.get('lt')):g}: lower it"
    if kind == "bool_parsing":
        return f"{shown} is not a boolean: use true or false"
    if kind == "literal_error":
        return f"{shown} is unknown: use {ctx.get('expected', '')}"
    if kind == "value_error":
        return f"{shown} {error['msg'].removeprefix('Value error, ')}"
    return f"{shown}: {error['msg']}"


def _default(field: FieldInfo | None) -> float | None:
    if field is None:
        return None
    value = field.get_default(call_default_factory=True, validated_data={})
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _comma_list(value: Any) -> Any:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else value


def _present(value: Any) -> Any:
    return bool(value.strip()) if isinstance(value, str) else value


def env(name: str, default: Any = None, **constraints: Any) -> Any:
    """A field read from the variable `name`."""
    return Field(default, validation_alias=name, **constraints)


def stage_default(name: str, cloud_run: Any, direct: Any, **constraints: Any) -> Any:
    """A field whose default depends on running on Cloud Run (the `on_cloud_run` field, read before)."""
    return Field(default_factory=lambda data: cloud_run if data.get("on_cloud_run") else direct,
                 validation_alias=name, **constraints)


# --- the app's settings ---------------------------------------------------------------------------

class Settings(EnvModel):
    on_cloud_run: Annotated[bool, BeforeValidator(_present)] = env(CLOUD_RUN_MARKER, False)
    store: Annotated[Literal["sqlite", "firestore"], BeforeValidator(_lower)] = env("CHAT_STORE", "sqlite")
    sqlite_path: str = env("CHAT_SQLITE_PATH", "./chat.db")
    firestore_database: str = env("CHAT_FIRESTORE_DATABASE", "(default)")
    google_cloud_project: str | None = env("GOOGLE_CLOUD_PROJECT")
    prompt_version: str = env("CHAT_PROMPT_VERSION", "v1")
    allowed_prompt_versions: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)] = env(
        "CHAT_ALLOWED_PROMPT_VERSIONS", ())
    config_dir: Path = env("CHAT_CONFIG_DIR", DEFAULT_CONFIG_DIR)
    vertex_project: str | None = Field(default_factory=lambda data: data.get("google_cloud_project"),
                                       validation_alias="CHAT_VERTEX_PROJECT")
    vertex_location: str = env("CHAT_VERTEX_LOCATION", "us-central1")
    gemini_api_key: str | None = env("CHAT_GEMINI_API_KEY", repr=False)
    gemini_base_url: str | None = env("CHAT_GEMINI_BASE_URL")
    openai_base_url: str | None = env("CHAT_OPENAI_BASE_URL")
    openai_model: str | None = env("CHAT_OPENAI_MODEL")
    openai_api_key: str | None = env("CHAT_OPENAI_API_KEY", repr=False)
    # how the app proves its identity to the OpenAI-compatible server (set by the stacks)
    openai_auth: Annotated[Literal["none", "google-access-token", "google-id-token"], BeforeValidator(_lower)] = env(
        "CHAT_OPENAI_AUTH", "none")
    openai_audience: str | None = env("CHAT_OPENAI_AUDIENCE")
    api_keys: str | None = env("CHAT_API_KEYS", repr=False)
    api_keys_file: Path | None = env("CHAT_API_KEYS_FILE")  # a Secret Manager volume mount
    # not variables of their own: (variable, key) for each CHAT_API_KEY_<TENANT>, sorted by
    # variable, and each CHAT_ALLOWED_CIDRS_<TENANT> (see from_env)
    partner_api_keys: tuple[tuple[str, str], ...] = Field((), repr=False)
    source_ranges: SourceRanges = Field(default_factory=SourceRanges)
    allow_anonymous: bool = env("CHAT_ALLOW_ANONYMOUS", False)
    rate_rpm: int = env("CHAT_RATE_RPM", 60, ge=1)
    rate_tpm: int = env("CHAT_RATE_TPM", 200_000, ge=1)
    anon_rpm: int = env("CHAT_ANON_RPM", 10, ge=1)
    anon_tpm: int = env("CHAT_ANON_TPM", 20_000, ge=1)
    # behind Cloud Run the rightmost X-Forwarded-For entry is the one its front end added (see
    # api.client_ip); run directly, the header is the client's own: not trusted
    trusted_proxy_hops: int = stage_default("CHAT_TRUSTED_PROXY_HOPS", 1, 0, ge=0)
    log_content: bool = env("CHAT_LOG_CONTENT", False)
    ttl_days: int | None = env("CHAT_TTL_DAYS", None, ge=0)  # 0 = none
    max_body_bytes: int = env("CHAT_MAX_BODY_BYTES", 1_048_576, ge=1024)
    max_messages: int = env("CHAT_MAX_MESSAGES", 100, ge=1)
    max_content_chars: int = env("CHAT_MAX_CONTENT_CHARS", 32_000, ge=1)
    max_output_tokens: int = env("CHAT_MAX_OUTPUT_TOKENS", 8192, ge=1)
    request_deadline_s: float = env("CHAT_REQUEST_DEADLINE_S", 60.0, ge=0.1)
    keepalive_s: float = env("CHAT_KEEPALIVE_S", 15.0, ge=0.05)
    shutdown_grace_s: float = env("CHAT_SHUTDOWN_GRACE_S", 8.0, ge=0.5)
    breaker_failures: int = env("CHAT_BREAKER_FAILURES", 5, ge=1)
    breaker_cooldown_s: float = env("CHAT_BREAKER_COOLDOWN_S", 30.0, ge=0.05)
    history_messages: int = env("CHAT_HISTORY_MESSAGES", 40, ge=0)
    store_timeout_s: float = env("CHAT_STORE_TIMEOUT_S", 5.0, ge=0.1)
    max_reply_chars: int = env("CHAT_MAX_REPLY_CHARS", 100_000, ge=1)
    read_timeout_s: float = env("CHAT_READ_TIMEOUT_S", 30.0, ge=0.1)
    idle_timeout_s: float = stage_default("CHAT_IDLE_TIMEOUT_S", IDLE_TIMEOUT_CLOUD_RUN_S, IDLE_TIMEOUT_DIRECT_S,
                                          ge=0.1)
    port: int = env("PORT", 8080, ge=1)

    @field_validator("ttl_days")
    @classmethod
    def _zero_is_none(cls, value: int | None) -> int | None:
        return value or None

    @field_validator("openai_base_url", "gemini_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def all_prompt_versions(self) -> tuple[str, ...]:
        versions = list(self.allowed_prompt_versions)
        if self.prompt_version not in versions:
            versions.insert(0, self.prompt_version)
        return tuple(versions)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        problems: list[str] = []
        settings = read_env(cls, env, problems, partner_api_keys=_partner_api_keys(env, problems),
                            source_ranges=read_source_ranges(env, problems))
        settings = settings.model_copy(update={"api_keys": _api_keys(settings, problems)})
        _check(settings, problems)
        if problems:
            raise SettingsError(problems)
        return settings


def _api_keys(s: Settings, problems: list[str]) -> str | None:
    """CHAT_API_KEYS, or the file CHAT_API_KEYS_FILE names."""
    if s.api_keys and s.api_keys_file:
        problems.append("CHAT_API_KEYS and CHAT_API_KEYS_FILE are both set: keep one")
    if s.api_keys or not s.api_keys_file:
        return s.api_keys
    try:
        return s.api_keys_file.read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        problems.append(f"CHAT_API_KEYS_FILE={str(s.api_keys_file)!r} cannot be read ({exc.strerror}): "
                        "mount the secret there")
        return None


def _partner_api_keys(env: Mapping[str, str], problems: list[str]) -> tuple[tuple[str, str], ...]:
    """CHAT_API_KEY_<TENANT>=<one key>: one Secret Manager secret per partner (staging stack)."""
    found: list[tuple[str, str]] = []
    for name in sorted(env):
        if not name.startswith(PARTNER_KEY_PREFIX):
            continue
        if not _PARTNER_SUFFIX.match(name[len(PARTNER_KEY_PREFIX):]):
            problems.append(
                f"{name} does not name a tenant: use CHAT_API_KEY_<TENANT> with letters, digits and '_' "
                "(CHAT_API_KEY_ACME_CORP is tenant 'acme-corp')"
            )
            continue
        key = env[name].strip()  # a secret written with `echo` ends in a newline
        if not key:
            problems.append(f"{name} is empty: add a version with the partner's key to its secret")
        elif any(c.isspace() for c in key):
            problems.append(f"{name} holds more than one word: it takes exactly one key (or 'sha256:<hex>')")
        else:
            found.append((name, key))
    return tuple(found)


def _check(s: Settings, problems: list[str]) -> None:
    """The rules that involve more than one variable."""
    if s.store == "firestore" and not s.google_cloud_project:
        problems.append("CHAT_STORE=firestore needs GOOGLE_CLOUD_PROJECT: set it to the project id")
    for version in sorted({s.prompt_version, *s.allowed_prompt_versions}):
        if not _safe_name(version):
            problems.append(
                f"prompt version {version!r} (CHAT_PROMPT_VERSION / CHAT_ALLOWED_PROMPT_VERSIONS) "
                "must be letters, digits, '.', '_' or '-'"
            )
        elif not (s.config_dir / f"{version}.yaml").is_file():
            problems.append(
                f"prompt version {version!r} has no config file {s.config_dir / (version + '.yaml')}: "
                "add it or fix CHAT_PROMPT_VERSION / CHAT_ALLOWED_PROMPT_VERSIONS / CHAT_CONFIG_DIR"
            )
    mode = s.openai_auth
    if mode == "google-id-token" and not s.openai_audience:
        problems.append(
            "CHAT_OPENAI_AUTH=google-id-token needs CHAT_OPENAI_AUDIENCE: set it to the upstream's "
            "Cloud Run URL (https://<service>-<hash>.<region>.run.app)"
        )
    if s.openai_audience and mode != "google-id-token":
        problems.append(
            f"CHAT_OPENAI_AUDIENCE is set but CHAT_OPENAI_AUTH={mode!r}: the audience is only used with "
            "CHAT_OPENAI_AUTH=google-id-token; set that or drop the audience"
        )
    if mode != "none" and s.openai_api_key:
        problems.append(
            f"CHAT_OPENAI_API_KEY and CHAT_OPENAI_AUTH={mode} both set the Authorization header: keep one"
        )
    if mode != "none" and not s.openai_base_url:
        problems.append(f"CHAT_OPENAI_AUTH={mode} is set without CHAT_OPENAI_BASE_URL: set the server's URL")
    if not s.api_keys and not s.partner_api_keys and not s.allow_anonymous:
        problems.append(
            "no way to authenticate: set CHAT_API_KEYS (JSON {\"tenant\": \"key\"}), "
            "CHAT_API_KEY_<TENANT>=<key> or CHAT_ALLOW_ANONYMOUS=true"
        )


def _safe_name(value: str) -> bool:
    return bool(value) and all(c.isalnum() or c in "._-" for c in value) and not value.startswith(".")


# --- the variables of the optional parts (read where those parts are built) -------------------------

class MeterEnv(EnvModel):
    """metering.build_meter."""

    usage: bool = env("CHAT_USAGE", True)  # usage records on
    # comma-separated keys (plain or sha256:<hex>) that read every tenant's usage
    admin_api_keys: str | None = env("CHAT_ADMIN_API_KEYS", repr=False)


def _tenant_quotas(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    import orjson

    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError('must be JSON {"<tenant>": {"rpm": 10, "daily_usd": 5}}')
    return data


class QuotaEnv(EnvModel):
    """quotas.parse_quotas: the tenant defaults (0 = no limit), the per-tenant overrides, the backend."""

    backend: Annotated[Literal["memory", "firestore"], BeforeValidator(_lower)] = env("CHAT_QUOTA_BACKEND", "memory")
    rpm: int = env("CHAT_TENANT_RPM", 0, ge=0)
    tpm: int = env("CHAT_TENANT_TPM", 0, ge=0)
    daily_tokens: int = env("CHAT_TENANT_DAILY_TOKENS", 0, ge=0)
    monthly_tokens: int = env("CHAT_TENANT_MONTHLY_TOKENS", 0, ge=0)
    daily_usd: float = env("CHAT_TENANT_DAILY_USD", 0.0, ge=0)
    monthly_usd: float = env("CHAT_TENANT_MONTHLY_USD", 0.0, ge=0)
    # {"<tenant>": {"rpm": 10, "daily_usd": 5, ...}}; each entry's names and values are checked by quotas
    tenant_quotas: Annotated[dict[str, dict[str, Any]], NoDecode, BeforeValidator(_tenant_quotas)] = Field(
        default_factory=dict, validation_alias="CHAT_TENANT_QUOTAS")
    sync_s: float = env("CHAT_QUOTA_SYNC_S", 1.0, ge=0.05)
    window_s: float = env("CHAT_QUOTA_WINDOW_S", 60.0, ge=1.0)


class TracingEnv(EnvModel):
    """tracing.build_tracing; the mode's default (gcp on Cloud Run, else off) is decided there."""

    mode: Annotated[Literal["off", "gcp", "console", "memory"] | None, BeforeValidator(_lower)] = env("CHAT_TRACING")
    sample_ratio: float = env("CHAT_TRACE_SAMPLE_RATIO", 1.0, ge=0.0, le=1.0)
