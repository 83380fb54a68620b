"""`stagewise:guardrails` — Model Armor screening of prompts and answers (stagewise/components/guardrails.py).

Stage defaults (a stack writes only what it wants otherwise): off in the MVP (screening is priced
per token), inspect-only in staging (every decision logged, nothing refused: tune the filters on
partner traffic), inspect-and-block in prod. `enabled` and `enforcement` override them.

Facts the validation uses:
- Model Armor runs in these locations; the template's location cannot be changed later
  (https://docs.cloud.google.com/model-armor/locations, read 2026-12-01;
  https://cloud.google.com/security-command-center/docs/configure-model-armor).
- A template id has letters, digits and hyphens, at most 63 characters, no leading hyphen
  (https://cloud.google.com/security-command-center/docs/configure-model-armor).
- Confidence levels LOW_AND_ABOVE, MEDIUM_AND_ABOVE, HIGH; responsible-AI categories
  SEXUALLY_EXPLICIT, HATE_SPEECH, HARASSMENT, DANGEROUS (pulumi-gcp 10.2.0 `modelarmor.Template`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from stagewise.stacks.config.base import Section

# https://docs.cloud.google.com/model-armor/locations (regions and the two multi-regions)
MODEL_ARMOR_LOCATIONS: frozenset[str] = frozenset({
    "us-central1", "us-east1", "us-east4", "us-west1",
    "europe-west1", "europe-west2", "europe-west3", "europe-west4",
    "asia-southeast1", "asia-south1",
    "us", "eu",
})
TEMPLATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
Confidence = Literal["LOW_AND_ABOVE", "MEDIUM_AND_ABOVE", "HIGH"]
Enforcement = Literal["inspect-only", "inspect-and-block"]
RAI_CATEGORIES = ("SEXUALLY_EXPLICIT", "HATE_SPEECH", "HARASSMENT", "DANGEROUS")
STAGE_ENFORCEMENT: dict[str, Enforcement | None] = {"mvp": None, "staging": "inspect-only", "prod": "inspect-and-block"}


def _all_categories(level: Confidence) -> dict[str, Confidence]:
    return dict.fromkeys(RAI_CATEGORIES, level)


def check_location(value: str) -> str:
    if value not in MODEL_ARMOR_LOCATIONS:
        raise ValueError(
            f"{value!r}: Model Armor does not run there; use one of {', '.join(sorted(MODEL_ARMOR_LOCATIONS))} "
            "(https://docs.cloud.google.com/model-armor/locations)"
        )
    return value


def check_template_id(value: str) -> str:
    if not TEMPLATE_ID.match(value):
        raise ValueError(
            f"{value!r} is not a template id: letters, digits and hyphens, at most 63, not starting with a hyphen "
            "(e.g. chat-guardrails)"
        )
    return value


class FailurePolicy(Section):
    """What the app does when Model Armor cannot answer (timeout, error): pass the text or refuse it."""

    prompt: Literal["open", "closed"] = Field("open", description="open: answer unscreened (logged); closed: 503")
    response: Literal["open", "closed"] = Field("open", description="open: send unscreened (logged); closed: an error instead")


class GuardrailsConfig(Section):
    """One Model Armor template per stage; the chat services screen every prompt and answer with it."""

    enabled: bool | None = Field(None, description="screen at all (default: off in mvp, on in staging and prod)")
    enforcement: Enforcement | None = Field(
        None, description="inspect-only (log decisions) or inspect-and-block (refuse matches); default: staging "
        "inspect-only, prod inspect-and-block"
    )
    template_id: str = Field("chat-guardrails", description="the template's id (letters, digits, hyphens; ≤63)")
    location: str | None = Field(None, description="Model Armor location of the template (default gcp:region); cannot change later")
    prompt_injection: Confidence | None = Field(
        "MEDIUM_AND_ABOVE", description="prompt-injection and jailbreak filter threshold (null: off)"
    )
    malicious_uris: bool = Field(True, description="the malicious URI filter")
    sensitive_data: bool = Field(True, description="Sensitive Data Protection, basic config (predefined infoTypes)")
    responsible_ai: dict[str, Confidence] = Field(
        default_factory=lambda: _all_categories("MEDIUM_AND_ABOVE"),
        description="responsible-AI filters: category -> threshold (SEXUALLY_EXPLICIT, HATE_SPEECH, HARASSMENT, DANGEROUS)",
    )
    redact_prompts: bool = Field(True, description="store prompts with the sensitive data Model Armor found redacted")
    failure: FailurePolicy | None = Field(
        None, description="per stage: open or closed when Model Armor cannot answer (default: prod closes prompts, "
        "every other case is open)"
    )
    stream_chars: int = Field(400, ge=50, le=20_000, description="a streamed answer is screened each this many new characters")
    timeout_s: float = Field(3.0, gt=0, le=30, description="how long the app waits for one screening")

    _template_id = field_validator("template_id")(classmethod(lambda cls, v: check_template_id(v)))

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        return check_location(value) if value is not None else None

    @field_validator("responsible_ai")
    @classmethod
    def _categories(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(RAI_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categor{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)}; "
                             f"use {', '.join(RAI_CATEGORIES)}")
        return value


class EffectiveGuardrails(Section):
    """The guardrails a stage runs, its defaults resolved (None when off)."""

    enforcement: Enforcement
    template_id: str
    location: str
    prompt_injection: Confidence | None
    malicious_uris: bool
    sensitive_data: bool
    responsible_ai: dict[str, Confidence]
    redact_prompts: bool
    failure: FailurePolicy
    stream_chars: int
    timeout_s: float


def effective(stage: str, region: str, config: GuardrailsConfig | None) -> EffectiveGuardrails | None:
    """The stage's guardrails, or None when they are off. Raises ValueError (naming the key) when
    the template would land in a region Model Armor does not run in."""
    config = config or GuardrailsConfig()
    default = STAGE_ENFORCEMENT.get(stage)
    enabled = config.enabled if config.enabled is not None else default is not None
    if not enabled:
        return None
    enforcement: Enforcement = config.enforcement or default or "inspect-only"
    location = config.location or region
    if location not in MODEL_ARMOR_LOCATIONS:
        raise ValueError(
            f"stagewise:guardrails.location: gcp:region {region!r} has no Model Armor; set guardrails.location to one "
            f"of {', '.join(sorted(MODEL_ARMOR_LOCATIONS))} (https://docs.cloud.google.com/model-armor/locations)"
        )
    failure = config.failure or FailurePolicy(prompt="closed" if stage == "prod" else "open", response="open")
    return EffectiveGuardrails(
        enforcement=enforcement, template_id=config.template_id, location=location,
        prompt_injection=config.prompt_injection, malicious_uris=config.malicious_uris,
        sensitive_data=config.sensitive_data, responsible_ai=dict(config.responsible_ai),
        redact_prompts=config.redact_prompts, failure=failure, stream_chars=config.stream_chars,
        timeout_s=config.timeout_s,
    )
