"""Cloud Storage: bucket names and locations, retention, versioning, soft delete, lifecycle, access.

Every number here is quoted from the page in the rule's ``source`` (or the comment next to it);
values the program leaves unknown until deploy time are skipped, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import UNKNOWN, Grant, Inventory, Resource, as_list, is_unknown, number
from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Problem
from stagewise.readiness.rules import rule, stack_rule

BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_OBJECT = "gcp:storage/bucketObject:BucketObject"
DAY = 86_400

# --- names (https://cloud.google.com/storage/docs/buckets#naming, "Bucket names") -----------------
# "can only contain lowercase letters, numeric characters, dashes (-), underscores (_), and dots (.)";
# "must start and end with a number or letter"; "must contain 3-63 characters. Names containing dots
# can contain up to 222 characters, but each dot-separated component can be no longer than 63
# characters"; "cannot be represented as an IP address in dotted-decimal notation"; "cannot begin with
# the "goog" prefix"; "cannot contain "google" or close misspellings, such as "g00gle"".
_NAME_CHARS = re.compile(r"^[a-z0-9._-]+$")
_IP_LIKE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_GOOGLE_LIKE = re.compile(r"g[o0][o0]gle")
NAME_MAX, DOTTED_NAME_MAX, COMPONENT_MAX, NAME_MIN = 63, 222, 63, 3

# --- locations (https://cloud.google.com/storage/docs/locations) ---------------------------------
# A region (US-CENTRAL1), a zone (US-CENTRAL1-A, for zonal "Rapid" buckets), a predefined dual-region
# (ASIA1, EUR4, NAM4, ...) or a multi-region (US, EU, ASIA). Case does not matter to the API.
MULTI_REGIONS = frozenset({"us", "eu", "asia"})
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
_DUAL_REGION = re.compile(r"^(asia|eur|nam)[0-9]+$")

# --- retention (https://cloud.google.com/storage/docs/bucket-lock) --------------------------------
# pulumi_gcp 10.2 BucketRetentionPolicyArgs.retention_period: "The period of time, in seconds, that
# objects in the bucket must be retained ... The value must be less than 3,155,760,000 seconds."
# (https://pub.dev/documentation/pulumi_gcp/latest/storage/BucketRetentionPolicy-class.html)
RETENTION_MAX_SECONDS = 3_155_760_000

# --- soft delete (pulumi_gcp 10.2 BucketSoftDeletePolicyArgs.retention_duration_seconds) ----------
# "The value must be in between 604800(7 days) and 7776000(90 days). To disable the soft delete
# policy on a bucket, This field must be set to 0."
SOFT_DELETE_MIN, SOFT_DELETE_MAX = 604_800, 7_776_000

# --- lifecycle (https://cloud.google.com/storage/docs/lifecycle) ----------------------------------
# "Each rule contains one action and one or more conditions." Actions and classes as the provider
# documents them (pulumi_gcp 10.2 BucketLifecycleRuleActionArgs.type / .storage_class).
LIFECYCLE_ACTIONS = frozenset({"Delete", "SetStorageClass", "AbortIncompleteMultipartUpload"})
LIFECYCLE_STORAGE_CLASSES = frozenset({"STANDARD", "MULTI_REGIONAL", "REGIONAL", "NEARLINE", "COLDLINE", "ARCHIVE"})
LIFECYCLE_CONDITION_KEYS = frozenset({
    "age", "createdBefore", "customTimeBefore", "daysSinceCustomTime", "daysSinceNoncurrentTime",
    "matchesPrefixes", "matchesStorageClasses", "matchesSuffixes", "noncurrentTimeBefore", "numNewerVersions",
    "withState",
})

PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})


# --- helpers shared with the other families ------------------------------------------------------
def text(value: Any) -> str | None:
    """A known, non-empty string, else None."""
    return value if isinstance(value, str) and value and value != UNKNOWN else None


def offline_ids(inventory: Inventory) -> frozenset[str]:
    """The ids the offline engine invents for resources (``<logical name>-id``). A real deploy knows a
    resource's id only once it exists (it is unknown at preview), so a value equal to one of these says
    nothing about the value GCP will see: rules treat it as unknown."""
    return frozenset(f"{r.name}-id" for r in inventory.resources)


def mapping(value: Any) -> dict[str, Any]:
    """A nested object input (absent or of another shape: empty)."""
    return value if isinstance(value, dict) else {}


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def bucket_by_ref(inventory: Inventory, holder: Resource, key: str, name: str | None) -> Resource | None:
    """The Bucket a resource names in ``key``: by name, else by the output it was built from."""
    buckets = inventory.of_type(BUCKET)
    if name:
        wanted = name.removeprefix("gs://")
        for bucket in buckets:
            if wanted in {text(bucket.get("name")), text(bucket.out("name"))}:
                return bucket
    urns = set(holder.declared.property_dependencies.get(key, ()))
    from_deps = [b for b in buckets if b.urn in urns]
    return from_deps[0] if len(from_deps) == 1 else None


def retention_seconds(bucket: Resource) -> float | None:
    seconds = number(bucket.get("retentionPolicy.retentionPeriod"))
    return seconds if seconds is not None and seconds > 0 else None


def _is_locked(bucket: Resource) -> bool:
    return truthy(bucket.get("retentionPolicy.isLocked"))


# --- rules ---------------------------------------------------------------------------------------
@rule(
    "storage-bucket-name", types=(BUCKET,), severity=BLOCKS,
    title="the bucket name breaks Cloud Storage's naming requirements",
    source="https://cloud.google.com/storage/docs/buckets#naming",
)
def bucket_name_rule(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    name = text(resource.get("name"))
    if name is None:
        return
    wrong: list[str] = []
    if not _NAME_CHARS.match(name):
        wrong.append("only lowercase letters, digits, '-', '_' and '.' are allowed")
    if not (name[0].isalnum() and name[-1].isalnum()):
        wrong.append("it must start and end with a letter or digit")
    longest = DOTTED_NAME_MAX if "." in name else NAME_MAX
    if not NAME_MIN <= len(name) <= longest:
        wrong.append(f"it must be {NAME_MIN}-{longest} characters long (this one has {len(name)})")
    if "." in name and any(len(part) > COMPONENT_MAX for part in name.split(".")):
        wrong.append(f"each dot-separated part is at most {COMPONENT_MAX} characters")
    if _IP_LIKE.match(name):
        wrong.append("it must not look like an IP address")
    lowered = name.lower()
    if lowered.startswith("goog"):
        wrong.append("it must not begin with 'goog'")
    if _GOOGLE_LIKE.search(lowered):
        wrong.append("it must not contain 'google' or a close misspelling")
    if wrong:
        yield Problem(
            "name", f"{resource.name}: bucket name {name!r} is refused by Cloud Storage: " + "; ".join(wrong),
            "choose a 3-63 character name of lowercase letters, digits and dashes, starting and ending with a "
            "letter or digit, without 'goog'/'google' (e.g. '<project>-data')",
        )


@rule(
    "storage-bucket-location", types=(BUCKET,), severity=BLOCKS,
    title="the bucket location is not a Cloud Storage region, dual-region or multi-region",
    source="https://cloud.google.com/storage/docs/locations",
)
def bucket_location(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    location = text(resource.get("location"))
    if location is None:
        return
    lowered = location.strip().lower()
    if lowered in MULTI_REGIONS or _REGION.match(lowered) or _ZONE.match(lowered) or _DUAL_REGION.match(lowered):
        return
    yield Problem(
        "location", f"{resource.name}: location {location!r} is no Cloud Storage location (a region such as "
        "US-CENTRAL1, a dual-region such as NAM4, or a multi-region US, EU or ASIA)",
        "set location to a region (e.g. 'US-CENTRAL1'), a predefined dual-region or one of US, EU, ASIA",
    )


@rule(
    "storage-retention-period", types=(BUCKET,), severity=BLOCKS,
    title="the retention period is not a whole number of seconds within Cloud Storage's bounds",
    source="https://pub.dev/documentation/pulumi_gcp/latest/storage/BucketRetentionPolicy-class.html",
)
def retention_period(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    policy = resource.get("retentionPolicy")
    if not isinstance(policy, dict) or is_unknown(policy.get("retentionPeriod")):
        return
    raw = policy.get("retentionPeriod")
    if raw is None:
        return
    seconds = number(raw)
    if seconds is None or seconds != int(seconds):
        yield Problem(
            "retentionPolicy.retentionPeriod", f"{resource.name}: retentionPeriod {raw!r} is not a whole number of "
            "seconds (the provider takes a string of seconds, e.g. '2592000' for 30 days)",
            "write the period in seconds as a string: retention_period=str(days * 86400)",
        )
    elif not 0 < seconds < RETENTION_MAX_SECONDS:
        yield Problem(
            "retentionPolicy.retentionPeriod", f"{resource.name}: retentionPeriod {int(seconds)} s is outside "
            f"(0, {RETENTION_MAX_SECONDS:,}) seconds",
            f"set a period of at least 1 s and less than {RETENTION_MAX_SECONDS:,} s (about 100 years)",
        )


@rule(
    "storage-retention-with-versioning", types=(BUCKET,), severity=BLOCKS,
    title="Object Versioning and a retention policy are set on the same bucket",
    # Cloud Storage refuses Object Versioning on a bucket with a retention policy: "Object versioning
    # cannot be enabled on a bucket with a retention policy" (https://rules.sonarsource.com/terraform/RSPEC-6412,
    # from the bucket-lock docs: https://cloud.google.com/storage/docs/bucket-lock); Google's own change
    # "Retention policy and versioning are mutually exclusive" is the source kept here.
    source="https://github.com/google/exposure-notifications-verification-server/pull/877",
)
def retention_with_versioning(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if retention_seconds(resource) is None or not truthy(resource.get("versioning.enabled")):
        return
    locked = " (locked)" if _is_locked(resource) else ""
    yield Problem(
        "versioning.enabled", f"{resource.name} has a retention policy{locked} and Object Versioning enabled: the "
        "two are mutually exclusive in Cloud Storage and the bucket is refused",
        "keep one: drop versioning (a retained object can't be overwritten or deleted, so there is nothing to "
        "restore) or drop the retention policy and keep versions with a lifecycle rule",
    )


@rule(
    "storage-soft-delete-duration", types=(BUCKET,), severity=BLOCKS,
    title="the soft delete retention is neither 0 nor between 7 and 90 days",
    source="https://cloud.google.com/storage/docs/soft-delete",
)
def soft_delete_duration(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    seconds = number(resource.get("softDeletePolicy.retentionDurationSeconds"))
    if seconds is None or seconds == 0 or SOFT_DELETE_MIN <= seconds <= SOFT_DELETE_MAX:
        return
    yield Problem(
        "softDeletePolicy.retentionDurationSeconds", f"{resource.name}: soft delete retention {seconds:g} s is "
        f"neither 0 (off) nor within {SOFT_DELETE_MIN}-{SOFT_DELETE_MAX} s (7-90 days)",
        "set retention_duration_seconds to 0 to disable soft delete, or to 7-90 days in seconds (604800-7776000)",
    )


@rule(
    "storage-lifecycle-rule", types=(BUCKET,), severity=BLOCKS,
    title="a lifecycle rule has an unknown action, a missing or unknown storage class, or no condition",
    source="https://cloud.google.com/storage/docs/lifecycle",
)
def lifecycle_rule(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for index, entry in enumerate(as_list(resource.get("lifecycleRules"))):
        if not isinstance(entry, dict) or is_unknown(entry):
            continue
        where = f"lifecycleRules[{index}]"
        action = mapping(entry.get("action"))
        kind = action.get("type")
        if kind not in LIFECYCLE_ACTIONS:
            yield Problem(
                f"{where}.action.type", f"{resource.name}: lifecycle action {kind!r} is not one Cloud Storage has",
                "use Delete, SetStorageClass or AbortIncompleteMultipartUpload",
            )
            continue
        storage_class = action.get("storageClass")
        if kind == "SetStorageClass" and storage_class not in LIFECYCLE_STORAGE_CLASSES:
            yield Problem(
                f"{where}.action.storageClass", f"{resource.name}: SetStorageClass needs a target storage class; "
                f"{storage_class!r} is none of {', '.join(sorted(LIFECYCLE_STORAGE_CLASSES))}",
                "set action.storage_class, e.g. 'NEARLINE', 'COLDLINE' or 'ARCHIVE'",
            )
        condition = mapping(entry.get("condition"))
        set_keys = {k for k, v in condition.items() if k in LIFECYCLE_CONDITION_KEYS and v not in (None, [], "")}
        if condition.get("age") == 0 and not condition.get("sendAgeIfZero"):
            set_keys.discard("age")
        if not set_keys:
            yield Problem(
                f"{where}.condition", f"{resource.name}: lifecycle rule {index} ({kind}) has no condition; each rule "
                "needs one or more", "give the rule a condition, e.g. condition=BucketLifecycleRuleConditionArgs(age=30)",
            )


@rule(
    "storage-lifecycle-delete-before-retention", types=(BUCKET,), severity=BROKEN,
    title="a Delete lifecycle rule's age is shorter than the retention period, so it can't delete at that age",
    # "objects in the bucket can only be deleted or replaced once their age is greater than the retention period"
    source="https://cloud.google.com/storage/docs/bucket-lock",
)
def lifecycle_delete_before_retention(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    seconds = retention_seconds(resource)
    if seconds is None:
        return
    retention_days = seconds / DAY
    for index, entry in enumerate(as_list(resource.get("lifecycleRules"))):
        if not isinstance(entry, dict) or mapping(entry.get("action")).get("type") != "Delete":
            continue
        age = number(mapping(entry.get("condition")).get("age"))
        if age is None or age <= 0 or age >= retention_days:
            continue
        yield Problem(
            f"lifecycleRules[{index}].condition.age", f"{resource.name}: Delete at age {age:g} days can't delete "
            f"anything the retention policy still holds ({retention_days:g} days): objects live at least "
            f"{retention_days:g} days, whatever this rule says",
            f"set the Delete age above the retention period (e.g. {int(retention_days) + 1} days), or shorten the "
            "retention if objects must go sooner (a locked policy can't be shortened)",
        )


@rule(
    "storage-hierarchical-namespace-ubla", types=(BUCKET,), severity=BLOCKS,
    title="hierarchical namespace is enabled without uniform bucket-level access",
    # "If this is enabled, Uniform Bucket-Level Access must also be enabled." (and the provider's
    # hierarchical_namespace doc: "uniform_bucket_level_access must be enabled on bucket")
    source="https://cloud.google.com/java/docs/reference/google-cloud-storage/latest/com.google.cloud.storage.BucketInfo.HierarchicalNamespace.Builder",
)
def hierarchical_namespace(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    ubla = resource.get("uniformBucketLevelAccess")
    if truthy(resource.get("hierarchicalNamespace.enabled")) and not truthy(ubla) and not is_unknown(ubla):
        yield Problem(
            "uniformBucketLevelAccess", f"{resource.name} enables hierarchical namespace but not uniform "
            "bucket-level access, which it requires", "set uniform_bucket_level_access=True",
        )


@rule(
    "storage-autoclass-storage-class", types=(BUCKET,), severity=BLOCKS,
    title="an Autoclass bucket sets a default storage class other than STANDARD",
    # "The bucket itself always has its default storage class set to Standard storage, and requests that
    # attempt to change this property to a storage class other than Standard storage fail."
    # (https://cloud.google.com/storage/docs/autoclass, as mirrored at the source below)
    source="https://documentation.s3ns.fr/storage/docs/autoclass?hl=en",
)
def autoclass_storage_class(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if not truthy(resource.get("autoclass.enabled")):
        return
    storage_class = text(resource.get("storageClass"))
    if storage_class is not None and storage_class.upper() != "STANDARD":
        yield Problem(
            "storageClass", f"{resource.name} enables Autoclass with storageClass {storage_class!r}: an Autoclass "
            "bucket's default class is always STANDARD and other values are refused",
            "drop storage_class (or set 'STANDARD'); choose the coldest class with autoclass.terminal_storage_class",
        )


@rule(
    "storage-force-destroy-locked", types=(BUCKET,), severity=RISK,
    title="force_destroy on a bucket with a locked retention policy: destroy fails while objects are retained",
    # "You cannot delete a bucket with a locked policy unless every object in the bucket has met the retention period."
    source="https://cloud.google.com/storage/docs/bucket-lock",
)
def force_destroy_locked(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if truthy(resource.get("forceDestroy")) and _is_locked(resource) and retention_seconds(resource):
        yield Problem(
            "forceDestroy", f"{resource.name} sets forceDestroy with a locked retention policy: a destroy can delete "
            "no object younger than the retention period, so it fails until every object has aged out",
            "leave force_destroy off for locked buckets and protect the resource (protect=True / retain_on_delete)",
        )


def bucket_grants(inventory: Inventory) -> Iterator[tuple[Grant, Resource | None]]:
    for grant in inventory.grants:
        if grant.scope == "bucket":
            yield grant, bucket_by_ref(inventory, grant.resource, "bucket", grant.target or None)


@stack_rule(
    "storage-public-grant-prevented", severity=BLOCKS,
    types=("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding", BUCKET),
    title="allUsers/allAuthenticatedUsers is granted on a bucket whose public access prevention is enforced",
    # The API answers 412: "The member bindings allUsers and allAuthenticatedUsers are not allowed since
    # public access prevention is enforced." (https://cloud.google.com/storage/docs/public-access-prevention)
    source="https://github.com/ONLYOFFICE/ControlPanel/issues/8",
)
def public_grant_prevented(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    for grant, bucket in bucket_grants(inventory):
        if grant.member not in PUBLIC_MEMBERS or bucket is None:
            continue
        if text(bucket.get("publicAccessPrevention")) == "enforced":
            yield grant.resource, Problem(
                "member" if grant.resource.get("member") is not None else "members",
                f"{grant.resource.name} grants {grant.role} to {grant.member} on {bucket.name}, whose public access "
                "prevention is enforced: Cloud Storage refuses the binding (412)",
                f"drop the public grant, or set public_access_prevention='inherited' on {bucket.name} if the data "
                "really is public (and the organization allows it)",
            )


@rule(
    "storage-object-content", types=(BUCKET_OBJECT,), severity=BLOCKS,
    title="a bucket object has neither content nor source",
    # pulumi_gcp 10.2 BucketObjectArgs.content: "Data as string to be uploaded. Must be defined if source is not."
    source="https://pulumi.com/registry/packages/gcp/api-docs/storage/bucketobject",
)
def object_content(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if "content" in resource.inputs or "source" in resource.inputs:
        return
    yield Problem(
        "content", f"{resource.name} uploads nothing: one of content or source must be given",
        "set content='...' or source=pulumi.FileAsset('path')",
    )
