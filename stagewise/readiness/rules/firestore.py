"""Firestore: database ids, locations, type, one database per id, destroy behaviour, backups, TTL."""

from __future__ import annotations

import re
from collections.abc import Iterator

from stagewise.readiness.inventory import UNKNOWN, Inventory, Resource, is_unknown
from stagewise.readiness.model import BLOCKS, RISK, Problem
from stagewise.readiness.provider_facts import facts
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules.secrets import duration_seconds
from stagewise.readiness.rules.storage import text

DATABASE = "gcp:firestore/database:Database"
BACKUP_SCHEDULE = "gcp:firestore/backupSchedule:BackupSchedule"
FIELD = "gcp:firestore/field:Field"
DEFAULT_DATABASE = "(default)"

# https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases/create (databaseId): "This value
# should be 4-63 characters. Valid characters are /[a-z][0-9]-/ with first character a letter and the last a
# letter or a number. Must not be UUID-like /[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/. "(default)" database
# ID is also valid."
DATABASE_ID = re.compile(r"^[a-z][a-z0-9-]{2,61}[a-z0-9]$")
UUID_LIKE = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")

# https://cloud.google.com/firestore/docs/locations: multi-regions nam5 (United States) and eur3 (Europe),
# and regional locations named as Google Cloud regions (us-central1, europe-west1, ...).
MULTI_REGIONS = frozenset({"nam5", "eur3"})
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")

# The provider's schema (stagewise/readiness/data/provider_facts.yaml): FIRESTORE_NATIVE, DATASTORE_MODE.
_FACTS = facts(DATABASE)
DATABASE_TYPES = frozenset(_FACTS.enums.get("type", ())) if _FACTS else frozenset({"FIRESTORE_NATIVE", "DATASTORE_MODE"})

# pulumi_gcp 10.2 BackupScheduleArgs.retention: "A duration in seconds with up to nine fractional digits,
# ending with 's'. ... You can set this to a value up to 14 weeks."
# (https://www.pulumi.com/registry/packages/gcp/api-docs/firestore/backupschedule)
BACKUP_RETENTION_MAX = 14 * 7 * 86_400


def database_id(resource: Resource) -> str | None:
    """The database id the program sets; None when unknown or left to Pulumi's auto-naming."""
    return text(resource.get("name"))


def database_of(inventory: Inventory, holder: Resource) -> Resource | None:
    """The Database a Field or BackupSchedule belongs to: by id, else by the output it was built from."""
    raw = holder.get("database")
    wanted = DEFAULT_DATABASE if raw is None else text(raw)
    project = inventory.project_of(holder)
    databases = [d for d in inventory.of_type(DATABASE) if inventory.project_of(d) == project]
    if wanted:
        named = [d for d in databases if database_id(d) == wanted.rsplit("/", 1)[-1]]
        if len(named) == 1:
            return named[0]
    urns = set(holder.declared.property_dependencies.get("database", ()))
    linked = [d for d in databases if d.urn in urns]
    return linked[0] if len(linked) == 1 else None


