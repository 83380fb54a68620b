"""Guardrails: a Model Armor template the chat services screen every prompt and answer with.

The template holds the filters (prompt injection and jailbreak, malicious URIs, responsible-AI
categories with their confidence levels, Sensitive Data Protection's basic config) and its
enforcement type. The app calls the sanitize API itself (app/src/chatapp/guardrails.py), so it is
told the same enforcement through `client_env`; the template's own enforcement type is what Google's
integrations (and the policy pack) read.

A service that screens needs only `roles/modelarmor.user` ("Users and applications planning to
screen prompts and responses": modelarmor.templates.useToSanitizeUserPrompt and
useToSanitizeModelResponse; https://cloud.google.com/security-command-center/docs/get-started-model-armor,
https://cloud.google.com/iam/docs/roles-permissions/modelarmor). pulumi-gcp 10.2.0 has no
template-level IAM resource, so it is granted on the project (`client_role`).

Usage::

    guard = Guardrails("guardrails", GuardrailsArgs(project="p", location="us-central1",
                       enforcement="INSPECT_AND_BLOCK"), opts=pulumi.ResourceOptions(depends_on=apis.ready))
    env = {**guard.client_env}; grants = [guard.client_role()]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.modelarmor import (
    TemplateFilterConfigArgs,
    TemplateFilterConfigMaliciousUriFilterSettingsArgs,
    TemplateFilterConfigPiAndJailbreakFilterSettingsArgs,
    TemplateFilterConfigRaiSettingsArgs,
    TemplateFilterConfigRaiSettingsRaiFilterArgs,
    TemplateFilterConfigSdpSettingsArgs,
    TemplateFilterConfigSdpSettingsBasicConfigArgs,
    TemplateTemplateMetadataArgs,
)

from stagewise.components.iam import ProjectRole

SCREENING_ROLE = "roles/modelarmor.user"
CONFIDENCE_LEVELS = ("LOW_AND_ABOVE", "MEDIUM_AND_ABOVE", "HIGH")
RAI_CATEGORIES = ("SEXUALLY_EXPLICIT", "HATE_SPEECH", "HARASSMENT", "DANGEROUS")
ENFORCEMENT_TYPES = ("INSPECT_ONLY", "INSPECT_AND_BLOCK")
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
Failure = Literal["open", "closed"]


@dataclass(frozen=True)
class GuardrailsArgs:
    project: pulumi.Input[str]
    location: str
    """Model Armor location (us-central1, europe-west4, us, eu …); sanitizing goes to its regional endpoint."""
    enforcement: str = "INSPECT_AND_BLOCK"
    """INSPECT_ONLY: matches are logged; INSPECT_AND_BLOCK: the app refuses them."""
    template_id: str = "chat-guardrails"
    prompt_injection: str | None = "MEDIUM_AND_ABOVE"
    """Prompt-injection and jailbreak threshold; None turns the filter off."""
    malicious_uris: bool = True
    sensitive_data: bool = True
    """Sensitive Data Protection's basic config (predefined infoTypes)."""
    responsible_ai: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(RAI_CATEGORIES, "MEDIUM_AND_ABOVE"))
    """Category -> threshold; an absent category is not screened."""
    prompt_failure: Failure = "open"
    response_failure: Failure = "open"
    redact_prompts: bool = True
    stream_chars: int = 400
    timeout_s: float = 3.0
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.enforcement not in ENFORCEMENT_TYPES:
            raise ValueError(f"enforcement {self.enforcement!r}: use one of {', '.join(ENFORCEMENT_TYPES)}")
        if not _TEMPLATE_ID.match(self.template_id):
            raise ValueError(f"template_id {self.template_id!r}: letters, digits and hyphens, at most 63, no leading hyphen")
        if self.prompt_injection is not None and self.prompt_injection not in CONFIDENCE_LEVELS:
            raise ValueError(f"prompt_injection {self.prompt_injection!r}: use one of {', '.join(CONFIDENCE_LEVELS)}")
        for category, level in self.responsible_ai.items():
            if category not in RAI_CATEGORIES or level not in CONFIDENCE_LEVELS:
                raise ValueError(f"responsible_ai {category}={level}: categories {', '.join(RAI_CATEGORIES)}, "
                                 f"levels {', '.join(CONFIDENCE_LEVELS)}")
        if self.prompt_failure not in ("open", "closed") or self.response_failure not in ("open", "closed"):
            raise ValueError("prompt_failure and response_failure are 'open' or 'closed'")


