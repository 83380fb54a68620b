"""Fixtures: Cloud Logging (sink destinations and writer grants, disabled sinks, log-based metrics, log buckets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_gcp as gcp
from harness import PROJECT, fail, ok
from pulumi_gcp import logging as gl

FILTER = 'resource.type="cloud_run_revision"'


def logs_bucket() -> gcp.storage.Bucket:
    return gcp.storage.Bucket("logs", name="fixture-project-logs", location="US-CENTRAL1", project=PROJECT,
                              uniform_bucket_level_access=True, public_access_prevention="enforced")


def sink_to_bucket(grant: str | None, role: str = "roles/storage.objectCreator", disabled: bool = False) -> Callable[[], None]:
    """grant: None, "output" (the sink's writer identity), "other" (some other member) or "project" (project-level)."""

    def run() -> None:
        bucket = logs_bucket()
        sink = gl.ProjectSink("sink", project=PROJECT, name="run-logs", filter=FILTER, unique_writer_identity=True,
                              destination=pulumi.Output.concat("storage.googleapis.com/", bucket.name), disabled=disabled)
        if grant == "output":
            gcp.storage.BucketIAMMember("writer", bucket=bucket.name, role=role, member=sink.writer_identity)
        elif grant == "other":
            gcp.storage.BucketIAMMember("writer", bucket=bucket.name, role=role,
                                        member="serviceAccount:chat-runtime@fixture-project.iam.gserviceaccount.com")
        elif grant == "project":
            gcp.projects.IAMMember("writer", project=PROJECT, role=role, member=sink.writer_identity)

    return run


def sink_to_existing_bucket() -> None:
    gl.ProjectSink("sink", project=PROJECT, name="run-logs", filter=FILTER, destination="storage.googleapis.com/someone-elses-bucket")


def sink_to_topic(granted: bool) -> Callable[[], None]:
    def run() -> None:
        topic = gcp.pubsub.Topic("t", name="logs", project=PROJECT)
        sink = gl.ProjectSink("sink", project=PROJECT, name="to-topic", filter=FILTER,
                              destination=pulumi.Output.concat("pubsub.googleapis.com/projects/", PROJECT, "/topics/", topic.name))
        if granted:
            gcp.pubsub.TopicIAMMember("pub", project=PROJECT, topic=topic.name, role="roles/pubsub.publisher", member=sink.writer_identity)

    return run


def sink(destination: str, **kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        gl.ProjectSink("sink", project=PROJECT, name="run-logs", filter=FILTER, destination=destination, **kwargs)

    return run


def metric(**kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        args: dict[str, Any] = {"project": PROJECT, "name": "chat-errors", "filter": FILTER + " AND severity>=ERROR"}
        args.update(kwargs)
        gl.Metric("m", **args)

    return run


def labelled(with_extractor: bool) -> Callable[[], None]:
    return metric(
        metric_descriptor=gl.MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64", labels=[
            gl.MetricMetricDescriptorLabelArgs(key="route", value_type="STRING")]),
        label_extractors={"route": "EXTRACT(jsonPayload.route)"} if with_extractor else None,
    )


def distribution(complete: bool) -> Callable[[], None]:
    extra: dict[str, Any] = {}
    if complete:
        extra = {"value_extractor": "EXTRACT(jsonPayload.latency_ms)", "bucket_options": gl.MetricBucketOptionsArgs(
            exponential_buckets=gl.MetricBucketOptionsExponentialBucketsArgs(num_finite_buckets=32, growth_factor=2, scale=1))}
    return metric(metric_descriptor=gl.MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="DISTRIBUTION", unit="ms"), **extra)


def log_bucket(bucket_id: str = "chat-logs", **kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        gl.ProjectBucketConfig("lb", project=PROJECT, location="global", bucket_id=bucket_id, **kwargs)

    return run


CASES = [
    fail("logging-sink-destination", sink("gs://fixture-project-logs"), resource="sink", field="destination"),
    fail("logging-sink-destination", sink("fixture-project-logs"), id="bare-name"),
    ok("logging-sink-destination", sink("storage.googleapis.com/fixture-project-logs")),
    ok("logging-sink-destination", sink(f"logging.googleapis.com/projects/{PROJECT}/locations/global/buckets/chat-logs"), id="log-bucket"),
    ok("logging-sink-destination", sink(f"bigquery.googleapis.com/projects/{PROJECT}/datasets/chat_logs"), id="bigquery"),
    fail("logging-sink-writer-grant", sink_to_bucket(grant=None), resource="sink", field="writerIdentity"),
    fail("logging-sink-writer-grant", sink_to_bucket(grant="other"), id="wrong-member"),
    fail("logging-sink-writer-grant", sink_to_bucket(grant="output", role="roles/storage.objectViewer"), id="read-only-role"),
    fail("logging-sink-writer-grant", sink_to_topic(granted=False), id="topic"),
    ok("logging-sink-writer-grant", sink_to_bucket(grant="output")),
    ok("logging-sink-writer-grant", sink_to_bucket(grant="project"), id="project-level"),
    ok("logging-sink-writer-grant", sink_to_topic(granted=True), id="topic"),
    ok("logging-sink-writer-grant", sink_to_existing_bucket, id="existing-destination"),
    ok("logging-sink-writer-grant", sink(f"logging.googleapis.com/projects/{PROJECT}/locations/global/buckets/chat-logs"), id="log-bucket"),
    fail("logging-sink-disabled", sink_to_bucket(grant="output", disabled=True), resource="sink", field="disabled"),
    ok("logging-sink-disabled", sink_to_bucket(grant="output")),
    fail("logging-metric-name", metric(name="/chat/errors"), resource="m", field="name"),
    fail("logging-metric-name", metric(name="chat errors"), id="space"),
    fail("logging-metric-name", metric(name="e" * 101), id="too-long"),
    fail("logging-metric-name", metric(filter="  "), field="filter", id="empty-filter"),
    ok("logging-metric-name", metric()),
    ok("logging-metric-name", metric(name="chat/errors_5xx"), id="hierarchical"),
    fail("logging-metric-descriptor", labelled(with_extractor=False), resource="m", field="metricDescriptor.labels[0].key"),
    fail("logging-metric-descriptor", distribution(complete=False), field="valueExtractor", id="distribution"),
    ok("logging-metric-descriptor", labelled(with_extractor=True)),
    ok("logging-metric-descriptor", distribution(complete=True), id="distribution"),
    fail("logging-bucket-retention", log_bucket(retention_days=-1), resource="lb", field="retentionDays"),
    fail("logging-bucket-retention", log_bucket("_Required", retention_days=30), id="required-bucket"),
    ok("logging-bucket-retention", log_bucket(retention_days=3650)),
    ok("logging-bucket-retention", log_bucket("_Default", retention_days=90), id="default-bucket"),
    fail("logging-bucket-locked", log_bucket(retention_days=365, locked=True), resource="lb", field="locked"),
    ok("logging-bucket-locked", log_bucket(retention_days=365, locked=False)),
]
