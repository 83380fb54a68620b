"""LogSink: a service's logs routed to a bucket by a sink whose own writer identity may only create
objects in that one bucket."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stagewise.components.buckets import BucketSet, BucketSetArgs, BucketSpec
from stagewise.components.log_sink import WRITER_ROLE, LogSink, LogSinkArgs
from stagewise.engine.record import ProgramRun
from tests.conftest import one

SINK = "gcp:logging/projectSink:ProjectSink"
MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"


def test_sink_routes_named_services_into_the_bucket(run_component: Callable[..., ProgramRun]) -> None:
    def program() -> None:
        LogSink("partner-logs", LogSinkArgs(project="stagewise-test", bucket="analytics-bucket", service_names=["partner", "chat-canary"]))

    run = run_component(program)
    sink = one(run, SINK).inputs
    assert sink["destination"] == "storage.googleapis.com/analytics-bucket"
    assert sink["uniqueWriterIdentity"] is True
    assert sink["filter"] == (
        'resource.type="cloud_run_revision" AND '
        '(resource.labels.service_name="partner" OR resource.labels.service_name="chat-canary")'
    )
    component = one(run, "stagewise:index:LogSink")
    assert all(r.parent == component.urn for r in run.resources if r.custom)


def test_writer_identity_gets_object_create_on_that_bucket_only(run_component: Callable[..., ProgramRun]) -> None:
    def program() -> None:
        buckets = BucketSet("buckets", BucketSetArgs(project="stagewise-test", buckets={
            "data": BucketSpec("data", "us-central1"), "analytics": BucketSpec("analytics", "us-central1")}))
        LogSink("partner-logs", LogSinkArgs(project="stagewise-test", bucket=buckets.buckets["analytics"].name, service_names=["partner"]))

    run = run_component(program)
    grants = run.of_type(MEMBER)
    assert len(grants) == 1
    grant = grants[0].inputs
    assert grant["role"] == WRITER_ROLE == "roles/storage.objectCreator"
    assert grant["bucket"] == run.by_name("buckets-analytics").outputs["name"] != run.by_name("buckets-data").outputs["name"]
    sink = one(run, SINK)
    assert grant["member"] == sink.outputs["writerIdentity"]
    assert grant["member"].startswith("serviceAccount:")
    assert not run.of_type("gcp:projects/iAMMember:IAMMember")  # no project-wide grant


def test_extra_filter_narrows_service_logs(run_component: Callable[..., ProgramRun]) -> None:
    def program() -> None:
        LogSink("s", LogSinkArgs(project="p", bucket="b", service_names=["partner"], filter='logName:"run.googleapis.com%2Frequests"'))

    sink = one(run_component(program), SINK).inputs
    assert sink["filter"].endswith(' AND (logName:"run.googleapis.com%2Frequests")')


def test_custom_filter_alone(run_component: Callable[..., ProgramRun]) -> None:
    def program() -> None:
        LogSink("s", LogSinkArgs(project="p", bucket="b", filter='severity>=WARNING', sink_name="warnings"))

    sink = one(run_component(program), SINK).inputs
    assert sink["filter"] == "severity>=WARNING" and sink["name"] == "warnings"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "needs service_names or filter"), ({"filter": "  "}, "filter is blank")],
)
def test_args_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LogSinkArgs(project="p", bucket="b", **kwargs)  # type: ignore[arg-type]
