"""Fixtures: IAM (account ids, principals, role names and where they apply, custom roles, conditions)."""

from __future__ import annotations

from collections.abc import Callable

import pulumi_gcp as gcp
from harness import PROJECT, fail, ok

SA = "serviceAccount:chat-runtime@fixture-project.iam.gserviceaccount.com"


def account(*ids: str) -> Callable[[], None]:
    def run() -> None:
        for index, account_id in enumerate(ids):
            gcp.serviceaccount.Account(f"sa{index}", account_id=account_id, project=PROJECT)

    return run


def accounts_in_two_projects() -> None:
    gcp.serviceaccount.Account("a", account_id="chat-runtime", project=PROJECT)
    gcp.serviceaccount.Account("b", account_id="chat-runtime", project="other-project")


def project_member(member: str, role: str = "roles/logging.logWriter", condition: dict[str, str] | None = None) -> Callable[[], None]:
    def run() -> None:
        gcp.projects.IAMMember("m", project=PROJECT, role=role, member=member,
                               condition=gcp.projects.IAMMemberConditionArgs(**condition) if condition else None)

    return run


def project_binding(*members: str) -> Callable[[], None]:
    def run() -> None:
        gcp.projects.IAMBinding("b", project=PROJECT, role="roles/monitoring.viewer", members=list(members))

    return run


def member_from_account() -> None:
    sa = gcp.serviceaccount.Account("sa", account_id="chat-runtime", project=PROJECT)
    gcp.projects.IAMMember("m", project=PROJECT, role="roles/logging.logWriter", member=sa.member)


def on_bucket(role: str) -> Callable[[], None]:
    def run() -> None:
        b = gcp.storage.Bucket("b", name="fixture-project-data", location="US", uniform_bucket_level_access=True)
        gcp.storage.BucketIAMMember("g", bucket=b.name, role=role, member=SA)

    return run


def on_secret(role: str) -> Callable[[], None]:
    def run() -> None:
        s = gcp.secretmanager.Secret("s", secret_id="app-key", project=PROJECT,
                                     replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()))
        gcp.secretmanager.SecretIamMember("g", project=PROJECT, secret_id=s.secret_id, role=role, member=SA)

    return run


def on_account(role: str) -> Callable[[], None]:
    def run() -> None:
        sa = gcp.serviceaccount.Account("sa", account_id="chat-runtime", project=PROJECT)
        gcp.serviceaccount.IAMMember("g", service_account_id=sa.name, role=role, member="group:deployers@stagewise.dev")

    return run


def custom_role(role_id: str, permissions: list[str]) -> Callable[[], None]:
    def run() -> None:
        gcp.projects.IAMCustomRole("r", project=PROJECT, role_id=role_id, title="Exporter", permissions=permissions)

    return run


def custom_role_granted(by_id: bool = False) -> Callable[[], None]:
    def run() -> None:
        role = gcp.projects.IAMCustomRole("r", project=PROJECT, role_id="firestoreExporter", title="Exporter",
                                          permissions=["datastore.databases.export"])
        gcp.projects.IAMMember("m", project=PROJECT, role=role.id if by_id else role.name, member=SA)

    return run


CONDITION = {"title": "until-2030", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}

