"""`stagewise:personas` — who works on the stack, by role (seed stage 2: developers, analysts,
partners, admins). Each persona maps to predefined roles on the narrowest resource (see
`stagewise.components.personas.PersonaAccess`); members are IAM principals, never public ones.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from stagewise.stacks.config.base import Section

_MEMBER = re.compile(r"^(user|group|serviceAccount|domain|principal|principalSet):\S+$")
PUBLIC = frozenset({"allUsers", "allAuthenticatedUsers"})


def check_members(members: list[str]) -> list[str]:
    for member in members:
        if member in PUBLIC:
            raise ValueError(f"{member} is public; personas are named people, groups or service accounts")
        if not _MEMBER.match(member):
            raise ValueError(f"{member!r} is not an IAM member; write it like group:devs@example.com or user:ana@example.com")
    if len(set(members)) != len(members):
        raise ValueError("a member is listed twice; list each member once")
    return members


class PersonasConfig(Section):
    """IAM members per persona."""

    developers: list[str] = Field(default_factory=list, description="deploy and debug the services (run.developer on them, log/metric viewer)")
    analysts: list[str] = Field(default_factory=list, description="read the analytics bucket and metrics")
    partners: list[str] = Field(default_factory=list, description="invoke the partner service (run.invoker on it only)")
    admins: list[str] = Field(default_factory=list, description="administer the services, buckets, partner secrets, logging and alerting")

    _members = field_validator("developers", "analysts", "partners", "admins")(classmethod(lambda cls, v: check_members(v)))

    def as_mapping(self) -> dict[str, list[str]]:
        return {"developers": self.developers, "analysts": self.analysts, "partners": self.partners, "admins": self.admins}
