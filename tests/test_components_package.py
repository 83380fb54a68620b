"""The public surface another team imports: `from stagewise.components import ChatService, …`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pulumi

import stagewise.components as components


def test_every_component_and_args_class_is_exported() -> None:
    declared = set()
    for info in pkgutil.iter_modules(components.__path__):
        module = importlib.import_module(f"stagewise.components.{info.name}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_"):
                if issubclass(value, pulumi.ComponentResource) or name.endswith("Args"):
                    declared.add(name)
    assert declared, "no component found"
    assert declared <= set(components.__all__), sorted(declared - set(components.__all__))


def test_each_exported_name_resolves_to_its_module() -> None:
    for name in components.__all__:
        value = getattr(components, name)
        assert value.__name__ == name and value.__module__.startswith("stagewise.components.")


def test_importing_the_package_loads_no_provider() -> None:
    code = "import sys, stagewise.components; print('pulumi_gcp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