class Guardrails(pulumi.ComponentResource):
    """A Model Armor template, and what a screening service needs to use it."""

    template_name: pulumi.Output[str]
    """projects/PROJECT/locations/LOCATION/templates/ID: what the app sends its sanitize calls to."""

    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:Guardrails", name, None, opts)
        self.args = args
        waits = list(opts.depends_on) if opts is not None and isinstance(opts.depends_on, list) else []
        enabled = "ENABLED"
        self.template = gcp.modelarmor.Template(
            f"{name}-template",
            project=args.project,
            location=args.location,
            template_id=args.template_id,
            filter_config=TemplateFilterConfigArgs(
                pi_and_jailbreak_filter_settings=TemplateFilterConfigPiAndJailbreakFilterSettingsArgs(
                    filter_enforcement=enabled if args.prompt_injection else "DISABLED",
                    confidence_level=args.prompt_injection,
                ),
                malicious_uri_filter_settings=TemplateFilterConfigMaliciousUriFilterSettingsArgs(
                    filter_enforcement=enabled if args.malicious_uris else "DISABLED",
                ),
                rai_settings=TemplateFilterConfigRaiSettingsArgs(
                    rai_filters=[
                        TemplateFilterConfigRaiSettingsRaiFilterArgs(filter_type=category, confidence_level=level)
                        for category, level in sorted(args.responsible_ai.items())
                    ],
                ) if args.responsible_ai else None,
                sdp_settings=TemplateFilterConfigSdpSettingsArgs(
                    basic_config=TemplateFilterConfigSdpSettingsBasicConfigArgs(
                        filter_enforcement=enabled if args.sensitive_data else "DISABLED",
                    ),
                ),
            ),
            template_metadata=TemplateTemplateMetadataArgs(
                enforcement_type=args.enforcement,
                # Screening is logged by the app (the decision, never the text); Model Armor's own
                # sanitize-operation logs would hold the prompts themselves.
                log_sanitize_operations=False,
                log_template_operations=True,
            ),
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
        )
        self.template_name = pulumi.Output.concat(
            "projects/", args.project, "/locations/", args.location, "/templates/", self.template.template_id
        )
        self.ready: list[pulumi.Resource] = [self.template]
        self.register_outputs({"template_name": self.template_name})

    def client_role(self) -> ProjectRole:
        """The one role a screening service holds: sanitize with the project's templates."""
        return ProjectRole(SCREENING_ROLE)

    @property
    def client_env(self) -> dict[str, pulumi.Input[str]]:
        """The app's CHAT_GUARDRAILS_* settings (app/src/chatapp/guardrails.py)."""
        args = self.args
        return {
            "CHAT_GUARDRAILS_TEMPLATE": self.template_name,
            "CHAT_GUARDRAILS_ENFORCEMENT": args.enforcement.lower().replace("_", "-"),
            "CHAT_GUARDRAILS_PROMPT_FAILURE": args.prompt_failure,
            "CHAT_GUARDRAILS_RESPONSE_FAILURE": args.response_failure,
            "CHAT_GUARDRAILS_REDACT_PROMPTS": "true" if args.redact_prompts else "false",
            "CHAT_GUARDRAILS_STREAM_CHARS": str(args.stream_chars),
            "CHAT_GUARDRAILS_TIMEOUT_S": f"{args.timeout_s:g}",
        }
