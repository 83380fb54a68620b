"""The stagewise policy pack's rules, importable without the Pulumi CLI (PolicyPack() never returns).

Importing this package registers every rule; `all_policies()` hands them to `PolicyPack` (in
../__main__.py) or to the analyzer servicer the offline review drives.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from . import compute, cost, guardrails, iam, models, network, observability, partners, runtime, secrets, slo, storage  # noqa: F401  (registration)
from .base import FAMILIES, RULES, Rule

PACK_NAME = "stagewise-gcp"
PACK_DESCRIPTION = "Guardrails for the stagewise LLM chat assistant on Google Cloud, enforced per stage."
# Level for a policy the config does not mention; every rule also declares its own (its prod level).
PACK_ENFORCEMENT = EnforcementLevel.MANDATORY


def all_policies() -> list[Policy]:
    return [rule.policy for rule in RULES]


def rules_by_name() -> dict[str, Rule]:
    return {rule.name: rule for rule in RULES}


__all__ = ["FAMILIES", "PACK_DESCRIPTION", "PACK_ENFORCEMENT", "PACK_NAME", "RULES", "Rule", "all_policies", "rules_by_name"]
