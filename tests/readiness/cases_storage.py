"""Fixtures: Cloud Storage (names, locations, retention, versioning, soft delete, lifecycle, access)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness import PROJECT, fail, ok
from pulumi_gcp import storage

DAY = 86_400


def bucket(logical: str = "b", **kwargs: Any) -> storage.Bucket:
    args: dict[str, Any] = {
        "name": "fixture-project-data", "location": "US-CENTRAL1", "project": PROJECT,
        "uniform_bucket_level_access": True, "public_access_prevention": "enforced",
    }
    args.update(kwargs)
    return storage.Bucket(logical, **args)


def program(**kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        bucket(**kwargs)

    return run


def retained(days: int, locked: bool = False, **kwargs: Any) -> Callable[[], None]:
    return program(retention_policy=storage.BucketRetentionPolicyArgs(retention_period=str(days * DAY), is_locked=locked), **kwargs)


def delete_at(age: int) -> list[storage.BucketLifecycleRuleArgs]:
    return [storage.BucketLifecycleRuleArgs(
        action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
        condition=storage.BucketLifecycleRuleConditionArgs(age=age),
    )]


def public_grant(prevention: str, member: str = "allUsers", binding: bool = False) -> Callable[[], None]:
    def run() -> None:
        b = bucket(public_access_prevention=prevention)
        if binding:
            storage.BucketIAMBinding("pub", bucket=b.name, role="roles/storage.objectViewer", members=["user:ann@stagewise.dev", member])
        else:
            storage.BucketIAMMember("pub", bucket=b.name, role="roles/storage.objectViewer", member=member)

    return run


def public_grant_by_literal() -> None:
    bucket(public_access_prevention="enforced")
    storage.BucketIAMMember("pub", bucket="fixture-project-data", role="roles/storage.objectViewer", member="allAuthenticatedUsers")


def obj(with_content: bool) -> Callable[[], None]:
    def run() -> None:
        b = bucket()
        if with_content:
            storage.BucketObject("o", bucket=b.name, name="hello.txt", content="hello")
        else:
            storage.BucketObject("o", bucket=b.name, name="hello.txt")

    return run


LIFECYCLE_OK = [
    storage.BucketLifecycleRuleArgs(action=storage.BucketLifecycleRuleActionArgs(type="SetStorageClass", storage_class="NEARLINE"),
                                    condition=storage.BucketLifecycleRuleConditionArgs(age=30)),
    storage.BucketLifecycleRuleArgs(action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
                                    condition=storage.BucketLifecycleRuleConditionArgs(num_newer_versions=3, with_state="ARCHIVED")),
    storage.BucketLifecycleRuleArgs(action=storage.BucketLifecycleRuleActionArgs(type="AbortIncompleteMultipartUpload"),
                                    condition=storage.BucketLifecycleRuleConditionArgs(age=1)),
]

CASES = [
    fail("storage-bucket-name", program(name="Fixture_Data"), resource="b", field="name", id="uppercase"),
    fail("storage-bucket-name", program(name="ab"), field="name", id="short"),
    fail("storage-bucket-name", program(name="goog-fixture-data"), id="goog-prefix"),
    fail("storage-bucket-name", program(name="fixture-g00gle-data"), id="google-misspelt"),
    fail("storage-bucket-name", program(name="192.168.5.4"), id="ip-like"),
    fail("storage-bucket-name", program(name="fixture-data-"), id="trailing-dash"),
    fail("storage-bucket-name", program(name="x" * 64), id="too-long"),
    ok("storage-bucket-name", program(name="fixture-project-data")),
    ok("storage-bucket-name", program(name="assets." + "a" * 60 + ".stagewise.dev"), id="dotted-long"),
    ok("storage-bucket-name", program(name=None), id="auto-named"),
    fail("storage-bucket-location", program(location="us-central"), resource="b", field="location"),
    fail("storage-bucket-location", program(location="global"), id="global"),
    ok("storage-bucket-location", program(location="us-central1")),
    ok("storage-bucket-location", program(location="EU"), id="multi-region"),
    ok("storage-bucket-location", program(location="NAM4"), id="dual-region"),
    fail("storage-retention-period", program(retention_policy=storage.BucketRetentionPolicyArgs(retention_period="30d")),
         resource="b", field="retentionPolicy.retentionPeriod"),
    fail("storage-retention-period", program(retention_policy=storage.BucketRetentionPolicyArgs(retention_period="3155760000")),
         id="too-long"),
    ok("storage-retention-period", retained(30)),
    ok("storage-retention-period", program(retention_policy={"retention_period": 2592000}), id="number"),
    fail("storage-retention-with-versioning", retained(365, locked=True, versioning=storage.BucketVersioningArgs(enabled=True)),
         resource="b", field="versioning.enabled"),
    fail("storage-retention-with-versioning", retained(1, versioning={"enabled": True}), id="dict-args"),
    ok("storage-retention-with-versioning", retained(365, locked=True, versioning=storage.BucketVersioningArgs(enabled=False))),
    ok("storage-retention-with-versioning", program(versioning=storage.BucketVersioningArgs(enabled=True)), id="versioning-only"),
    fail("storage-soft-delete-duration", program(soft_delete_policy=storage.BucketSoftDeletePolicyArgs(retention_duration_seconds=DAY)),
         resource="b", field="softDeletePolicy.retentionDurationSeconds"),
    fail("storage-soft-delete-duration", program(soft_delete_policy=storage.BucketSoftDeletePolicyArgs(retention_duration_seconds=91 * DAY)),
         id="over-90-days"),
    ok("storage-soft-delete-duration", program(soft_delete_policy=storage.BucketSoftDeletePolicyArgs(retention_duration_seconds=0))),
    ok("storage-soft-delete-duration", program(soft_delete_policy=storage.BucketSoftDeletePolicyArgs(retention_duration_seconds=7 * DAY)),
       id="seven-days"),
    fail("storage-lifecycle-rule", program(lifecycle_rules=[storage.BucketLifecycleRuleArgs(
        action=storage.BucketLifecycleRuleActionArgs(type="Archive"), condition=storage.BucketLifecycleRuleConditionArgs(age=30))]),
        resource="b", field="lifecycleRules[0].action.type"),
    fail("storage-lifecycle-rule", program(lifecycle_rules=[storage.BucketLifecycleRuleArgs(
        action=storage.BucketLifecycleRuleActionArgs(type="SetStorageClass"), condition=storage.BucketLifecycleRuleConditionArgs(age=30))]),
        field="lifecycleRules[0].action.storageClass", id="no-class"),
    fail("storage-lifecycle-rule", program(lifecycle_rules=[storage.BucketLifecycleRuleArgs(
        action=storage.BucketLifecycleRuleActionArgs(type="Delete"), condition=storage.BucketLifecycleRuleConditionArgs())]),
        field="lifecycleRules[0].condition", id="no-condition"),
    ok("storage-lifecycle-rule", program(lifecycle_rules=LIFECYCLE_OK)),
    fail("storage-lifecycle-delete-before-retention", retained(365, lifecycle_rules=delete_at(30)), resource="b",
         field="lifecycleRules[0].condition.age"),
    ok("storage-lifecycle-delete-before-retention", retained(365, lifecycle_rules=delete_at(366))),
    ok("storage-lifecycle-delete-before-retention", retained(30, lifecycle_rules=delete_at(30)), id="same-day"),
    fail("storage-hierarchical-namespace-ubla", program(uniform_bucket_level_access=False,
         hierarchical_namespace=storage.BucketHierarchicalNamespaceArgs(enabled=True)), resource="b", field="uniformBucketLevelAccess"),
    ok("storage-hierarchical-namespace-ubla", program(hierarchical_namespace=storage.BucketHierarchicalNamespaceArgs(enabled=True))),
    fail("storage-autoclass-storage-class", program(storage_class="NEARLINE", autoclass=storage.BucketAutoclassArgs(enabled=True)),
         resource="b", field="storageClass"),
    ok("storage-autoclass-storage-class", program(autoclass=storage.BucketAutoclassArgs(enabled=True, terminal_storage_class="ARCHIVE"))),
    ok("storage-autoclass-storage-class", program(storage_class="NEARLINE"), id="no-autoclass"),
    fail("storage-force-destroy-locked", retained(365, locked=True, force_destroy=True), resource="b", field="forceDestroy"),
    ok("storage-force-destroy-locked", retained(365, locked=False, force_destroy=True)),
    fail("storage-public-grant-prevented", public_grant("enforced"), resource="pub", field="member"),
    fail("storage-public-grant-prevented", public_grant("enforced", binding=True, member="allAuthenticatedUsers"),
         field="members", id="binding"),
    fail("storage-public-grant-prevented", public_grant_by_literal, id="by-name"),
    ok("storage-public-grant-prevented", public_grant("inherited")),
    ok("storage-public-grant-prevented", public_grant("enforced", member="group:team@stagewise.dev"), id="private-member"),
    fail("storage-object-content", obj(with_content=False), resource="o", field="content"),
    ok("storage-object-content", obj(with_content=True)),
]
