"""ContainerImage: the app image, either built here into Artifact Registry or owned by CI.

Build mode runs `docker build` and `docker push` on the machine running `pulumi up` (pulumi-docker's
Image resource): that machine needs a Docker daemon it may use (`docker info` works) and network
access to the registry. Nothing is built offline (`stagewise review` never runs Docker), nor by
`pulumi preview` (the resource builds on preview only when asked to). In CI, use external mode:
the workflow builds and pushes, and the stack names the image by digest.

Each build is pushed under a tag made from the content of its build context (`ctx-<hash>`), and
the service references the pushed digest, so what runs never depends on a tag. The build context
and Dockerfile are given relative to the project directory (pulumi-docker resolves them against
the program's working directory: https://github.com/pulumi/pulumi-docker/releases/tag/v4.0.1):
an absolute path differs from one checkout or CI runner to the next, and pulumi-docker diffs every
input, so it would rebuild unchanged code. Tags stay mutable: a rebuild of the same content
(another machine without the layer cache, or a revert to earlier code) produces a new digest
under an existing content tag, which an immutable-tag repository refuses
(https://docs.cloud.google.com/artifact-registry/docs/repositories/update-repo-settings); since
services pin digests, a moved tag cannot change what is deployed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

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
    """Build `context` with Docker and push it; the service references the pushed digest.

    `context` is what Docker is given: relative to the project directory (where `pulumi up` runs),
    so it is the same on every machine. `root` is that directory as this process sees it, where
    the context's files are read to make the content tag."""

    context: str
    dockerfile: str = "Dockerfile"
    root: str = "."
    image: str = "chat"
    keep_recent: int = 10
    untagged_after_days: int = 7


@dataclass(frozen=True)
class ExternalImage:
    """CI builds and pushes; the program only points at `ref`.

    The stage's own repository stays declared: a stack first deployed from a laptop in build mode
    keeps its repository (and the images earlier revisions run) when CI takes over, instead of the
    engine deleting it with everything in it."""

    ref: str
    keep_recent: int = 10
    untagged_after_days: int = 7


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
        source = args.source
        self.repository: gcp.artifactregistry.Repository = self._repository(name, args, source.keep_recent, source.untagged_after_days)
        if isinstance(source, ExternalImage):
            self.ref: pulumi.Output[str] = pulumi.Output.from_input(source.ref)
        else:
            host = f"{args.region}-docker.pkg.dev"
            self.tag = build_tag(source)
            image_name = pulumi.Output.concat(
                host, "/", args.project, "/", self.repository.repository_id, "/", source.image, ":", self.tag
            )
            token = gcp.organizations.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self)).access_token
            self.image = docker.Image(
                f"{name}-build",
                image_name=image_name,
                build=docker.DockerBuildArgs(
                    context=source.context,
                    dockerfile=f"{source.context}/{source.dockerfile}",
                    platform=PLATFORM,
                ),
                registry=docker.RegistryArgs(server=host, username="oauth2accesstoken", password=token),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.repository]),
            )
            # The digest, not a tag: a new build always rolls a new Cloud Run revision.
            self.ref = self.image.repo_digest
        self.register_outputs({"ref": self.ref})

    def _repository(self, name: str, args: ContainerImageArgs, keep_recent: int, untagged_after_days: int) -> gcp.artifactregistry.Repository:
        return gcp.artifactregistry.Repository(
            f"{name}-repo",
            project=args.project,
            location=args.region,
            repository_id=args.repository_id,
            format="DOCKER",
            description="stagewise application images",
            # Mutable: a rebuild of the same content re-pushes its content tag (see the module docstring).
            docker_config=RepositoryDockerConfigArgs(immutable_tags=False),
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                RepositoryCleanupPolicyArgs(
                    id="keep-recent",
                    action="KEEP",
                    most_recent_versions=RepositoryCleanupPolicyMostRecentVersionsArgs(keep_count=keep_recent),
                ),
                RepositoryCleanupPolicyArgs(
                    id="delete-untagged",
                    action="DELETE",
                    condition=RepositoryCleanupPolicyConditionArgs(
                        tag_state="UNTAGGED", older_than=f"{untagged_after_days * 86_400}s"
                    ),
                ),
            ],
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )


PLATFORM = "linux/amd64"


def build_tag(source: BuildFromSource) -> str:
    """`ctx-<16 hex>`: a digest of every file Docker would send as the build context (the
    `.dockerignore` rules applied), of the Dockerfile and of the build settings. It over-counts
    rather than under-counts: a file it hashes that Docker would skip only costs a new tag."""
    root = Path(source.root) / source.context
    digest = hashlib.sha256(f"{source.dockerfile}\0{PLATFORM}\0".encode())
    dockerfile = root / source.dockerfile
    if dockerfile.is_file():  # always sent, whatever .dockerignore says
        digest.update(b"Dockerfile\0" + dockerfile.read_bytes() + b"\0")
    rules = _ignore_rules(root / ".dockerignore")
    for path in _context_files(root, rules):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return "ctx-" + digest.hexdigest()[:16]


def _ignore_rules(path: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(exception?, pattern) per line of a .dockerignore: `#` comments, `!` exceptions, `*`, `?`, `**`."""
    rules: list[tuple[bool, re.Pattern[str]]] = []
    if not path.is_file():
        return rules
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((exception, re.compile(_translate(pattern))))
    return rules


def _translate(pattern: str) -> str:
    """A .dockerignore pattern as a regex on a /-separated path relative to the context."""
    out: list[str] = []
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        chars, i = [], 0
        while i < len(segment):
            char = segment[i]
            if char == "*":
                chars.append("[^/]*")
            elif char == "?":
                chars.append("[^/]")
            elif char == "[" and "]" in segment[i + 1:]:
                end = segment.index("]", i + 1)
                body = segment[i + 1:end]
                chars.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
                i = end
            else:
                chars.append(re.escape(char))
            i += 1
        out.append("".join(chars) + ("" if last else "/"))
    return "^" + "".join(out) + "$"


def _ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent directory matches its files."""
    parts = relative.split("/")
    candidates = [relative, *("/".join(parts[:i]) for i in range(1, len(parts)))]
    ignored = False
    for exception, pattern in rules:
        if any(pattern.match(candidate) for candidate in candidates):
            ignored = not exception
    return ignored


def _context_files(root: Path, rules: list[tuple[bool, re.Pattern[str]]]) -> Iterator[Path]:
    """The context's files in a stable order. An ignored directory is skipped whole unless an
    exception (`!…`) could bring something inside it back."""
    prune = not any(exception for exception, _ in rules)
    for directory, subdirectories, files in os.walk(root):
        base = Path(directory)
        if prune:
            subdirectories[:] = [d for d in subdirectories if not _ignored((base / d).relative_to(root).as_posix(), rules)]
        subdirectories.sort()
        for name in sorted(files):
            path = base / name
            if path.is_file() and not _ignored(path.relative_to(root).as_posix(), rules):
                yield path
