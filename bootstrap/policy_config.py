"""The policy-pack config the bootstrap is checked with: prod's, plus the deployer exceptions.

A deployer must hold the admin roles that create its stage's resources, and (until the stacks
grant actAs per service account) serviceAccountUser at project level; CI's shared project has no
budget of its own. Everything else is exactly prod's config.

    uv run python -m bootstrap.policy_config      # rewrite policies/config/bootstrap.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bootstrap.roles import STAGE_ROLES

CONFIG_DIR = Path(__file__).resolve().parent.parent / "policies" / "config"
EXCEPTIONS = ("iam-sa-no-admin-roles", "iam-no-project-impersonation", "cost-budget", "obs-audit-logs-all-services")


def deployer_admin_roles() -> list[str]:
    return sorted({role for roles in STAGE_ROLES.values() for role in roles if "admin" in role.lower()})


def bootstrap_policy_config(prod: dict[str, Any]) -> dict[str, Any]:
    config = dict(prod)
    config["iam-sa-no-admin-roles"] = {"enforcementLevel": "mandatory", "allowedAdminRoles": deployer_admin_roles()}
    config["iam-no-project-impersonation"] = "advisory"
    config["cost-budget"] = "advisory"
    # The bootstrap's AuditTrail turns on the Data Access logs that say who deployed (STS token exchanges,
    # IAM Credentials impersonation); an allServices config is each stage project's (stagewise/stacks/common.py audit_logs).
    config["obs-audit-logs-all-services"] = "advisory"
    return dict(sorted(config.items()))


def render() -> str:
    prod = json.loads((CONFIG_DIR / "prod.json").read_text())
    return json.dumps(bootstrap_policy_config(prod), indent=2) + "\n"


if __name__ == "__main__":
    (CONFIG_DIR / "bootstrap.json").write_text(render())
    print(f"wrote {CONFIG_DIR / 'bootstrap.json'}")
