"""What declaring a mode hands back to the endpoint: one shape for every mode."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulumi

# Grants a caller needs on the mode's own resource (run.invoker on the GPU service, aiplatform.user
# on the Vertex endpoint): called with the caller's logical-name prefix, its member and the options.
CallerGrant = Callable[[str, pulumi.Input[str], pulumi.ResourceOptions], pulumi.CustomResource]


@dataclass(frozen=True)
class Site:
    """Where a mode declares its resources: under the endpoint, in its project, with its labels."""

    parent: pulumi.Resource
    project: pulumi.Input[str]
    labels: Mapping[str, str]

    @property
    def child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent)


@dataclass
class Backend:
    """A declared model server: its OpenAI-compatible URL and how callers reach and are granted it."""

    base_url: pulumi.Output[str] | None = None
    # How the app proves its identity to the server (CHAT_OPENAI_AUTH, CHAT_OPENAI_AUDIENCE).
    auth_env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # What monitoring filters on: the Vertex endpoint id, the GPU service name, the VM name prefix.
    metrics_target: pulumi.Input[str] | None = None
    resources: dict[str, pulumi.Resource] = field(default_factory=dict)
    caller_grant: CallerGrant | None = None
