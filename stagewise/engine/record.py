"""Run a Pulumi program in-process under mocks and record what it declares.

The recording is taken at the resource-monitor boundary: every RegisterResourceRequest the
Python SDK sends is kept as-is (type token, logical name, parent URN, the serialized input
Struct with camelCase property names), which is exactly what the Pulumi engine — and through it
a policy pack — would receive. No cloud, no Pulumi CLI, no network.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagewise.engine import slim_imports

slim_imports.install()  # before anything imports pulumi_gcp: a review loads only the provider modules it uses

import pulumi  # noqa: E402
import yaml  # noqa: E402
from google.protobuf import json_format, struct_pb2  # noqa: E402
from pulumi.runtime import mocks as pulumi_mocks  # noqa: E402
from pulumi.runtime import resource as pulumi_resource_runtime  # noqa: E402
from pulumi.runtime import rpc, settings  # noqa: E402
from pulumi.runtime.proto import source_pb2  # noqa: E402
from pulumi.runtime.config import set_all_config  # noqa: E402
from pulumi.runtime.stack import run_pulumi_func  # noqa: E402
from pulumi.runtime.sync_await import _sync_await  # noqa: E402

from stagewise.engine.mocks import synthesize_outputs  # noqa: E402
from stagewise.engine.wire import SECRET_SIG_KEY, SECRET_SIG_VALUE  # noqa: E402

# The checkout this module sits in when run from source; an installed wheel has no Pulumi.yaml there.
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def bundled_project() -> bool:
    """True when stagewise runs from its own checkout (the three stacks live next to the package)."""
    return (REPO_ROOT / "Pulumi.yaml").is_file() and (REPO_ROOT / "stagewise" / "stacks").is_dir()


def find_project_root(start: Path | None = None) -> Path:
    """The Pulumi project a command is about: the nearest directory holding Pulumi.yaml, from ``start``
    (default: the working directory) upwards, as the Pulumi CLI looks for its project file; failing
    that, stagewise's own checkout when it runs from source.
    """
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    if bundled_project():
        return REPO_ROOT
    raise ProgramError(f"no Pulumi.yaml in {here} or any directory above it: "
                       "run stagewise inside a Pulumi project or pass --root DIR")
UNKNOWN = rpc.UNKNOWN
SECRET_PLACEHOLDER = "[secret]"
UNKNOWN_OUTPUT = "[unknown until deployed]"


class ProgramError(Exception):
    """The program failed before or while declaring resources (config errors included)."""


@dataclass(frozen=True)
class DeclaredResource:
    """One RegisterResource call, as the engine would see it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs_struct: struct_pb2.Struct
    outputs_struct: struct_pb2.Struct
    provider: str = ""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    aliases: tuple[str, ...] = ()  # earlier URNs of this resource: the engine treats them as the same resource
    replace_on_changes: tuple[str, ...] = ()

    @property
    def inputs(self) -> dict[str, Any]:
        """Inputs as plain JSON-like data (camelCase keys; unknowns as the engine's sentinel)."""
        return _struct_to_plain(self.inputs_struct)

    @property
    def outputs(self) -> dict[str, Any]:
        return _struct_to_plain(self.outputs_struct)

    def to_document(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent or None,
            "custom": self.custom,
            "provider": self.provider or None,
            "dependencies": list(self.dependencies),
            "protect": self.protect,
            "ignoreChanges": list(self.ignore_changes),
            "inputs": redact_secrets(self.inputs),
        }


@dataclass(frozen=True)
class ProgramSpec:
    """How a run was made, so the deploy-readiness checks can replay it: as a first `pulumi preview`
    (computed values unknown) or as a later `pulumi up` (new image builds, changed config)."""

    program: Callable[[], None]
    project: str
    stack: str
    config: Mapping[str, str]

    def run(self, *, preview: bool = False, generation: int = 1, overrides: Mapping[str, str] | None = None) -> ProgramRun:
        return run_program(self.program, project=self.project, stack=self.stack, config={**self.config, **(overrides or {})},
                           preview=preview, generation=generation)


