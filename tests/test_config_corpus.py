"""Bad stack files and --config values through the real CLI entry, for every command that reads a stack
(`stagewise review`, `stagewise cost`, `stagewise diff`): each kind of mistake issue 16 saw exits 2,
names the key in stderr, prints no result and no traceback, and declares nothing. Besides the
hand-written corpus, every key of every shipped stack file (with its sample values) is turned into a
typo, so the general case is covered and not only the examples."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel
from stack_values import values_document

from stagewise.stacks.config.loader import load_config
from stagewise.stacks.config.model import StackConfig
from stagewise.engine import record as engine
from stagewise.cli import EXIT_INVALID, EXIT_OK, main
from stagewise.engine.record import REPO_ROOT, _config_value

MVP = (REPO_ROOT / "Pulumi.mvp.yaml").read_text()

MVP_MODEL = re.search(r"^    model: (\S+)$", MVP, re.M).group(1)  # type: ignore[union-attr]


def _model(value: str) -> str:
    """The shipped mvp stack file with its inference model replaced (whatever the current default is)."""
    assert f"model: {MVP_MODEL}" in MVP
    return MVP.replace(f"model: {MVP_MODEL}", f"model: {value}", 1)

REF = "us-central1-docker.pkg.dev/stagewise-mvp/stagewise/chat@sha256:"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    declared: list[str]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """main(argv) with every resource registration counted (the stack itself is not a resource)."""
    declared: list[str] = []
    original = engine._RecordingMonitor.RegisterResource

    def counting(self: engine._RecordingMonitor, request: Any) -> Any:
        if getattr(request, "type", "") != "pulumi:pulumi:Stack":
            declared.append(getattr(request, "type", "?"))
        return original(self, request)

    monkeypatch.setattr(engine._RecordingMonitor, "RegisterResource", counting)

    def invoke(*argv: str) -> Outcome:
        declared.clear()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err, list(declared))

    yield invoke


def assert_refused(outcome: Outcome, *needles: str) -> None:
    assert outcome.code == EXIT_INVALID, (outcome.code, outcome.err)
    for needle in needles:
        assert needle in outcome.err, (needle, outcome.err)
    assert "Traceback" not in outcome.err + outcome.out
    assert outcome.out == "", "nothing is reported for a stack whose config is invalid"
    assert outcome.declared == [], "a bad config must fail before any resource is declared"


def as_stack_file(root: Path, stack: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / f"Pulumi.{stack}.yaml").write_text(text)
    return root


def as_values_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def block(key: str, value: object) -> str:
    return MVP + f"  {key}: {json.dumps(value)}\n"  # JSON is YAML flow style


# --- the corpus: each kind of mistake, as a stack file (or values file) -------------------------------------

FILES: list[tuple[str, str, tuple[str, ...]]] = [
    ("namespace-typo", MVP + "  stagwise:budget:\n    monthlyUsd: 10\n", ("stagwise:budget", "did you mean stagewise:budget?")),
    ("namespace-missing", MVP + "  budget:\n    monthlyUsd: 10\n", ("write it as stagewise:budget",)),
    ("provider-key-typo", MVP + "  gcp:regoin: us-central1\n", ("gcp:regoin", "did you mean gcp:region?")),
    ("provider-key-unknown", MVP + "  gcp:colour: blue\n", ("gcp:colour", "no setting 'colour'")),
    ("digest-malformed", MVP.replace("      mode: build", f"      mode: external\n      ref: {REF}abc"),
     ("stagewise:service.image.ref", "64 lowercase hex")),
    ("digest-upper-case", MVP.replace("      mode: build", f"      mode: external\n      ref: {REF}{'AB' * 32}"),
     ("stagewise:service.image.ref", "64 lowercase hex")),
    ("digest-all-zero", MVP.replace("      mode: build", f"      mode: external\n      ref: {REF}{'0' * 64}"),
     ("stagewise:service.image.ref", "all-zero digest is a placeholder")),
    ("digest-missing", MVP.replace("      mode: build", f"      mode: external\n      ref: {REF[:-8]}:latest"),
     ("stagewise:service", "pin a digest")),
    ("billing-account-zeros", block("stagewise:budget", {"monthlyUsd": 50, "billingAccount": "000000-000000-000000"}),
     ("stagewise:budget.billingAccount", "placeholder billing account")),
    ("billing-account-sequence", block("stagewise:budget", {"monthlyUsd": 50, "billingAccount": "012345-6789AB-CDEF01"}),
     ("stagewise:budget.billingAccount", "placeholder billing account")),
    ("billing-account-repeated", block("stagewise:budget", {"monthlyUsd": 50, "billingAccount": "123456-123456-123456"}),
     ("stagewise:budget.billingAccount", "placeholder billing account")),
    ("billing-account-replace-me", block("stagewise:budget", {"monthlyUsd": 50, "billingAccount": "REPLACE-ME"}),
     ("stagewise:budget.billingAccount", "placeholder")),
    ("invoker-without-kind", MVP.replace("    public: true\n", "    invokers: [ops@example.com]\n"),
     ("stagewise:service.invokers", "is not an IAM member")),
    ("invoker-empty-member", MVP.replace("    public: true\n", "    invokers: ['user:']\n"),
     ("stagewise:service.invokers", "is not an IAM member")),
    ("invoker-all-users", MVP.replace("    public: true\n", "    invokers: [allUsers]\n"), ("stagewise:service", "set service.public: true")),
    ("secret-id-path", MVP.replace("CHAT_API_KEYS: chat-api-keys", "CHAT_API_KEYS: projects/p/secrets/keys"),
     ("stagewise:service.secretEnv", "not a Secret Manager secret id")),
    ("secret-id-characters", MVP.replace("CHAT_API_KEYS: chat-api-keys", "CHAT_API_KEYS: 'bad id!'"),
     ("stagewise:service.secretEnv", "not a Secret Manager secret id")),
    ("model-typo", _model("gemini-3.1-flash-lte"), ("stagewise:inference.model", "did you mean 'gemini-3.1-flash-lite'")),
    ("model-retired", _model("gemini-2.0-flash-lite"), ("stagewise:inference.model", "was retired on Vertex AI", "use 'gemini-3.1-flash-lite'")),
    ("model-other-vendor", _model("gpt-4o"), ("stagewise:inference.model", "not a model in the price table")),
    ("fallback-model-unknown", _model(f"{MVP_MODEL}\n    fallbackModel: gemini-9"),
     ("stagewise:inference.fallbackModel",)),
    ("stage-mismatch", MVP + "  stagewise:stage: prod\n", ("stagewise:stage", "contradicts the stack's name 'mvp'")),
    ("stage-unknown", MVP + "  stagewise:stage: production\n", ("stagewise:stage", "mvp|staging|prod")),
    ("duplicate-top-level-key", MVP.replace("config:", "config:\n  stagewise:budget: 10\n  stagewise:budget: 20", 1),
     ("'stagewise:budget' appears twice",)),
    ("duplicate-nested-key", MVP.replace("    maxInstances: 2\n", "    maxInstances: 2\n    maxInstances: 9\n"), ("'maxInstances' appears twice",)),
    ("yaml-syntax-error", MVP.replace("config:", "config:\n  stagewise:service: {name: chat", 1), ("not valid YAML",)),
    ("yaml-tab-indentation", "config:\n\tgcp:project: stagewise-test\n", ("not valid YAML",)),
    ("yaml-top-level-list", "- config\n", ("top level must be a mapping",)),
    ("json-in-a-string", MVP + "  stagewise:usage: '{\"requestsPerMonth\": '\n", ("stagewise:usage", "JSON")),
    ("nested-key-typo", MVP.replace("    maxInstances: 2\n", "    maxInstance: 2\n"), ("stagewise:service.maxInstance", "did you mean 'maxInstances'")),
    ("wrong-type", MVP.replace("    maxInstances: 2\n", "    maxInstances: lots\n"), ("stagewise:service.maxInstances",)),
]

COMMANDS = ("review", "cost", "diff")


def file_argv(command: str, text: str, tmp_path: Path) -> list[str]:
    """The command reading ``text``: as the stack file itself (review --root), or laid over the shipped one
    as a values file (cost and diff have no --root; --values reads the same YAML the same way)."""
    if command == "review":
        return ["review", "mvp", "--root", str(as_stack_file(tmp_path / "root", "mvp", text))]
    values = str(as_values_file(tmp_path / "values.yaml", text))
    return ["cost", "mvp", "--values", values] if command == "cost" else ["diff", "mvp", "mvp", "--values", values]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("case", "text", "needles"), FILES, ids=[case for case, _, _ in FILES])
def test_bad_stack_files_exit_2_naming_the_key(cli: Any, command: str, case: str, text: str, needles: tuple[str, ...],
                                               tmp_path: Path) -> None:
    assert_refused(cli(*file_argv(command, text, tmp_path)), *needles)


# --- the corpus as --config values ---------------------------------------------------------------------------

FLAGS: list[tuple[str, str, tuple[str, ...]]] = [
    ("no-value", "stagewise:service", ("NAMESPACE:KEY=VALUE",)),
    ("no-namespace", "service.maxInstances=5", ("NAMESPACE:KEY=VALUE",)),
    ("empty-key", "stagewise:=1", ("NAMESPACE:KEY=VALUE",)),
    ("empty-path-part", "stagewise:service..maxInstances=1", ("NAMESPACE:KEY=VALUE",)),
    ("named-index", "stagewise:service[x]=1", ("NAMESPACE:KEY=VALUE",)),
    ("namespace-typo", "stagwise:service.maxInstances=5", ("stagwise:service.maxInstances", "unknown namespace")),
    ("provider-key-typo", "gcp:regoin=us-central1", ("gcp:regoin", "did you mean gcp:region?")),
    ("path-key-typo", "stagewise:service.maxInstance=5", ("stagewise:service.maxInstance", "did you mean 'maxInstances'")),
    ("path-wrong-type", "stagewise:service.maxInstances=lots", ("stagewise:service.maxInstances",)),
    ("path-through-a-scalar", "stagewise:service.name.first=x", ("stagewise:service.name", "valid string")),
    ("path-bad-member", "stagewise:service.invokers[0]=ops@example.com", ("stagewise:service.invokers", "is not an IAM member")),
    ("path-bad-digest", f"stagewise:service.image.ref={REF}abc", ("stagewise:service.image.ref", "64 lowercase hex")),
    ("path-placeholder-billing", "stagewise:budget.billingAccount=000000-000000-000000", ("stagewise:budget.billingAccount",)),
    ("path-unknown-model", "stagewise:inference.model=gemini-1.0-pro", ("stagewise:inference.model",)),
    ("path-stage-mismatch", "stagewise:stage=staging", ("stagewise:stage", "contradicts")),
    ("malformed-json", "stagewise:service={not json", ("stagewise:service", "JSON")),
]


def flag_argv(command: str, pair: str) -> list[str]:
    head = {"review": ["review", "mvp"], "cost": ["cost", "mvp"], "diff": ["diff", "mvp", "mvp"]}[command]
    return [*head, "--config", pair]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("case", "pair", "needles"), FLAGS, ids=[case for case, _, _ in FLAGS])
def test_bad_config_flags_exit_2_naming_the_key(cli: Any, command: str, case: str, pair: str, needles: tuple[str, ...]) -> None:
    assert_refused(cli(*flag_argv(command, pair)), *needles)


@pytest.mark.parametrize("command", ["cost", "diff"])
def test_dotted_config_paths_work_for_every_command(cli: Any, command: str) -> None:
    """`--config stagewise:service.minInstances=1` sets one key inside its object, as `pulumi config set --path`
    does (the README's review example is tests/test_config_validation.py): an always-on instance costs more."""

    def monthly(*pairs: str) -> float:
        argv = flag_argv(command, pairs[0]) if pairs else flag_argv(command, "stagewise:service.name=chat")[:-2]
        for pair in pairs[1:]:
            argv += ["--config", pair]
        outcome = cli(*argv, "--format", "json")
        assert outcome.code == EXIT_OK, outcome.err
        document = json.loads(outcome.out)
        return float(document["monthlyUsd"] if command == "cost" else document["from"]["monthlyUsd"])

    assert monthly("stagewise:service.minInstances=1", "stagewise:service.maxInstances=5") > monthly()
    if command == "cost":
        outcome = cli("cost", "mvp", "--config", "stagewise:budget.monthlyUsd=77", "--format", "json")
        assert outcome.code == EXIT_OK and json.loads(outcome.out)["budgetUsd"] == 77
        # Usage read by the estimator itself (not the program) takes paths too.
        outcome = cli("cost", "mvp", "--config", "stagewise:usage.requestsPerMonth=0", "--format", "json")
        assert outcome.code == EXIT_OK and json.loads(outcome.out)["usage"]["requests_per_month"] == 0


# --- generated: every key of every shipped stack file, misspelt ----------------------------------------------

Loc = tuple[Union[str, int], ...]


def _alternatives(annotation: Any) -> list[Any]:
    """The shapes a field may take: models, dict[str, X], list[X] (through Optional, Union and Annotated)."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if origin in (dict, list):
        return [annotation]
    return [shape for arg in get_args(annotation) if arg is not type(None) for shape in _alternatives(arg)]


def _aliases(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()} | set(model.model_fields)


def schema_keys(annotation: Any, value: Any, loc: Loc) -> Iterator[tuple[Loc, str, set[str]]]:
    """(where, key, the keys valid there) for every key the schema names (not free-form mapping keys)."""
    shapes = _alternatives(annotation)
    if isinstance(value, dict):
        models = [s for s in shapes if isinstance(s, type) and set(value) <= _aliases(s)]
        if models:
            valid = set().union(*(_aliases(m) for m in models))
            for key, item in value.items():
                yield loc, key, valid
                field = next(f for name, f in models[0].model_fields.items() if key in (name, f.alias))
                yield from schema_keys(field.annotation, item, (*loc, key))
            return
        for shape in shapes:
            if get_origin(shape) is dict:
                for key, item in value.items():
                    yield from schema_keys(get_args(shape)[1], item, (*loc, key))
                return
    if isinstance(value, list):
        for shape in shapes:
            if get_origin(shape) is list:
                for index, item in enumerate(value):
                    yield from schema_keys(get_args(shape)[0], item, (*loc, index))
                return


def typo(key: str, valid: set[str]) -> str:
    for candidate in (key[:-1], key[:-1] + "x" + key[-1], key + "x"):
        if candidate and candidate not in valid:
            return candidate
    raise AssertionError(key)


def shipped(stack: str) -> dict[str, Any]:
    """The shipped stack file's config with its sample values laid over it (top-level keys replace)."""
    config = (yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text()) or {})["config"]
    return {**config, **values_document(stack)}


