"""Price rules: one function per resource type, pricing a resource from its own inputs, one module
per family (Cloud Run, Compute Engine, Firestore, Cloud Storage, networking, operations, Vertex AI,
Model Armor).

A rule never looks at a resource's name; it reads the settings that drive the bill (machine type,
GPU count, min instances, storage class, location…) and multiplies usage from the profile. A family
module registers its rules on import (`@rule(TYPE)`); `RULES` maps each type token to its rule.
"""

from __future__ import annotations

# Every family, imported so that its rules register (the order does not matter: one rule per type).
from stagewise.cost.rules import cloud_run, compute, firestore, model_armor, network, operations, storage, vertex
from stagewise.cost.rules.cloud_run import self_hosted_requests
from stagewise.cost.rules.fleet import cron_days_per_month
from stagewise.cost.rules.registry import INSTANCE, MIGS, RULES, RUN_SERVICE, VERTEX_DEPLOYMENT, Rule, region_of, rule

FAMILIES = (cloud_run, compute, firestore, model_armor, network, operations, storage, vertex)

__all__ = [
    "FAMILIES", "INSTANCE", "MIGS", "RULES", "RUN_SERVICE", "VERTEX_DEPLOYMENT", "Rule", "cron_days_per_month",
    "region_of", "rule", "self_hosted_requests",
]
