"""InferenceEndpoint: the component that declares a mode and tells callers how to reach it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulumi

from stagewise.components.iam import Grant, ProjectRole, declare_grants
from stagewise.components.inference.backend import Backend, Site
from stagewise.components.inference.modes import MODE_NAMES, InferenceMode, ManagedModel

# Mode name -> the module that declares it (imported on use: a stage loads only its mode's provider modules).
BUILDERS: Mapping[str, str] = {
    "managed": "managed", "vertex": "vertex", "gpu-vm": "gpu_vm", "cloudrun-gpu": "cloudrun_gpu",
}
Declare = Callable[[Site, str, InferenceMode, str], Backend]


def builder(mode_name: str) -> Declare:
    module = importlib.import_module(f"stagewise.components.inference.{BUILDERS[mode_name]}")
    declare: Declare = module.declare
    return declare


@dataclass
class InferenceEndpointArgs:
    project: pulumi.Input[str]
    mode: InferenceMode
    labels: Mapping[str, str] = field(default_factory=dict)


class InferenceEndpoint(pulumi.ComponentResource):
    """The model a chat service calls: managed Gemini, Vertex AI, a GPU VM pool, or Cloud Run with a GPU.

    - `client_env`: the environment the chat app reads to call the model — `CHAT_OPENAI_BASE_URL` /
      `CHAT_OPENAI_MODEL` for a self-hosted OpenAI-compatible server, `CHAT_VERTEX_MODEL`,
      `CHAT_FALLBACK_MODEL`, `CHAT_VERTEX_LOCATION`, `CHAT_VERTEX_PROJECT` for Gemini.
    - `authorize(caller, member)`: the least grants a caller needs, at resource level where GCP has it
      (invoker on the GPU Cloud Run service, aiplatform.user on the Vertex endpoint), the project
      only where it has not (Gemini publisher models).
    """

    def __init__(self, name: str, args: InferenceEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:InferenceEndpoint", name, None, opts)
        self._name = name
        self._project = args.project
        mode = args.mode
        self.mode = mode
        self.mode_name = MODE_NAMES[type(mode)]
        self.client_env: dict[str, pulumi.Input[str]] = {}
        self.client_grants: list[Grant] = []
        site = Site(parent=self, project=args.project, labels=dict(args.labels))
        served = mode.model if isinstance(mode, ManagedModel) else (mode.served_model_name or mode.model)
        self._backend = builder(self.mode_name)(site, name, mode, served)
        self.base_url: pulumi.Output[str] | None = self._backend.base_url
        self.resources: dict[str, pulumi.Resource] = self._backend.resources
        # What monitoring filters on for this model: Vertex endpoint id, GPU service name, VM name prefix.
        self.metrics_target: pulumi.Input[str] | None = self._backend.metrics_target

        if isinstance(mode, ManagedModel):
            self.client_env["CHAT_VERTEX_MODEL"] = mode.model
            self._gemini_env(mode.location)
            if mode.fallback_model:
                self.client_env["CHAT_FALLBACK_MODEL"] = mode.fallback_model
        else:
            assert self.base_url is not None, f"mode {self.mode_name} declared no server URL"
            self.client_env["CHAT_OPENAI_BASE_URL"] = self.base_url
            self.client_env["CHAT_OPENAI_MODEL"] = served
            # How the app proves its identity to the server: Vertex wants an OAuth access token, a
            # private Cloud Run service an ID token for its URL; the internal LB of gpu-vm neither.
            self.client_env.update(self._backend.auth_env)
            if mode.fallback is not None:
                self._gemini_env(mode.fallback.location)
                self.client_env["CHAT_FALLBACK_MODEL"] = mode.fallback.model
        outputs: dict[str, object] = {"mode": self.mode_name, "model": mode.model}
        if self.base_url is not None:
            outputs["base_url"] = self.base_url
        self.register_outputs(outputs)

    def _gemini_env(self, location: str) -> None:
        self.client_env["CHAT_VERTEX_LOCATION"] = location
        self.client_env["CHAT_VERTEX_PROJECT"] = self._project
        # Vertex AI has no resource-level IAM for publisher models: the project role is the narrowest.
        self.client_grants.append(ProjectRole("roles/aiplatform.user"))

    def authorize(
        self, caller: str, member: pulumi.Input[str], depends_on: list[pulumi.Resource] | None = None
    ) -> list[pulumi.CustomResource]:
        """Grant ``member`` (e.g. a service's account) what it needs to call this endpoint, and no more."""
        granted = declare_grants(f"{self._name}-{caller}", member, self.client_grants, self._project, self, depends_on)
        if self._backend.caller_grant is not None:
            granted.append(self._backend.caller_grant(caller, member, pulumi.ResourceOptions(parent=self, depends_on=depends_on or [])))
        return granted
