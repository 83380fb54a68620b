"""Storage and retention: Cloud Storage buckets (class from the `bucket-class` label; unlabelled
buckets count as `data`, the strictest ordinary class) and Firestore."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import Finding, Resource, resource_rule, stack_rule
from .props import DAY_SECONDS, config_int, config_list, flag, get, items, mapping, number, strings, text

CLASS_LABEL = "bucket-class"
STRING_LIST = {"type": "array", "items": {"type": "string"}}


KNOWN_CLASSES = ("data", "logs", "backups", "analytics")


def _squash(text_: str) -> str:
    return "".join(ch for ch in text_.lower() if ch.isalnum())


def class_label(resource: Resource) -> tuple[str, str] | None:
    """(label key, value) of the bucket's class label, spelled however the program spelled it
    (bucket-class, bucket_class, BucketClass…)."""
    for key, value in mapping(get(resource.props, "labels")).items():
        if _squash(key) == _squash(CLASS_LABEL):
            return key, str(value)
    return None


def normalise_class(value: str) -> str | None:
    """A class label as the class it means: case, spaces, separators and singular/plural do not matter
    (Logs, log, back-ups, BACKUP all mean what they say); None when it names no known class."""
    squashed = _squash(value)
    for klass in KNOWN_CLASSES:
        if squashed in (klass, klass.rstrip("s")):
            return klass
    return None


def bucket_class(resource: Resource) -> str:
    """The bucket's class; unlabelled buckets count as data, the strictest ordinary class. A label naming
    no known class also counts as data (storage-bucket-class-known reports it), so no class rule is skipped."""
    label = class_label(resource)
    if label is None:
        return "data"
    return normalise_class(label[1]) or "data"


@resource_rule(
    "storage-uniform-access",
    family="storage",
    description="Buckets use uniform bucket-level access (no per-object ACLs).",
    severity=Severity.HIGH,
    remediation="Set uniform_bucket_level_access=True.",
    types=[t.BUCKET],
    unknowns="fail-closed",
    anchor="CKV_GCP_29",
)
def uniform_access(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if flag(resource.props, "uniformBucketLevelAccess") is not True:
        yield Finding("uniform bucket-level access is off, so object ACLs can make objects public",
                      "set uniform_bucket_level_access=True")


@resource_rule(
    "storage-public-access-prevention",
    family="storage",
    description="Buckets enforce public access prevention (the provider default 'inherited' does not).",
    severity=Severity.CRITICAL,
    remediation='Set public_access_prevention="enforced".',
    types=[t.BUCKET],
    unknowns="fail-closed",
    anchor="CKV_GCP_114",
)
def public_access_prevention(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if text(resource.props, "publicAccessPrevention") != "enforced":
        yield Finding("public access prevention is not enforced", 'set public_access_prevention="enforced"')


PUBLIC_ACL = re.compile(r"(^|:)(allUsers|allAuthenticatedUsers)$")
PUBLIC_PREDEFINED = {"publicRead", "publicReadWrite", "authenticatedRead"}


@resource_rule(
    "storage-no-public-acl",
    family="storage",
    description="No bucket or object ACL grants allUsers/allAuthenticatedUsers, and no public predefined ACL.",
    severity=Severity.CRITICAL,
    remediation="Delete the ACL resource: with uniform bucket-level access, grant roles with BucketIAMMember to named members.",
    types=t.BUCKET_ACLS,
    unknowns="fail-closed",
    anchor="CKV_GCP_28 (intent: the same check on IAM members)",
)
def no_public_acl(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    entries = strings(get(resource.props, "roleEntities")) + [text(resource.props, "entity")]
    public = [entry.split(":")[-1] for entry in entries if PUBLIC_ACL.search(entry)]
    for member in dict.fromkeys(public):
        yield Finding(f"the ACL grants access to {member}", "remove the ACL entry and use IAM on named members")
    for key in ("predefinedAcl", "defaultAcl"):
        if text(resource.props, key) in PUBLIC_PREDEFINED:
            yield Finding(f"{key} {text(resource.props, key)} makes objects public", f"drop {key}")


@resource_rule(
    "storage-versioning",
    family="storage",
    description="Buckets of versioned classes (data, backups) keep object versions, or a retention policy that "
                "keeps objects from being overwritten or deleted (Cloud Storage allows one of the two per bucket).",
    severity=Severity.MEDIUM,
    remediation="Set versioning=BucketVersioningArgs(enabled=True) and a lifecycle rule that prunes old versions, "
                "or a retention_policy (retained objects cannot be overwritten or deleted).",
    types=[t.BUCKET],
    params={"versionedClasses": {**STRING_LIST, "default": ["data", "backups"],
                                 "description": "bucket classes that must keep versions"}},
    anchor="CKV_GCP_78",
)
def versioning(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    klass = bucket_class(resource)
    if klass not in config_list(config, "versionedClasses") or flag(resource.props, "versioning.enabled") is True:
        return
    # Object Versioning cannot be enabled on a bucket with a retention policy
    # (https://rules.sonarsource.com/terraform/RSPEC-6412), and a retained object cannot be
    # overwritten or deleted before its period ends: PERMISSION_DENIED
    # (https://googleapis.dev/ruby/google-api-client/v0.37.0/Google/Apis/StorageV1/Bucket/RetentionPolicy.html),
    # which is what versioning would protect here.
    if number(resource.props, "retentionPolicy.retentionPeriod"):
        return
    yield Finding(f"a {klass} bucket without object versioning or a retention policy loses overwritten data",
                  "enable versioning, or set a retention policy")


@resource_rule(
    "storage-retention-minimum",
    family="storage",
    description="Buckets of retained classes have a retention policy of at least the class minimum (logs 30 d, backups 365 d).",
    severity=Severity.HIGH,
    remediation="Set retention_policy=BucketRetentionPolicyArgs(retention_period=str(days * 86400)) (a string of seconds in pulumi-gcp 10).",
    types=[t.BUCKET],
    params={"minRetentionDays": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                                 "default": {"logs": 30, "backups": 365},
                                 "description": "bucket class -> minimum retention in days"}},
)
def retention_minimum(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    klass = bucket_class(resource)
    minimum = mapping(config.get("minRetentionDays")).get(klass)
    if minimum is None:
        return
    seconds = number(resource.props, "retentionPolicy.retentionPeriod")
    if seconds is None or seconds < float(minimum) * DAY_SECONDS:
        have = "no retention policy" if seconds is None else f"retention of {seconds / DAY_SECONDS:g} days"
        yield Finding(f"a {klass} bucket has {have}; the minimum is {float(minimum):g} days",
                      f"set retention_period to at least {int(float(minimum)) * DAY_SECONDS} seconds")


@resource_rule(
    "storage-retention-locked",
    family="storage",
    description="Retention policies of the listed classes are locked (cannot be shortened or removed).",
    severity=Severity.MEDIUM,
    remediation="Set retention_policy.is_locked=True once the period is final (locking is irreversible).",
    types=[t.BUCKET],
    params={"lockedClasses": {**STRING_LIST, "default": ["backups"],
                              "description": "bucket classes whose retention must be locked"}},
)
def retention_locked(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    klass = bucket_class(resource)
    if klass in config_list(config, "lockedClasses") and flag(resource.props, "retentionPolicy.isLocked") is not True:
        yield Finding(f"the retention policy of a {klass} bucket is not locked", "set retention_policy.is_locked=True")


@resource_rule(
    "storage-lifecycle-delete-bounds",
    family="storage",
    description="Lifecycle Delete rules by age stay within bounds and never undercut the retention period; logs buckets expire objects.",
    severity=Severity.MEDIUM,
    remediation="Set the Delete rule's age between minDeleteAgeDays and maxDeleteAgeDays, at or above the retention period.",
    types=[t.BUCKET],
    params={
        "minDeleteAgeDays": {"type": "integer", "minimum": 0, "default": 1, "description": "shortest allowed Delete age"},
        "maxDeleteAgeDays": {"type": "integer", "minimum": 1, "default": 3650, "description": "longest allowed Delete age"},
        "expiringClasses": {**STRING_LIST, "default": ["logs"], "description": "classes that must have a Delete-by-age rule"},
    },
)
def lifecycle_delete_bounds(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    low, high = config_int(config, "minDeleteAgeDays"), config_int(config, "maxDeleteAgeDays")
    retention = number(resource.props, "retentionPolicy.retentionPeriod")
    ages: list[float] = []
    for rule in items(get(resource.props, "lifecycleRules")):
        if text(rule, "action.type") != "Delete" or get(rule, "condition.withState") == "ARCHIVED":
            continue
        age = number(rule, "condition.age")
        if age is None:
            continue
        ages.append(age)
        if not low <= age <= high:
            yield Finding(f"a Delete rule expires objects after {age:g} days, outside {low}..{high}",
                          f"set its age between {low} and {high} days")
        if retention is not None and age * DAY_SECONDS < retention:
            yield Finding(f"a Delete rule at {age:g} days undercuts the {retention / DAY_SECONDS:g}-day retention",
                          "raise the Delete age to at least the retention period")
    klass = bucket_class(resource)
    if not ages and klass in config_list(config, "expiringClasses"):
        yield Finding(f"a {klass} bucket never expires objects", "add a lifecycle Delete rule with an age")


@resource_rule(
    "storage-cmek",
    family="storage",
    description="Buckets of the listed classes are encrypted with a customer-managed key (CMEK).",
    severity=Severity.MEDIUM,
    remediation="Set encryption=BucketEncryptionArgs(default_kms_key_name=<key>) and grant the storage service agent the key.",
    types=[t.BUCKET],
    params={"classes": {**STRING_LIST, "default": ["data", "logs", "backups", "analytics"],
                        "description": "bucket classes that need CMEK"}},
    # No Checkov check covers a bucket's default KMS key (CKV_GCP_65, cited before, is GKE RBAC).
)
def cmek(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    klass = bucket_class(resource)
    if klass in config_list(config, "classes") and not text(resource.props, "encryption.defaultKmsKeyName"):
        yield Finding(f"a {klass} bucket uses Google-managed encryption", "set encryption.default_kms_key_name")


@resource_rule(
    "storage-location-allowlist",
    family="storage",
    description="Buckets live in an allowed location (data residency).",
    severity=Severity.HIGH,
    remediation="Set location to one of allowedLocations, or extend the list in the stage's policy config.",
    types=[t.BUCKET],
    params={"allowedLocations": {**STRING_LIST,
                                 "default": ["US", "EU", "US-CENTRAL1", "US-EAST1", "US-EAST4", "US-WEST1",
                                             "EUROPE-WEST1", "EUROPE-WEST4", "NAM4", "EUR4"],
                                 "description": "allowed bucket locations (case-insensitive)"}},
    unknowns="fail-closed",
)
def location_allowlist(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = {location.upper() for location in config_list(config, "allowedLocations")}
    location = text(resource.props, "location").upper()
    if location not in allowed:
        yield Finding(f"location {location or '(none)'} is not allowed", f"use one of {', '.join(sorted(allowed))}")


@resource_rule(
    "storage-no-force-destroy",
    family="storage",
    description="force_destroy is off, so deleting the stack cannot delete stored objects.",
    severity=Severity.HIGH,
    remediation="Set force_destroy=False (keep it only for throwaway MVP data).",
    types=[t.BUCKET],
)
def no_force_destroy(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if flag(resource.props, "forceDestroy") is True:
        yield Finding("force_destroy lets `pulumi destroy` delete every object", "set force_destroy=False")


@resource_rule(
    "storage-soft-delete",
    family="storage",
    description="Soft delete keeps deleted objects recoverable for at least minSoftDeleteDays (the provider default is 7).",
    severity=Severity.LOW,
    remediation="Set soft_delete_policy.retention_duration_seconds to at least the minimum (or leave it unset for the 7-day default).",
    types=[t.BUCKET],
    params={"minSoftDeleteDays": {"type": "integer", "minimum": 0, "default": 7, "description": "minimum soft-delete window"}},
)
def soft_delete(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    seconds = number(resource.props, "softDeletePolicy.retentionDurationSeconds")
    minimum = config_int(config, "minSoftDeleteDays")
    if seconds is not None and seconds < minimum * DAY_SECONDS:
        yield Finding(f"soft delete keeps deleted objects {seconds / DAY_SECONDS:g} days, under {minimum}",
                      f"set retention_duration_seconds to at least {minimum * DAY_SECONDS}")


@resource_rule(
    "firestore-pitr",
    family="storage",
    description="Firestore databases have point-in-time recovery enabled.",
    severity=Severity.MEDIUM,
    remediation='Set point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED".',
    types=[t.FIRESTORE_DATABASE],
)
def firestore_pitr(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if text(resource.props, "pointInTimeRecoveryEnablement") != "POINT_IN_TIME_RECOVERY_ENABLED":
        yield Finding("point-in-time recovery is off", "set point_in_time_recovery_enablement to POINT_IN_TIME_RECOVERY_ENABLED")


@resource_rule(
    "firestore-delete-protection",
    family="storage",
    description="Firestore databases have delete protection enabled.",
    severity=Severity.HIGH,
    remediation='Set delete_protection_state="DELETE_PROTECTION_ENABLED".',
    types=[t.FIRESTORE_DATABASE],
)
def firestore_delete_protection(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if text(resource.props, "deleteProtectionState") != "DELETE_PROTECTION_ENABLED":
        yield Finding("delete protection is off", "set delete_protection_state to DELETE_PROTECTION_ENABLED")


@resource_rule(
    "firestore-backup-retention",
    family="storage",
    description="Firestore backup schedules keep backups at least minBackupRetentionDays.",
    severity=Severity.MEDIUM,
    remediation='Set the schedule\'s retention to at least the minimum, e.g. retention="1209600s" for 14 days.',
    types=[t.FIRESTORE_BACKUP_SCHEDULE],
    params={"minBackupRetentionDays": {"type": "integer", "minimum": 1, "default": 7, "description": "minimum backup retention"}},
)
def firestore_backup_retention(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    seconds = number(resource.props, "retention")
    minimum = config_int(config, "minBackupRetentionDays")
    if seconds is None or seconds < minimum * DAY_SECONDS:
        have = "no retention" if seconds is None else f"{seconds / DAY_SECONDS:g} days"
        yield Finding(f"backups are kept {have}, under {minimum} days", f'set retention to at least "{minimum * DAY_SECONDS}s"')


@stack_rule(
    "firestore-backup-schedule",
    family="storage",
    description="Every Firestore database has a backup schedule.",
    severity=Severity.HIGH,
    remediation="Declare gcp.firestore.BackupSchedule(database=<database>.name, ...) (FirestoreDatabase: backup_retention_days).",
    types=[t.FIRESTORE_DATABASE, t.FIRESTORE_BACKUP_SCHEDULE],
)
def firestore_backup_schedule(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    schedules = [r for r in resources if r.type == t.FIRESTORE_BACKUP_SCHEDULE]
    for database in (r for r in resources if r.type == t.FIRESTORE_DATABASE):
        name = text(database.props, "name") or "(default)"
        covered = any(
            text(schedule.props, "database") == name
            or database in schedule.property_dependencies.get("database", ())
            for schedule in schedules
        )
        if not covered:
            yield database, Finding("the database has no backup schedule", "add a gcp.firestore.BackupSchedule for it")


@resource_rule(
    "storage-bucket-class-known",
    family="storage",
    description="A bucket's class label names a known class (data, logs, backups, analytics); near-misses (Logs, backup) are read as the class "
                "they mean, anything else is reported and treated as data.",
    severity=Severity.MEDIUM,
    remediation="Set labels bucket-class to one of data, logs, backups or analytics (stagewise:buckets.<key>.class).",
    types=[t.BUCKET],
)
def bucket_class_known(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    label = class_label(resource)
    if label is None:
        return
    key, value = label
    if normalise_class(value) is None:
        yield Finding(f"label {key}={value!r} names no bucket class, so the data rules apply",
                      f"set {CLASS_LABEL} to one of {', '.join(KNOWN_CLASSES)}")
    elif key != CLASS_LABEL or value != normalise_class(value):
        yield Finding(f"label {key}={value!r} is read as {CLASS_LABEL}={normalise_class(value)}",
                      f"write it as {CLASS_LABEL}={normalise_class(value)} so every tool reads it the same")