def mutate(document: Any, loc: Loc, key: str, new: str) -> Any:
    if not loc:
        return {(new if k == key else k): v for k, v in document.items()}
    head, *rest = loc
    if isinstance(document, list):
        return [mutate(item, tuple(rest), key, new) if index == head else item for index, item in enumerate(document)]
    return {k: (mutate(v, tuple(rest), key, new) if k == head else v) for k, v in document.items()}


def variants() -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """(stack, id, the mutated config, what stderr must name)."""
    top = _aliases(StackConfig)
    for stack in ("mvp", "staging", "prod"):
        config = shipped(stack)
        for full_key, value in config.items():
            namespace, _, name = full_key.partition(":")
            bad_namespace = typo(namespace, {"stagewise", "gcp", "docker", "pulumi"})
            yield stack, f"{stack}:{bad_namespace}:{name}", mutate(config, (), full_key, f"{bad_namespace}:{name}"), f"{bad_namespace}:{name}: "
            if namespace == "gcp":
                bad = typo(name, {"project", "region", "zone"})
                yield stack, f"{stack}:gcp:{bad}", mutate(config, (), full_key, f"gcp:{bad}"), f"gcp:{bad}: "
                continue
            bad = typo(name, top)
            yield stack, f"{stack}:stagewise:{bad}", mutate(config, (), full_key, f"stagewise:{bad}"), f"stagewise:{bad}: unknown key"
            field = next(f for field_name, f in StackConfig.model_fields.items() if name in (field_name, f.alias))
            for loc, key, valid in schema_keys(field.annotation, value, ()):
                bad = typo(key, valid)
                path = ".".join(str(part) for part in (name, *loc, bad))
                mutated = {**config, full_key: mutate(value, loc, key, bad)}
                yield stack, f"{stack}:stagewise:{path}", mutated, f"stagewise:{path}: "


