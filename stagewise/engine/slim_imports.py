"""Offline reviews load only the pulumi_gcp modules a program uses.

Each pulumi_gcp service package (``pulumi_gcp.compute``, ``pulumi_gcp.storage``, …) star-imports
every one of its modules in its ``__init__``: ``pulumi_gcp.compute`` is about 290 of them, most of
a prod review's start-up, while prod declares ten compute types. Installed before ``pulumi_gcp``
is imported, this finder gives each service package a loader that does not run that
``__init__``: a name asked of the package (``compute.GlobalAddress``) imports the one module whose
``__all__`` lists it, or the package's shared ``_enums``/``_inputs``/``outputs`` modules, and
any other name runs the real ``__init__`` after all. The classes are the same objects either way,
so a program declares exactly what it would with the full import (tests/test_slim_imports.py
compares whole review documents); only what is loaded differs.

Only the offline engine installs it (``pulumi up`` imports the provider as usual); set
``STAGEWISE_FULL_IMPORTS=1`` to switch it off.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "pulumi_gcp"
_SHARED = ("_enums", "_inputs", "outputs")  # modules every resource module of a package may use
_ALL = re.compile(r"^__all__ = \[([^\]]*)\]", re.M)
_NAME = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)'")
HEAD_BYTES = 8192  # generated modules declare __all__ within their first few hundred bytes


def _index(directory: Path) -> dict[str, str] | None:
    """Name → module of every public module in a package directory, from each one's ``__all__``;
    None when one cannot be read (the package then loads in full)."""
    names: dict[str, str] = {}
    for path in directory.glob("*.py"):
        module = path.stem
        if module.startswith("_") or module == "outputs":
            continue
        with path.open(encoding="utf-8") as handle:
            head = handle.read(HEAD_BYTES)
        found = _ALL.search(head)
        if found is None:
            return None
        for name in _NAME.findall(found.group(1)):
            names.setdefault(name, module)
    return names


class _SlimLoader(importlib.abc.Loader):
    def __init__(self, real: importlib.machinery.SourceFileLoader, directory: Path) -> None:
        self.real = real
        self.directory = directory

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        index = _index(self.directory)
        if index is None:
            self.real.exec_module(module)
            return
        package = module.__name__
        loaded_in_full = False

        def full() -> None:
            nonlocal loaded_in_full
            if not loaded_in_full:
                loaded_in_full = True
                self.real.exec_module(module)

        def __getattr__(name: str) -> Any:  # noqa: N807 - a module's PEP 562 hook
            if name.startswith("__"):
                raise AttributeError(name)
            where = index.get(name)
            if where is not None:
                value = getattr(importlib.import_module(f"{package}.{where}"), name)
                setattr(module, name, value)
                return value
            if (self.directory / f"{name}.py").is_file() or (self.directory / name / "__init__.py").is_file():
                return importlib.import_module(f"{package}.{name}")
            for shared in _SHARED:
                if (self.directory / f"{shared}.py").is_file():
                    found = getattr(importlib.import_module(f"{package}.{shared}"), name, _MISSING)
                    if found is not _MISSING:
                        setattr(module, name, found)
                        return found
            full()
            if name in module.__dict__:
                return module.__dict__[name]
            raise AttributeError(f"module {package!r} has no attribute {name!r}")

        def __dir__() -> list[str]:  # noqa: N807
            full()
            return sorted(module.__dict__)

        module.__dict__["__getattr__"] = __getattr__
        module.__dict__["__dir__"] = __dir__


_MISSING = object()


class _SlimFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        parts = fullname.split(".")
        if len(parts) != 2 or parts[0] != PACKAGE or parts[1] == "config" or not path:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader) or not spec.submodule_search_locations:
            return spec
        spec.loader = _SlimLoader(spec.loader, Path(spec.submodule_search_locations[0]))
        return spec


def install() -> bool:
    """Put the finder first on ``sys.meta_path``; True when it is (or already was) in place. A
    pulumi_gcp imported earlier keeps its packages as they are (nothing breaks, nothing is saved)."""
    if os.environ.get("STAGEWISE_FULL_IMPORTS"):
        return False
    if not any(isinstance(finder, _SlimFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SlimFinder())
    return True
