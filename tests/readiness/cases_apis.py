"""Fixtures: API enablement."""

from __future__ import annotations

import pulumi_gcp as gcp
from harness import PROJECT, depends, fail, ok


def _secret(name: str = "s", **opts: object) -> gcp.secretmanager.Secret:
    return gcp.secretmanager.Secret(
        name, secret_id="app-key", project=PROJECT,
        replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()), **opts,  # type: ignore[arg-type]
    )


def no_api() -> None:
    _secret()


def api_and_wait() -> None:
    api = gcp.projects.Service("sm", project=PROJECT, service="secretmanager.googleapis.com", disable_on_destroy=False)
    _secret(opts=depends(api))


def api_no_wait() -> None:
    gcp.projects.Service("sm", project=PROJECT, service="secretmanager.googleapis.com", disable_on_destroy=False)
    _secret()


def default_api_only() -> None:
    gcp.storage.Bucket("b", name="fixture-project-data", location="US-CENTRAL1", uniform_bucket_level_access=True,
                       public_access_prevention="enforced")


def api_default_destroy() -> None:
    gcp.projects.Service("sm", project=PROJECT, service="secretmanager.googleapis.com")


CASES = [
    fail("api-not-enabled", no_api, resource="s"),
    ok("api-not-enabled", api_and_wait),
    ok("api-not-enabled", default_api_only, id="default-on"),
    fail("api-enabled-after-use", api_no_wait, resource="s", field="dependsOn"),
    ok("api-enabled-after-use", api_and_wait),
    fail("api-disabled-on-destroy", api_default_destroy, resource="sm", field="disableOnDestroy"),
    ok("api-disabled-on-destroy", api_and_wait),
]
