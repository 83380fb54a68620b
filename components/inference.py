"""InferenceEndpoint: where the model runs, and what a caller needs to reach it.

Every mode exposes the same small interface: `client_env` (environment for the chat service:
which provider, model and address) and `authorize(member)` (the least grants a caller needs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.iam import Grant, ProjectRole, declare_grants


@dataclass
class ManagedModel:
    """A Google-hosted model called over the Vertex AI API (nothing deployed by us)."""

    model: str
    location: str
    fallback_model: str | None = None


@dataclass
class InferenceEndpointArgs:
    project: pulumi.Input[str]
    mode: ManagedModel
    labels: Mapping[str, str] = field(default_factory=dict)


class InferenceEndpoint(pulumi.ComponentResource):
    def __init__(self, name: str, args: InferenceEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:InferenceEndpoint", name, None, opts)
        self._name = name
        self._project = args.project
        mode = args.mode
        self.mode_name = "managed"
        self.client_env: dict[str, pulumi.Input[str]] = {
            "CHAT_MODEL_PROVIDER": "vertex",
            "CHAT_VERTEX_MODEL": mode.model,
            "CHAT_VERTEX_LOCATION": mode.location,
            "CHAT_VERTEX_PROJECT": args.project,
        }
        if mode.fallback_model:
            self.client_env["CHAT_FALLBACK_MODEL"] = mode.fallback_model
        # Vertex AI has no resource-level IAM for publisher models: the project role is the narrowest.
        self.client_grants: list[Grant] = [ProjectRole("roles/aiplatform.user")]
        self.register_outputs({"mode": self.mode_name, "model": mode.model, "location": mode.location})

    def authorize(self, caller: str, member: pulumi.Input[str], depends_on: list[pulumi.Resource] | None = None) -> list[pulumi.CustomResource]:
        """Grant ``member`` (e.g. a service's account) what it needs to call this endpoint."""
        return declare_grants(f"{self._name}-{caller}", member, self.client_grants, self._project, self, depends_on)
