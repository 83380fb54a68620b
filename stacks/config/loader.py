"""Turn Pulumi config (flat `namespace:key` strings) into a validated StackConfig.

Every failure is reported as the Pulumi key that is wrong plus how to fix it, and happens before
the program declares a single resource.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from stacks.config.model import STAGES, StackConfig
from stacks.config.placeholders import find_placeholders
from stacks.config.placeholders import report as placeholder_report

NAMESPACE = "stagewise"
# Provider keys we read; other gcp:* keys configure the provider itself and are passed through.
GCP_KEYS = ("project", "region")


class ConfigError(Exception):
    """Stack configuration is invalid; the message lists each wrong key and its fix."""


def _parse_value(raw: str) -> Any:
    """Pulumi passes structured values as JSON text and scalars as plain strings."""
    if raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"value is not valid JSON ({exc.msg}); write it as YAML in the stack file") from exc
    return raw


def load_config(raw: Mapping[str, str], stack: str) -> StackConfig:
    """Validate the flat Pulumi config of ``stack``; raise ConfigError naming every bad key."""
    document: dict[str, Any] = {"gcp": {}}
    problems: list[str] = []
    read: dict[str, Any] = {}
    for key, value in sorted(raw.items()):
        namespace, _, name = key.partition(":")
        try:
            parsed = _parse_value(value)
        except ConfigError as exc:
            problems.append(f"{key}: {exc}")
            continue
        if namespace in (NAMESPACE, "gcp"):
            read[key] = parsed
        if namespace == NAMESPACE:
            document[name] = parsed
        elif namespace == "gcp" and name in GCP_KEYS:
            document["gcp"][name] = parsed
    if "project" not in document["gcp"]:
        problems.append("gcp:project: not set; run `pulumi config set gcp:project <your-project-id>`")
    document.setdefault("stage", stack)
    if document["stage"] not in STAGES:
        source = "stagewise:stage" if f"{NAMESPACE}:stage" in raw else f"stack name {stack!r} (stagewise:stage unset)"
        problems.append(
            f"stagewise:stage: {source} is not a stage; set `pulumi config set stagewise:stage <{'|'.join(STAGES)}>`"
        )
    # Placeholders first: a REPLACE-ME value would otherwise fail its own validator with a less
    # useful message (a project id pattern, a member prefix), one key at a time.
    marked = find_placeholders(read)
    if marked:
        raise ConfigError(_report(stack, [*problems, *placeholder_report(stack, marked)]))
    if problems:
        raise ConfigError(_report(stack, problems))
    try:
        return StackConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_report(stack, [_explain(error) for error in exc.errors()])) from None


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
