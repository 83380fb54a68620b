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
    for info in pkgutil.walk_packages(components.__path__, "stagewise.components."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_"):
                if issubclass(value, pulumi.ComponentResource) or name.endswith("Args"):
                    declared.add(name)
    assert declared, "no component found"
    assert declared <= set(components.__all__), sorted(declared - set(components.__all__))
    assert sorted(components.__all__) == sorted(components._WHERE)


def test_each_exported_name_resolves_to_its_module() -> None:
    for name in components.__all__:
        value = getattr(components, name)
        assert value.__name__ == name and value.__module__.startswith("stagewise.components.")


def test_importing_the_package_loads_no_provider() -> None:
    code = "import sys, stagewise.components; print('pulumi_gcp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_inference_exports_match_where_they_live() -> None:
    import stagewise.components.inference as inference

    assert sorted(inference.__all__) == sorted(inference._WHERE)
    for name in inference.__all__:
        assert getattr(inference, name) is not None


def test_config_checks_load_no_provider() -> None:
    code = ("import sys; from stagewise.components.inference import check_vertex, CLOUD_RUN_GPU_REGIONS; "
            "print('pulumi_gcp' in sys.modules, 'pulumi' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False False"
