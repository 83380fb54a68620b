"""Evaluate the policy pack on a recorded program run through pulumi-policy's own analyzer.

The pack is loaded from its directory the way the Pulumi CLI's Python analyzer host does (the
directory goes on sys.path), and its policies are served by `_PolicyAnalyzerServicer` — the very
object `PolicyPack(...)` puts behind gRPC — called in-process: `GetAnalyzerInfo`, `Configure`
(with the config the CLI would send), `Analyze` per custom resource with its inputs, then
`AnalyzeStack` with every resource's outputs. Private API: pulumi-policy is pinned (1.21.0).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import yaml
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.policy import _PolicyAnalyzerServicer

from stagewise.engine.record import REPO_ROOT, DeclaredResource, ProgramError, ProgramRun
from stagewise.policy.config import LEVEL_NAMES, PolicySetting, configure_request, load_config_file, parse_config, reconcile

# The pack next to the package in a checkout; an installed wheel carries a copy (pyproject force-include).
POLICIES_DIR = REPO_ROOT / "policies" if (REPO_ROOT / "policies" / "PulumiPolicy.yaml").is_file() \
    else Path(__file__).resolve().parent.parent / "policy_pack"
PACKAGE = "stagewise_policies"
PREVIEW_MARKER = "can't run policy"  # the SDK's diagnostic when a rule touched an unknown value


class PolicyRunError(ProgramError):
    """A rule crashed; the CLI reports it (exit 2) with the rule and resource it names."""


@dataclass(frozen=True)
class Verdict:
    """One diagnostic the analyzer returned."""

    policy: str
    level: str
    message: str
    urn: str
    resource_name: str
    resource_type: str
    severity: str
    unverified: bool = False

    def to_document(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "resource": self.resource_name or None,
            "type": self.resource_type or None,
            "urn": self.urn or None,
            "severity": self.severity,
            "message": self.message,
            "unverified": self.unverified,
        }


@dataclass
class PolicyReport:
    pack: str
    version: str
    config_source: str
    verdicts: list[Verdict]
    not_applicable: int

    @property
    def mandatory(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.level == "mandatory"]

    @property
    def advisory(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.level == "advisory"]

    def pairs(self, level: str | None = None) -> set[tuple[str, str]]:
        """(policy, resource name) of each verdict, optionally of one level — what tests compare."""
        return {(v.policy, v.resource_name) for v in self.verdicts if level in (None, v.level)}


def load_pack(pack_dir: Path = POLICIES_DIR) -> ModuleType:
    """Import the pack's rule package from its directory, as `python -m pulumi.policy <dir>` would."""
    path = str(pack_dir.resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
    module = importlib.import_module(PACKAGE)
    if not str(Path(module.__file__ or "").resolve()).startswith(path):
        raise RuntimeError(f"{PACKAGE} was imported from {module.__file__}, not from {pack_dir}")
    return module


def pack_version(pack_dir: Path = POLICIES_DIR) -> str:
    document = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
    return str(document.get("version") or "0.0.1")


def stage_config_path(stage: str, pack_dir: Path = POLICIES_DIR) -> Path:
    return pack_dir / "config" / f"{stage}.json"


class Analyzer:
    """The pack's real analyzer servicer, configured like the CLI configures it."""

    def __init__(self, config: Mapping[str, PolicySetting] | None = None, *, source: str = "(defaults)",
                 pack_dir: Path = POLICIES_DIR) -> None:
        pack = load_pack(pack_dir)
        self.name: str = pack.PACK_NAME
        self.version = pack_version(pack_dir)
        self.source = source
        # The servicer's gRPC methods are untyped; the request/response types are the analyzer protos.
        self.servicer: Any = cast(Any, _PolicyAnalyzerServicer)(
            self.name, self.version, pack.all_policies(), pack.PACK_ENFORCEMENT, None, pack.PACK_DESCRIPTION
        )
        info = self.servicer.GetAnalyzerInfo(None, None)
        self.settings = reconcile(info, config or {}, source)
        self.servicer.Configure(configure_request(self.settings), None)

    @classmethod
    def for_stage(cls, stage: str, pack_dir: Path = POLICIES_DIR) -> Analyzer:
        path = stage_config_path(stage, pack_dir)
        return cls(load_config_file(path), source=str(path.relative_to(pack_dir.parent) if path.is_relative_to(pack_dir.parent) else path),
                   pack_dir=pack_dir)

    @classmethod
    def from_document(cls, document: Mapping[str, Any], pack_dir: Path = POLICIES_DIR) -> Analyzer:
        return cls(parse_config(document), source="(inline)", pack_dir=pack_dir)

    def evaluate(self, run: ProgramRun) -> PolicyReport:
        by_urn = {r.urn: r for r in run.resources}
        verdicts: list[Verdict] = []
        not_applicable = 0
        for resource in run.resources:
            if not resource.custom:
                continue
            try:
                response = self.servicer.Analyze(_analyze_request(resource), None)
            except RuntimeError as exc:
                raise PolicyRunError(f"policy pack {self.name}: {exc}") from exc
            verdicts += [_verdict(d, resource) for d in response.diagnostics]
            not_applicable += len(response.not_applicable)
        stack = analyzer_pb2.AnalyzeStackRequest(resources=[_stack_resource(r) for r in run.resources])
        try:
            response = self.servicer.AnalyzeStack(stack, None)
        except RuntimeError as exc:
            raise PolicyRunError(f"policy pack {self.name}: {exc}") from exc
        for diagnostic in response.diagnostics:
            verdicts.append(_verdict(diagnostic, by_urn.get(diagnostic.urn)))
        not_applicable += len(response.not_applicable)
        return PolicyReport(self.name, self.version, self.source, verdicts, not_applicable)


def _options(resource: DeclaredResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=list(resource.ignore_changes),
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=resource.delete_before_replace,
        parent=resource.parent,
    )


def _analyze_request(resource: DeclaredResource) -> analyzer_pb2.AnalyzeRequest:
    """What the engine sends before creating a resource: its inputs."""
    return analyzer_pb2.AnalyzeRequest(
        type=resource.type, properties=resource.inputs_struct, urn=resource.urn, name=resource.name, options=_options(resource)
    )


def _stack_resource(resource: DeclaredResource) -> analyzer_pb2.AnalyzerResource:
    """What the engine sends after the run: each resource's outputs and its graph edges."""
    return analyzer_pb2.AnalyzerResource(
        type=resource.type,
        properties=resource.outputs_struct,
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        parent=resource.parent,
        dependencies=list(resource.dependencies),
        propertyDependencies={
            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns)) for key, urns in resource.property_dependencies.items()
        },
    )


