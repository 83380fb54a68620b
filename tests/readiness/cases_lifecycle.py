"""Fixtures: first and second deploy (ordering, rollouts, replacements, renames)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pulumi
import pulumi_docker as docker
import pulumi_gcp as gcp
from harness import PROJECT, fail, ok
from pulumi_gcp import cloudrunv2 as run

DIGEST_A = "us-central1-docker.pkg.dev/fixture-project/apps/chat@sha256:" + "a" * 64
DIGEST_B = "us-central1-docker.pkg.dev/fixture-project/apps/chat@sha256:" + "b" * 64


def service(name: str = "chat", image: pulumi.Input[str] = DIGEST_A, env: str = "one", revision: str | None = None,
            traffic: Sequence[run.ServiceTrafficArgs] | None = None, ignore: Sequence[str] | None = None) -> run.Service:
    return run.Service(
        name, name=name, project=PROJECT, location="us-central1", deletion_protection=False,
        template=run.ServiceTemplateArgs(
            revision=revision,
            containers=[run.ServiceTemplateContainerArgs(image=image, envs=[run.ServiceTemplateContainerEnvArgs(name="MODE", value=env)])],
        ),
        traffics=list(traffic) if traffic else None,
        opts=pulumi.ResourceOptions(ignore_changes=list(ignore) if ignore else None),
    )


def invoker_by_literal() -> None:
    service()
    run.ServiceIamMember("inv", project=PROJECT, location="us-central1", name="chat", role="roles/run.invoker", member="allUsers")


def invoker_by_output() -> None:
    svc = service()
    run.ServiceIamMember("inv", project=PROJECT, location="us-central1", name=svc.name, role="roles/run.invoker", member="allUsers")


def traffic_to_unknown_revision() -> None:
    service(traffic=[
        run.ServiceTrafficArgs(type="TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent=50, tag="v2"),
        run.ServiceTrafficArgs(type="TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", revision="chat-v1", percent=50, tag="v1"),
    ])


def traffic_latest_tagged() -> None:
    service(traffic=[run.ServiceTrafficArgs(type="TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent=100, tag="v2")])


def deploy(**kwargs: object) -> Callable[[], None]:
    def program() -> None:
        service(**kwargs)  # type: ignore[arg-type]

    return program


def built_image(by_digest: bool) -> Callable[[], None]:
    def program() -> None:
        image = docker.Image("img", image_name="us-central1-docker.pkg.dev/fixture-project/apps/chat:latest",
                             build=docker.DockerBuildArgs(context="."))
        service(image=image.repo_digest if by_digest else image.image_name)

    return program


def network(auto: bool, delete_first: bool = False) -> Callable[[], None]:
    def program() -> None:
        gcp.compute.Network("net", name="main", project=PROJECT, auto_create_subnetworks=auto,
                            opts=pulumi.ResourceOptions(delete_before_replace=delete_first))

    return program


def bucket(location: str, versioning: bool = False) -> Callable[[], None]:
    def program() -> None:
        gcp.storage.Bucket("data", name="fixture-project-data", location=location, uniform_bucket_level_access=True,
                           public_access_prevention="enforced", versioning=gcp.storage.BucketVersioningArgs(enabled=versioning))

    return program


def no_bucket() -> None:
    gcp.projects.Service("run", project=PROJECT, service="run.googleapis.com", disable_on_destroy=False)


def secret(logical: str, alias: str | None = None) -> Callable[[], None]:
    def program() -> None:
        gcp.secretmanager.Secret(
            logical, secret_id="app-key", project=PROJECT,
            replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
            opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name=alias)] if alias else None),
        )

    return program


CASES = [
    fail("deploy-reference-before-create", invoker_by_literal, resource="inv", field="name"),
    ok("deploy-reference-before-create", invoker_by_output),
    fail("deploy-traffic-revision-missing", traffic_to_unknown_revision, resource="chat", field="traffics[1].revision"),
    ok("deploy-traffic-revision-missing", traffic_latest_tagged),
    fail("deploy-revision-name-reused", deploy(revision="chat-v1"), second=deploy(revision="chat-v1", env="two"),
         resource="chat", field="template.revision"),
    ok("deploy-revision-name-reused", deploy(), second=deploy(env="two")),
    fail("deploy-image-not-rolled-out", deploy(ignore=["template.containers[0].image"]),
         second=deploy(image=DIGEST_B, ignore=["template.containers[0].image"]), resource="chat"),
    fail("deploy-image-not-rolled-out", built_image(by_digest=False), second=built_image(by_digest=False), id="by-tag"),
    ok("deploy-image-not-rolled-out", deploy(), second=deploy(image=DIGEST_B)),
    ok("deploy-image-not-rolled-out", built_image(by_digest=True), second=built_image(by_digest=True), id="by-digest"),
    fail("deploy-replace-name-conflict", network(auto=False), second=network(auto=True), resource="net"),
    ok("deploy-replace-name-conflict", network(auto=False, delete_first=True), second=network(auto=True, delete_first=True)),
    fail("deploy-stateful-replaced", bucket("US-CENTRAL1"), second=bucket("EU"), resource="data", field="location"),
    fail("deploy-stateful-replaced", bucket("US-CENTRAL1"), second=no_bucket, resource="data", id="deleted"),
    ok("deploy-stateful-replaced", bucket("US-CENTRAL1"), second=bucket("US-CENTRAL1", versioning=True)),
    fail("deploy-rename-conflict", secret("keys"), second=secret("api-keys"), resource="api-keys"),
    ok("deploy-rename-conflict", secret("keys"), second=secret("api-keys", alias="keys")),
]
