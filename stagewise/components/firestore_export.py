"""A scheduled export of the Firestore database into a bucket, run by an account that may only export."""

from __future__ import annotations

import base64
import json

import pulumi
import pulumi_gcp as gcp

from stagewise.components.firestore import FirestoreDatabase


# What the account starting a Firestore export holds on the destination bucket (export docs above).
EXPORT_CALLER_BUCKET_ROLE = "roles/storage.admin"


class FirestoreExport(pulumi.ComponentResource):
    """A scheduled export of the Firestore database into the backups bucket.

    Firestore's own backup schedule keeps copies inside Firestore; this export puts a copy in the
    `backups` bucket (retained a year, seed stage 3), readable and restorable independently.
    Cloud Scheduler calls `exportDocuments` as a dedicated account that may only export this
    database. Each run lands under its own timestamped prefix (the output URI is the bare bucket),
    and the bucket's lifecycle deletes each export the day after its retention ends
    (stagewise/components/buckets.py), so a locked bucket does not keep every export forever.

    Who needs what (https://cloud.google.com/firestore/docs/manage-data/export-import, "Before you
    begin" and "Service agent permissions"): the account that starts the export needs a Firestore
    export role and a Cloud Storage role on the bucket (the page lists Storage Admin); the Firestore
    service agent performs the Cloud Storage writes. Both are granted on the backups bucket only.
    """

    def __init__(
        self, name: str, project: pulumi.Input[str], region: str, database: FirestoreDatabase,
        bucket: pulumi.Input[str], schedule: str = "0 3 * * *", opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("stagewise:index:FirestoreExport", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = gcp.serviceaccount.Account(
            f"{name}-sa", project=project, account_id="firestore-export",
            display_name="Firestore export job", description="Starts exports of the chat database; nothing else.",
            opts=child,
        )
        # serviceAccount:EMAIL from the provider's `member` outputs of Account and ServiceIdentity
        # (https://www.pulumi.com/registry/packages/gcp/api-docs/serviceaccount/account/,
        # https://www.pulumi.com/registry/packages/gcp/api-docs/projects/serviceidentity/).
        member = account.member
        condition = database.client_role(str(project)).condition_expression
        # Export only: the predefined importExportAdmin would also allow imports, which overwrite data.
        role_id = "firestoreExporter"
        role = gcp.projects.IAMCustomRole(
            f"{name}-role", project=project, role_id=role_id, title="Firestore exporter",
            description="Start and follow Firestore exports; no import, no data access.",
            permissions=["datastore.databases.export", "datastore.databases.getMetadata", "datastore.operations.get"],
            opts=child,
        )
        # The role by its name, known before the custom role exists (`pulumi preview` can then check
        # the grant), with an explicit dependency so it is granted only once the role is there.
        role_name = pulumi.Output.from_input(project).apply(lambda p: f"projects/{p}/roles/{role_id}")
        grant = gcp.projects.IAMMember(
            f"{name}-exporter", project=project, role=role_name, member=member,
            condition=gcp.projects.IAMMemberConditionArgs(title="only-chat-database", expression=condition or "true"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, role]),
        )
        agent = gcp.projects.ServiceIdentity(
            f"{name}-firestore-agent", project=project, service="firestore.googleapis.com", opts=child
        )
        writer = gcp.storage.BucketIAMMember(
            f"{name}-agent-writer", bucket=bucket, role="roles/storage.objectAdmin",
            member=agent.member, opts=child,
        )
        # The caller's Cloud Storage role, on this bucket only: the locked retention policy still
        # keeps it from deleting or replacing any export, or shortening the retention.
        caller = gcp.storage.BucketIAMMember(
            f"{name}-caller-bucket", bucket=bucket, role=EXPORT_CALLER_BUCKET_ROLE, member=member,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        body = pulumi.Output.from_input(bucket).apply(
            lambda name_: base64.b64encode(json.dumps({"outputUriPrefix": f"gs://{name_}"}).encode()).decode()
        )
        self.job = gcp.cloudscheduler.Job(
            f"{name}-job",
            project=project,
            region=region,
            description="export the chat database to the backups bucket",
            schedule=schedule,
            time_zone="Etc/UTC",
            attempt_deadline="320s",
            http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                http_method="POST",
                uri=pulumi.Output.concat(
                    "https://firestore.googleapis.com/v1/projects/", project, "/databases/", database.name, ":exportDocuments"
                ),
                body=body,
                headers={"Content-Type": "application/json"},
                oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                    service_account_email=account.email, scope="https://www.googleapis.com/auth/cloud-platform"
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grant, writer, caller]),
        )
        self.register_outputs({"job": self.job.name})
