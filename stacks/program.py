"""The Pulumi program: validate the stack's config, then compose its stage."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from stagewise.stacks.config import StackConfig, config_from_pulumi

Composition = Callable[[StackConfig], None]


def composition(stage: str) -> Composition:
    """`stacks.<stage>.compose`; only the chosen stage is imported (each pulls in its own providers)."""
    try:
        module = importlib.import_module(f"stacks.{stage}")
    except ModuleNotFoundError as exc:
        if exc.name != f"stacks.{stage}":
            raise
        raise RuntimeError(f"stage {stage!r} has no composition (no module stacks/{stage}.py)") from None
    compose: Composition = module.compose
    return compose


def main() -> None:
    # Fails here, before a single resource is declared, when the config is wrong.
    config = config_from_pulumi()
    composition(config.stage)(config)
