"""Container image references and Artifact Registry repositories, as the cloudrun and registry families read them.

Not a family (nothing here registers a rule): helpers shared by ``cloudrun`` and ``registry``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stagewise.readiness.inventory import UNKNOWN, Inventory, Resource

REPOSITORY = "gcp:artifactregistry/repository:Repository"
DOCKER_IMAGE = "docker:index/image:Image"

# Artifact Registry Docker hosts are LOCATION-docker.pkg.dev and image names are
# LOCATION-docker.pkg.dev/PROJECT-ID/REPOSITORY/IMAGE[:TAG|@DIGEST]; with neither tag nor digest the
# default tag `latest` is used (https://cloud.google.com/artifact-registry/docs/docker/names).
_AR_HOST = re.compile(r"^([a-z0-9-]+)-docker\.pkg\.dev$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageRef:
    """One parsed image reference: ``host/path[:tag][@digest]`` (host "" means Docker Hub)."""

    host: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def ar_location(self) -> str | None:
        match = _AR_HOST.match(self.host)
        return match.group(1) if match else None

    @property
    def ar_project_repo(self) -> tuple[str, str] | None:
        """(project, repository id) for an Artifact Registry Docker image, else None."""
        if self.ar_location is None:
            return None
        parts = self.path.split("/")
        if len(parts) < 3:
            return None
        return parts[0], parts[1]

    @property
    def digest_ok(self) -> bool:
        return self.digest is None or bool(_DIGEST.match(self.digest))

    @property
    def digest_placeholder(self) -> bool:
        return self.digest is not None and self.digest_ok and set(self.digest.split(":", 1)[1]) == {"0"}

    @property
    def floating(self) -> bool:
        """No digest, and no tag or the tag ``latest``: the reference moves with every push."""
        return self.digest is None and (self.tag is None or self.tag == "latest")


def parse_image(value: object) -> ImageRef | None:
    """Parse an image reference; None for anything that is not a known string."""
    if not isinstance(value, str) or not value or value == UNKNOWN or "${" in value:
        return None
    digest: str | None = None
    rest = value
    if "@" in value:
        rest, digest = value.split("@", 1)
    first, _, remainder = rest.partition("/")
    # Docker's rule: the first component is a registry host when it has a dot or a port, or is localhost.
    if remainder and ("." in first or ":" in first or first == "localhost"):
        host, path = first, remainder
    else:
        host, path = "", rest
    tag: str | None = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = last.rsplit(":", 1)
        path = path[: len(path) - len(last)] + name
    return ImageRef(host=host, path=path, tag=tag, digest=digest)


def repositories(inventory: Inventory) -> dict[tuple[str, str, str], Resource]:
    """(project, location, repository id) → the Repository resource that creates it."""
    found: dict[tuple[str, str, str], Resource] = {}
    for repo in inventory.of_type(REPOSITORY):
        repo_id = repo.get("repositoryId")
        location = repo.get("location") or inventory.region
        if isinstance(repo_id, str) and repo_id != UNKNOWN and isinstance(location, str) and location != UNKNOWN:
            found[(inventory.project_of(repo), location, repo_id)] = repo
    return found


def repository_of(ref: ImageRef, inventory: Inventory) -> Resource | None:
    project_repo = ref.ar_project_repo
    location = ref.ar_location
    if project_repo is None or location is None:
        return None
    return repositories(inventory).get((project_repo[0], location, project_repo[1]))


def pushed_images(inventory: Inventory) -> list[tuple[Resource, ImageRef]]:
    """Every docker.Image the program builds and pushes, with its parsed target name."""
    found: list[tuple[Resource, ImageRef]] = []
    for image in inventory.of_type(DOCKER_IMAGE):
        if image.get("skipPush") is True:
            continue
        ref = parse_image(image.get("imageName"))
        if ref is not None:
            found.append((image, ref))
    return found
