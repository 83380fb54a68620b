"""BucketSet: named Cloud Storage buckets whose class (data, logs, backups, analytics) sets the defaults.

Two protections, never both on one bucket: Object Versioning keeps overwritten and deleted data
(class data), a retention policy makes objects undeletable and unreplaceable for a period (classes
backups, and logs when asked). Cloud Storage refuses Object Versioning on a bucket with a retention
policy (https://cloud.google.com/storage/docs/bucket-lock; the two are mutually exclusive, as
terraform-google-modules/terraform-example-foundation#898 records), and while an object is retained
there is nothing a version could restore. A retained bucket therefore deletes each object once its
retention has passed, so a locked bucket does not grow forever.
"""

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
# Classes that keep object versions when they carry no retention policy.
VERSIONED_CLASSES = frozenset({"data", "backups"})
# Backups age into colder storage: rarely read, kept long.
BACKUP_TIERING = (("NEARLINE", 30), ("COLDLINE", 90), ("ARCHIVE", 365))
# Minimum storage duration per class, days: deleting sooner bills the rest of it
# (https://cloud.google.com/storage/docs/storage-classes). A tier is applied only when the object
# stays in it at least that long before its deletion.
MIN_STORAGE_DAYS = {"NEARLINE": 30, "COLDLINE": 90, "ARCHIVE": 365}


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
            raise ValueError(
                f"delete_after_days ({self.delete_after_days}) is shorter than retention_days ({self.retention_days}): "
                "objects can't be deleted while retained; raise delete_after_days"
            )
        if self.bucket_class == "backups" and (self.retention_days or 0) < 365:
            raise ValueError("backups buckets retain objects at least 365 days; set retention_days >= 365")

    @property
    def versioned(self) -> bool:
        """Object Versioning, which Cloud Storage refuses on a bucket with a retention policy."""
        return self.bucket_class in VERSIONED_CLASSES and not self.retention_days

    @property
    def delete_age(self) -> int | None:
        """Days after which objects are deleted: as configured, else the day after their retention ends.

        A retained object can be deleted once its age is greater than the retention period; a
        lifecycle rule that meets one still under retention leaves it for a later evaluation.
        """
        if self.delete_after_days:
            return self.delete_after_days
        return self.retention_days + 1 if self.retention_days else None


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
                versioning=BucketVersioningArgs(enabled=spec.versioned),
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
    delete_age = spec.delete_age
    if delete_age:
        rules.append(_rule("Delete", age=delete_age))
    if spec.bucket_class == "backups":
        for storage_class, age in BACKUP_TIERING:
            if delete_age is None or delete_age - age >= MIN_STORAGE_DAYS[storage_class]:
                rules.append(_rule("SetStorageClass", age=age, storage_class=storage_class))
    if spec.versioned:
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
