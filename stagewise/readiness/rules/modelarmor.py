"""Model Armor: template ids and locations the API refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator

from stagewise.readiness.inventory import UNKNOWN, Inventory, Resource
from stagewise.readiness.model import BLOCKS, Problem
from stagewise.readiness.rules import rule

TEMPLATE = "gcp:modelarmor/template:Template"

# https://docs.cloud.google.com/model-armor/locations (read 2026-12-01): the regions and the two
# multi-regions Model Armor runs in.
LOCATIONS = frozenset({
    "us-central1", "us-east1", "us-east4", "us-west1",
    "europe-west1", "europe-west2", "europe-west3", "europe-west4",
    "asia-southeast1", "asia-south1",
    "us", "eu",
})
# https://cloud.google.com/security-command-center/docs/configure-model-armor: a template id has
# letters, digits and hyphens, at most 63 characters, no spaces, and does not start with a hyphen.
TEMPLATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")


@rule(
    "modelarmor-location", types=(TEMPLATE,), severity=BLOCKS,
    title="a Model Armor template is in a location Model Armor does not run in",
    source="https://docs.cloud.google.com/model-armor/locations",
)
def modelarmor_location(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    location = resource.get("location")
    if isinstance(location, str) and location != UNKNOWN and location not in LOCATIONS:
        yield Problem(
            "location", f"{resource.name}: Model Armor has no location {location!r}",
            f"use one of {', '.join(sorted(LOCATIONS))}; the location cannot be changed later, so pick it before the first deploy",
        )


@rule(
    "modelarmor-template-id", types=(TEMPLATE,), severity=BLOCKS,
    title="a Model Armor template id has characters or a length the API refuses",
    source="https://cloud.google.com/security-command-center/docs/configure-model-armor",
)
def modelarmor_template_id(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    template_id = resource.get("templateId")
    if isinstance(template_id, str) and template_id != UNKNOWN and not TEMPLATE_ID.match(template_id):
        yield Problem(
            "templateId", f"{resource.name}: template id {template_id!r} is refused",
            "use letters, digits and hyphens only, at most 63, not starting with a hyphen (e.g. chat-guardrails)",
        )
