"""Secrets: where Secret Manager keeps them, rotation, and no secret material in the program."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import Finding, Resource, resource_rule
from .props import DAY_SECONDS, config_int, config_list, get, items, mapping, number, text

ROTATION_LABEL = "rotation"


@resource_rule(
    "secret-replication-locations",
    family="secrets",
    description="Secrets replicate only to allowed locations (user-managed replication; automatic replication goes anywhere).",
    severity=Severity.MEDIUM,
    remediation="Use replication.user_managed with replicas in allowedLocations (SecretSetArgs.replica_locations).",
    types=[t.SECRET],
    params={"allowedLocations": {"type": "array", "items": {"type": "string"},
                                 "default": ["us-central1", "us-east1", "us-east4", "us-west1", "europe-west1", "europe-west4"],
                                 "description": "regions secret replicas may live in"}},
    unknowns="fail-closed",
)
def replication_locations(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = {location.lower() for location in config_list(config, "allowedLocations")}
    replication = get(resource.props, "replication")
    if get(replication, "auto") is not None or get(replication, "userManaged") is None:
        yield Finding("automatic replication stores the secret in any region", "use user-managed replication in allowed regions")
        return
    for replica in items(get(replication, "userManaged.replicas")):
        location = text(replica, "location").lower()
        if location not in allowed:
            yield Finding(f"a replica is in {location}, outside the allowed locations", f"use {', '.join(sorted(allowed))}")


@resource_rule(
    "secret-rotation",
    family="secrets",
    description="Secrets that require rotation (label rotation=required, or listed in requiredSecretIds) rotate at most every maxRotationDays.",
    severity=Severity.MEDIUM,
    remediation="Set rotation=SecretRotationArgs(rotation_period='7776000s', next_rotation_time=...) and topics for the rotation notice.",
    types=[t.SECRET],
    params={
        "requiredSecretIds": {"type": "array", "items": {"type": "string"}, "default": [],
                              "description": "secret ids that must rotate (besides those labelled rotation=required)"},
        "maxRotationDays": {"type": "integer", "minimum": 1, "default": 90, "description": "longest rotation period"},
    },
)
def rotation(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    required = mapping(get(resource.props, "labels")).get(ROTATION_LABEL) == "required" or text(
        resource.props, "secretId"
    ) in config_list(config, "requiredSecretIds")
    if not required:
        return
    period = number(resource.props, "rotation.rotationPeriod")
    cap = config_int(config, "maxRotationDays")
    if period is None:
        yield Finding("the secret must rotate but has no rotation period", "set rotation.rotation_period")
    elif period > cap * DAY_SECONDS:
        yield Finding(f"rotation every {period / DAY_SECONDS:g} days exceeds {cap}", f"rotate at most every {cap * DAY_SECONDS}s")


@resource_rule(
    "secret-no-inline-versions",
    family="secrets",
    description="Secret values are never part of the program or its state (no SecretVersion with secret_data the "
                "program manages; a first placeholder version whose data the program ignores afterwards is allowed).",
    severity=Severity.CRITICAL,
    remediation="Delete the SecretVersion resource and add the value out of band: `gcloud secrets versions add <id> --data-file=-`; "
                "or, for a first version a service needs to start, set ignore_changes=['secretData'] so real values never come from the program.",
    types=[t.SECRET_VERSION],
    unknowns="skip",
)
def no_inline_versions(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    # Presence only: the value is never read into a message. A Cloud Run service cannot start on a
    # secret with no version (terraform-provider-google#10846), so a first version is allowed when
    # the program never updates it: real values are added with gcloud and never pass through state.
    if "secretData" in resource.ignore_changes:
        return
    if "secretData" in resource.props or "secretDataWo" in resource.props:
        yield Finding("a secret value is written from the program into state", "add secret versions out of band with gcloud")


@resource_rule(
    "kms-key-rotation",
    family="secrets",
    description="Cloud KMS symmetric keys (ENCRYPT_DECRYPT, the default purpose) rotate automatically at most every maxRotationDays (CIS 1.10: 90 days).",
    severity=Severity.MEDIUM,
    remediation="Set rotation_period (e.g. '7776000s' for 90 days) on the CryptoKey.",
    types=[t.KMS_CRYPTO_KEY],
    params={"maxRotationDays": {"type": "integer", "minimum": 1, "default": 90, "description": "longest automatic rotation period"}},
    anchor="CKV_GCP_43",
)
def kms_key_rotation(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    # Asymmetric and MAC keys cannot rotate automatically; CIS GCP 1.10 ("Ensure KMS encryption keys are
    # rotated within a period of 90 days", steampipe-mod-gcp-compliance cis_v300/section_1.sp) is about these.
    if text(resource.props, "purpose", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return
    period = number(resource.props, "rotationPeriod")
    cap = config_int(config, "maxRotationDays")
    if period is None:
        yield Finding("the key never rotates", f"set rotation_period to at most {cap * DAY_SECONDS}s")
    elif period > cap * DAY_SECONDS:
        yield Finding(f"the key rotates every {period / DAY_SECONDS:g} days, over {cap}", f"set rotation_period to at most {cap * DAY_SECONDS}s")
