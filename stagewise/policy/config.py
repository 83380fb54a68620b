"""Policy pack config exactly as the Pulumi CLI prepares it before `Configure`.

Mirrors the CLI's `--policy-pack-config` handling (pkg/resource/analyzer/config.go): parse the JSON
file (a level string, or an object with `enforcementLevel` plus properties), start from each
policy's own level and schema defaults, apply the pack's initial config, then `all`, then per-policy
entries, and validate the result against each policy's config schema. The SDK itself fills no
defaults, so skipping this step would run rules with config the real CLI never sends.

Schema validation covers the JSON Schema subset the pack uses (type, enum, minimum, maximum, items,
additionalProperties);
tests/test_policy_config.py checks the pack uses nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from stagewise.engine.record import ProgramError

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
SCHEMA_KEYWORDS = frozenset({"type", "enum", "minimum", "maximum", "items", "additionalProperties", "default", "description"})
_PROTO_LEVEL = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
LEVEL_NAMES = {value: key for key, value in _PROTO_LEVEL.items()}


class PolicyConfigError(ProgramError):
    """The policy config file is not what the Pulumi CLI would accept (the CLI exits 2 on it)."""


@dataclass
class PolicySetting:
    level: str | None
    properties: dict[str, Any] = field(default_factory=dict)


def parse_config(document: Mapping[str, Any], source: str = "policy config") -> dict[str, PolicySetting]:
    """Parse a `--policy-pack-config` document, rejecting what the CLI rejects."""
    parsed: dict[str, PolicySetting] = {}
    for name, value in document.items():
        if isinstance(value, str):
            if value not in LEVELS:
                raise PolicyConfigError(f"{source}: {name}: {value!r} is not an enforcement level; use one of {', '.join(LEVELS)}")
            parsed[name] = PolicySetting(value)
        elif isinstance(value, dict):
            properties = dict(value)
            level = properties.pop("enforcementLevel", None)
            if level is not None and level not in LEVELS:
                raise PolicyConfigError(f"{source}: {name}.enforcementLevel: {level!r} is not one of {', '.join(LEVELS)}")
            if level is None and not properties:
                continue
            parsed[name] = PolicySetting(level, properties)
        else:
            raise PolicyConfigError(f"{source}: {name}: write a level string or an object with enforcementLevel and properties")
    return parsed


def load_config_file(path: Path) -> dict[str, PolicySetting]:
    if not path.is_file():
        raise PolicyConfigError(f"policy config {path} does not exist; create it or pick a stage that has one")
    try:
        document = json.loads(path.read_text() or "{}")
    except json.JSONDecodeError as exc:
        raise PolicyConfigError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise PolicyConfigError(f"{path}: the top level must be an object of policy name -> config")
    return parse_config(document, str(path))


def _apply(result: dict[str, PolicySetting], given: Mapping[str, PolicySetting]) -> None:
    everything = given.get("all")
    if everything is not None and everything.level:
        for setting in result.values():
            setting.level = everything.level
    for name, setting in given.items():
        current = result.setdefault(name, PolicySetting(None))
        if setting.level:
            current.level = setting.level
        current.properties.update(setting.properties)


def reconcile(
    info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, PolicySetting], source: str = "policy config"
) -> dict[str, PolicySetting]:
    """Defaults from the pack's metadata, then initial config, then the file; validated."""
    result: dict[str, PolicySetting] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        properties = json_format.MessageToDict(policy.configSchema.properties) if policy.HasField("configSchema") else {}
        schemas[policy.name] = properties
        defaults = {key: schema["default"] for key, schema in properties.items() if "default" in schema}
        result[policy.name] = PolicySetting(LEVEL_NAMES[policy.enforcementLevel], defaults)
    initial = {
        name: PolicySetting(LEVEL_NAMES[value.enforcementLevel] if value.enforcementLevel else None,
                            json_format.MessageToDict(value.properties))
        for name, value in info.initialConfig.items()
    }
    _apply(result, initial)
    _apply(result, config)
    unknown = sorted(set(config) - set(schemas) - {"all"})
    if unknown:
        # The CLI ignores these silently; a typo in a policy name would silently drop a stage override.
        raise PolicyConfigError(f"{source}: no policy named {', '.join(unknown)} in the pack; check the spelling")
    errors = [
        f"{name}.{key}: {problem}"
        for name, schema in schemas.items()
        for key, problem in validate_properties(schema, result[name].properties)
    ]
    if errors:
        raise PolicyConfigError(f"{source}: " + "; ".join(errors))
    return {name: setting for name, setting in result.items() if name in schemas}


def validate_properties(schema: Mapping[str, Any], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for key, value in values.items():
        if key not in schema:
            continue  # JSON Schema allows extra properties unless told otherwise, as the CLI does
        problem = _check(schema[key], value)
        if problem:
            problems.append((key, problem))
    return problems


def _check(schema: Mapping[str, Any], value: Any) -> str | None:
    kind = schema.get("type")
    if kind == "integer" and not (isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()):
        return f"must be an integer, got {value!r}"
    if kind == "number" and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return f"must be a number, got {value!r}"
    if kind == "boolean" and not isinstance(value, bool):
        return f"must be true or false, got {value!r}"
    if kind == "string" and not isinstance(value, str):
        return f"must be a string, got {value!r}"
    if kind == "object":
        if not isinstance(value, dict):
            return f"must be an object, got {value!r}"
        value_schema = schema.get("additionalProperties")
        for key, item in value.items():
            problem = _check(value_schema, item) if isinstance(value_schema, Mapping) else None
            if problem:
                return f"{key} {problem}"
    if kind == "array":
        if not isinstance(value, list):
            return f"must be a list, got {value!r}"
        item_schema = schema.get("items")
        for index, item in enumerate(value):
            problem = _check(item_schema, item) if isinstance(item_schema, Mapping) else None
            if problem:
                return f"item {index} {problem}"
    if "enum" in schema and value not in schema["enum"]:
        return f"must be one of {schema['enum']}, got {value!r}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"must be at least {schema['minimum']}, got {value!r}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"must be at most {schema['maximum']}, got {value!r}"
    return None


def configure_request(settings: Mapping[str, PolicySetting]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, setting in settings.items():
        properties = struct_pb2.Struct()
        properties.update(setting.properties)
        request.policyConfig[name].CopyFrom(
            analyzer_pb2.PolicyConfig(enforcementLevel=_PROTO_LEVEL[setting.level or "advisory"], properties=properties)
        )
    return request
