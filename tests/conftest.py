"""Shared fixtures: runs of the real stack programs under the offline engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from stagewise.engine.record import DeclaredResource, ProgramRun, run_program, run_stack

BASE_CONFIG = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}


@pytest.fixture(scope="session")
def mvp_run() -> ProgramRun:
    return run_stack("mvp")


@pytest.fixture
def run_component() -> Callable[..., ProgramRun]:
    """Run a small program (a callable declaring resources) with base config plus ``config``."""

    def run(program: Callable[[], None], config: Mapping[str, str] | None = None, stack: str = "test") -> ProgramRun:
        return run_program(program, project="stagewise", stack=stack, config={**BASE_CONFIG, **(config or {})})

    return run


def one(run: ProgramRun, type_token: str) -> DeclaredResource:
    found = run.of_type(type_token)
    assert len(found) == 1, f"expected one {type_token}, found {[r.name for r in found]}"
    return found[0]


def dig(value: Any, *path: str | int) -> Any:
    for part in path:
        value = value[part]
    return value
