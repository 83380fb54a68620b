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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import yaml
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import _DictProxy

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
        with _properties_decoded_once():
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


class _Encoded:
    """What the servicer's ``json_format.MessageToDict`` returns while decoding is shared: the
    message itself, for ``deserialize_properties`` to decode (once)."""

    __slots__ = ("message",)

    def __init__(self, message: Any) -> None:
        self.message = message


@contextmanager
def _properties_decoded_once() -> Iterator[None]:
    """While the analyzer runs, decode each resource's properties once instead of once per policy.

    The servicer's ``Analyze`` builds, for every policy in turn, ``deserialize_properties(
    json_format.MessageToDict(props))`` and wraps it in ``unknown_checking_proxy`` (``AnalyzeStack``
    does the same per stack policy and resource): most of a review's policy time went to decoding
    the same Struct ~80 times. The decoded dict is only ever read by the proxy, which copies every
    dict and list it wraps, so one decoded dict per message gives each policy the very proxy it got
    before (a fresh one, over equal data). Anything else (the secret-preserving decode of a
    remediation, a call with options) goes to the real functions. Each policy's proxy is built only
    when the policy reads the properties (see _lazy_proxy_class)."""
    import pulumi_policy.policy as sdk

    real_json_format: Any = getattr(sdk, "json_format")  # noqa: B009 - swapped below, typed as what it is
    real_deserialize: Any = getattr(sdk, "deserialize_properties")  # noqa: B009
    decoded: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(message) -> (message, kept alive; decoded)

    class JsonFormat:
        @staticmethod
        def MessageToDict(message: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - json_format's name
            return real_json_format.MessageToDict(message, *args, **kwargs) if args or kwargs else _Encoded(message)

    def deserialize_properties(props: Any, proxy_secrets: bool = False) -> Any:
        if not isinstance(props, _Encoded):
            return real_deserialize(props, proxy_secrets)
        if proxy_secrets:
            return real_deserialize(real_json_format.MessageToDict(props.message), proxy_secrets)
        hit = decoded.get(id(props.message))
        if hit is None or hit[0] is not props.message:
            hit = (props.message, real_deserialize(real_json_format.MessageToDict(props.message)))
            decoded[id(props.message)] = hit
        return hit[1]

    real_proxy: Any = getattr(sdk, "unknown_checking_proxy")  # noqa: B009

    def unknown_checking_proxy(props: Any) -> Any:
        return _LazyProxy(props, real_proxy) if isinstance(props, dict) else real_proxy(props)

    patches = {"json_format": JsonFormat, "deserialize_properties": deserialize_properties,
               "unknown_checking_proxy": unknown_checking_proxy}
    originals = {name: getattr(sdk, name) for name in patches}
    for name, value in patches.items():
        setattr(sdk, name, value)
    try:
        yield
    finally:
        for name, value in originals.items():
            setattr(sdk, name, value)


class _LazyProxy(_DictProxy):
    """The SDK's unknown-checking proxy of a resource's properties, built when a policy first
    looks at them: most policies return at once on a type they do not check, and building the
    proxy (a copy of every dict and list) per policy and resource was most of what was left."""

    def __init__(self, props: dict[str, Any], build: Any) -> None:  # noqa: D107 - the proxy is built on first use
        self._lazy_source: dict[str, Any] | None = props
        self._lazy_build = build

    def _built(self) -> None:
        source = self._lazy_source
        if source is not None:
            real = self._lazy_build(source)
            # _DictProxy keeps its dict and path in name-mangled attributes: take over the real one's.
            self._DictProxy__target = real._DictProxy__target
            self._DictProxy__props_acc = real._DictProxy__props_acc
            self._lazy_source = None

    def __getitem__(self, key: Any) -> Any:
        self._built()
        return super().__getitem__(key)  # type: ignore[no-untyped-call]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._built()
        super().__setitem__(key, value)  # type: ignore[no-untyped-call]

    def __len__(self) -> int:
        self._built()
        return int(super().__len__())  # type: ignore[no-untyped-call]

    def __iter__(self) -> Any:
        self._built()
        return super().__iter__()  # type: ignore[no-untyped-call]


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
