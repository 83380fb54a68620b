"""Deployer roles cover exactly what each stage declares: checked against the stacks themselves."""

from __future__ import annotations

import pytest

from prod_values import run_prod
from stack_values import run_with_values

from bootstrap.roles import GRANTABLE_CUSTOM_ROLE_IDS, GRANTABLE_ROLES, STAGE_ROLES, TYPE_ROLES, grant_condition_expression, roles_for_types
from stagewise.engine.record import REPO_ROOT, ProgramRun

STAGES = [stage for stage in STAGE_ROLES if (REPO_ROOT / f"Pulumi.{stage}.yaml").is_file()]


def run_stack(stage: str) -> ProgramRun:
    """The shipped stack with its placeholders filled (staging's sample values; prod's from tests/prod_values.py)."""
    return run_prod() if stage == "prod" else run_with_values(stage)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_deployer_roles_cover_every_declared_type(stage: str) -> None:
    run = run_stack(stage)
    types = {r.type for r in run.resources if r.custom}
    needed, unknown = roles_for_types(types)
    assert not unknown, f"{stage} declares {sorted(unknown)}: add the role(s) that manage it to TYPE_ROLES in bootstrap/roles.py"
    missing = needed - set(STAGE_ROLES[stage])
    assert not missing, f"the {stage} deployer lacks {sorted(missing)}: add them to STAGE_ROLES[{stage!r}]"


@pytest.mark.parametrize("stage", STAGES)
def test_stacks_grant_only_roles_the_deployer_may_grant(stage: str) -> None:
    run = run_stack(stage)
    # A custom role is granted by its name, projects/P/roles/ID (or, with plainer mocks, its logical name).
    custom = {}
    for role in run.of_type("gcp:projects/iAMCustomRole:IAMCustomRole"):
        custom[role.name] = custom[f"projects/{role.inputs['project']}/roles/{role.inputs['roleId']}"] = role.inputs["roleId"]
    granted = {r.inputs["role"] for r in run.of_type("gcp:projects/iAMMember:IAMMember")}
    predefined = {role for role in granted if role not in custom}
    assert predefined <= set(GRANTABLE_ROLES), f"add {sorted(predefined - set(GRANTABLE_ROLES))} to GRANTABLE_ROLES or grant narrower"
    custom_ids = {custom[role] for role in granted if role in custom}
    assert custom_ids <= set(GRANTABLE_CUSTOM_ROLE_IDS), f"add {sorted(custom_ids - set(GRANTABLE_CUSTOM_ROLE_IDS))} to GRANTABLE_CUSTOM_ROLE_IDS"


def test_no_primitive_roles_anywhere() -> None:
    everything = {role for roles in TYPE_ROLES.values() for role in roles} | {r for rs in STAGE_ROLES.values() for r in rs} | set(GRANTABLE_ROLES)
    assert not everything & {"roles/owner", "roles/editor", "roles/viewer"}
    assert "roles/resourcemanager.projectIamAdmin" not in GRANTABLE_ROLES


def test_grant_condition_lists_exactly_the_grantable_roles() -> None:
    expression = grant_condition_expression(("roles/b", "roles/a"))
    assert expression == "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/a', 'roles/b'])"
