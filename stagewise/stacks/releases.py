"""Two versions side by side: the new one on the latest revision, the previous one at its own tag URL."""

from __future__ import annotations

from stagewise.components.chat_service import TrafficSplit
from stagewise.stacks.config.releases import ReleaseConfig


def revision_suffix(version: str) -> str:
    """A version as a traffic tag (v2.1 -> v2-1): the tag, not the revision name, carries the version."""
    return version.replace(".", "-").replace("_", "-")


def release_traffic(
    service_name: str, release: ReleaseConfig, version: str, region: str | None = None
) -> tuple[TrafficSplit, ...]:
    """The new version on the latest revision and, once it exists, the previous one, each at its own tag URL.

    The previous version is routed by the name of the revision that served it
    (`release.previousRevision`, from the last deploy's `revisions` output): a REVISION traffic
    target must name a revision Cloud Run already has (stagewise/stacks/config/releases.py).
    """
    revision = release.revision_in(region) if release.previous else None
    current = TrafficSplit(percent=100 - release.previous_percent if revision else 100, tag=revision_suffix(version))
    if not release.previous or not revision:
        return (current,)
    if not revision.startswith(f"{service_name}-"):
        raise ValueError(f"release.previousRevision {revision!r} is not a revision of service {service_name!r}")
    previous = TrafficSplit(percent=release.previous_percent, revision=revision, tag=revision_suffix(release.previous))
    return (current, previous)
