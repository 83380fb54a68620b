"""obs-slo-required: prod watches its Cloud Run services against SLOs with burn-rate alerts.
Failing and passing raw pulumi_gcp programs, and the Alerting component that declares them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import policy_fixtures as f
import pulumi
import pytest

from stagewise.components.alerting import Alerting, AlertingArgs
from stagewise.components.slo import SloTargets

STACK = ""


def prod(*declare: Callable[[], object]) -> Callable[[], None]:
    """A prod program whose frame declares no SLO of its own (policy_fixtures.prod's does)."""
    def program() -> None:
        f.frame("prod", slo=False)
        for item in declare:
            item()
    return program


@dataclass(frozen=True)
class Case:
    id: str
    program: Callable[[], None]
    expected: set[tuple[str, str]]
    stage: str = "prod"


def alerting(slo: SloTargets | None) -> Callable[[], None]:
    def declare() -> None:
        f.cloud_run("chat", alert=False)
        Alerting("alerting", AlertingArgs(project=f.PROJECT, service_names=["chat"], max_instances=10,
                                          emails=["oncall@example.com"], slo=slo, labels=f.labels()),
                 opts=pulumi.ResourceOptions())
    return declare


CASES = [
    Case("service-without-slo", prod(lambda: f.cloud_run("chat")), {("obs-slo-required", STACK)}),
    Case("slo-on-another-service", prod(lambda: (f.cloud_run("chat"), f.service_slo("billing"))),
         {("obs-slo-required", STACK)}),
    Case("slo-without-burn-alert", prod(lambda: (f.cloud_run("chat"), f.service_slo("chat", burn_alert=False))),
         {("obs-slo-required", STACK)}),
    Case("slo-with-burn-alert", prod(lambda: (f.cloud_run("chat"), f.service_slo("chat"))), set()),
    Case("slo-on-every-run-service", prod(lambda: (f.cloud_run("chat"), f.service_slo(None))), set()),
    Case("no-service-no-slo-needed", prod(lambda: f.bucket("data")), set()),
    Case("component-alerting-with-slo", prod(alerting(SloTargets())), set()),
    Case("component-alerting-without-slo", prod(alerting(None)), {("obs-slo-required", STACK)}),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exact_verdicts(case: Case) -> None:
    assert f.violations(case.program, case.stage) == case.expected


def test_staging_and_mvp_need_no_slo() -> None:
    for stage in ("staging", "mvp"):
        found = f.violations(lambda s=stage: (f.frame(s), f.cloud_run("chat", stage=s)), stage)
        assert not {v for v in found if v[0] == "obs-slo-required"}, (stage, found)
