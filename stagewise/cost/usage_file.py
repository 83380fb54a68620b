"""Usage profile files, one a stack: `usage/<stack>.yml` (else `usage/<stage>.yml`), Infracost-style.

Infracost keeps usage that code cannot know (requests, GiB stored…) in a usage file beside the
code, with `version: 0.1`, project-wide figures and `resource_usage` keyed by resource address
(https://infracost.io/usage-file/, as the header of a generated file names it: https://github.com/infracost/infracost/issues/2750). Ours:

    version: 0.1
    usage:                 # every stagewise:usage key (camelCase), with the stage's defaults stated
      requestsPerMonth: 300000
    resource_usage:        # per resource, by Cloud Run service name
      chat-partners:
        requestsPerMonth: 50000

`resource_usage.<service>.requestsPerMonth` lands in `requestsByService`. A stack's
`stagewise:usage` overrides the file; command-line flags override both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stagewise import fast_yaml

USAGE_DIR = Path(__file__).resolve().parent.parent.parent / "usage"
RESOURCE_KEYS = {"requestsPerMonth"}


class UsageFileError(Exception):
    """A usage file is malformed (names the file and key)."""


def usage_file_path(stack: str, stage: str, directory: Path = USAGE_DIR) -> Path | None:
    for name in (stack, stage):
        path = directory / f"{name}.yml"
        if path.is_file():
            return path
    return None


def read_usage_file(path: Path) -> dict[str, Any]:
    """The file's figures as one stagewise:usage object (camelCase keys)."""
    try:
        document = fast_yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UsageFileError(f"{path.name}: not valid YAML ({exc})") from None
    if not isinstance(document, dict):
        raise UsageFileError(f"{path.name}: must be a mapping with version, usage and resource_usage")
    unknown = sorted(set(document) - {"version", "usage", "resource_usage"})
    if unknown:
        raise UsageFileError(f"{path.name}: unknown top-level key(s) {unknown}; allowed: version, usage, resource_usage")
    if str(document.get("version", "")) != "0.1":
        raise UsageFileError(f"{path.name}: version must be 0.1 (the Infracost usage-file version this follows)")
    usage = dict(document.get("usage") or {})
    by_service: dict[str, Any] = dict(usage.get("requestsByService") or {})
    for name, figures in (document.get("resource_usage") or {}).items():
        if not isinstance(figures, dict) or set(figures) - RESOURCE_KEYS:
            raise UsageFileError(f"{path.name}: resource_usage.{name}: only {', '.join(sorted(RESOURCE_KEYS))} is understood")
        if "requestsPerMonth" in figures:
            by_service[str(name)] = figures["requestsPerMonth"]
    if by_service:
        usage["requestsByService"] = by_service
    return usage


def usage_file_for(stack: str, stage: str, directory: Path = USAGE_DIR) -> dict[str, Any]:
    path = usage_file_path(stack, stage, directory)
    return read_usage_file(path) if path is not None else {}
