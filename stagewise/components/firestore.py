"""FirestoreDatabase: the native-mode database for conversations and profiles, with its backups."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from stagewise.components.iam import ProjectRole

# The app writes `expire_at` on these (usage: one record per completion, app usage_store.py); a TTL
# policy per collection group lets each expire.
TTL_COLLECTION_GROUPS = ("messages", "conversations", "usage")
# The app's shared quota state (app/src/chatapp/quotas.py): one counter shard per instance and
# period, and instance heartbeats, each with `expire_at` a day after its period ends.
QUOTA_TTL_COLLECTION_GROUPS = ("shards", "quota_instances")
EXPIRY_FIELD = "expire_at"


@dataclass
class FirestoreDatabaseArgs:
    project: pulumi.Input[str]
    location_id: str
    database_id: str = "(default)"
    point_in_time_recovery: bool = False
    delete_protection: bool = True
    backup_retention_days: int | None = None
    ttl: bool = False
    quota_ttl: bool = False  # TTL policies on the quota state's collection groups


class FirestoreDatabase(pulumi.ComponentResource):
    """A Firestore database; optional daily backups and a TTL policy on messages."""

    def __init__(self, name: str, args: FirestoreDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:FirestoreDatabase", name, None, opts)
        self.database_id = args.database_id
        child = pulumi.ResourceOptions(parent=self)
        self.database = gcp.firestore.Database(
            name,
            project=args.project,
            name=args.database_id,
            location_id=args.location_id,
            type="FIRESTORE_NATIVE",
            concurrency_mode="OPTIMISTIC",
            point_in_time_recovery_enablement=(
                "POINT_IN_TIME_RECOVERY_ENABLED" if args.point_in_time_recovery else "POINT_IN_TIME_RECOVERY_DISABLED"
            ),
            delete_protection_state="DELETE_PROTECTION_ENABLED" if args.delete_protection else "DELETE_PROTECTION_DISABLED",
            # The provider's default ABANDON leaves the database behind on destroy; re-creating it then fails.
            deletion_policy="DELETE",
            opts=child,
        )
        self.backup_schedule: gcp.firestore.BackupSchedule | None = None
        if args.backup_retention_days:
            self.backup_schedule = gcp.firestore.BackupSchedule(
                f"{name}-daily-backup",
                project=args.project,
                database=self.database.name,
                retention=f"{args.backup_retention_days * 86_400}s",
                daily_recurrence=gcp.firestore.BackupScheduleDailyRecurrenceArgs(),  # type: ignore[no-untyped-call]
                opts=child,
            )
        # (logical name, collection group): a TTL policy deletes documents once their expiry field passes.
        expiring: list[tuple[str, str]] = []
        if args.ttl:
            expiring += [(f"{name}-{collection.removesuffix('s')}-ttl", collection) for collection in TTL_COLLECTION_GROUPS]
        if args.quota_ttl:
            expiring += [(f"{name}-{collection.replace('_', '-')}-ttl", collection) for collection in QUOTA_TTL_COLLECTION_GROUPS]
        self.ttl_fields: list[gcp.firestore.Field] = [
            gcp.firestore.Field(
                logical,
                project=args.project,
                database=self.database.name,
                collection=collection,
                field=EXPIRY_FIELD,
                ttl_config=gcp.firestore.FieldTtlConfigArgs(),
                index_config=gcp.firestore.FieldIndexConfigArgs(),
                opts=child,
            )
            for logical, collection in expiring
        ]
        self.name: pulumi.Output[str] = self.database.name
        self.register_outputs({"name": self.name})

    def client_role(self, project: str) -> ProjectRole:
        """Read/write on this database only: datastore.user conditioned on the database name."""
        return ProjectRole(
            role="roles/datastore.user",
            condition_title="only-chat-database",
            condition_expression=f'resource.name == "projects/{project}/databases/{self.database_id}"',
        )
