"""ContainerImage: the app image, either built here into Artifact Registry or owned by CI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker
import pulumi_gcp as gcp
from pulumi_gcp.artifactregistry import (
    RepositoryCleanupPolicyArgs,
    RepositoryCleanupPolicyConditionArgs,
    RepositoryCleanupPolicyMostRecentVersionsArgs,
    RepositoryDockerConfigArgs,
)


@dataclass(frozen=True)
class BuildFromSource:
    """Build `context` with Docker and push it; the service references the pushed digest."""

    context: str
    dockerfile: str = "Dockerfile"
    image: str = "chat"
    keep_recent: int = 10
    untagged_after_days: int = 7


@dataclass(frozen=True)
class ExternalImage:
    """CI builds and pushes; the program only points at `ref`."""

    ref: str


@dataclass
class ContainerImageArgs:
    project: pulumi.Input[str]
    region: str
    source: BuildFromSource | ExternalImage
    repository_id: str = "stagewise"
    labels: Mapping[str, str] = field(default_factory=dict)


class ContainerImage(pulumi.ComponentResource):
    def __init__(self, name: str, args: ContainerImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:ContainerImage", name, None, opts)
        self.repository: gcp.artifactregistry.Repository | None = None
        source = args.source
        if isinstance(source, ExternalImage):
            self.ref: pulumi.Output[str] = pulumi.Output.from_input(source.ref)
        else:
            self.repository = self._repository(name, args, source)
            host = f"{args.region}-docker.pkg.dev"
            image_name = pulumi.Output.concat(host, "/", args.project, "/", self.repository.repository_id, "/", source.image)
            token = gcp.organizations.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self)).access_token
            self.image = docker.Image(
                f"{name}-build",
                image_name=image_name,
                build=docker.DockerBuildArgs(
                    context=source.context,
                    dockerfile=f"{source.context}/{source.dockerfile}",
                    platform="linux/amd64",
                ),
                registry=docker.RegistryArgs(server=host, username="oauth2accesstoken", password=token),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.repository]),
            )
            # The digest, not a tag: a new build always rolls a new Cloud Run revision.
            self.ref = self.image.repo_digest
        self.register_outputs({"ref": self.ref})

    def _repository(self, name: str, args: ContainerImageArgs, source: BuildFromSource) -> gcp.artifactregistry.Repository:
        return gcp.artifactregistry.Repository(
            f"{name}-repo",
            project=args.project,
            location=args.region,
            repository_id=args.repository_id,
            format="DOCKER",
            description="stagewise application images",
            docker_config=RepositoryDockerConfigArgs(immutable_tags=True),
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                RepositoryCleanupPolicyArgs(
                    id="keep-recent",
                    action="KEEP",
                    most_recent_versions=RepositoryCleanupPolicyMostRecentVersionsArgs(keep_count=source.keep_recent),
                ),
                RepositoryCleanupPolicyArgs(
                    id="delete-untagged",
                    action="DELETE",
                    condition=RepositoryCleanupPolicyConditionArgs(
                        tag_state="UNTAGGED", older_than=f"{source.untagged_after_days * 86_400}s"
                    ),
                ),
            ],
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
