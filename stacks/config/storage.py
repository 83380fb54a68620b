"""`stagewise:buckets` and `stagewise:firestore` — where history, logs and backups live."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stagewise.stacks.config.base import Section
from stagewise.stacks.config.regions import FIRESTORE_MULTI_REGIONS, GCP_REGIONS, STORAGE_MULTI_REGIONS

BucketClass = Literal["data", "logs", "backups", "analytics"]

# Minimum retention per class, in days; the seed's prod design keeps logs 30 days, backups a year.
CLASS_DEFAULTS: dict[str, dict[str, int | None]] = {
    "data": {"delete_after_days": None, "retention_days": None},
    "logs": {"delete_after_days": 30, "retention_days": None},
    "analytics": {"delete_after_days": 90, "retention_days": None},
    "backups": {"delete_after_days": None, "retention_days": 365},
}


class BucketConfig(Section):
    """One bucket; its class sets the secure defaults."""

    bucket_class: BucketClass = Field(alias="class", description="data, logs, backups or analytics")
    location: str | None = Field(None, description="bucket location; defaults to gcp:region")
    delete_after_days: int | None = Field(None, ge=1, le=36500, description="delete objects older than this")
    retention_days: int | None = Field(None, ge=1, le=36500, description="retention policy: objects can't be deleted sooner")
    lock_retention: bool = Field(False, description="lock the retention policy (irreversible)")
    soft_delete_days: int = Field(7, ge=0, le=90, description="soft-delete window (0 disables; else 7..90)")
    force_destroy: bool = Field(False, description="let `pulumi destroy` delete a non-empty bucket")
    kms_key: str | None = Field(None, description="CMEK key name for default encryption")

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value is not None and value not in GCP_REGIONS and value.upper() not in STORAGE_MULTI_REGIONS:
            raise ValueError(f"{value!r} is not a Cloud Storage location; use a region (us-central1) or multi-region (US, EU)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "BucketConfig":
        if 0 < self.soft_delete_days < 7:
            raise ValueError("softDeleteDays must be 0 (off) or between 7 and 90")
        if self.retention_days and self.delete_after_days and self.delete_after_days < self.retention_days:
            raise ValueError(
                f"deleteAfterDays ({self.delete_after_days}) is shorter than retentionDays ({self.retention_days}); "
                "objects can't be deleted while retained: raise deleteAfterDays"
            )
        if self.lock_retention and not self.effective_retention_days:
            raise ValueError("lockRetention needs a retention: set retentionDays")
        minimum = CLASS_DEFAULTS[self.bucket_class]["retention_days"]
        if minimum and self.retention_days is not None and self.retention_days < minimum:
            raise ValueError(
                f"a {self.bucket_class} bucket keeps objects at least {minimum} days; raise retentionDays to {minimum} or more"
            )
        return self

    @property
    def effective_delete_after_days(self) -> int | None:
        return self.delete_after_days or CLASS_DEFAULTS[self.bucket_class]["delete_after_days"]

    @property
    def effective_retention_days(self) -> int | None:
        return self.retention_days or CLASS_DEFAULTS[self.bucket_class]["retention_days"]


_BUCKET_KEY = re.compile(r"^[a-z0-9][-a-z0-9]{0,40}[a-z0-9]$")


def check_bucket_keys(buckets: dict[str, BucketConfig]) -> dict[str, BucketConfig]:
    for key in buckets:
        if not _BUCKET_KEY.match(key):
            raise ValueError(f"bucket key {key!r}: use 2-42 lowercase letters, digits and dashes (it prefixes the bucket name)")
    return buckets


class FirestoreConfig(Section):
    """The Firestore (native mode) database holding conversations and profiles."""

    database_id: str = Field("(default)", description="database id; (default) gets the free tier")
    location_id: str | None = Field(None, description="a region or nam5/eur3; defaults to gcp:region")
    point_in_time_recovery: bool = Field(False, description="7-day point-in-time recovery")
    delete_protection: bool = Field(False, description="block deleting the database")
    backup_retention_days: int | None = Field(
        None, ge=1, le=98, description="daily scheduled backups kept this many days (none when unset)"
    )
    ttl_days: int | None = Field(None, ge=1, le=3650, description="expire messages after this many days (TTL policy)")

    @field_validator("location_id")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value is not None and value not in GCP_REGIONS and value not in FIRESTORE_MULTI_REGIONS:
            raise ValueError(f"{value!r} is not a Firestore location; use a region (us-central1) or nam5 / eur3")
        return value

    @field_validator("database_id")
    @classmethod
    def _database_id(cls, value: str) -> str:
        if value != "(default)" and not re.match(r"^[a-z][a-z0-9-]{2,61}[a-z0-9]$", value):
            raise ValueError(f"{value!r}: use (default) or 4-63 lowercase letters, digits and dashes starting with a letter")
        return value
