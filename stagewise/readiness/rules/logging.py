"""Cloud Logging: sink destinations and their writer grants, disabled sinks, log-based metrics, log buckets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from stagewise.readiness.inventory import UNKNOWN, Grant, Inventory, Resource, as_list, is_unknown, number
from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Problem
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules.storage import BUCKET, bucket_by_ref, mapping, text, truthy

PROJECT_SINK = "gcp:logging/projectSink:ProjectSink"
METRIC = "gcp:logging/metric:Metric"
BUCKET_CONFIG = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
DATASET = "gcp:bigquery/dataset:Dataset"
TOPIC = "gcp:pubsub/topic:Topic"
LEGACY_WRITER = "serviceAccount:cloud-logs@system.gserviceaccount.com"

# Sink destinations (pulumi_gcp 10.2 ProjectSinkArgs.destination, from the LogSink API):
#   storage.googleapis.com/[GCS_BUCKET]
#   bigquery.googleapis.com/projects/[PROJECT_ID]/datasets/[DATASET]
#   pubsub.googleapis.com/projects/[PROJECT_ID]/topics/[TOPIC_ID]
#   logging.googleapis.com/projects/[PROJECT_ID]/locations/global/buckets/[BUCKET_ID]
#   logging.googleapis.com/projects/[PROJECT_ID]
_STORAGE = re.compile(r"^storage\.googleapis\.com/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])$")
_BIGQUERY = re.compile(r"^bigquery\.googleapis\.com/projects/([^/]+)/datasets/([A-Za-z0-9_]+)$")
_PUBSUB = re.compile(r"^pubsub\.googleapis\.com/projects/([^/]+)/topics/([^/]+)$")
_LOG_BUCKET = re.compile(r"^logging\.googleapis\.com/projects/([^/]+)/locations/([^/]+)/buckets/([^/]+)$")
_LOG_PROJECT = re.compile(r"^logging\.googleapis\.com/projects/([^/]+)$")

# Roles that let a sink's writer identity write to each kind of destination (configure_export_v2:
# "the sink must be attached to a service account that has been given the permissions required to write data").
WRITER_ROLES = {
    "storage": frozenset({"roles/storage.objectCreator", "roles/storage.objectAdmin", "roles/storage.objectUser",
                          "roles/storage.admin", "roles/storage.legacyBucketWriter", "roles/storage.legacyBucketOwner"}),
    "bigquery": frozenset({"roles/bigquery.dataEditor", "roles/bigquery.dataOwner", "roles/bigquery.admin"}),
    "pubsub": frozenset({"roles/pubsub.publisher", "roles/pubsub.editor", "roles/pubsub.admin"}),
    "log-bucket": frozenset({"roles/logging.bucketWriter", "roles/logging.admin"}),
    "log-project": frozenset({"roles/logging.logWriter", "roles/logging.admin"}),
}
DESTINATION_SCOPE = {"storage": "bucket", "bigquery": "dataset", "pubsub": "topic"}

# https://cloud.google.com/logging/docs/reference/v2/rest/v2/projects.metrics (LogMetric.name): "Metric identifiers
# are limited to 100 characters and can include only the following characters A-Z, a-z, 0-9, and the special
# characters _-.,+!*',()%/. The forward-slash character (/) denotes a hierarchy of name pieces, and it cannot be
# the first character of the name." ; filter is required.
METRIC_NAME = re.compile(r"^[A-Za-z0-9_\-.,+!*',()%][A-Za-z0-9_\-.,+!*',()%/]{0,99}$")


@dataclass(frozen=True)
class Destination:
    kind: str  # storage, bigquery, pubsub, log-bucket, log-project
    project: str
    name: str  # bucket name, dataset id, topic id, log bucket id ("" for a project)


def destination_of(value: str) -> Destination | None:
    if match := _STORAGE.match(value):
        return Destination("storage", "", match.group(1))
    if match := _BIGQUERY.match(value):
        return Destination("bigquery", match.group(1), match.group(2))
    if match := _PUBSUB.match(value):
        return Destination("pubsub", match.group(1), match.group(2))
    if match := _LOG_BUCKET.match(value):
        return Destination("log-bucket", match.group(1), match.group(3))
    if match := _LOG_PROJECT.match(value):
        return Destination("log-project", match.group(1), "")
    return None


@rule(
    "logging-sink-destination", types=(PROJECT_SINK,), severity=BLOCKS,
    title="the sink destination is not a storage, BigQuery, Pub/Sub, log bucket or project destination",
    source="https://cloud.google.com/logging/docs/export/configure_export_v2",
)
def sink_destination(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = resource.get("destination")
    if not isinstance(value, str) or is_unknown(value) or destination_of(value):
        return
    yield Problem(
        "destination", f"{resource.name}: destination {value!r} is not one Cloud Logging routes to",
        "write it as storage.googleapis.com/<bucket> (no gs://), bigquery.googleapis.com/projects/<p>/datasets/<d>, "
        "pubsub.googleapis.com/projects/<p>/topics/<t> or logging.googleapis.com/projects/<p>/locations/<l>/buckets/<b>",
    )


def _writes_for(grant: Grant, sink: Resource) -> bool:
    """Whether a grant's member is this sink's writer identity (its output, or built from it)."""
    if sink.urn in grant.resource.declared.property_dependencies.get("member" if grant.resource.get("member") is not None else "members", ()):
        return True
    identity = text(sink.out("writerIdentity"))
    if identity and grant.member == identity:
        return True
    return sink.get("uniqueWriterIdentity") is False and grant.member == LEGACY_WRITER


def _declared_destination(inventory: Inventory, sink: Resource, where: Destination) -> Resource | None:
    """The destination resource, when the program creates it (then no grant made elsewhere can exist)."""
    if where.kind == "storage":
        return bucket_by_ref(inventory, sink, "destination", where.name)
    if where.kind == "bigquery":
        found = [d for d in inventory.of_type(DATASET) if d.get("datasetId") == where.name]
    elif where.kind == "pubsub":
        found = [t for t in inventory.of_type(TOPIC) if where.name in {t.get("name"), text(t.out("name"))}]
    else:
        return None
    return found[0] if len(found) == 1 else None


def _grant_covers(grant: Grant, where: Destination, target: Resource | None, project: str, inventory: Inventory) -> bool:
    if grant.role not in WRITER_ROLES[where.kind]:
        return False
    if grant.scope == "project":
        return (grant.target or inventory.project) == project
    if grant.scope != DESTINATION_SCOPE.get(where.kind):
        return False
    if where.kind == "storage" and target is not None:
        return bucket_by_ref(inventory, grant.resource, "bucket", grant.target or None) is target
    return grant.target.rsplit("/", 1)[-1] == where.name


@stack_rule(
    "logging-sink-writer-grant", severity=BROKEN, types=(PROJECT_SINK, BUCKET),
    title="the sink's writer identity has no write role on the destination the program creates: logs never arrive",
    # "Until you grant this identity write-access to the destination, log entry exports from this sink will fail."
    # (LogSink.writerIdentity; https://cloud.google.com/logging/docs/export/configure_export_v2)
    source="https://cloud.google.com/logging/docs/export/configure_export_v2",
)
def sink_writer_grant(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    for sink in inventory.of_type(PROJECT_SINK):
        value = sink.get("destination")
        if not isinstance(value, str) or is_unknown(value) or truthy(sink.get("disabled")):
            continue
        where = destination_of(value)
        if where is None or where.kind not in DESTINATION_SCOPE:
            continue  # log buckets and projects: the grant may live in another project
        target = _declared_destination(inventory, sink, where)
        if target is None:
            continue  # an existing destination may carry the grant already
        project = inventory.project_of(target)
        if any(_writes_for(g, sink) and _grant_covers(g, where, target, project, inventory) for g in inventory.grants):
            continue
        role = sorted(WRITER_ROLES[where.kind])[0] if where.kind != "storage" else "roles/storage.objectCreator"
        yield sink, Problem(
            "writerIdentity", f"{sink.name} routes logs to {target.name} ({value}), but nothing grants the sink's writer "
            "identity a role that can write there: every export fails and the logs never arrive",
            f"grant {role} on {target.name} to member=<sink>.writer_identity (the sink's output, not a typed-in email)",
        )


@rule(
    "logging-sink-disabled", types=(PROJECT_SINK,), severity=BROKEN,
    title="the sink is disabled: it exports nothing",
    # pulumi_gcp 10.2 ProjectSinkArgs.disabled: "If set to True, then this sink is disabled and it does not export any log entries."
    source="https://cloud.google.com/logging/docs/reference/v2/rest/v2/projects.sinks/create",
)
def sink_disabled(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if truthy(resource.get("disabled")):
        yield Problem("disabled", f"{resource.name} is disabled and routes no log entry to its destination",
                      "set disabled=False, or remove the sink (and its destination grant) if it is not wanted")


@rule(
    "logging-metric-name", types=(METRIC,), severity=BLOCKS,
    title="the log-based metric name or filter breaks the API's limits",
    source="https://cloud.google.com/logging/docs/reference/v2/rest/v2/projects.metrics",
)
def metric_name(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    name = resource.get("name")
    if isinstance(name, str) and name != UNKNOWN and not METRIC_NAME.match(name):
        yield Problem(
            "name", f"{resource.name}: metric name {name!r} is refused: at most 100 characters of A-Z a-z 0-9 "
            "_-.,+!*',()%/ and not starting with '/'", "use e.g. 'chat-errors' or 'chat/errors'",
        )
    log_filter = resource.get("filter")
    if isinstance(log_filter, str) and not log_filter.strip():
        yield Problem("filter", f"{resource.name} has an empty filter; a log-based metric requires one",
                      "set filter to a Logging query, e.g. 'resource.type=\"cloud_run_revision\" AND severity>=ERROR'")


@rule(
    "logging-metric-descriptor", types=(METRIC,), severity=BLOCKS,
    title="a metric label has no extractor, or a distribution metric lacks its value extractor or buckets",
    # "Each label key specified in the LabelDescriptor must have an associated extractor expression in this map."
    # "The bucket_options are required when the logs-based metric is using a DISTRIBUTION value type"
    # (and pulumi_gcp: "A valueExtractor is required when using a distribution logs-based metric")
    source="https://cloud.google.com/java/docs/reference/google-cloud-logging/latest/com.google.logging.v2.LogMetricOrBuilder",
)
def metric_descriptor(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    descriptor = mapping(resource.get("metricDescriptor"))
    extractors = resource.get("labelExtractors")
    if not is_unknown(extractors):
        have = set(mapping(extractors))
        for index, label in enumerate(as_list(descriptor.get("labels"))):
            key = mapping(label).get("key")
            if isinstance(key, str) and key != UNKNOWN and key not in have:
                yield Problem(
                    f"metricDescriptor.labels[{index}].key", f"{resource.name}: label {key!r} has no entry in labelExtractors",
                    f"add label_extractors={{{key!r}: 'EXTRACT(jsonPayload.{key})'}} (or drop the label)",
                )
    if descriptor.get("valueType") == "DISTRIBUTION":
        if not resource.get("valueExtractor"):
            yield Problem("valueExtractor", f"{resource.name} is a DISTRIBUTION metric without a value extractor",
                          "set value_extractor, e.g. 'EXTRACT(jsonPayload.latency_ms)'")
        if not resource.get("bucketOptions"):
            yield Problem("bucketOptions", f"{resource.name} is a DISTRIBUTION metric without bucket options",
                          "set bucket_options (exponential_buckets, linear_buckets or explicit_buckets)")


@rule(
    "logging-bucket-retention", types=(BUCKET_CONFIG,), severity=BLOCKS,
    title="a log bucket's retention is negative or fractional, or it changes the fixed _Required bucket",
    # LogBucket.retentionDays: "The minimum retention period is 1 day. If this value is set to zero at bucket
    # creation time, the default time of 30 days will be used." The _Required bucket retains 400 days and "the
    # retention period of the logs stored here cannot be modified" (https://cloud.google.com/logging/docs/storage).
    source="https://cloud.google.com/logging/docs/reference/v2/rest/v2/locations.buckets",
)
def bucket_retention(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    raw = resource.get("retentionDays")
    days = number(raw)
    if raw is None or is_unknown(raw):
        return
    if text(resource.get("bucketId")) == "_Required":
        yield Problem("retentionDays", f"{resource.name} sets retention on _Required, whose 400-day retention can't be changed",
                      "drop retention_days for _Required (route logs to a custom bucket for a different retention)")
    elif days is None or days < 0 or days != int(days):
        yield Problem("retentionDays", f"{resource.name}: retentionDays {raw!r} is not a whole number of days (minimum 1)",
                      "set retention_days to a whole number of days, at least 1")


@rule(
    "logging-bucket-locked", types=(BUCKET_CONFIG,), severity=RISK,
    title="a locked log bucket: its retention can't change and it can only be deleted when empty",
    # pulumi_gcp 10.2 ProjectBucketConfigArgs.locked / LogBucket.locked: "The retention period on a locked bucket
    # cannot be changed. Locked buckets may only be deleted if they are empty."
    source="https://cloud.google.com/logging/docs/reference/v2/rest/v2/locations.buckets",
)
def bucket_locked(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if truthy(resource.get("locked")):
        yield Problem(
            "locked", f"{resource.name} is locked: a later deploy that changes retention_days fails, and a destroy fails "
            "while the bucket holds logs", "lock only once the retention is final, and protect the resource (protect=True)",
        )
