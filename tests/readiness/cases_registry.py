"""Fixtures: Artifact Registry repositories and the images the program pushes into them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_gcp as gcp
from harness import PROJECT, depends, fail, ok

HOST = "us-central1-docker.pkg.dev"
REPO = f"{HOST}/{PROJECT}/apps"


def repository(immutable: bool | None = True, policies: list[dict[str, Any]] | None = None) -> gcp.artifactregistry.Repository:
    docker_config = {"immutableTags": immutable} if immutable is not None else None
    return gcp.artifactregistry.Repository(
        "apps", repository_id="apps", project=PROJECT, location="us-central1", format="DOCKER",
        docker_config=docker_config, cleanup_policies=policies,
    )


def push(image_name: str, immutable: bool | None = True, wait: bool = True, declare: bool = True) -> Callable[[], None]:
    def program() -> None:
        repo = repository(immutable) if declare else None
        opts = depends(repo) if repo is not None and wait else None
        docker.Image("img", image_name=image_name, build=docker.DockerBuildArgs(context="."), opts=opts)

    return program


def push_by_output() -> None:
    repo = repository()
    name = pulumi.Output.concat(HOST, "/", PROJECT, "/", repo.repository_id, "/chat:build-42")
    docker.Image("img", image_name=name, build=docker.DockerBuildArgs(context="."))


def policies(items: list[dict[str, Any]]) -> Callable[[], None]:
    def program() -> None:
        repository(policies=items)

    return program


DELETE_OLD = {"id": "delete-old", "action": "DELETE", "condition": {"tagState": "ANY", "olderThan": "2592000s"}}
KEEP_RECENT = {"id": "keep-recent", "action": "KEEP", "mostRecentVersions": {"keepCount": 10}}

CASES = [
    fail("registry-immutable-tag-push", push(f"{REPO}/chat"), resource="img", field="imageName"),
    fail("registry-immutable-tag-push", push(f"{REPO}/chat:latest"), id="latest"),
    ok("registry-immutable-tag-push", push(f"{REPO}/chat:build-42")),
    ok("registry-immutable-tag-push", push(f"{REPO}/chat", immutable=False), id="mutable"),
    ok("registry-immutable-tag-push", push(f"{REPO}/chat", immutable=None), id="default-mutable"),
    fail("registry-push-repo-missing", push(f"{REPO}/chat:build-42", declare=False), resource="img", field="imageName"),
    fail("registry-push-repo-missing", push(f"{REPO}/chat:build-42", wait=False), id="not-awaited"),
    ok("registry-push-repo-missing", push(f"{REPO}/chat:build-42")),
    ok("registry-push-repo-missing", push_by_output, id="name-from-output"),
    ok("registry-push-repo-missing", push(f"{HOST}/stagewise-ci/apps/chat:build-42", declare=False), id="other-project"),
    fail("registry-cleanup-policies", policies([{**DELETE_OLD, "id": f"p{i}"} for i in range(11)]), resource="apps", field="cleanupPolicies"),
    fail("registry-cleanup-policies", policies([{**KEEP_RECENT, "condition": {"tagState": "TAGGED", "tagPrefixes": ["v"]}}]),
         field="cleanupPolicies[0]", id="mixed"),
    fail("registry-cleanup-policies", policies([{**DELETE_OLD, "condition": {"tagState": "ANY", "olderThan": "14days"}}]),
         field="cleanupPolicies[0].condition.olderThan", id="duration"),
    fail("registry-cleanup-policies", policies([{**DELETE_OLD, "condition": {"tagState": "ANY", "olderThan": "1.5h"}}]), id="fractional-hours"),
    ok("registry-cleanup-policies", policies([DELETE_OLD, KEEP_RECENT])),
    ok("registry-cleanup-policies", policies([{**DELETE_OLD, "condition": {"tagState": "UNTAGGED", "olderThan": "30d"}}, KEEP_RECENT]), id="days"),
]
