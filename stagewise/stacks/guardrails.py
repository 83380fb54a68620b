"""The stage's Model Armor guardrails: one call a composition makes (`guardrails(config, apis)`)."""

from __future__ import annotations

import pulumi

from stagewise.components.apis import ProjectServices
from stagewise.components.guardrails import Guardrails, GuardrailsArgs
from stagewise.stacks.config import ConfigError, StackConfig
from stagewise.stacks.config.guardrails import EffectiveGuardrails, effective

API = "modelarmor.googleapis.com"


def settings(config: StackConfig) -> EffectiveGuardrails | None:
    """The stage's guardrails with their defaults resolved; None when off. A bad location is a
    ConfigError naming the key (before any resource: enable_apis asks first)."""
    try:
        return effective(config.stage, config.gcp.region, config.guardrails)
    except ValueError as exc:
        stack = pulumi.get_stack()
        raise ConfigError(f"invalid configuration for stack {stack!r} (Pulumi.{stack}.yaml):\n  - {exc}") from None


def guardrails(config: StackConfig, apis: ProjectServices) -> Guardrails | None:
    chosen = settings(config)
    if chosen is None:
        return None
    return Guardrails(
        "guardrails",
        GuardrailsArgs(
            project=config.gcp.project,
            location=chosen.location,
            enforcement=chosen.enforcement.upper().replace("-", "_"),
            template_id=chosen.template_id,
            prompt_injection=chosen.prompt_injection,
            malicious_uris=chosen.malicious_uris,
            sensitive_data=chosen.sensitive_data,
            responsible_ai=chosen.responsible_ai,
            prompt_failure=chosen.failure.prompt,
            response_failure=chosen.failure.response,
            redact_prompts=chosen.redact_prompts,
            stream_chars=chosen.stream_chars,
            timeout_s=chosen.timeout_s,
            labels=config.all_labels,
        ),
        # The API enabled before the template (a first deploy into an empty project).
        opts=pulumi.ResourceOptions(depends_on=apis.ready),
    )
