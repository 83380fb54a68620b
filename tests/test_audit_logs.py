"""Data Access audit logs for allServices (CIS 2.1): on in prod through ProjectAuditLogs, off in mvp and
staging unless their stage config turns them on, mandatory in prod's policy config, and priced as log
ingestion with a stated volume."""

from __future__ import annotations

import json

import pytest
from prod_values import run_prod
from stack_values import run_with_values

from stagewise.components.audit_logs import LOG_TYPES, ProjectAuditLogsArgs
from stagewise.cost.estimate import estimate_run
from stagewise.engine.record import ProgramError, ProgramRun
from stagewise.policy.analyzer import Analyzer

AUDIT = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
RULE = "obs-audit-logs-all-services"


def all_services(run: ProgramRun) -> list[dict[str, object]]:
    return [r.inputs for r in run.of_type(AUDIT) if r.inputs.get("service") == "allServices"]


def test_prod_turns_on_every_data_access_log_type_for_all_services_exempting_nobody() -> None:
    run = run_prod()
    [config] = all_services(run)
    assert [c["logType"] for c in config["auditLogConfigs"]] == ["ADMIN_READ", "DATA_READ", "DATA_WRITE"]  # type: ignore[union-attr]
    assert not any(c.get("exemptedMembers") for c in config["auditLogConfigs"])  # type: ignore[union-attr]
    assert config["project"] == "stagewise-prod"
    parent = run.by_name("audit-logs", AUDIT).parent
    assert parent.endswith("stagewise:index:ProjectAuditLogs::audit-logs")


def test_prod_passes_the_rule_now_mandatory_and_fails_it_when_the_stage_turns_them_off() -> None:
    analyzer = Analyzer.for_stage("prod")
    assert not [v for v in analyzer.evaluate(run_prod()).verdicts if v.policy == RULE]
    off = run_prod({"stagewise:logging": {"dataAccessAuditLogs": False}})
    assert all_services(off) == []
    assert [(v.policy, v.level) for v in analyzer.evaluate(off).verdicts if v.policy == RULE] == [(RULE, "mandatory")]


@pytest.mark.parametrize("stack", ["mvp", "staging"])
def test_mvp_and_staging_are_unchanged_unless_their_config_turns_them_on(stack: str) -> None:
    assert all_services(run_with_values(stack)) == []
    on = run_with_values(stack, {"stagewise:logging": json.dumps({"dataAccessAuditLogs": True})})
    [config] = all_services(on)
    assert [c["logType"] for c in config["auditLogConfigs"]] == list(LOG_TYPES)  # type: ignore[union-attr]
    # The stage's own type allowlist knows the type: turning the option on is not a policy failure.
    verdicts = Analyzer.for_stage(stack).evaluate(on).verdicts
    assert not [v for v in verdicts if v.resource_name == "audit-logs" and v.level == "mandatory"]


def test_the_option_is_a_typed_boolean() -> None:
    with pytest.raises(ProgramError, match="dataAccessAuditLogs"):
        run_with_values("mvp", {"stagewise:logging": json.dumps({"dataAccessAuditLogs": "sometimes"})})


def test_the_component_refuses_log_types_gcp_does_not_have() -> None:
    with pytest.raises(ValueError, match="ADMIN_WRITE"):
        ProjectAuditLogsArgs(project="p", log_types=("ADMIN_WRITE",))
    with pytest.raises(ValueError, match="give some of"):
        ProjectAuditLogsArgs(project="p", log_types=())


def audit_line_cost(run: ProgramRun, overrides: dict[str, float] | None = None) -> tuple[float, float, str]:
    estimate = estimate_run(run, overrides)
    [line] = [line for line in estimate.lines if line.type == AUDIT]
    [charge] = line.charges
    return charge.quantity, line.monthly, charge.price_ref


def test_the_extra_volume_is_priced_as_log_ingestion_sharing_the_free_allotment() -> None:
    run = run_prod()
    quantity, _, price_ref = audit_line_cost(run)
    assert quantity == 5.0 and price_ref == "logging.ingestion@global"
    # The project's free 50 GiB a month is one allotment: project logs and audit logs share it, and every
    # GiB past it is billed at the ingestion price (stagewise/pricing/logging.yaml).
    for audit_gb in (5.0, 120.0):
        estimate = estimate_run(run, {"audit_log_gb": audit_gb})
        ingestion = [c for line in estimate.lines for c in line.charges if c.price_ref == "logging.ingestion@global"]
        audit = [c for c in ingestion if c.item == "Data Access audit log ingestion"]
        assert sum(c.quantity for c in audit) == audit_gb
        # The project's own logs grow with requests (stagewise.cost.traffic.log_gb): at least the stated floor.
        project_logs = sum(c.quantity for c in ingestion) - audit_gb
        assert project_logs >= estimate.usage.log_gb
        assert sum(c.cost for c in ingestion) == pytest.approx(max(project_logs + audit_gb - 50.0, 0.0) * 0.50)
