"""Secret Manager: secret ids, replication, rotation, expiration, version size, IAM on secrets.

Secret values are never read into a message: only their size is, for the payload limit.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import UNKNOWN, Inventory, Resource, as_list, is_unknown
from stagewise.readiness.model import BLOCKS, RISK, Problem
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules.storage import mapping, text

SECRET = "gcp:secretmanager/secret:Secret"
VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET_IAM_TYPES = (
    "gcp:secretmanager/secretIamMember:SecretIamMember", "gcp:secretmanager/secretIamBinding:SecretIamBinding",
    "gcp:secretmanager/secretIamPolicy:SecretIamPolicy",
)

# https://cloud.google.com/python/docs/reference/secretmanager/1.0.2/google.cloud.secretmanager_v1.types.CreateSecretRequest:
# "A secret ID is a string with a maximum length of 255 characters and can contain uppercase and
# lowercase letters, numerals, and the hyphen (-) and underscore (_) characters."
SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# https://cloud.google.com/secret-manager/docs/reference/rest/v1beta1/SecretPayload: "Must be no larger than 64KiB."
PAYLOAD_MAX = 64 * 1024
# https://cloud.google.com/python/docs/reference/secretmanager/2.4.0/google.cloud.secretmanager_v1.types.Rotation:
# rotation_period "Must be in seconds and at least 3600s (1h) and at most 3153600000s (100 years).
# If rotation_period is set, next_rotation_time must be set." ; "Secret.topics must be set to configure rotation."
ROTATION_MIN, ROTATION_MAX = 3_600, 3_153_600_000
# pulumi_gcp 10.2 SecretArgs.topics: "A list of up to 10 Pub/Sub topics".
TOPICS_MAX = 10
# Replica locations are region ids ("The canonical IDs of the location to replicate data. For example: "us-east1"").
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_DURATION = re.compile(r"^([0-9]+(\.[0-9]{1,9})?)s$")


def duration_seconds(value: Any) -> float | None:
    """A protobuf Duration string ("3600s", "3.5s") in seconds; None when it is not one."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value.strip())
    return float(match.group(1)) if match else None