CASES = [
    fail("iam-account-id", account("chat"), resource="sa0", field="accountId", id="short"),
    fail("iam-account-id", account("Chat_Runtime"), id="uppercase"),
    fail("iam-account-id", account("chat-runtime-"), id="trailing-dash"),
    fail("iam-account-id", account("a-service-account-for-the-chat-app"), id="too-long"),
    ok("iam-account-id", account("chat-runtime", "firestore-export")),
    fail("iam-account-id-duplicate", account("chat-runtime", "chat-runtime"), resource="sa1", field="accountId"),
    ok("iam-account-id-duplicate", accounts_in_two_projects),
    ok("iam-account-id-duplicate", account("chat-runtime", "chat-partners"), id="distinct"),
    fail("iam-member-format", project_member("ann@stagewise.dev"), resource="m", field="member", id="no-prefix"),
    fail("iam-member-format", project_member("serviceaccount:chat@fixture-project.iam.gserviceaccount.com"), id="case"),
    fail("iam-member-format", project_member("user:ann"), id="not-email"),
    fail("iam-member-format", project_binding("group:team@stagewise.dev", "team@stagewise.dev"), resource="b", field="members[1]",
         id="binding"),
    ok("iam-member-format", project_member(SA)),
    ok("iam-member-format", project_binding("domain:stagewise.dev", "allAuthenticatedUsers",
                                            "principalSet://iam.googleapis.com/locations/global/workforcePools/p/group/g",
                                            "serviceAccount:fixture-project.svc.id.goog[chat/runtime]",
                                            "deleted:user:bob@stagewise.dev?uid=123456789012345678901"), id="other-kinds"),
    ok("iam-member-format", member_from_account, id="from-output"),
    fail("iam-placeholder-member", project_member("group:chat-developers@example.com"), resource="m", field="member"),
    fail("iam-placeholder-member", project_binding("group:integrators@globex.example"), field="members[0]", id="example-tld"),
    fail("iam-placeholder-member", project_member("domain:example.org"), id="domain"),
    ok("iam-placeholder-member", project_member("group:chat-developers@stagewise.dev")),
    ok("iam-placeholder-member", project_member("user:ann@myexample.com"), id="lookalike"),
    fail("iam-role-name", project_member(SA, role="storage.objectViewer"), resource="m", field="role", id="no-prefix"),
    fail("iam-role-name", project_member(SA, role="role/storage.objectViewer"), id="typo"),
    ok("iam-role-name", project_member(SA, role="roles/storage.objectViewer")),
    ok("iam-role-name", custom_role_granted(), id="custom"),
    ok("iam-role-name", custom_role_granted(by_id=True), id="custom-id-output"),
    ok("iam-role-name", project_member(SA, role="organizations/123456789012/roles/auditor"), id="org-custom"),
    fail("iam-role-not-grantable-here", on_bucket("roles/run.invoker"), resource="g", field="role"),
    fail("iam-role-not-grantable-here", on_secret("roles/storage.objectViewer"), id="secret"),
    fail("iam-role-not-grantable-here", on_bucket("roles/logging.logWriter"), id="project-only"),
    ok("iam-role-not-grantable-here", on_bucket("roles/storage.objectCreator")),
    ok("iam-role-not-grantable-here", on_secret("roles/secretmanager.secretAccessor"), id="secret"),
    ok("iam-role-not-grantable-here", on_account("roles/iam.serviceAccountUser"), id="account"),
    fail("iam-condition-not-allowed", project_member(SA, role="roles/editor", condition=CONDITION), resource="m", field="condition"),
    fail("iam-condition-not-allowed", project_member("allAuthenticatedUsers", role="roles/logging.viewer", condition=CONDITION),
         id="public"),
    ok("iam-condition-not-allowed", project_member(SA, role="roles/datastore.user", condition=CONDITION)),
    fail("iam-custom-role-id", custom_role("firestore-exporter", ["datastore.databases.export"]), resource="r", field="roleId"),
    fail("iam-custom-role-id", custom_role("ab", ["datastore.databases.export"]), id="short"),
    ok("iam-custom-role-id", custom_role("stagewise.firestoreExporter", ["datastore.databases.export"])),
    fail("iam-custom-role-permissions", custom_role("exporter", ["datastore.databases.*"]), resource="r", field="permissions[0]"),
    fail("iam-custom-role-permissions", custom_role("lister", ["resourcemanager.organizations.get"]), id="org-only"),
    fail("iam-custom-role-permissions", custom_role("empty", []), field="permissions", id="empty"),
    ok("iam-custom-role-permissions", custom_role("exporter", ["datastore.databases.export", "datastore.databases.getMetadata",
                                                               "datastore.operations.get"])),
]
