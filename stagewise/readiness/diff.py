"""Property diffs as the engine computes them between two deploys of one resource.

The engine compares the inputs it stored at the last deploy with the program's new inputs; paths
listed in ``ignoreChanges`` keep their old value (https://www.pulumi.com/docs/iac/concepts/options/ignorechanges/),
and a changed path the provider marks as immutable (ForceNew) turns the update into a replacement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

_PART = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]")


def leaf_changes(before: Any, after: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths (``a.b[0].c``) where ``after`` differs from ``before``."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            path = f"{prefix}.{key}" if prefix else key
            if key not in before or key not in after:
                if before.get(key) != after.get(key):
                    yield path
                continue
            yield from leaf_changes(before[key], after[key], path)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after)):
            yield from leaf_changes(old, new, f"{prefix}[{index}]")
    elif before != after:
        yield prefix


def _parts(path: str) -> list[str]:
    return [name or f"[{index}]" for name, index in _PART.findall(path)]


def _normalise(name: str) -> str:
    """ignoreChanges may spell a property in snake_case (the Python SDK passes what it was given)."""
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def ignored(path: str, ignore_changes: Iterable[str]) -> bool:
    """True when ``path`` lies at or under one of the ``ignoreChanges`` paths (``[*]`` matches any index)."""
    parts = _parts(path)
    for pattern in ignore_changes:
        wanted = [_normalise(p) if not p.startswith("[") else p for p in _parts(pattern)]
        if len(wanted) <= len(parts) and all(w == p or (w == "[*]" and p.startswith("[")) for w, p in zip(wanted, parts)):
            return True
    return False


def effective_changes(before: dict[str, Any], after: dict[str, Any], ignore_changes: Iterable[str]) -> list[str]:
    rules = list(ignore_changes)
    return [path for path in leaf_changes(before, after) if not ignored(path, rules)]
