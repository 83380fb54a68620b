"""PEP 562 re-exports for a package whose names live in submodules: each is imported on first use,
so importing the package (or its pure settings) loads neither Pulumi nor pulumi_gcp."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str], names: Sequence[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's ``__getattr__`` (name -> ``package.<where[name]>``) and ``__dir__`` (``names``)."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
