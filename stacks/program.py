"""The Pulumi program: validate the stack's config, then compose its stage."""

from __future__ import annotations

from collections.abc import Callable

from stacks.config import STAGES, StackConfig, config_from_pulumi

Composition = Callable[[StackConfig], None]


def compositions() -> dict[str, Composition]:
    """Stage name -> composition; each stage module exposes `compose(config)`."""
    import importlib

    found: dict[str, Composition] = {}
    for stage in STAGES:
        try:
            module = importlib.import_module(f"stacks.{stage}")
        except ModuleNotFoundError as exc:
            if exc.name != f"stacks.{stage}":
                raise
            continue
        found[stage] = module.compose
    return found


def main() -> None:
    # Fails here, before a single resource is declared, when the config is wrong.
    config = config_from_pulumi()
    compose = compositions().get(config.stage)
    if compose is None:
        raise RuntimeError(f"stage {config.stage!r} has no composition yet")
    compose(config)
