"""BucketSet and FirestoreDatabase: secure defaults and class-driven retention."""

from __future__ import annotations

import pytest
from conftest import one

from stagewise.components.buckets import BucketSet, BucketSetArgs, BucketSpec
from stagewise.components.firestore import FirestoreDatabase, FirestoreDatabaseArgs

BUCKET = "gcp:storage/bucket:Bucket"


def buckets(**specs: BucketSpec):  # type: ignore[no-untyped-def]
    def program() -> None:
        BucketSet("b", BucketSetArgs(project="p-test", buckets=specs, name_prefix="p-test-", labels={"env": "t"}))

    return program


def rules(bucket: dict) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    return [(r["action"]["type"], r["condition"]) for r in bucket["lifecycleRules"]]


@pytest.mark.parametrize("klass", ["data", "logs", "backups", "analytics"])
def test_every_class_is_private_uniform_and_labelled(run_component, klass: str) -> None:  # type: ignore[no-untyped-def]
    retention = 365 if klass == "backups" else None
    bucket = one(run_component(buckets(x=BucketSpec(klass, "us-central1", retention_days=retention))), BUCKET).inputs  # type: ignore[arg-type]
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["labels"]["bucket-class"] == klass and bucket["labels"]["env"] == "t"
    assert bucket["softDeletePolicy"]["retentionDurationSeconds"] == 7 * 86400
    assert bucket["forceDestroy"] is False
    assert bucket["name"] == "p-test-x"
    assert ("AbortIncompleteMultipartUpload", {"age": 1}) in rules(bucket)


def test_data_bucket_is_versioned_and_prunes_old_versions(run_component) -> None:  # type: ignore[no-untyped-def]
    bucket = one(run_component(buckets(data=BucketSpec("data", "us-central1"))), BUCKET).inputs
    assert bucket["versioning"]["enabled"] is True
    assert ("Delete", {"numNewerVersions": 3, "withState": "ARCHIVED"}) in rules(bucket)
    assert "retentionPolicy" not in bucket


def test_logs_bucket_deletes_after_n_days_unversioned(run_component) -> None:  # type: ignore[no-untyped-def]
    bucket = one(run_component(buckets(logs=BucketSpec("logs", "us-central1", delete_after_days=30))), BUCKET).inputs
    assert bucket["versioning"]["enabled"] is False
    assert ("Delete", {"age": 30}) in rules(bucket)


def test_backups_bucket_retains_a_year_as_a_string_and_tiers_down(run_component) -> None:  # type: ignore[no-untyped-def]
    spec = BucketSpec("backups", "us-central1", retention_days=365, lock_retention=True)
    bucket = one(run_component(buckets(backups=spec)), BUCKET).inputs
    assert bucket["retentionPolicy"] == {"retentionPeriod": str(365 * 86400), "isLocked": True}
    tiers = [(c["age"], a) for a, c in rules(bucket) if a == "SetStorageClass"]
    # Deleted on day 366: Archive (365-day minimum storage) would bill a year for one day, so it is skipped.
    assert [age for age, _ in tiers] == [30, 90]
    classes = [r["action"]["storageClass"] for r in bucket["lifecycleRules"] if r["action"]["type"] == "SetStorageClass"]
    assert classes == ["NEARLINE", "COLDLINE"]


def test_a_retained_bucket_is_never_versioned_and_expires_after_its_retention(run_component) -> None:  # type: ignore[no-untyped-def]
    # Cloud Storage refuses Object Versioning together with a retention policy (bucket lock docs).
    spec = BucketSpec("backups", "us-central1", retention_days=400, lock_retention=True)
    bucket = one(run_component(buckets(backups=spec)), BUCKET).inputs
    assert bucket["versioning"]["enabled"] is False
    assert not any("numNewerVersions" in condition for _, condition in rules(bucket))
    assert ("Delete", {"age": 401}) in rules(bucket)
    # A year-long tier still fits: Archive from day 365 is deleted on day 401, under its 365-day minimum -> skipped.
    assert [c["age"] for a, c in rules(bucket) if a == "SetStorageClass"] == [30, 90]
    long = BucketSpec("backups", "us-central1", retention_days=800)
    bucket = one(run_component(buckets(backups=long)), BUCKET).inputs
    assert [c["age"] for a, c in rules(bucket) if a == "SetStorageClass"] == [30, 90, 365]


