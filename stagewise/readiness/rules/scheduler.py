"""Cloud Scheduler: schedules, time zones, deadlines and HTTP-target authentication the API refuses or
that make every run fail."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlparse

from stagewise.readiness.inventory import UNKNOWN, Inventory, Resource
from stagewise.readiness.model import BLOCKS, BROKEN, Problem
from stagewise.readiness.rules import rule

JOB = "gcp:cloudscheduler/job:Job"

# https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules: a unix-cron string of five fields,
# minute 0-59, hour 0-23, day of month 1-31, month 1-12 (or JAN to DEC), day of week 0-6 (or SUN to SAT; or
# 7 for Sunday); "Cloud Scheduler doesn't support using L to mean the last day of the month". The page also
# describes an alternative English-like format ("every 5 minutes", "1st monday of sep 17:00"), not checked.
FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_ENGLISH = re.compile(r"\b(every|of|from|to|synchronized|first|second|third|fourth|fifth)\b|\d(st|nd|rd|th)\b", re.IGNORECASE)
_ITEM = re.compile(r"^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(\d+))?$")


def _value(token: str, names: tuple[str, ...], low: int) -> int | None:
    if token.isdigit():
        return int(token)
    upper = token.upper()
    if upper in names:
        return names.index(upper) + (low if low == 1 else 0)
    return None


def _field_problem(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            return f"{name} {item!r} is not a value, range, list or step"
        body, step = match.group(1), match.group(2)
        if step is not None and int(step) == 0:
            return f"{name} step in {item!r} is zero"
        if body == "*":
            continue
        for part in body.split("-"):
            value = _value(part, names, low)
            if value is None:
                return f"{name} {part!r} is not a number{' or a name' if names else ''}"
            if not low <= value <= high:
                return f"{name} {value} is outside {low}-{high}"
    return None


def schedule_problem(schedule: str) -> str | None:
    """What is wrong with a unix-cron schedule, or None (also for the English-like format)."""
    text = schedule.strip()
    if _ENGLISH.search(text):
        return None
    fields = text.split()
    if len(fields) != 5:
        return f"it has {len(fields)} fields; unix-cron has five (minute hour day-of-month month day-of-week)"
    for field, (name, low, high, names) in zip(fields, FIELDS, strict=True):
        problem = _field_problem(field, name, low, high, names)
        if problem:
            return problem
    return None


@rule(
    "scheduler-schedule", types=(JOB,), severity=BLOCKS,
    title="a job's schedule is not a valid unix-cron string",
    source="https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules",
)
def scheduler_schedule(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    schedule = resource.get("schedule")
    if not isinstance(schedule, str) or schedule == UNKNOWN:
        return
    problem = schedule_problem(schedule)
    if problem:
        yield Problem("schedule", f"{resource.name}: schedule {schedule!r} is refused: {problem}", 'write it as five fields, e.g. "0 3 * * *" (03:00 daily)')


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@rule(
    "scheduler-time-zone", types=(JOB,), severity=BLOCKS,
    title="a job's time zone is not a tz database name",
    source="https://www.pulumi.com/registry/packages/gcp/api-docs/cloudscheduler/job/",
)
def scheduler_time_zone(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # Provider schema (timeZone): "The value of this field must be a time zone name from the tz database."
    zone = resource.get("timeZone")
    zones = _time_zones()
    if isinstance(zone, str) and zone and zone != UNKNOWN and zones and zone not in zones:
        yield Problem("timeZone", f"{resource.name}: time zone {zone!r} is not in the tz database", 'use a name such as "Etc/UTC" or "Europe/Paris"')


def _seconds(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", value.strip())
    return float(match.group(1)) if match else None


# Provider schema (attemptDeadline): "For HTTP targets, between 15 seconds and 30 minutes. For App Engine
# HTTP targets, between 15 seconds and 24 hours." (ignored for Pub/Sub targets).
DEADLINES = {"httpTarget": (15.0, 1800.0, "15s to 1800s (30 minutes)"), "appEngineHttpTarget": (15.0, 86400.0, "15s to 86400s (24 hours)")}


@rule(
    "scheduler-attempt-deadline", types=(JOB,), severity=BLOCKS,
    title="a job's attempt deadline is outside the range for its target type",
    source="https://www.pulumi.com/registry/packages/gcp/api-docs/cloudscheduler/job/",
)
def scheduler_attempt_deadline(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    raw = resource.get("attemptDeadline")
    seconds = _seconds(raw)
    if seconds is None:
        return
    for target, (low, high, shown) in DEADLINES.items():
        if isinstance(resource.get(target), Mapping) and not low <= seconds <= high:
            yield Problem("attemptDeadline", f"{resource.name}: attempt deadline {raw!r} is outside {shown} for an {target}", f"set attempt_deadline within {shown}")


def _http_target(resource: Resource) -> Mapping[str, Any] | None:
    target = resource.get("httpTarget")
    return target if isinstance(target, Mapping) else None


def _host(uri: Any) -> str | None:
    if not isinstance(uri, str) or uri == UNKNOWN or "://" not in uri:
        return None
    return urlparse(uri).hostname


@rule(
    "scheduler-google-api-auth", types=(JOB,), severity=BROKEN,
    title="an HTTP target on *.googleapis.com is called without an OAuth token",
    source="https://cloud.google.com/ruby/docs/reference/google-cloud-scheduler-v1/latest/Google-Cloud-Scheduler-V1-HttpTarget",
)
def scheduler_google_api_auth(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # HttpTarget: an OAuth token "should generally only be used when calling Google APIs hosted on
    # *.googleapis.com"; an OIDC token is for other endpoints (Cloud Run, your own). Google APIs take OAuth
    # access tokens, so an ID token or no token gets 401 on every run.
    target = _http_target(resource)
    if target is None:
        return
    host = _host(target.get("uri"))
    if host is None or not (host == "googleapis.com" or host.endswith(".googleapis.com")):
        return
    if isinstance(target.get("oauthToken"), Mapping):
        return
    if target.get("oidcToken") is None and target.get("oauthToken") is None:
        problem, field = "sends no token", "httpTarget.oauthToken"
    elif isinstance(target.get("oidcToken"), Mapping):
        problem, field = "sends an OIDC (ID) token, which Google APIs do not accept", "httpTarget.oidcToken"
    else:
        return
    yield Problem(
        field, f"{resource.name} calls {host} but {problem}: every run fails with 401",
        "use http_target.oauth_token(service_account_email=..., scope=\"https://www.googleapis.com/auth/cloud-platform\")",
    )


@rule(
    "scheduler-token-account", types=(JOB,), severity=BROKEN,
    title="an HTTP target's token account is the Cloud Scheduler service agent or belongs to another project",
    source="https://cloud.google.com/scheduler/docs/http-target-auth",
)
def scheduler_token_account(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "The service account must belong to the project in which the Cloud Scheduler job is created" and
    # "Don't use the Cloud Scheduler service agent (service-PROJECT_NUMBER@gcp-sa-cloudscheduler...). It
    # can't be used for this purpose."
    target = _http_target(resource)
    if target is None:
        return
    project = inventory.project_of(resource)
    for kind in ("oauthToken", "oidcToken"):
        email = target.get(kind, {}).get("serviceAccountEmail") if isinstance(target.get(kind), Mapping) else None
        if not isinstance(email, str) or not email or email == UNKNOWN:
            continue
        field = f"httpTarget.{kind}.serviceAccountEmail"
        if email.endswith("@gcp-sa-cloudscheduler.iam.gserviceaccount.com"):
            yield Problem(field, f"{resource.name}: the Cloud Scheduler service agent {email} cannot be a job's token account", "use a service account you create in the job's project")
            continue
        match = re.fullmatch(r"[^@]+@([a-z][a-z0-9-]*)\.iam\.gserviceaccount\.com", email)
        if match and project and match.group(1) != project:
            yield Problem(
                field, f"{resource.name} runs in {project} but its token account {email} belongs to {match.group(1)}",
                f"use a service account of {project}",
            )


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@rule(
    "scheduler-http-target", types=(JOB,), severity=BLOCKS,
    title="an HTTP target's URI is not http(s), or it has a body with a method that takes none",
    source="https://cloud.google.com/ruby/docs/reference/google-cloud-scheduler-v1/latest/Google-Cloud-Scheduler-V1-HttpTarget",
)
def scheduler_http_target(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # HttpTarget: the uri "must begin with either http:// or https://"; "A request body is allowed only if
    # the HTTP method is POST, PUT, or PATCH. It is an error to set body on a job with an incompatible HttpMethod."
    target = _http_target(resource)
    if target is None:
        return
    uri = target.get("uri")
    if isinstance(uri, str) and uri != UNKNOWN and not uri.startswith(("http://", "https://")):
        yield Problem("httpTarget.uri", f"{resource.name}: HTTP target {uri!r} does not start with http:// or https://", "give the full URL, https://...")
    method = target.get("httpMethod") or "POST"
    if isinstance(method, str) and method != UNKNOWN and target.get("body") and method.upper() not in BODY_METHODS:
        yield Problem("httpTarget.body", f"{resource.name}: a request body is set with {method}, which takes none", "use POST, PUT or PATCH, or drop the body")
