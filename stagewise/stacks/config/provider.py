"""The `gcp:` keys the Google Cloud provider reads, so a typo (`gcp:regoin`) fails instead of being ignored.

The list is read from the installed provider itself (pulumi_gcp/config/vars.py, where every key is
read with `__config__.get…('<key>')`), so it always matches the provider the program runs with.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

_KEY = re.compile(r"__config__\.get\w*\('([A-Za-z0-9]+)'\)")


@lru_cache(maxsize=1)
def provider_keys() -> frozenset[str]:
    """Every `gcp:` config key of the installed pulumi-gcp (empty when it cannot be read: then nothing is refused)."""
    spec = importlib.util.find_spec("pulumi_gcp")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "config" / "vars.py"
        if path.is_file():
            return frozenset(_KEY.findall(path.read_text(encoding="utf-8")))
    return frozenset()
