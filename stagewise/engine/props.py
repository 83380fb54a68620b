"""Reading a declared resource's inputs by property path (camelCase, dot-separated, [0] for the
first list item), as the review, the cost rules and the readiness checks name them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def lookup(props: Mapping[str, Any], path: str) -> Any:
    value: Any = props
    for part in path.replace("[0]", ".0").split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