@rule(
    "secrets-secret-id", types=(SECRET,), severity=BLOCKS,
    title="the secret id is not 1-255 letters, digits, '-' and '_'",
    source="https://cloud.google.com/python/docs/reference/secretmanager/1.0.2/google.cloud.secretmanager_v1.types.CreateSecretRequest",
)
def secret_id(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = resource.get("secretId")
    if not isinstance(value, str) or value == UNKNOWN or SECRET_ID.match(value):
        return
    yield Problem(
        "secretId", f"{resource.name}: secret id {value!r} is refused: at most 255 letters, digits, '-' or '_'",
        f"use e.g. {re.sub(r'[^A-Za-z0-9_-]', '-', value)[:255] or 'app-key'!r}",
    )


@rule(
    "secrets-replication", types=(SECRET,), severity=BLOCKS,
    title="the replication is missing, sets both auto and user-managed, or lists no valid region",
    source="https://cloud.google.com/dotnet/docs/reference/Google.Cloud.SecretManager.V1/latest/Google.Cloud.SecretManager.V1.Replication.Types.UserManaged",
)
def replication(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = resource.get("replication")
    if is_unknown(value):
        return
    policy = mapping(value)
    auto, user = policy.get("auto"), policy.get("userManaged")
    if auto is None and user is None:
        yield Problem(
            "replication", f"{resource.name} has no replication policy; a secret needs one (it can't be changed later)",
            "set replication=SecretReplicationArgs(auto=SecretReplicationAutoArgs()) or user_managed with replicas",
        )
        return
    if auto is not None and user is not None:
        yield Problem(
            "replication", f"{resource.name} sets both automatic and user-managed replication; they are alternatives",
            "keep one of replication.auto and replication.user_managed",
        )
        return
    if user is None:
        return
    replicas = as_list(mapping(user).get("replicas"))
    if not replicas:
        yield Problem(
            "replication.userManaged.replicas", f"{resource.name}: user-managed replication lists no replica",
            "list at least one region, e.g. replicas=[SecretReplicationUserManagedReplicaArgs(location='us-central1')]",
        )
        return
    seen: set[str] = set()
    for index, replica in enumerate(replicas):
        location = mapping(replica).get("location")
        if not isinstance(location, str) or location == UNKNOWN:
            continue
        if not _REGION.match(location):
            yield Problem(
                f"replication.userManaged.replicas[{index}].location", f"{resource.name}: replica location {location!r} "
                "is not a region id (user-managed secrets replicate to regions such as 'us-central1')",
                "name a region (lowercase, e.g. 'europe-west1'), or use automatic replication",
            )
        elif location in seen:
            yield Problem(
                f"replication.userManaged.replicas[{index}].location", f"{resource.name} lists replica {location} twice",
                "list each region once",
            )
        seen.add(location)


@rule(
    "secrets-rotation", types=(SECRET,), severity=BLOCKS,
    title="rotation without Pub/Sub topics, a period without next rotation time, or a period out of bounds",
    source="https://cloud.google.com/python/docs/reference/secretmanager/2.4.0/google.cloud.secretmanager_v1.types.Rotation",
)
def rotation(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    topics = resource.get("topics")
    if len(as_list(topics)) > TOPICS_MAX:
        yield Problem("topics", f"{resource.name} lists {len(as_list(topics))} topics; a secret takes at most {TOPICS_MAX}",
                      f"keep at most {TOPICS_MAX} Pub/Sub topics")
    value = resource.get("rotation")
    if value is None or is_unknown(value):
        return
    policy = mapping(value)
    if not as_list(topics) and not is_unknown(topics):
        yield Problem(
            "topics", f"{resource.name} schedules rotation but configures no Pub/Sub topic: rotation notifications go to "
            "the secret's topics, which must be set", "add topics=[SecretTopicArgs(name=topic.id)] (and let Secret Manager's "
            "service agent publish to it)",
        )
    period = policy.get("rotationPeriod")
    if period is None or is_unknown(period):
        return
    if policy.get("nextRotationTime") is None:
        yield Problem(
            "rotation.nextRotationTime", f"{resource.name} sets a rotation period without next_rotation_time, which the "
            "API requires with it", "set rotation.next_rotation_time (RFC 3339, at least 5 minutes in the future)",
        )
    seconds = duration_seconds(period)
    if seconds is None or not ROTATION_MIN <= seconds <= ROTATION_MAX:
        yield Problem(
            "rotation.rotationPeriod", f"{resource.name}: rotation period {period!r} is not a duration of "
            f"{ROTATION_MIN}s to {ROTATION_MAX}s", "write the period in seconds with an 's', e.g. '2592000s' for 30 days",
        )


@rule(
    "secrets-expiration", types=(SECRET,), severity=BLOCKS,
    title="a secret sets both ttl and expire_time, or a ttl that is no duration",
    # Secret.expiration is a oneof of expire_time and ttl (provider: "Only one of ttl or expire_time can be provided").
    source="https://cloud.google.com/dotnet/docs/reference/Google.Cloud.SecretManager.V1/2.2.0/Google.Cloud.SecretManager.V1.Secret.ExpirationOneofCase",
)
def expiration(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    ttl, expire = resource.get("ttl"), resource.get("expireTime")
    if ttl is not None and expire is not None:
        yield Problem("ttl", f"{resource.name} sets both ttl and expire_time; a secret takes one of them",
                      "keep ttl (relative) or expire_time (absolute), not both")
    elif isinstance(ttl, str) and ttl != UNKNOWN and duration_seconds(ttl) is None:
        yield Problem("ttl", f"{resource.name}: ttl {ttl!r} is not a duration in seconds",
                      "write it as seconds with an 's', e.g. '86400s'")


def payload_size(resource: Resource) -> int | None:
    data = resource.get("secretData")
    if not isinstance(data, str) or data == UNKNOWN:
        return None
    if resource.get("isSecretDataBase64") is True:
        try:
            return len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            return None
    return len(data.encode("utf-8"))


@rule(
    "secrets-version-size", types=(VERSION,), severity=BLOCKS,
    title="a secret version's payload is larger than 64 KiB",
    source="https://cloud.google.com/secret-manager/docs/reference/rest/v1beta1/SecretPayload",
)
def version_size(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    size = payload_size(resource)
    if size is not None and size > PAYLOAD_MAX:
        yield Problem(
            "secretData", f"{resource.name}: the secret payload is {size} bytes; Secret Manager takes at most "
            f"{PAYLOAD_MAX} bytes (64 KiB)", "store the data in Cloud Storage (encrypted) and keep only its key in the secret",
        )


def _declared_secret_ids(inventory: Inventory) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for secret in inventory.of_type(SECRET):
        value = text(secret.get("secretId"))
        if value:
            found.add((inventory.project_of(secret), value))
    return found


@stack_rule(
    "secrets-iam-secret-undeclared", severity=RISK, types=SECRET_IAM_TYPES,
    title="IAM is set on a secret the program does not declare: it must already exist",
    # setIamPolicy on a secret that does not exist fails (the secret is the policy's resource).
    source="https://cloud.google.com/secret-manager/docs/manage-access-to-secrets",
)
def iam_secret_undeclared(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    declared = _declared_secret_ids(inventory)
    for resource in inventory.of_type(*SECRET_IAM_TYPES):
        value = resource.get("secretId")
        if not isinstance(value, str) or value == UNKNOWN or resource.declared.property_dependencies.get("secretId"):
            continue
        secret = value.rsplit("/", 1)[-1]
        project = value.split("/")[1] if value.startswith("projects/") else inventory.project_of(resource)
        if (project, secret) in declared:
            continue
        yield resource, Problem(
            "secretId", f"{resource.name} sets IAM on secret {secret!r} in {project}, which the program does not create: "
            "on a fresh project it does not exist and the grant fails",
            "declare the secret in the program and pass its secret_id output, or create it before the first deploy",
        )
