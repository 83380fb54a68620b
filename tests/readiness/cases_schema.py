"""Fixtures: what the provider schema refuses (enums, required fields of blocks that are set)."""

from __future__ import annotations

import pulumi_gcp as gcp
from harness import PROJECT, fail, ok

IMAGE = "us-docker.pkg.dev/cloudrun/container/hello@sha256:" + "1" * 64


def service(ingress: str, container: dict[str, object]) -> None:
    gcp.cloudrunv2.Service("svc", name="svc", project=PROJECT, location="us-central1", ingress=ingress,
                           deletion_protection=False, template={"containers": [container]})


CASES = [
    fail("schema-enum-value", lambda: service("INGRESS_ALL", {"image": IMAGE}), resource="svc", field="ingress"),
    fail("schema-enum-value", lambda: service("INGRESS_TRAFFIC_ALL", {"image": IMAGE}) or gcp.cloudrunv2.Service(
        "svc2", name="svc2", location="us-central1", template={"containers": [{"image": IMAGE}], "vpcAccess": {"egress": "ALL"}}),
        resource="svc2", field="template.vpcAccess.egress", id="nested"),
    ok("schema-enum-value", lambda: service("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", {"image": IMAGE})),
    fail("schema-required-missing", lambda: service("INGRESS_TRAFFIC_ALL", {"ports": {"containerPort": 8080}}),
         resource="svc", field="template.containers[0].image"),
    ok("schema-required-missing", lambda: service("INGRESS_TRAFFIC_ALL", {"image": IMAGE})),
]
