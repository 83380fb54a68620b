"""The compliant baseline: every kind of resource the pack governs, zero verdicts under prod."""

from __future__ import annotations

import policy_fixtures as f

from stagewise.policy_engine import load_pack


# Rules that forbid a resource type outright: a compliant program never declares one.
FORBIDDEN_TYPES = {"iam-no-service-account-keys", "iam-no-authoritative-project-iam", "secret-no-inline-versions",
                   "storage-no-public-acl"}


def everything() -> None:
    f.frame()
    f.bucket("data")
    f.bucket("backups", "backups")
    f.firestore_db()
    f.cloud_run("chat")
    f.project_member("log-writer", "roles/logging.logWriter")
    f.invoker("chat-invoker", "group:partners@example.com")
    f.network()
    f.subnet()
    f.firewall()
    f.firewall("allow-iap-ssh", source_ranges=["35.235.240.0/20"], allows=[f.compute.FirewallAllowArgs(protocol="tcp", ports=["22"])])
    f.nat()
    f.ssl_policy()
    f.https_proxy()
    f.backend()
    f.armor()
    f.vm()
    f.gpu_group()
    f.model_garden()
    f.secret()
    f.log_bucket()
    f.repository()


def test_compliant_baseline_has_no_verdicts_under_prod() -> None:
    assert f.violations(everything) == set()


def test_baseline_exercises_every_resource_rule() -> None:
    """A rule whose resource types never occur in the baseline would pass vacuously."""
    declared = {r.type for r in f.run(everything).resources}
    pack = load_pack()
    for rule in pack.RULES:
        if "*" in rule.types or rule.name in FORBIDDEN_TYPES:
            continue
        assert declared & set(rule.types), f"{rule.name}: none of {rule.types} in the baseline"