def test_an_unretained_data_bucket_keeps_versions_even_when_classed_like_backups(run_component) -> None:  # type: ignore[no-untyped-def]
    bucket = one(run_component(buckets(d=BucketSpec("data", "us-central1", delete_after_days=90))), BUCKET).inputs
    assert bucket["versioning"]["enabled"] is True and ("Delete", {"age": 90}) in rules(bucket)


def test_backups_shorter_than_a_year_are_refused() -> None:
    with pytest.raises(ValueError, match="365"):
        BucketSpec("backups", "us-central1", retention_days=30)


def test_cmek_and_force_destroy_only_when_asked(run_component) -> None:  # type: ignore[no-untyped-def]
    spec = BucketSpec("data", "EU", kms_key="projects/p/locations/eu/keyRings/r/cryptoKeys/k", force_destroy=True)
    bucket = one(run_component(buckets(d=spec)), BUCKET).inputs
    assert bucket["encryption"]["defaultKmsKeyName"].endswith("/cryptoKeys/k")
    assert bucket["forceDestroy"] is True and bucket["location"] == "EU"


def firestore(**overrides: object):  # type: ignore[no-untyped-def]
    def program() -> None:
        FirestoreDatabase("fs", FirestoreDatabaseArgs(project="p-test", location_id="nam5", **overrides))  # type: ignore[arg-type]

    return program


def test_firestore_defaults_native_protected_no_backups(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(firestore())
    database = one(run, "gcp:firestore/database:Database").inputs
    assert database["type"] == "FIRESTORE_NATIVE"
    assert database["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED"
    assert database["pointInTimeRecoveryEnablement"] == "POINT_IN_TIME_RECOVERY_DISABLED"
    assert not run.of_type("gcp:firestore/backupSchedule:BackupSchedule")
    assert not run.of_type("gcp:firestore/field:Field")


def test_firestore_pitr_daily_backups_and_message_ttl(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(firestore(point_in_time_recovery=True, backup_retention_days=14, ttl=True, database_id="chat-db"))
    database = one(run, "gcp:firestore/database:Database").inputs
    assert database["pointInTimeRecoveryEnablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
    assert database["name"] == "chat-db"
    schedule = one(run, "gcp:firestore/backupSchedule:BackupSchedule").inputs
    assert schedule["retention"] == f"{14 * 86400}s" and "dailyRecurrence" in schedule
    ttls = [field.inputs for field in run.of_type("gcp:firestore/field:Field")]
    assert sorted((t["collection"], t["field"]) for t in ttls) == [
        ("conversations", "expire_at"), ("messages", "expire_at"), ("usage", "expire_at")]
    assert all("ttlConfig" in t for t in ttls)


def test_firestore_quota_state_expires(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(firestore(quota_ttl=True))
    ttls = [field.inputs for field in run.of_type("gcp:firestore/field:Field")]
    assert sorted(t["collection"] for t in ttls) == ["quota_instances", "shards"]
    assert all(t["field"] == "expire_at" and "ttlConfig" in t for t in ttls)


def test_firestore_client_role_is_scoped_to_the_database() -> None:
    from stagewise.engine.record import run_program

    roles = []

    def program() -> None:
        roles.append(FirestoreDatabase("fs", FirestoreDatabaseArgs(project="p-test", location_id="nam5")).client_role("p-test"))

    run_program(program, project="stagewise", stack="t", config={"gcp:project": "p-test"})
    assert roles[0].role == "roles/datastore.user"
    assert roles[0].condition_expression == 'resource.name == "projects/p-test/databases/(default)"'