@rule(
    "firestore-database-id", types=(DATABASE,), severity=BLOCKS,
    title="the database id is not 4-63 characters of [a-z0-9-] (or \"(default)\"), or is UUID-like",
    source="https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases/create",
)
def database_id_rule(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = database_id(resource)
    if value is None or value == DEFAULT_DATABASE:
        return
    if DATABASE_ID.match(value) and not UUID_LIKE.search(value):
        return
    yield Problem(
        "name", f"{resource.name}: database id {value!r} is refused: 4-63 lowercase letters, digits and '-', starting "
        "with a letter, ending with a letter or digit, not UUID-like (or exactly '(default)')",
        "use e.g. 'chat-db', or '(default)' for the project's default database",
    )


@rule(
    "firestore-location", types=(DATABASE,), severity=BLOCKS,
    title="the database location is neither a Firestore multi-region (nam5, eur3) nor a region",
    source="https://cloud.google.com/firestore/docs/locations",
)
def location(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = text(resource.get("locationId"))
    if value is None or value in MULTI_REGIONS or _REGION.match(value):
        return
    yield Problem(
        "locationId", f"{resource.name}: location {value!r} is no Firestore location (multi-regions are nam5 and eur3; "
        "regional locations are lowercase region ids such as us-central1)",
        "set location_id='nam5' (US), 'eur3' (Europe) or a region such as 'us-central1'",
    )


@rule(
    "firestore-database-type", types=(DATABASE,), severity=BLOCKS,
    title="the database type is missing or not FIRESTORE_NATIVE / DATASTORE_MODE",
    # The values come from the provider's schema; the API's Database.type has the same two.
    source="https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases/create",
)
def database_type(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = resource.get("type")
    if is_unknown(value) or value in DATABASE_TYPES:
        return
    allowed = ", ".join(sorted(DATABASE_TYPES))
    what = "sets no database type" if value is None else f"sets database type {value!r}"
    yield Problem(
        "type", f"{resource.name} {what}; the provider requires one of {allowed}",
        "set type='FIRESTORE_NATIVE' (documents and collections) or 'DATASTORE_MODE'",
    )


@stack_rule(
    "firestore-database-duplicate", severity=BLOCKS, types=(DATABASE,),
    title="two databases take the same id in one project (only one \"(default)\")",
    # The API answers "Error 409: Database already exists. Please use another database_id".
    source="https://github.com/GoogleCloudPlatform/core-solution-services/issues/6",
)
def database_duplicate(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    seen: dict[tuple[str, str], Resource] = {}
    for database in sorted(inventory.of_type(DATABASE), key=lambda r: r.name):
        value = database_id(database)
        if value is None:
            continue
        key = (inventory.project_of(database), value)
        first = seen.setdefault(key, database)
        if first is not database:
            yield database, Problem(
                "name", f"{database.name} and {first.name} both create Firestore database {value!r} in {key[0]}: a project "
                "has one database per id, and the second create fails (409)",
                "give each database its own id (only one can be '(default)'), or share the first one",
            )


@rule(
    "firestore-abandon-on-destroy", types=(DATABASE,), severity=RISK,
    title="the database is abandoned on destroy (the provider default): re-creating it then fails with 409",
    # "the default behavior remains to abandon the database upon destroy rather than to actually delete it"
    source="https://github.com/GoogleCloudPlatform/magic-modules/pull/9450",
)
def abandon_on_destroy(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    policy = resource.get("deletionPolicy")
    if is_unknown(policy) or policy not in (None, "ABANDON"):
        return
    yield Problem(
        "deletionPolicy", f"{resource.name} leaves deletionPolicy at ABANDON{' (the default)' if policy is None else ''}: "
        "`pulumi destroy` only forgets the database, so the next `pulumi up` creating it again gets 409 "
        "(Database already exists)",
        "set deletion_policy='DELETE' (keep delete_protection_state enabled in production to stop accidental deletes), "
        "or import the existing database instead of creating it",
    )


@rule(
    "firestore-backup-retention", types=(BACKUP_SCHEDULE,), severity=BLOCKS,
    title="a backup schedule's retention is not a duration up to 14 weeks, or its recurrence is not exactly one",
    source="https://www.pulumi.com/registry/packages/gcp/api-docs/firestore/backupschedule",
)
def backup_retention(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    raw = resource.get("retention")
    if isinstance(raw, str) and raw != UNKNOWN:
        seconds = duration_seconds(raw)
        if seconds is None or not 0 < seconds <= BACKUP_RETENTION_MAX:
            yield Problem(
                "retention", f"{resource.name}: retention {raw!r} is not a duration of up to 14 weeks "
                f"({BACKUP_RETENTION_MAX}s)", "write it in seconds with an 's' (e.g. '2592000s' for 30 days), at most '8467200s'",
            )
    recurrences = [k for k in ("dailyRecurrence", "weeklyRecurrence") if resource.get(k) is not None]
    if len(recurrences) != 1:
        yield Problem(
            "dailyRecurrence", f"{resource.name} sets {' and '.join(recurrences) or 'no recurrence'}; a schedule is either "
            "daily or weekly", "set exactly one of daily_recurrence and weekly_recurrence",
        )


@stack_rule(
    "firestore-backup-schedule-duplicate", severity=BLOCKS, types=(BACKUP_SCHEDULE,),
    title="more than one daily (or weekly) backup schedule on one database",
    # "At most two backup schedules can be configured on a database, one daily backup schedule ... and one
    # weekly backup schedule"
    source="https://pulumi.com/registry/packages/google-native/api-docs/firestore/v1/backupschedule",
)
def backup_schedule_duplicate(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    seen: dict[tuple[str, str, str], Resource] = {}
    for schedule in sorted(inventory.of_type(BACKUP_SCHEDULE), key=lambda r: r.name):
        kind = "daily" if schedule.get("dailyRecurrence") is not None else "weekly" if schedule.get("weeklyRecurrence") is not None else None
        database = database_of(inventory, schedule)
        target = database.urn if database else text(schedule.get("database")) or (DEFAULT_DATABASE if schedule.get("database") is None else None)
        if kind is None or target is None:
            continue
        key = (inventory.project_of(schedule), target, kind)
        first = seen.setdefault(key, schedule)
        if first is not schedule:
            yield schedule, Problem(
                f"{kind}Recurrence", f"{schedule.name} and {first.name} are both {kind} backup schedules of the same "
                "database; a database takes one daily and one weekly schedule", f"keep one {kind} schedule per database",
            )


@stack_rule(
    "firestore-ttl-field", severity=BLOCKS, types=(FIELD, DATABASE),
    title="a second TTL field in one collection group, or TTL on a Datastore-mode database with entity-group concurrency",
    # "You can mark only one field per collection group as a TTL field." / "For Firestore in Datastore mode
    # customers, TTL cannot be used with a concurrency mode of Optimistic With Entity Groups."
    source="https://cloud.google.com/firestore/docs/ttl",
)
def ttl_field(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    seen: dict[tuple[str, str, str], tuple[Resource, str]] = {}
    for field in sorted(inventory.of_type(FIELD), key=lambda r: r.name):
        if field.get("ttlConfig") is None or is_unknown(field.get("ttlConfig")):
            continue
        collection, name = text(field.get("collection")), text(field.get("field"))
        database = database_of(inventory, field)
        if database is not None and database.get("type") == "DATASTORE_MODE" \
                and database.get("concurrencyMode") == "OPTIMISTIC_WITH_ENTITY_GROUPS":
            yield field, Problem(
                "ttlConfig", f"{field.name} sets a TTL policy on {database.name}, a Datastore-mode database with "
                "OPTIMISTIC_WITH_ENTITY_GROUPS concurrency, where TTL can't be used",
                f"set concurrency_mode='OPTIMISTIC' on {database.name}, or drop the TTL policy",
            )
        if collection is None or name is None:
            continue
        target = database.urn if database else text(field.get("database")) or DEFAULT_DATABASE
        key = (inventory.project_of(field), target, collection)
        first, first_name = seen.setdefault(key, (field, name))
        if first is not field and first_name != name:
            yield field, Problem(
                "field", f"{field.name} makes {name!r} a TTL field of collection group {collection!r}, which already has "
                f"{first_name!r} ({first.name}): a collection group takes one TTL field",
                f"keep one TTL field for {collection!r} (write the same expiry field on every document)",
            )

