"""`stagewise:failover` — the regions production runs the chat service in, behind one load balancer."""

from __future__ import annotations

from pydantic import Field, field_validator

from stagewise.stacks.config.base import Section
from stagewise.stacks.config.regions import check_region


class FailoverConfig(Section):
    """ChatService in every listed region; the global load balancer sends users to the nearest healthy one."""

    regions: list[str] = Field(description="at least two regions, e.g. [us-central1, europe-west1]")

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        for region in value:
            check_region(region)
        if len(set(value)) != len(value):
            raise ValueError("a region is listed twice; list each region once")
        if len(value) < 2:
            raise ValueError(f"{len(value)} region(s): failover needs at least two, e.g. [us-central1, europe-west1]")
        return value
