"""Fixtures: Firestore (database ids, locations, type, duplicates, destroy behaviour, backups, TTL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness import PROJECT, fail, ok
from pulumi_gcp import firestore


def database(logical: str = "db", **kwargs: Any) -> firestore.Database:
    args: dict[str, Any] = {
        "project": PROJECT, "name": "(default)", "location_id": "nam5", "type": "FIRESTORE_NATIVE", "deletion_policy": "DELETE",
    }
    args.update(kwargs)
    return firestore.Database(logical, **args)


def program(**kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        database(**kwargs)

    return run


def two_databases(first: str | None, second: str | None, second_project: str = PROJECT) -> Callable[[], None]:
    def run() -> None:
        database("a", name=first)
        database("b", name=second, project=second_project)

    return run


def schedules(*kinds: str, retention: str = "2592000s") -> Callable[[], None]:
    def run() -> None:
        db = database()
        for index, kind in enumerate(kinds):
            firestore.BackupSchedule(
                f"backup{index}", project=PROJECT, database=db.name, retention=retention,
                daily_recurrence=firestore.BackupScheduleDailyRecurrenceArgs() if kind in ("daily", "both") else None,
                weekly_recurrence=firestore.BackupScheduleWeeklyRecurrenceArgs(day="SUNDAY") if kind in ("weekly", "both") else None,
            )

    return run


def ttl(*fields: tuple[str, str], datastore_entity_groups: bool = False) -> Callable[[], None]:
    def run() -> None:
        db = database(type="DATASTORE_MODE", concurrency_mode="OPTIMISTIC_WITH_ENTITY_GROUPS") if datastore_entity_groups else database()
        for index, (collection, field) in enumerate(fields):
            firestore.Field(f"ttl{index}", project=PROJECT, database=db.name, collection=collection, field=field,
                            ttl_config=firestore.FieldTtlConfigArgs(), index_config=firestore.FieldIndexConfigArgs())

    return run


def ttl_on_default_by_literal() -> None:
    database()
    firestore.Field("ttl0", project=PROJECT, collection="messages", field="expire_at", ttl_config=firestore.FieldTtlConfigArgs())
    firestore.Field("ttl1", project=PROJECT, collection="messages", field="expires", ttl_config=firestore.FieldTtlConfigArgs())


CASES = [
    fail("firestore-database-id", program(name="Chat_DB"), resource="db", field="name"),
    fail("firestore-database-id", program(name="abc"), id="short"),
    fail("firestore-database-id", program(name="db-0f8fad5b-d9cb-469f-a165-70867728950e"), id="uuid-like"),
    ok("firestore-database-id", program(name="chat-db")),
    ok("firestore-database-id", program(), id="default"),
    fail("firestore-location", program(location_id="us"), resource="db", field="locationId"),
    fail("firestore-location", program(location_id="us-central"), id="app-engine-style"),
    ok("firestore-location", program()),
    ok("firestore-location", program(location_id="europe-west1"), id="regional"),
    fail("firestore-database-type", program(type="NATIVE"), resource="db", field="type"),
    ok("firestore-database-type", program(type="DATASTORE_MODE")),
    fail("firestore-database-duplicate", two_databases("(default)", "(default)"), resource="b", field="name"),
    fail("firestore-database-duplicate", two_databases("chat-db", "chat-db"), id="named"),
    ok("firestore-database-duplicate", two_databases("(default)", "chat-db")),
    ok("firestore-database-duplicate", two_databases("(default)", "(default)", second_project="other-project"), id="two-projects"),
    ok("firestore-database-duplicate", two_databases(None, None), id="auto-named"),
    fail("firestore-abandon-on-destroy", program(deletion_policy=None), resource="db", field="deletionPolicy", id="default"),
    fail("firestore-abandon-on-destroy", program(deletion_policy="ABANDON"), id="explicit"),
    ok("firestore-abandon-on-destroy", program()),
    fail("firestore-backup-retention", schedules("daily", retention="9000000s"), resource="backup0", field="retention"),
    fail("firestore-backup-retention", schedules("daily", retention="30d"), id="not-duration"),
    fail("firestore-backup-retention", schedules("both"), field="dailyRecurrence", id="both-recurrences"),
    ok("firestore-backup-retention", schedules("daily")),
    ok("firestore-backup-retention", schedules("weekly", retention="8467200s"), id="fourteen-weeks"),
    fail("firestore-backup-schedule-duplicate", schedules("daily", "daily"), resource="backup1", field="dailyRecurrence"),
    ok("firestore-backup-schedule-duplicate", schedules("daily", "weekly")),
    fail("firestore-ttl-field", ttl(("messages", "expire_at"), ("messages", "expires")), resource="ttl1", field="field"),
    fail("firestore-ttl-field", ttl_on_default_by_literal, id="by-literal"),
    fail("firestore-ttl-field", ttl(("messages", "expire_at"), datastore_entity_groups=True), field="ttlConfig", id="entity-groups"),
    ok("firestore-ttl-field", ttl(("messages", "expire_at"), ("conversations", "expire_at"))),
]
