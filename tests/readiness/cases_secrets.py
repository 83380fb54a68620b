"""Fixtures: Secret Manager (ids, replication, rotation, expiration, payload size, IAM on secrets)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pulumi_gcp as gcp
from harness import PROJECT, fail, ok
from pulumi_gcp import secretmanager as sm

AUTO = sm.SecretReplicationArgs(auto=sm.SecretReplicationAutoArgs())
SA = "serviceAccount:chat-runtime@fixture-project.iam.gserviceaccount.com"


def secret(**kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        args: dict[str, Any] = {"secret_id": "app-key", "project": PROJECT, "replication": AUTO}
        args.update(kwargs)
        sm.Secret("s", **args)

    return run


def user_managed(*locations: str) -> sm.SecretReplicationArgs:
    return sm.SecretReplicationArgs(user_managed=sm.SecretReplicationUserManagedArgs(
        replicas=[sm.SecretReplicationUserManagedReplicaArgs(location=loc) for loc in locations]))


def rotating(with_topic: bool, period: str = "2592000s", next_time: str | None = "2030-01-01T00:00:00Z") -> Callable[[], None]:
    def run() -> None:
        topic = gcp.pubsub.Topic("t", name="rotate", project=PROJECT)
        sm.Secret(
            "s", secret_id="app-key", project=PROJECT, replication=AUTO,
            topics=[sm.SecretTopicArgs(name=topic.id)] if with_topic else None,
            rotation=sm.SecretRotationArgs(rotation_period=period, next_rotation_time=next_time),
        )

    return run


def version(data: str, base64_encoded: bool = False) -> Callable[[], None]:
    def run() -> None:
        s = sm.Secret("s", secret_id="app-key", project=PROJECT, replication=AUTO)
        sm.SecretVersion("v", secret=s.id, secret_data=data, is_secret_data_base64=base64_encoded)

    return run


def grant_on(declared: bool, by_output: bool = False) -> Callable[[], None]:
    def run() -> None:
        secret_id: Any = "app-key"
        if declared:
            s = sm.Secret("s", secret_id="app-key", project=PROJECT, replication=AUTO)
            if by_output:
                secret_id = s.secret_id
        sm.SecretIamMember("g", project=PROJECT, secret_id=secret_id, role="roles/secretmanager.secretAccessor", member=SA)

    return run


def grant_by_full_name() -> None:
    sm.Secret("s", secret_id="app-key", project=PROJECT, replication=AUTO)
    sm.SecretIamMember("g", secret_id=f"projects/{PROJECT}/secrets/app-key", role="roles/secretmanager.secretAccessor", member=SA)


CASES = [
    fail("secrets-secret-id", secret(secret_id="app.key"), resource="s", field="secretId"),
    fail("secrets-secret-id", secret(secret_id="k" * 256), id="too-long"),
    ok("secrets-secret-id", secret(secret_id="CHAT_API-KEYS_2")),
    fail("secrets-replication", secret(replication=sm.SecretReplicationArgs()), resource="s", field="replication", id="empty"),
    fail("secrets-replication", secret(replication=sm.SecretReplicationArgs(
        auto=sm.SecretReplicationAutoArgs(), user_managed=sm.SecretReplicationUserManagedArgs(
            replicas=[sm.SecretReplicationUserManagedReplicaArgs(location="us-central1")]))), id="both"),
    fail("secrets-replication", secret(replication=user_managed("us")), field="replication.userManaged.replicas[0].location",
         id="multi-region"),
    fail("secrets-replication", secret(replication=user_managed("us-central1", "us-central1")),
         field="replication.userManaged.replicas[1]", id="duplicate"),
    fail("secrets-replication", secret(replication=user_managed()), field="replication.userManaged.replicas", id="no-replica"),
    ok("secrets-replication", secret()),
    ok("secrets-replication", secret(replication=user_managed("us-central1", "europe-west1")), id="user-managed"),
    fail("secrets-rotation", rotating(with_topic=False), resource="s", field="topics"),
    fail("secrets-rotation", rotating(with_topic=True, next_time=None), field="rotation.nextRotationTime", id="no-next-time"),
    fail("secrets-rotation", rotating(with_topic=True, period="600s"), field="rotation.rotationPeriod", id="too-short"),
    fail("secrets-rotation", rotating(with_topic=True, period="30d"), field="rotation.rotationPeriod", id="not-duration"),
    ok("secrets-rotation", rotating(with_topic=True)),
    ok("secrets-rotation", secret(), id="no-rotation"),
    fail("secrets-expiration", secret(ttl="86400s", expire_time="2030-01-01T00:00:00Z"), resource="s", field="ttl"),
    fail("secrets-expiration", secret(ttl="1d"), field="ttl", id="not-duration"),
    ok("secrets-expiration", secret(ttl="86400s")),
    ok("secrets-expiration", secret(expire_time="2030-01-01T00:00:00Z"), id="absolute"),
    fail("secrets-version-size", version("x" * (64 * 1024 + 1)), resource="v", field="secretData"),
    fail("secrets-version-size", version(base64.b64encode(b"\0" * 70_000).decode(), base64_encoded=True), id="base64"),
    ok("secrets-version-size", version("x" * (64 * 1024))),
    ok("secrets-version-size", version(base64.b64encode(b"\0" * 60_000).decode(), base64_encoded=True), id="base64"),
    fail("secrets-iam-secret-undeclared", grant_on(declared=False), resource="g", field="secretId"),
    ok("secrets-iam-secret-undeclared", grant_on(declared=True, by_output=True)),
    ok("secrets-iam-secret-undeclared", grant_by_full_name, id="full-name"),
]
