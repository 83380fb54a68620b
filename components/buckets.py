"""BucketSet: named Cloud Storage buckets whose class (data, logs, backups, analytics) sets the defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.storage import (
    BucketEncryptionArgs,
    BucketLifecycleRuleActionArgs,
    BucketLifecycleRuleArgs,
    BucketLifecycleRuleConditionArgs,
    BucketRetentionPolicyArgs,
    BucketSoftDeletePolicyArgs,
    BucketVersioningArgs,
)

BucketClass = Literal["data", "logs", "backups", "analytics"]
DAY_SECONDS = 86_400
VERSIONED_CLASSES = frozenset({"data", "backups"})
# Backups age into colder storage: rarely read, kept long.
BACKUP_TIERING = (("NEARLINE", 30), ("COLDLINE", 90), ("ARCHIVE", 365))


@dataclass(frozen=True)
class BucketSpec:
    bucket_class: BucketClass
    location: str
    delete_after_days: int | None = None
    retention_days: int | None = None
    lock_retention: bool = False
    soft_delete_days: int = 7
    force_destroy: bool = False
    kms_key: str | None = None
    noncurrent_versions_kept: int = 3

    def __post_init__(self) -> None:
        if self.retention_days and self.delete_after_days and self.delete_after_days < self.retention_days:
            raise ValueError("delete_after_days is shorter than retention_days; raise delete_after_days")
        if self.bucket_class == "backups" and (self.retention_days or 0) < 365:
            raise ValueError("backups buckets retain objects at least 365 days; set retention_days >= 365")


@dataclass
class BucketSetArgs:
    project: pulumi.Input[str]
    buckets: Mapping[str, BucketSpec]
    name_prefix: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


class BucketSet(pulumi.ComponentResource):
    """Buckets with uniform access, public access prevention enforced, and class-driven lifecycle."""

    def __init__(self, name: str, args: BucketSetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:BucketSet", name, None, opts)
        self.buckets: dict[str, gcp.storage.Bucket] = {}
        for key, spec in args.buckets.items():
            self.buckets[key] = gcp.storage.Bucket(
                f"{name}-{key}",
                name=f"{args.name_prefix}{key}" if args.name_prefix else None,
                project=args.project,
                location=spec.location,
                storage_class="STANDARD",
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                versioning=BucketVersioningArgs(enabled=spec.bucket_class in VERSIONED_CLASSES),
                retention_policy=_retention(spec),
                lifecycle_rules=_lifecycle(spec),
                soft_delete_policy=BucketSoftDeletePolicyArgs(retention_duration_seconds=spec.soft_delete_days * DAY_SECONDS),
                encryption=BucketEncryptionArgs(default_kms_key_name=spec.kms_key) if spec.kms_key else None,
                force_destroy=spec.force_destroy,
                labels={**args.labels, "bucket-class": spec.bucket_class},
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.names: dict[str, pulumi.Output[str]] = {key: bucket.name for key, bucket in self.buckets.items()}
        self.register_outputs({"names": self.names})


def _retention(spec: BucketSpec) -> BucketRetentionPolicyArgs | None:
    if not spec.retention_days:
        return None
    # pulumi-gcp 10 declares retention_period as a string of seconds.
    return BucketRetentionPolicyArgs(retention_period=str(spec.retention_days * DAY_SECONDS), is_locked=spec.lock_retention)


def _lifecycle(spec: BucketSpec) -> list[BucketLifecycleRuleArgs]:
    rules: list[BucketLifecycleRuleArgs] = []
    if spec.delete_after_days:
        rules.append(_rule("Delete", age=spec.delete_after_days))
    if spec.bucket_class == "backups":
        for storage_class, age in BACKUP_TIERING:
            rules.append(_rule("SetStorageClass", age=age, storage_class=storage_class))
    if spec.bucket_class in VERSIONED_CLASSES:
        rules.append(
            BucketLifecycleRuleArgs(
                action=BucketLifecycleRuleActionArgs(type="Delete"),
                condition=BucketLifecycleRuleConditionArgs(
                    num_newer_versions=spec.noncurrent_versions_kept, with_state="ARCHIVED"
                ),
            )
        )
    rules.append(
        BucketLifecycleRuleArgs(
            action=BucketLifecycleRuleActionArgs(type="AbortIncompleteMultipartUpload"),
            condition=BucketLifecycleRuleConditionArgs(age=1),
        )
    )
    return rules


def _rule(action: str, *, age: int, storage_class: str | None = None) -> BucketLifecycleRuleArgs:
    return BucketLifecycleRuleArgs(
        action=BucketLifecycleRuleActionArgs(type=action, storage_class=storage_class),
        condition=BucketLifecycleRuleConditionArgs(age=age),
    )
