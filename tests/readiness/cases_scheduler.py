"""Fixtures: Cloud Scheduler jobs with HTTP and App Engine targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi_gcp as gcp
from harness import PROJECT, fail, ok

EXPORTER = f"firestore-export@{PROJECT}.iam.gserviceaccount.com"
FIRESTORE = f"https://firestore.googleapis.com/v1/projects/{PROJECT}/databases/(default):exportDocuments"
OAUTH = {"serviceAccountEmail": EXPORTER, "scope": "https://www.googleapis.com/auth/cloud-platform"}


def job(schedule: str = "0 3 * * *", time_zone: str | None = "Etc/UTC", deadline: str | None = "320s",
        http: dict[str, Any] | None = None, app_engine: dict[str, Any] | None = None) -> Callable[[], None]:
    target = {"uri": FIRESTORE, "httpMethod": "POST", "body": "e30=", "oauthToken": OAUTH} if http is None and app_engine is None else http

    def program() -> None:
        gcp.cloudscheduler.Job(
            "export", name="firestore-export", project=PROJECT, region="us-central1", schedule=schedule, time_zone=time_zone,
            attempt_deadline=deadline, http_target=target, app_engine_http_target=app_engine,
        )

    return program


def http(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"uri": FIRESTORE, "httpMethod": "POST", "body": "e30="}
    return {**base, **fields}


CASES = [
    fail("scheduler-schedule", job(schedule="0 3 * *"), resource="export", field="schedule"),
    fail("scheduler-schedule", job(schedule="60 * * * *"), id="minute-range"),
    fail("scheduler-schedule", job(schedule="0 0 L * *"), id="last-day"),
    fail("scheduler-schedule", job(schedule="0 0 * * MON-FRX"), id="day-name"),
    fail("scheduler-schedule", job(schedule="0 0 0 12 1"), id="day-of-month-zero"),
    ok("scheduler-schedule", job(schedule="*/15 9-17 * * MON-FRI")),
    ok("scheduler-schedule", job(schedule="0 0 1,15 JAN,jul 0,7"), id="lists-and-names"),
    ok("scheduler-schedule", job(schedule="every 24 hours"), id="english"),
    ok("scheduler-schedule", job(schedule="1st monday of sep,oct,nov 17:00"), id="english-ordinal"),
    fail("scheduler-time-zone", job(time_zone="Europe/Pariss"), field="timeZone"),
    ok("scheduler-time-zone", job(time_zone="America/New_York")),
    ok("scheduler-time-zone", job(time_zone=None), id="default"),
    fail("scheduler-attempt-deadline", job(deadline="10s"), field="attemptDeadline"),
    fail("scheduler-attempt-deadline", job(deadline="3600s"), id="over-30-minutes"),
    ok("scheduler-attempt-deadline", job(deadline="1800s")),
    ok("scheduler-attempt-deadline", job(deadline="7200s", app_engine={"relativeUri": "/cron/export", "httpMethod": "POST"}), id="app-engine"),
    fail("scheduler-google-api-auth", job(http=http(oidcToken={"serviceAccountEmail": EXPORTER})), field="httpTarget.oidcToken"),
    fail("scheduler-google-api-auth", job(http=http()), field="httpTarget.oauthToken", id="no-token"),
    ok("scheduler-google-api-auth", job()),
    ok("scheduler-google-api-auth", job(http={"uri": "https://chat-abc123-uc.a.run.app/tasks", "oidcToken": {"serviceAccountEmail": EXPORTER}}),
       id="cloud-run-oidc"),
    fail("scheduler-token-account", job(http=http(oauthToken={"serviceAccountEmail": "service-123@gcp-sa-cloudscheduler.iam.gserviceaccount.com"})),
         field="httpTarget.oauthToken.serviceAccountEmail"),
    fail("scheduler-token-account", job(http=http(oauthToken={"serviceAccountEmail": "exporter@another-project.iam.gserviceaccount.com"})),
         id="other-project"),
    ok("scheduler-token-account", job()),
    fail("scheduler-http-target", job(http=http(httpMethod="GET", oauthToken=OAUTH)), field="httpTarget.body"),
    fail("scheduler-http-target", job(http={"uri": "firestore.googleapis.com/v1/x", "oauthToken": OAUTH}), field="httpTarget.uri", id="scheme"),
    ok("scheduler-http-target", job()),
    ok("scheduler-http-target", job(http={"uri": "https://chat-abc123-uc.a.run.app/tasks", "httpMethod": "GET"}), id="get-no-body"),
]
