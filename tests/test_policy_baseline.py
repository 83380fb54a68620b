"""The compliant baseline: every kind of resource the pack governs, zero verdicts under prod."""

from __future__ import annotations

import policy_fixtures as f

from stagewise.policy.analyzer import load_pack


# Rules that forbid a resource type outright: a compliant program never declares one.
FORBIDDEN_TYPES = {"iam-no-service-account-keys", "iam-no-authoritative-project-iam", "secret-no-inline-versions",
                   "storage-no-public-acl"}
# Types whose rules only count through other resources (Vertex resource pools, jobs and v1 services for
# GPUs and secrets), covered in tests/test_policy_evasions.py.


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
    # Types the issue-16 rules read, each as it should be.
    f.gcp.projects.IAMCustomRole("exporter", project=f.PROJECT, role_id="exporter", title="exporter",
                                 permissions=["datastore.databases.export", "datastore.operations.get"])
    f.gcp.kms.CryptoKey("key", name="state", key_ring=f"projects/{f.PROJECT}/locations/{f.REGION}/keyRings/ring",
                        rotation_period=f"{90 * f.DAY}s")
    f.gcp.iam.WorkloadIdentityPoolProvider(
        "github", project=f.PROJECT, workload_identity_pool_id="ci", workload_identity_pool_provider_id="github",
        attribute_mapping={"google.subject": "assertion.sub"}, attribute_condition="assertion.repository_id == '123'",
        oidc=f.gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri="https://token.actions.githubusercontent.com"))
    f.gcp.compute.ProjectMetadata("metadata", project=f.PROJECT, metadata={"enable-oslogin": "TRUE"})
    f.compute.Disk("disk", project=f.PROJECT, zone=f"{f.REGION}-a", size=50,
                   disk_encryption_key=f.compute.DiskDiskEncryptionKeyArgs(kms_key_self_link=f.KMS_KEY))
    f.compute.Firewall("policy-free", project=f.PROJECT, network="stagewise-vpc", direction="EGRESS",
                       destination_ranges=["10.0.0.0/8"], allows=[f.compute.FirewallAllowArgs(protocol="tcp", ports=["443"])],
                       log_config=f.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"))
    f.gcp.compute.NetworkFirewallPolicyRule(
        "ngfw-lb", project=f.PROJECT, firewall_policy="policy", priority=1000, action="allow", direction="INGRESS", enable_logging=True,
        match=f.gcp.compute.NetworkFirewallPolicyRuleMatchArgs(
            src_ip_ranges=f.LB_RANGES,
            layer4_configs=[f.gcp.compute.NetworkFirewallPolicyRuleMatchLayer4ConfigArgs(ip_protocol="tcp", ports=["8080"])]))


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
