"""`…release` — two versions of a service side by side, each at its own Cloud Run revision tag.

The version is the service's `promptVersion` (the prompt/model config the app loads). Tags alone
carry the version: the latest revision is tagged with the current version, so it answers at
`https://<version>---<service>-….run.app`. Revisions keep the names Cloud Run gives them
(`<service>-00003-abc`): a fixed name (`<service>-<version>`) would be reused by the next template
change and refused with 409 "revision … already exists"
(https://github.com/hashicorp/terraform-provider-google/issues/14569).

A previous version is routed only once its revision exists: a traffic target of type REVISION must
name a revision Cloud Run already has, so a first deploy into an empty project cannot route to one
("Revision '…' does not exist or is deleted",
https://github.com/terraform-google-modules/terraform-docs-samples/pull/269). After a deploy, the
`revisions` stack output names each service's latest revision; when you roll the next version
out, set `previous` to the version that revision serves and `previousRevision` to its name:

    release: {previous: v1, previousRevision: chat-partners-00001-abc, previousPercent: 50}

A service running in several regions (prod) has one revision per region:
`previousRevision: {us-central1: chat-00004-abc, europe-west1: chat-00004-xyz}`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, field_validator, model_validator

from stagewise.stacks.config.base import Section

VERSION_PATTERN = r"^[a-z0-9][-a-z0-9.]*$"
# Cloud Run resource names: lowercase letters, digits and dashes, starting with a letter, ≤ 63.
_REVISION = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"


class ReleaseConfig(Section):
    """Keep the previous version reachable (and optionally serving a share) after a new one rolls out."""

    previous: str | None = Field(
        None, pattern=VERSION_PATTERN, description="version the previous revision serves; kept reachable at its tag URL"
    )
    previous_revision: str | dict[str, str] | None = Field(
        None,
        description="the existing revision that serves `previous` (from the `revisions` stack output); "
        "one per region when the service runs in several",
    )
    previous_percent: int = Field(
        0, ge=0, le=100, description="share of traffic left on the previous version (the rest goes to the new one)"
    )

    @field_validator("previous_revision")
    @classmethod
    def _revision_names(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        import re

        names = [value] if isinstance(value, str) else list((value or {}).values())
        for name in names:
            if not re.match(_REVISION, name):
                raise ValueError(
                    f"{name!r} is not a revision name; copy it from `pulumi stack output revisions` (e.g. chat-00003-abc), "
                    "not the full projects/…/revisions/… path"
                )
        return value

    @model_validator(mode="after")
    def _needs_previous(self) -> "ReleaseConfig":
        if self.previous_percent and not self.previous:
            raise ValueError("previousPercent needs previous: name the version the previous revision serves, or drop previousPercent")
        if self.previous and not self.previous_revision:
            raise ValueError(
                f"previous ({self.previous!r}) needs previousRevision: the revision that serves it, from "
                "`pulumi stack output revisions` after the deploy that rolled it out. A project that never ran "
                f"{self.previous!r} has no such revision (Cloud Run refuses traffic to a revision that does not exist): "
                "leave release out on a first deploy"
            )
        if self.previous_revision and not self.previous:
            raise ValueError("previousRevision needs previous: name the version that revision serves (its tag)")
        return self

    def revision_in(self, region: str | None) -> str | None:
        """The previous revision for a service in ``region`` (None: single-region or not set)."""
        value = self.previous_revision
        if value is None or isinstance(value, str):
            return value
        if region is None or region not in value:
            where = f"region {region}" if region else "this service (it runs in one region: give one name)"
            raise ValueError(f"previousRevision has no entry for {where}; name the revision there, e.g. {{{region or 'REGION'}: …}}")
        return value[region]


def check_release(
    release: ReleaseConfig, version: str, service_name: str | None = None, regions: Sequence[str] | None = None
) -> None:
    """The previous version must differ from the one being rolled out, and its revision(s) must
    belong to the service (and cover each region it runs in)."""
    if release.previous == version:
        raise ValueError(
            f"release.previous is {version!r}, the version being deployed; set it to the version before, or remove it"
        )
    revision = release.previous_revision
    if isinstance(revision, dict) and regions is not None:
        missing = [region for region in regions if region not in revision]
        extra = [region for region in revision if region not in regions]
        if missing or extra:
            raise ValueError(
                f"release.previousRevision must name one revision per region the service runs in ({', '.join(regions)}); "
                + (f"missing {', '.join(missing)}" if missing else f"{', '.join(extra)} is not one of them")
            )
    if service_name is not None and revision is not None:
        names = [revision] if isinstance(revision, str) else list(revision.values())
        for name in names:
            if not name.startswith(f"{service_name}-"):
                raise ValueError(
                    f"release.previousRevision {name!r} is not a revision of service {service_name!r} "
                    f"(its revisions are named {service_name}-NNNNN-xyz); copy the name from `pulumi stack output revisions`"
                )
