"""YAML data files read with libyaml's parser when PyYAML has it.

PyYAML's pure-Python scanner is most of the time of reading the data files a review reads (the
provider facts, the price tables): libyaml's is about eight times faster on them, with the same
(Python) safe constructor behind it, so the same values. A file that does not parse is parsed
again by the pure-Python loader, so its error message (file, line, problem) is what it always was.
"""

from __future__ import annotations

from typing import Any

import yaml

_FAST: Any = getattr(yaml, "CSafeLoader", None)


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, faster."""
    if _FAST is None:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=_FAST)  # noqa: S506 - libyaml's SafeLoader
    except yaml.YAMLError:
        return yaml.safe_load(text)
