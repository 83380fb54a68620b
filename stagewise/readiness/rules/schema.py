"""What the provider's own schema refuses, for every type it covers: values outside an enum and
required inputs left out (stagewise/readiness/data/provider_facts.yaml, derived from the provider's
sources). The Python SDK's Args classes demand required arguments, but dict-style inputs
(``…ArgsDict``, plain dicts) reach the engine unchecked, and enums are plain strings there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import Inventory, Resource, is_unknown
from stagewise.readiness.model import BLOCKS, Problem
from stagewise.readiness.provider_facts import facts, known_types
from stagewise.readiness.rules import rule

SCHEMA_SOURCE = "https://github.com/GoogleCloudPlatform/magic-modules/blob/main/docs/content/reference/field.md"


def _walk(value: Any, parts: list[str], path: str) -> Iterator[tuple[str, Any]]:
    """(concrete path, value) for a provider path pattern (``a.b[].c``), over every list item present."""
    if not parts:
        yield path, value
        return
    part, rest = parts[0], parts[1:]
    name, many = (part[:-2], True) if part.endswith("[]") else (part, False)
    if not isinstance(value, dict) or name not in value:
        return
    inner = value[name]
    here = f"{path}.{name}" if path else name
    if many:
        items = inner if isinstance(inner, list) else [inner]
        for index, item in enumerate(items):
            yield from _walk(item, rest, f"{here}[{index}]")
    else:
        yield from _walk(inner, rest, here)


def _parents(value: Any, parts: list[str], path: str) -> Iterator[tuple[str, Any]]:
    """The objects that must hold the last part of a required path: only where the block is set."""
    yield from _walk(value, parts[:-1], path) if parts[:-1] else iter([(path, value)])


@rule(
    "schema-enum-value", types=known_types(), severity=BLOCKS, source=SCHEMA_SOURCE,
    title="an enum input holds a value the provider does not accept",
)
def enum_value(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    found = facts(resource.type)
    if found is None:
        return
    for pattern, allowed in sorted(found.enums.items()):
        for path, value in _walk(resource.inputs, pattern.split("."), ""):
            if not isinstance(value, str) or value == "" or is_unknown(value) or value in allowed:
                continue
            near = [a for a in allowed if a.lower() == value.lower() or a.endswith(value.upper())]
            yield Problem(
                path, f"{resource.name}: {path} is {value!r}, not one of the provider's values ({', '.join(allowed)})",
                f"use {near[0]!r}" if near else f"use one of {', '.join(allowed)}", source=found.source,
            )


@rule(
    "schema-required-missing", types=known_types(), severity=BLOCKS, source=SCHEMA_SOURCE,
    title="a required input (or a required field of a block that is set) is missing",
)
def required_missing(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    found = facts(resource.type)
    if found is None:
        return
    for pattern in sorted(found.required):
        parts = pattern.split(".")
        last = parts[-1].removesuffix("[]")
        for path, parent in _parents(resource.inputs, parts, ""):
            if not isinstance(parent, dict) or is_unknown(parent):
                continue
            if path == "" and last == "name":
                # Pulumi auto-names a top-level name from the logical name plus a random suffix
                # (https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming).
                continue
            if parent.get(last) in (None, "", [], {}) and not (path == "" and last in _PROVIDER_FILLED):
                where = f"{path}.{last}" if path else last
                yield Problem(where, f"{resource.name}: {where} is required by the provider and not set",
                              f"set {where}", source=found.source)


# Required in the schema but filled by the provider from its configuration when left out
# (https://www.pulumi.com/registry/packages/gcp/installation-configuration/).
_PROVIDER_FILLED = frozenset({"project", "region", "zone", "location"})
