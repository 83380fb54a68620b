"""Turn Pulumi config (flat `namespace:key` strings) into a validated StackConfig.

Every failure is reported as the Pulumi key that is wrong plus how to fix it, and happens before
the program declares a single resource.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from stagewise.stacks.config.model import STAGES, StackConfig
from stagewise.stacks.config.placeholders import find_placeholders
from stagewise.stacks.config.placeholders import report as placeholder_report
from stagewise.stacks.config.provider import provider_keys

NAMESPACE = "stagewise"
# Provider keys we read; other gcp:* keys configure the provider itself and are passed through
# (each must be one the provider has: stagewise/stacks/config/provider.py).
GCP_KEYS = ("project", "region")
# Namespaces a stack file may use: ours, the providers the program runs (gcp, docker for image
# builds) and Pulumi's own. Anything else is a typo that would silently drop its block.
KNOWN_NAMESPACES = (NAMESPACE, "gcp", "docker", "pulumi")
# A key names a path inside a structured value, as `pulumi config set --path` writes it
# (https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/index.md: "parent.nested", "names[0]"):
# stagewise:service.maxInstances, stagewise:service.invokers[0].
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_PATH = re.compile(r"^[^.\[\]]+(\.[^.\[\]]+|\[\d+\])*$")
# The stack names that say which stage they are: "prod", "prod-eu" (stage, optionally "-suffix").
_STAGE_IN_NAME = re.compile(r"^(mvp|staging|prod)(-.+)?$")
ALLOW_MISMATCH_KEY = "allowStageMismatch"


class ConfigError(Exception):
    """Stack configuration is invalid; the message lists each wrong key and its fix."""


def config_error(stack: str, key: str, message: str) -> ConfigError:
    """One wrong key of a stack's config, worded as the loader words its findings."""
    return ConfigError(f"invalid configuration for stack {stack!r} (Pulumi.{stack}.yaml):\n  - {key}: {message}")


def _parse_value(raw: str) -> Any:
    """Pulumi passes structured values as JSON text and scalars as plain strings."""
    if raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"value is not valid JSON ({exc.msg}); write it as YAML in the stack file") from exc
    return raw


def _path_value(raw: str) -> Any:
    """A value set at a path: "When setting the config for a path, "true" and "false" are treated as boolean
    values, and integers are treated as numbers. All other values are treated as strings"
    (https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/index.md); JSON text stays structured."""
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return _parse_value(raw)


def path_parts(name: str) -> list[str | int]:
    """``service.invokers[0]`` -> ["service", "invokers", 0]; ValueError when it is not a path."""
    if not _PATH.match(name):
        raise ValueError(name)
    return [int(index) if index else key for key, index in _PATH_PART.findall(name)]


def set_path(document: dict[str, Any], parts: list[str | int], value: Any) -> None:
    """Set ``value`` at ``parts`` in ``document``, creating objects and extending lists as `pulumi config set --path` does."""
    node: Any = document
    for part, following in zip(parts, [*parts[1:], None]):
        container: Any = [] if isinstance(following, int) else {}
        if following is None:
            container = value
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ValueError("a list index on a value that is not a list")
            while len(node) <= part:
                node.append(None)
            if following is None or not isinstance(node[part], (dict, list)):
                node[part] = container
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ValueError("a key inside a value that is not an object")
            if following is None or not isinstance(node.get(part), (dict, list)):
                node[part] = container
            node = node[part]


def _namespace_problem(key: str, namespace: str, name: str) -> str | None:
    if not name:
        return (f"{key}: a config key needs its namespace; write it as {NAMESPACE}:{key} "
                f"(or gcp:{key} for a provider setting)")
    if namespace in KNOWN_NAMESPACES:
        return None
    hint = difflib.get_close_matches(namespace, KNOWN_NAMESPACES, n=1)
    suggestion = f"did you mean {hint[0]}:{name}? " if hint else ""
    return (f"{key}: unknown namespace {namespace!r}, so nothing reads this block; {suggestion}"
            f"namespaces here: {', '.join(KNOWN_NAMESPACES)}")


def _gcp_problem(key: str, name: str) -> str | None:
    known = provider_keys()
    if not known or name in known or name in GCP_KEYS:
        return None
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    suggestion = f"did you mean gcp:{hint[0]}? " if hint else ""
    return f"{key}: the Google Cloud provider has no setting {name!r}; {suggestion}see `pulumi config` keys of pulumi-gcp"


def _stage_problem(stack: str, document: Mapping[str, Any], raw: Mapping[str, str]) -> str | None:
    """stagewise:stage may pick any composition for a stack whose name names none (qa, dev, mvp-eu uses mvp);
    a stack named for one stage running another is refused unless allowStageMismatch says it is meant."""
    named = _STAGE_IN_NAME.match(stack)
    stage = document.get("stage")
    if not named or f"{NAMESPACE}:stage" not in raw or stage == named.group(1) or stage not in STAGES:
        return None
    if str(document.get(ALLOW_MISMATCH_KEY, "")).lower() == "true":
        return None
    return (f"stagewise:stage: {stage!r} contradicts the stack's name {stack!r} (stage {named.group(1)}), and would apply "
            f"the {stage} composition and policy levels to it; remove stagewise:stage, or set "
            f"stagewise:{ALLOW_MISMATCH_KEY}: true if this stack is meant to run another stage")