def _severity(value: int) -> str:
    name = analyzer_pb2.PolicySeverity.Name(value)  # type: ignore[arg-type]
    return name.removeprefix("POLICY_SEVERITY_").lower()


def _verdict(diagnostic: analyzer_pb2.AnalyzeDiagnostic, resource: DeclaredResource | None) -> Verdict:
    # The SDK prefixes the policy description; keep only what the rule reported.
    message = diagnostic.message
    if diagnostic.description and message.startswith(diagnostic.description + "\n"):
        message = message[len(diagnostic.description) + 1 :]
    return Verdict(
        policy=diagnostic.policyName,
        level=LEVEL_NAMES[diagnostic.enforcementLevel],
        message=message,
        urn=diagnostic.urn or (resource.urn if resource else ""),
        resource_name=resource.name if resource else "",
        resource_type=resource.type if resource else "",
        severity=_severity(diagnostic.severity),
        unverified=message.startswith(PREVIEW_MARKER),
    )


def evaluate_stage(run: ProgramRun, stage: str | None = None) -> PolicyReport:
    """Evaluate ``run`` under ``policies/config/<stage>.json`` (stage defaults to the stack's)."""
    # stagewise:policyConfig names the config for a program that is not a stage (e.g. bootstrap/).
    chosen = stage or run.config.get("stagewise:policyConfig") or run.config.get("stagewise:stage") or run.stack
    return Analyzer.for_stage(chosen).evaluate(run)


__all__: Sequence[str] = ["Analyzer", "PolicyReport", "Verdict", "evaluate_stage", "load_pack", "stage_config_path"]
