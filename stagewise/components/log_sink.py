"""LogSink: route a Cloud Run service's logs into a Cloud Storage bucket (logs / analytics).

The sink gets its own writer identity (``unique_writer_identity``), and that identity is granted
``roles/storage.objectCreator`` on the destination bucket only: it can add log files there and
nothing else — it can't read, overwrite or delete them, nor touch any other bucket.

Usage::

    LogSink("partner-logs", LogSinkArgs(
        project="my-project",
        bucket=buckets.buckets["analytics"].name,
        service_names=["partner"],            # or filter='resource.type="…" AND …'
    ))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

WRITER_ROLE = "roles/storage.objectCreator"


@dataclass
class LogSinkArgs:
    project: pulumi.Input[str]
    bucket: pulumi.Input[str]
    service_names: Sequence[pulumi.Input[str]] = ()
    filter: str | None = None
    sink_name: str | None = None
    description: str = "stagewise: a service's logs routed to its bucket"

    def __post_init__(self) -> None:
        if not self.service_names and not self.filter:
            raise ValueError(
                "LogSinkArgs needs service_names or filter; without one the sink would copy every log of the project"
            )
        if self.filter is not None and not self.filter.strip():
            raise ValueError("filter is blank; give a Logging query such as resource.type=\"cloud_run_revision\"")


def service_filter(service_names: Sequence[pulumi.Input[str]], extra: str | None = None) -> pulumi.Output[str]:
    """Logging query matching the request and application logs of these Cloud Run services."""
    names = pulumi.Output.all(*service_names).apply(
        lambda resolved: " OR ".join(f'resource.labels.service_name="{name}"' for name in resolved)
    )
    return names.apply(
        lambda clause: f'resource.type="cloud_run_revision" AND ({clause})' + (f" AND ({extra})" if extra else "")
    )


class LogSink(pulumi.ComponentResource):
    """Project log sink to a bucket + object-create grant for its unique writer identity on that bucket."""

    def __init__(self, name: str, args: LogSinkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:LogSink", name, None, opts)
        log_filter: pulumi.Input[str] = (
            service_filter(args.service_names, args.filter) if args.service_names else str(args.filter)
        )
        self.sink = gcp.logging.ProjectSink(
            name,
            project=args.project,
            name=args.sink_name,
            destination=pulumi.Output.concat("storage.googleapis.com/", args.bucket),
            filter=log_filter,
            unique_writer_identity=True,
            description=args.description,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # writer_identity already reads "serviceAccount:…".
        self.writer_grant = gcp.storage.BucketIAMMember(
            f"{name}-writer",
            bucket=args.bucket,
            role=WRITER_ROLE,
            member=self.sink.writer_identity,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.writer_identity: pulumi.Output[str] = self.sink.writer_identity
        self.sink_name: pulumi.Output[str] = self.sink.name
        self.register_outputs({"writer_identity": self.writer_identity, "sink_name": self.sink_name})