@dataclass
class ProgramRun:
    """Everything one program run declared."""

    project: str
    stack: str
    config: dict[str, str]
    resources: list[DeclaredResource]
    stack_outputs: dict[str, Any]
    stack_urn: str
    spec: ProgramSpec | None = None
    preview: bool = False
    generation: int = 1
    # The Pulumi project directory the run came from (run_stack); None for a bare program.
    project_root: Path | None = None

    def of_type(self, type_token: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.type == type_token]

    def by_name(self, name: str, type_token: str | None = None) -> DeclaredResource:
        matches = [r for r in self.resources if r.name == name and type_token in (None, r.type)]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def children_of(self, urn: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.parent == urn]


def redact_secrets(value: Any) -> Any:
    """A copy of ``value`` with every secret-marked value replaced by a placeholder: documents
    (review JSON, PR comments) may be published, secrets must not be."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return SECRET_PLACEHOLDER
        return {key: redact_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_secrets(item) for item in value]
    return value


def _struct_to_plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    plain: dict[str, Any] = json_format.MessageToDict(struct)
    return plain


class _Mocks(pulumi_mocks.Mocks):
    """Provider answers. ``preview``: as `pulumi preview` before a first deploy, where the provider
    returns a new resource's inputs and every computed output is unknown (the SDK marks what the
    answer leaves out as unknown during a dry run). ``generation``: the n-th `pulumi up`; a Docker
    build then pushes new content, so its digest changes."""

    def __init__(self, project: str, config: Mapping[str, str], preview: bool = False, generation: int = 1) -> None:
        self.project = project
        self.config = config
        self.preview = preview
        self.generation = generation

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if self.preview:
            return "", state
        gcp_project = self.config.get("gcp:project", self.project)
        synthesized = synthesize_outputs(args.typ, args.name, args.inputs, gcp_project, self.config, self.generation)
        state.update(synthesized)
        # The provider's id where its shape is known (other resources pass `.id` on), else a stand-in.
        resource_id = args.resource_id or str(synthesized.pop("id", "") or f"{args.name}-id")
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "gcp:organizations/getProject:getProject":
            return {"projectId": self.config.get("gcp:project", self.project), "number": "123456789012", "name": self.project}, []
        if args.token == "gcp:organizations/getClientConfig:getClientConfig":
            # A placeholder token: the real one comes from the deployer's credentials at `pulumi up`.
            region = self.config.get("gcp:region", "")
            return {"project": self.project, "region": region, "accessToken": "offline-review-token"}, []
        return {}, []


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping each registration request as the engine would see it."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[DeclaredResource] = []
        self.stack_urn = ""
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        # Sorted: the SDK gathers dependencies in a set, whose order changes with the string hash seed
        # of each process; the engine treats them as a set too.
        prop_deps = {k: tuple(sorted(v.urns)) for k, v in request.propertyDependencies.items()}
        record = DeclaredResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=bool(request.custom),
            inputs_struct=_copy_struct(request.object),
            outputs_struct=_copy_struct(response.object),
            provider=request.provider,
            dependencies=tuple(sorted(request.dependencies)),
            property_dependencies=prop_deps,
            protect=bool(request.protect),
            ignore_changes=tuple(request.ignoreChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
            retain_on_delete=bool(request.retainOnDelete),
            aliases=_alias_urns(request, response.urn),
            replace_on_changes=tuple(request.replaceOnChanges),
        )
        with self._lock:
            self.recorded.append(record)
        return response


def _alias_urns(request: Any, urn: str) -> tuple[str, ...]:
    """The URNs an alias spec names, formed as the engine forms URNs (stack::project::type chain::name)."""
    found: list[str] = list(request.aliasURNs)
    head, _, rest = urn.partition("::")  # "urn:pulumi:<stack>", "<project>::<type chain>::<name>"
    project, qualified, _name = (rest.split("::", 2) + ["", ""])[:3]
    chain = qualified.rsplit("$", 1)[0] if "$" in qualified else ""
    for alias in request.aliases:
        if alias.urn:
            found.append(alias.urn)
            continue
        spec = alias.spec
        type_ = spec.type or request.type
        parent_chain = chain
        if spec.noParent:
            parent_chain = ""
        elif spec.parentUrn:
            parent_chain = spec.parentUrn.split("::")[2]
        stack_part = f"urn:pulumi:{spec.stack}" if spec.stack else head
        found.append(f"{stack_part}::{spec.project or project}::{parent_chain + '$' if parent_chain else ''}{type_}::{spec.name or request.name}")
    return tuple(dict.fromkeys(found))


def _copy_struct(source: struct_pb2.Struct) -> struct_pb2.Struct:
    copy = struct_pb2.Struct()
    copy.CopyFrom(source)
    return copy


_RUN_LOCK = threading.Lock()


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def run_program(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    preview: bool = False,
    generation: int = 1,
) -> ProgramRun:
    """Run ``program`` under mocks with ``config`` (fully-qualified keys) and record it.

    ``preview`` runs it as `pulumi preview` of a first deploy would (computed values unknown);
    ``generation`` numbers the deploy (2: a second `pulumi up`, with new image builds).
    Runs are serialized: the Pulumi SDK keeps its settings in process-wide state.
    """
    with _RUN_LOCK:
        mocks = _Mocks(project, config, preview=preview, generation=generation)
        monitor = _RecordingMonitor(mocks)
        settings.ROOT.set(None)
        set_all_config(dict(config))
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        # The SDK walks the Python stack of every registration for the request's source position and
        # stack trace (shown by the Pulumi CLI next to a diagnostic); nothing here records or checks
        # them, and they were a sixth of a run.
        stack_trace = pulumi_resource_runtime._get_stack_trace
        pulumi_resource_runtime._get_stack_trace = _no_stack_trace
        try:
            _sync_await(run_pulumi_func(program))
            root = settings.get_root_resource()
            stack_outputs = _resolve_stack_outputs(root)
        except ProgramError:
            raise
        except Exception as exc:  # surfaced to the CLI as a failed program, never swallowed
            raise ProgramError(str(exc) or type(exc).__name__) from exc
        finally:
            pulumi_resource_runtime._get_stack_trace = stack_trace
        return ProgramRun(
            project=project,
            stack=stack,
            config=dict(config),
            # By URN: the order registrations arrive in follows the SDK's worker threads and scheduling,
            # which change with timing and each process's string hash seed; a review must not.
            resources=sorted(monitor.recorded, key=lambda r: r.urn),
            stack_outputs=stack_outputs,
            stack_urn=monitor.stack_urn,
            spec=ProgramSpec(program, project, stack, dict(config)),
            preview=preview,
            generation=generation,
        )


def _resolve_stack_outputs(root: pulumi.Resource | None) -> dict[str, Any]:
    outputs = getattr(root, "outputs", None)
    if not outputs:
        return {}
    plain: dict[str, Any] = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        is_secret = _sync_await(output.is_secret())
        if not _sync_await(output.is_known()):
            plain[key] = UNKNOWN_OUTPUT
            continue
        plain[key] = SECRET_PLACEHOLDER if is_secret else json.loads(json.dumps(_sync_await(output.future()), default=str))
    return plain


def load_stack_file(stack: str, root: Path = REPO_ROOT) -> dict[str, str]:
    """Read ``Pulumi.<stack>.yaml`` into engine config: fully-qualified keys, string values.

    Structured values become JSON (as the Pulumi CLI passes them); secure values, which only the
    stack's secrets provider can decrypt, become a placeholder.
    """
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        available = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise ProgramError(f"no stack file {path.name}; stacks here: {', '.join(available) or 'none'}")
    return read_config_file(path)


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a mapping naming a key twice: a YAML mapping is an "Associative container,
    where each key is unique" (https://yaml.org/type/map), and PyYAML keeps the last silently
    (https://github.com/eth-cscs/stackinator/issues/272), so a duplicated block would drop the first
    without a word."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice (first on line {first}); keep one and merge what the two say",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context and context not in str(problem) else str(problem)
    return (f"{path.name}{where}: not valid YAML: {detail}; fix the syntax there (indent with spaces, quote values "
            "that contain ': ' or start with a special character)")


def read_config_file(path: Path) -> dict[str, str]:
    """A file with a ``config:`` mapping (a stack file, or a values overlay) as engine config."""
    if not path.is_file():
        raise ProgramError(f"{path}: no such file")
    try:
        document = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ProgramError(_yaml_problem(path, exc)) from None
    except UnicodeDecodeError:
        raise ProgramError(f"{path.name}: not a text file (UTF-8); a stack file is YAML text") from None
    if not isinstance(document, dict):
        raise ProgramError(f"{path.name}: the top level must be a mapping with a config: block (config:\n  gcp:project: …)")
    raw = document.get("config")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ProgramError(f"{path.name}: 'config' must be a mapping of key: value")
    for key in raw:
        if not isinstance(key, str):
            raise ProgramError(f"{path.name}: config key {key!r} is not text; write keys as namespace:name, e.g. stagewise:service")
    return {str(key): _config_value(value) for key, value in raw.items()}


def load_values(paths: Sequence[Path], stack: str) -> dict[str, str]:
    """Config from ``--values`` files (a directory: its ``<stack>.yaml``), flattened as the engine
    flattens a stack file; later files win."""
    merged: dict[str, str] = {}
    for path in paths:
        if path.is_dir():
            path = path / f"{stack}.yaml"
            if not path.is_file():
                continue
        merged.update(read_config_file(path))
    return merged


def _config_value(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET_PLACEHOLDER
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def project_name(root: Path = REPO_ROOT) -> str:
    path = root / "Pulumi.yaml"
    if not path.is_file():
        raise ProgramError(f"{path}: no such file; the project directory needs a Pulumi.yaml (name: …, runtime: python)")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ProgramError(_yaml_problem(path, exc)) from None
    if not isinstance(document, dict) or not document.get("name"):
        raise ProgramError(f"{path.name}: needs a top-level 'name:' (the Pulumi project name), e.g. name: stagewise")
    return str(document["name"])


def run_stack(stack: str, *, root: Path | None = None, overrides: Mapping[str, str] | None = None) -> ProgramRun:
    """Run the stagewise program for ``stack`` with its ``Pulumi.<stack>.yaml`` as config.

    A root holding another Pulumi project (e.g. bootstrap/) runs that project's own __main__.py,
    as `pulumi up` there would.
    """
    from stagewise.stacks.program import main as stagewise_program

    root = find_project_root() if root is None else root
    if not (root / "Pulumi.yaml").is_file():
        raise ProgramError(f"no Pulumi.yaml in {root}: --root must name a Pulumi project directory")
    nested = root / stack
    if not (root / f"Pulumi.{stack}.yaml").is_file() and (nested / "Pulumi.yaml").is_file() and (nested / f"Pulumi.{stack}.yaml").is_file():
        root = nested  # `stagewise review bootstrap`: the project in ./bootstrap, its stack of the same name
    config = load_stack_file(stack, root)
    config.update(overrides or {})
    project = project_name(root)
    entry = root / "__main__.py"

    def project_program() -> None:
        import runpy

        runpy.run_path(str(entry), run_name="__main__")

    own_program = entry.is_file() and not (bundled_project() and project == project_name(REPO_ROOT))
    run = run_program(project_program if own_program else stagewise_program, project=project, stack=stack, config=config)
    run.project_root = root
    return run