def load_config(raw: Mapping[str, str], stack: str) -> StackConfig:
    """Validate the flat Pulumi config of ``stack``; raise ConfigError naming every bad key."""
    document: dict[str, Any] = {"gcp": {}}
    problems: list[str] = []
    read: dict[str, Any] = {}
    paths: list[tuple[str, str, Any]] = []
    for key, value in sorted(raw.items()):
        namespace, _, name = key.partition(":")
        problem = _namespace_problem(key, namespace, name)
        if problem:
            problems.append(problem)
            continue
        try:
            parsed = _parse_value(value)
        except ConfigError as exc:
            problems.append(f"{key}: {exc}")
            continue
        if namespace in (NAMESPACE, "gcp"):
            read[key] = parsed
        if namespace == NAMESPACE:
            if "." in name or "[" in name:
                paths.append((key, name, _path_value(value)))
            else:
                document[name] = parsed
        elif namespace == "gcp":
            problem = _gcp_problem(key, name)
            if problem:
                problems.append(problem)
            elif name in GCP_KEYS:
                document["gcp"][name] = parsed
    # Paths last, so stagewise:service.maxInstances=5 lands inside stagewise:service whatever the order.
    for key, name, parsed in paths:
        try:
            set_path(document, path_parts(name), parsed)
        except ValueError as exc:
            problems.append(f"{key}: not a config path ({exc}); write it like stagewise:service.maxInstances or "
                            "stagewise:service.invokers[0], as `pulumi config set --path` takes it")
    if "project" not in document["gcp"]:
        problems.append("gcp:project: not set; run `pulumi config set gcp:project <your-project-id>`")
    document.setdefault("stage", stack)
    if document["stage"] not in STAGES:
        source = "stagewise:stage" if f"{NAMESPACE}:stage" in raw else f"stack name {stack!r} (stagewise:stage unset)"
        problems.append(
            f"stagewise:stage: {source} is not a stage; set `pulumi config set stagewise:stage <{'|'.join(STAGES)}>`"
        )
    mismatch = _stage_problem(stack, document, raw)
    if mismatch:
        problems.append(mismatch)
    # Placeholders first: a REPLACE-ME value would otherwise fail its own validator with a less
    # useful message (a project id pattern, a member prefix), one key at a time.
    marked = find_placeholders(read)
    if marked:
        raise ConfigError(_report(stack, [*problems, *_unknown_keys(document), *placeholder_report(stack, marked)]))
    if problems:
        raise ConfigError(_report(stack, problems))
    try:
        return StackConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_report(stack, [_explain(error) for error in exc.errors()])) from None


def _unknown_keys(document: Mapping[str, Any]) -> list[str]:
    """Misspelt keys, which no placeholder value explains: reported with the placeholders, not after them."""
    try:
        StackConfig.model_validate(document)
    except ValidationError as exc:
        return [_explain(error) for error in exc.errors() if error["type"] == "extra_forbidden"]
    return []


def merged_config(raw: Mapping[str, str]) -> dict[str, str]:
    """The flat config with `--path` keys (stagewise:budget.monthlyUsd) folded into their objects, as the
    Pulumi CLI stores them: for tools that read whole objects from a run's config."""
    result = {key: value for key, value in raw.items() if not (key.startswith(f"{NAMESPACE}:") and ("." in key or "[" in key))}
    for key in sorted(set(raw) - set(result)):
        namespace, _, name = key.partition(":")
        try:
            parts = path_parts(name)
            head = f"{namespace}:{parts[0]}"
            base: dict[str, Any] = {"v": _parse_value(result[head]) if head in result else {}}
            set_path(base, ["v", *parts[1:]], _path_value(raw[key]))
            result[head] = json.dumps(base["v"]) if isinstance(base["v"], (dict, list)) else str(base["v"])
        except (ValueError, ConfigError):
            result[key] = raw[key]  # left for the loader to report
    return result


def config_from_pulumi() -> StackConfig:
    """Load the running program's config (real engine or mocks)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw: dict[str, str] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load_config(raw, pulumi.get_stack())


def _report(stack: str, problems: list[str]) -> str:
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"invalid configuration for stack {stack!r} (Pulumi.{stack}.yaml):\n{lines}"


def _key_path(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "stagewise"
    head, *rest = (str(part) for part in loc)
    if head == "gcp":
        return "gcp:" + ".".join(rest) if rest else "gcp"
    return "stagewise:" + ".".join([head, *rest])


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose fields are valid at ``loc`` (to list known keys for a typo)."""
    model: Any = StackConfig
    for part in loc:
        field = _field_by_alias(model, str(part)) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            # dict[str, Model] values: the key is free-form, the model is the value type
            return model if isinstance(model, type) and issubclass(model, BaseModel) else None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif any(isinstance(arg, type) and issubclass(arg, BaseModel) for arg in args):
            # dict[str, Model] or Model | None: the (last) model among the type arguments
            model = [arg for arg in args if isinstance(arg, type) and issubclass(arg, BaseModel)][-1]
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _field_by_alias(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _explain(error: ErrorDetails) -> str:
    loc = tuple(error["loc"])
    key = _key_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = [f.alias or n for n, f in parent.model_fields.items()] if parent else []
        if parent is StackConfig:
            known = [k for k in known if k != "gcp"]
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        return f"{key}: unknown key; {suggestion}known keys here: {', '.join(sorted(known))}"
    if kind == "missing":
        return f"{key}: required; set it in the stack file"
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    if kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum"):
        return f"{key}: {message} (got {given!r}); fix the value's type in the stack file"
    return f"{key}: {message}"
