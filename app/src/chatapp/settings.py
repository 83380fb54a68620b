"""Settings from the environment, validated once at startup.

Every problem is collected and reported together, each naming the variable and the fix, so a
bad Cloud Run revision fails its startup probe with a readable reason instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .source_ranges import SourceRanges, read_env

_SOURCE_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# app/configs when run from the source tree; ./configs for an installed package (the image sets
# CHAT_CONFIG_DIR=/app/configs explicitly)
DEFAULT_CONFIG_DIR = _SOURCE_CONFIGS if _SOURCE_CONFIGS.is_dir() else Path("configs")


class SettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class Settings:
    store: str = "sqlite"
    sqlite_path: str = "./chat.db"
    firestore_database: str = "(default)"
    google_cloud_project: str | None = None
    prompt_version: str = "v1"
    allowed_prompt_versions: tuple[str, ...] = ()
    config_dir: Path = DEFAULT_CONFIG_DIR
    vertex_project: str | None = None
    vertex_location: str = "us-central1"
    gemini_api_key: str | None = field(default=None, repr=False)
    gemini_base_url: str | None = None
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_auth: str = "none"  # none | google-access-token | google-id-token
    openai_audience: str | None = None
    api_keys: str | None = field(default=None, repr=False)
    # (variable, key) for each CHAT_API_KEY_<TENANT>, sorted by variable
    partner_api_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    source_ranges: SourceRanges = field(default_factory=SourceRanges)  # CHAT_ALLOWED_CIDRS_<TENANT>
    allow_anonymous: bool = False
    rate_rpm: int = 60
    rate_tpm: int = 200_000
    anon_rpm: int = 10
    anon_tpm: int = 20_000
    trusted_proxy_hops: int = 0
    log_content: bool = False
    ttl_days: int | None = None
    max_body_bytes: int = 1_048_576
    max_messages: int = 100
    max_content_chars: int = 32_000
    max_output_tokens: int = 8192
    request_deadline_s: float = 60.0
    keepalive_s: float = 15.0
    shutdown_grace_s: float = 8.0
    breaker_failures: int = 5
    breaker_cooldown_s: float = 30.0
    history_messages: int = 40
    store_timeout_s: float = 5.0
    max_reply_chars: int = 100_000
    read_timeout_s: float = 30.0
    idle_timeout_s: float = 30.0
    on_cloud_run: bool = False
    port: int = 8080

    @property
    def all_prompt_versions(self) -> tuple[str, ...]:
        versions = list(self.allowed_prompt_versions)
        if self.prompt_version not in versions:
            versions.insert(0, self.prompt_version)
        return tuple(versions)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        return _Parser(os.environ if env is None else env).build()


# Cloud Run sets K_SERVICE (with K_REVISION, K_CONFIGURATION) in every service container:
# https://cloud.google.com/run/docs/reference/container-contract ("Environment variables").
# Its front end is then the only client the app talks to, which decides two defaults below.
CLOUD_RUN_MARKER = "K_SERVICE"
# Google's front ends keep idle connections to the container for up to 600 s: stay open longer
# there, so the front end closes first; run directly, an idle connection is dropped sooner.
IDLE_TIMEOUT_CLOUD_RUN_S = 620.0
IDLE_TIMEOUT_DIRECT_S = 30.0


def on_cloud_run(env: Mapping[str, str]) -> bool:
    return bool((env.get(CLOUD_RUN_MARKER) or "").strip())


_TRUE = {"1", "true", "yes", "on"}
PARTNER_KEY_PREFIX = "CHAT_API_KEY_"
OPENAI_AUTH_MODES = ("none", "google-access-token", "google-id-token")
_PARTNER_SUFFIX = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_FALSE = {"0", "false", "no", "off", ""}


class _Parser:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.env.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.problems.append(f"{name}={raw!r} is not a boolean: use true or false")
        return default

    def number(self, name: str, default: float, *, minimum: float, integer: bool = True) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            kind = "an integer" if integer else "a number"
            self.problems.append(f"{name}={raw!r} is not {kind}: set e.g. {name}={default:g}")
            return default
        if value < minimum:
            self.problems.append(f"{name}={raw!r} is below the minimum {minimum:g}: raise it")
            return default
        return value

    def api_keys(self) -> str | None:
        """CHAT_API_KEYS, or the file CHAT_API_KEYS_FILE names (a Secret Manager volume mount)."""
        inline = self.text("CHAT_API_KEYS")
        path = self.text("CHAT_API_KEYS_FILE")
        if inline and path:
            self.problems.append("CHAT_API_KEYS and CHAT_API_KEYS_FILE are both set: keep one")
        if inline or not path:
            return inline
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            self.problems.append(f"CHAT_API_KEYS_FILE={path!r} cannot be read ({exc.strerror}): mount the secret there")
            return None

    def openai_auth(self) -> tuple[str, str | None]:
        """How the app proves its identity to the OpenAI-compatible server (set by the stacks)."""
        mode = (self.text("CHAT_OPENAI_AUTH", "none") or "none").lower()
        audience = self.text("CHAT_OPENAI_AUDIENCE")
        if mode not in OPENAI_AUTH_MODES:
            self.problems.append(
                f"CHAT_OPENAI_AUTH={mode!r} is unknown: use one of {', '.join(OPENAI_AUTH_MODES)}"
            )
            return "none", None
        if mode == "google-id-token" and not audience:
            self.problems.append(
                "CHAT_OPENAI_AUTH=google-id-token needs CHAT_OPENAI_AUDIENCE: set it to the upstream's "
                "Cloud Run URL (https://<service>-<hash>.<region>.run.app)"
            )
        if audience and mode != "google-id-token":
            self.problems.append(
                f"CHAT_OPENAI_AUDIENCE is set but CHAT_OPENAI_AUTH={mode!r}: the audience is only used with "
                "CHAT_OPENAI_AUTH=google-id-token; set that or drop the audience"
            )
        if mode != "none" and self.text("CHAT_OPENAI_API_KEY"):
            self.problems.append(
                f"CHAT_OPENAI_API_KEY and CHAT_OPENAI_AUTH={mode} both set the Authorization header: keep one"
            )
        if mode != "none" and not self.text("CHAT_OPENAI_BASE_URL"):
            self.problems.append(f"CHAT_OPENAI_AUTH={mode} is set without CHAT_OPENAI_BASE_URL: set the server's URL")
        return mode, audience if mode == "google-id-token" else None

    def partner_api_keys(self) -> tuple[tuple[str, str], ...]:
        """CHAT_API_KEY_<TENANT>=<one key>: one Secret Manager secret per partner (staging stack)."""
        found: list[tuple[str, str]] = []
        for name in sorted(self.env):
            if not name.startswith(PARTNER_KEY_PREFIX):
                continue
            suffix = name[len(PARTNER_KEY_PREFIX):]
            if not _PARTNER_SUFFIX.match(suffix):
                self.problems.append(
                    f"{name} does not name a tenant: use CHAT_API_KEY_<TENANT> with letters, digits and '_' "
                    "(CHAT_API_KEY_ACME_CORP is tenant 'acme-corp')"
                )
                continue
            key = self.env[name].strip()  # a secret written with `echo` ends in a newline
            if not key:
                self.problems.append(f"{name} is empty: add a version with the partner's key to its secret")
            elif any(c.isspace() for c in key):
                self.problems.append(f"{name} holds more than one word: it takes exactly one key (or 'sha256:<hex>')")
            else:
                found.append((name, key))
        return tuple(found)

    def build(self) -> Settings:
        store = (self.text("CHAT_STORE", "sqlite") or "sqlite").lower()
        if store not in ("sqlite", "firestore"):
            self.problems.append(f"CHAT_STORE={store!r} is unknown: use 'sqlite' or 'firestore'")
        project = self.text("GOOGLE_CLOUD_PROJECT")
        if store == "firestore" and not project:
            self.problems.append("CHAT_STORE=firestore needs GOOGLE_CLOUD_PROJECT: set it to the project id")
        allowed = tuple(v.strip() for v in (self.text("CHAT_ALLOWED_PROMPT_VERSIONS") or "").split(",") if v.strip())
        config_dir = Path(self.text("CHAT_CONFIG_DIR") or DEFAULT_CONFIG_DIR)
        prompt_version = self.text("CHAT_PROMPT_VERSION", "v1") or "v1"
        for version in {prompt_version, *allowed}:
            if not _safe_name(version):
                self.problems.append(
                    f"prompt version {version!r} (CHAT_PROMPT_VERSION / CHAT_ALLOWED_PROMPT_VERSIONS) "
                    "must be letters, digits, '.', '_' or '-'"
                )
            elif not (config_dir / f"{version}.yaml").is_file():
                self.problems.append(
                    f"prompt version {version!r} has no config file {config_dir / (version + '.yaml')}: "
                    "add it or fix CHAT_PROMPT_VERSION / CHAT_ALLOWED_PROMPT_VERSIONS / CHAT_CONFIG_DIR"
                )
        for url_var in ("CHAT_OPENAI_BASE_URL", "CHAT_GEMINI_BASE_URL"):
            url = self.text(url_var)
            if url and not url.startswith(("http://", "https://")):
                self.problems.append(f"{url_var}={url!r} must start with http:// or https://")
        openai_auth, openai_audience = self.openai_auth()
        ttl = self.number("CHAT_TTL_DAYS", 0, minimum=0)
        cloud_run = on_cloud_run(self.env)
        settings = Settings(
            store=store,
            sqlite_path=self.text("CHAT_SQLITE_PATH", "./chat.db") or "./chat.db",
            firestore_database=self.text("CHAT_FIRESTORE_DATABASE", "(default)") or "(default)",
            google_cloud_project=project,
            prompt_version=prompt_version,
            allowed_prompt_versions=allowed,
            config_dir=config_dir,
            vertex_project=self.text("CHAT_VERTEX_PROJECT") or project,
            vertex_location=self.text("CHAT_VERTEX_LOCATION", "us-central1") or "us-central1",
            gemini_api_key=self.text("CHAT_GEMINI_API_KEY"),
            gemini_base_url=self.text("CHAT_GEMINI_BASE_URL"),
            openai_base_url=self.text("CHAT_OPENAI_BASE_URL"),
            openai_model=self.text("CHAT_OPENAI_MODEL"),
            openai_api_key=self.text("CHAT_OPENAI_API_KEY"),
            openai_auth=openai_auth,
            openai_audience=openai_audience,
            api_keys=self.api_keys(),
            partner_api_keys=self.partner_api_keys(),
            source_ranges=read_env(self.env, self.problems),
            allow_anonymous=self.boolean("CHAT_ALLOW_ANONYMOUS", False),
            rate_rpm=int(self.number("CHAT_RATE_RPM", 60, minimum=1)),
            rate_tpm=int(self.number("CHAT_RATE_TPM", 200_000, minimum=1)),
            anon_rpm=int(self.number("CHAT_ANON_RPM", 10, minimum=1)),
            anon_tpm=int(self.number("CHAT_ANON_TPM", 20_000, minimum=1)),
            # behind Cloud Run the rightmost X-Forwarded-For entry is the one its front end
            # added (see api.client_ip); run directly, the header is the client's own: not trusted
            trusted_proxy_hops=int(self.number("CHAT_TRUSTED_PROXY_HOPS", 1 if cloud_run else 0, minimum=0)),
            log_content=self.boolean("CHAT_LOG_CONTENT", False),
            ttl_days=int(ttl) or None,
            max_body_bytes=int(self.number("CHAT_MAX_BODY_BYTES", 1_048_576, minimum=1024)),
            max_messages=int(self.number("CHAT_MAX_MESSAGES", 100, minimum=1)),
            max_content_chars=int(self.number("CHAT_MAX_CONTENT_CHARS", 32_000, minimum=1)),
            max_output_tokens=int(self.number("CHAT_MAX_OUTPUT_TOKENS", 8192, minimum=1)),
            request_deadline_s=self.number("CHAT_REQUEST_DEADLINE_S", 60.0, minimum=0.1, integer=False),
            keepalive_s=self.number("CHAT_KEEPALIVE_S", 15.0, minimum=0.05, integer=False),
            shutdown_grace_s=self.number("CHAT_SHUTDOWN_GRACE_S", 8.0, minimum=0.5, integer=False),
            breaker_failures=int(self.number("CHAT_BREAKER_FAILURES", 5, minimum=1)),
            breaker_cooldown_s=self.number("CHAT_BREAKER_COOLDOWN_S", 30.0, minimum=0.05, integer=False),
            history_messages=int(self.number("CHAT_HISTORY_MESSAGES", 40, minimum=0)),
            store_timeout_s=self.number("CHAT_STORE_TIMEOUT_S", 5.0, minimum=0.1, integer=False),
            max_reply_chars=int(self.number("CHAT_MAX_REPLY_CHARS", 100_000, minimum=1)),
            read_timeout_s=self.number("CHAT_READ_TIMEOUT_S", 30.0, minimum=0.1, integer=False),
            idle_timeout_s=self.number(
                "CHAT_IDLE_TIMEOUT_S", IDLE_TIMEOUT_CLOUD_RUN_S if cloud_run else IDLE_TIMEOUT_DIRECT_S,
                minimum=0.1, integer=False,
            ),
            on_cloud_run=cloud_run,
            port=int(self.number("PORT", 8080, minimum=1)),
        )
        if not settings.api_keys and not settings.partner_api_keys and not settings.allow_anonymous:
            self.problems.append(
                "no way to authenticate: set CHAT_API_KEYS (JSON {\"tenant\": \"key\"}), "
                "CHAT_API_KEY_<TENANT>=<key> or CHAT_ALLOW_ANONYMOUS=true"
            )
        if self.problems:
            raise SettingsError(self.problems)
        return settings


def _safe_name(value: str) -> bool:
    return bool(value) and all(c.isalnum() or c in "._-" for c in value) and not value.startswith(".")
