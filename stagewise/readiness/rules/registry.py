"""Artifact Registry: pushes the repository refuses and cleanup policies the API rejects."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from stagewise.readiness.inventory import UNKNOWN, Inventory, Resource, as_list, dig
from stagewise.readiness.model import BLOCKS, Problem
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules._images import DOCKER_IMAGE, REPOSITORY, pushed_images, repository_of


@stack_rule(
    "registry-immutable-tag-push", severity=BLOCKS, types=(DOCKER_IMAGE, REPOSITORY),
    title="an image is pushed as latest (or with no tag) into a repository with immutable tags: the second push fails",
    source="https://cloud.google.com/artifact-registry/docs/repositories/update-repo-settings",
)
def registry_immutable_tag_push(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    # With immutable image tags "an image tag always points to the same image digest, including the default
    # latest tag", and pushing "an image with a tag that is already used by another version of the image"
    # is not permitted. A name with no tag is pushed as latest
    # (https://cloud.google.com/artifact-registry/docs/docker/names), so every build after the first fails.
    for image, ref in pushed_images(inventory):
        repo = repository_of(ref, inventory)
        if repo is None or repo.get("dockerConfig.immutableTags") is not True:
            continue
        if ref.tag is None or ref.tag == "latest":
            shown = "no tag (latest)" if ref.tag is None else "the tag latest"
            yield image, Problem(
                "imageName", f"{image.name} pushes {ref.path.rsplit('/', 1)[-1]} with {shown} into {repo.name}, whose tags are immutable: "
                "the first deploy works, the next build's push is refused",
                "push a tag unique to the build (for example the git commit) and reference the image by digest, or turn off immutable_tags",
            )


@stack_rule(
    "registry-push-repo-missing", severity=BLOCKS, types=(DOCKER_IMAGE, REPOSITORY),
    title="an image is pushed to this project's Artifact Registry repository that the program does not create, or before it",
    source="https://cloud.google.com/run/docs/deploying",
)
def registry_push_repo_missing(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    # An Artifact Registry repository must be created before images are pushed to it ("the repository
    # REPO_NAME must already be created"); pushing to a missing one fails.
    for image, ref in pushed_images(inventory):
        project_repo = ref.ar_project_repo
        if project_repo is None or project_repo[0] != inventory.project_of(image):
            continue
        repo = repository_of(ref, inventory)
        if repo is None:
            yield image, Problem(
                "imageName", f"{image.name} pushes to repository {project_repo[1]!r} ({ref.ar_location}) of this project, which the program does not create",
                f"declare gcp.artifactregistry.Repository(repository_id={project_repo[1]!r}, location={ref.ar_location!r}, format=\"DOCKER\") "
                f"and make {image.name} depend on it",
            )
        elif not inventory.waits_for(image, repo):
            yield image, Problem(
                "imageName", f"{image.name} pushes to {repo.name} without waiting for it: on a first deploy the push can run before the repository exists",
                f"add depends_on=[{repo.name}] to {image.name}",
            )


# https://cloud.google.com/artifact-registry/docs/repositories/cleanup-policy-overview: "You can apply a
# maximum of 10 cleanup policies per repository", and "You can't use Conditional keep and Keep most
# recent versions criteria in the same cleanup policy".
CLEANUP_POLICIES_MAX = 10
# condition.olderThan / newerThan are protobuf Durations: the API refuses anything that does not end in
# "s" ("Illegal duration format; duration must end with 's'", https://github.com/pulumi/pulumi-gcp/issues/3344);
# the provider converts whole minutes, hours and days ("30d") to seconds since
# https://github.com/hashicorp/terraform-provider-google/issues/20796.
_DURATION = re.compile(r"^(\d+(\.\d+)?s|\d+[mhd])$")


@rule(
    "registry-cleanup-policies", types=(REPOSITORY,), severity=BLOCKS,
    title="a repository has more than 10 cleanup policies, one mixing a condition with most-recent-versions, or a malformed age",
    source="https://cloud.google.com/artifact-registry/docs/repositories/cleanup-policy-overview",
)
def registry_cleanup_policies(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    policies = [p for p in as_list(resource.get("cleanupPolicies")) if isinstance(p, Mapping)]
    if len(policies) > CLEANUP_POLICIES_MAX:
        yield Problem(
            "cleanupPolicies", f"{resource.name} has {len(policies)} cleanup policies; a repository takes at most {CLEANUP_POLICIES_MAX}",
            "merge policies (prefix lists, one condition each) down to 10",
        )
    for index, policy in enumerate(policies):
        for key in ("olderThan", "newerThan"):
            value = dig(policy, f"condition.{key}")
            if isinstance(value, str) and value != UNKNOWN and not _DURATION.match(value.strip()):
                yield Problem(
                    f"cleanupPolicies[{index}].condition.{key}", f"{resource.name}: cleanup policy {policy.get('id')!r} has {key}={value!r}, not a duration the API takes",
                    'write it in seconds ("2592000s") or whole minutes, hours or days ("30d")',
                )
        if policy.get("condition") and policy.get("mostRecentVersions"):
            yield Problem(
                f"cleanupPolicies[{index}]", f"{resource.name}: cleanup policy {policy.get('id')!r} sets both a condition and most_recent_versions",
                "split it into two policies: one with the condition, one keeping the most recent versions",
            )
