"""`…release` — two versions of a service side by side, each at its own Cloud Run revision tag.

The version is the service's `promptVersion` (the prompt/model config the app loads); each version
runs in a revision named `<service>-<version>` and tagged `<version>`, so both answer at
`https://<version>---<service>-….run.app` while traffic is split between them. A revision belongs
to one version: to roll a new image or setting, bump the version (e.g. v2 → v2.1).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from stacks.config.base import Section

VERSION_PATTERN = r"^[a-z0-9][-a-z0-9.]*$"


class ReleaseConfig(Section):
    """Keep the previous version reachable (and optionally serving a share) after a new one rolls out."""

    previous: str | None = Field(
        None, pattern=VERSION_PATTERN, description="version the previous revision serves; kept reachable at its tag URL"
    )
    previous_percent: int = Field(
        0, ge=0, le=100, description="share of traffic left on the previous version (the rest goes to the new one)"
    )

    @model_validator(mode="after")
    def _needs_previous(self) -> "ReleaseConfig":
        if self.previous_percent and not self.previous:
            raise ValueError("previousPercent needs previous: name the version the previous revision serves, or drop previousPercent")
        return self


def check_release(release: ReleaseConfig, version: str) -> None:
    """The previous version must differ from the one being rolled out."""
    if release.previous == version:
        raise ValueError(
            f"release.previous is {version!r}, the version being deployed; set it to the version before, or remove it"
        )
