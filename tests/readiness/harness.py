"""Fixtures of the deploy-readiness catalogue: small programs, mostly raw pulumi_gcp resources.

Each rule has at least one failing and one passing case. A case is a program (declaring resources as
any user program would), optionally a second program for the second deploy, and what it expects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from stagewise.engine.record import ProgramRun, run_program
from stagewise.readiness.inventory import Inventory
from stagewise.readiness.lifecycle import check_first_deploy, check_second_deploy
from stagewise.readiness.model import Finding
from stagewise.readiness.rules import evaluate

PROJECT = "fixture-project"
BASE_CONFIG = {"gcp:project": PROJECT, "gcp:region": "us-central1"}


@dataclass
class Case:
    rule: str
    expect: Literal["fail", "pass"]
    program: Callable[[], None]
    second: Callable[[], None] | None = None  # the second deploy's program (lifecycle rules)
    config: Mapping[str, str] = field(default_factory=dict)
    resource: str | None = None  # the resource a failing case must name
    field: str | None = None  # the field a failing case must name (prefix match)
    id: str = ""

    def label(self) -> str:
        return f"{self.rule}-{self.expect}" + (f"-{self.id}" if self.id else "")


def fail(rule: str, program: Callable[[], None], **kwargs: object) -> Case:
    return Case(rule, "fail", program, **kwargs)  # type: ignore[arg-type]


def ok(rule: str, program: Callable[[], None], **kwargs: object) -> Case:
    return Case(rule, "pass", program, **kwargs)  # type: ignore[arg-type]


def run(program: Callable[[], None], config: Mapping[str, str] | None = None, generation: int = 1) -> ProgramRun:
    return run_program(program, project="fixture", stack="test", config={**BASE_CONFIG, **(config or {})}, generation=generation)


def findings(case: Case) -> list[Finding]:
    first = run(case.program, case.config)
    if case.second is not None:
        second = run(case.second, case.config, generation=2)
        return check_second_deploy(first, second, {}).findings
    inventory = Inventory.of(first)
    return evaluate(inventory) + check_first_deploy(inventory).findings


def depends(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(depends_on=list(resources))