VARIANTS = list(variants())


def engine_config(document: dict[str, Any]) -> dict[str, str]:
    return {key: _config_value(value) for key, value in document.items()}


@pytest.mark.parametrize("stack", ["mvp", "staging", "prod"])
def test_the_unmutated_files_load_and_every_key_is_mutated(stack: str) -> None:
    """The baseline the variants start from is valid, so each variant fails for its typo alone."""
    load_config(engine_config(shipped(stack)), stack)
    nested = [v for v in VARIANTS if v[0] == stack and "." in v[1]]
    assert len(nested) >= 10, "the walker found too few nested keys: the generated corpus would prove little"


@pytest.mark.parametrize("command", ["review", "cost"])
@pytest.mark.parametrize(("stack", "case", "document", "needle"), VARIANTS, ids=[case for _, case, _, _ in VARIANTS])
def test_every_key_misspelt_exits_2_naming_it(cli: Any, command: str, stack: str, case: str, document: dict[str, Any], needle: str,
                                              tmp_path: Path) -> None:
    """As the stack file itself (review --root), and laid over the shipped file as a values file (cost)."""
    text = yaml.safe_dump({"config": document}, sort_keys=False)
    if command == "review":
        argv = ["review", stack, "--root", str(as_stack_file(tmp_path, stack, text))]
    else:
        argv = ["cost", stack, "--values", str(as_values_file(tmp_path / "values.yaml", text))]
    assert_refused(cli(*argv), needle)


# --- the real entry point, as a user runs it ---------------------------------------------------------------

@pytest.mark.parametrize(("argv", "needle"), [
    (["review", "mvp", "--config", "stagwise:service.maxInstances=5"], "stagwise:service.maxInstances"),
    (["cost", "mvp", "--config", "gcp:regoin=us-central1"], "gcp:regoin"),
    (["diff", "mvp", "mvp", "--config", "stagewise:service"], "NAMESPACE:KEY=VALUE"),
])
def test_the_installed_command_exits_2_without_a_traceback(argv: list[str], needle: str) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "stagewise"), *argv], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT, check=False)
    assert done.returncode == EXIT_INVALID, done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr + done.stdout and done.stdout == ""
