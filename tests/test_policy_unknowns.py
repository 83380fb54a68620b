"""Values unknown during preview: fail-closed rules report "cannot verify", skip rules defer to
`pulumi up` (the SDK's advisory "can't run during preview"), and nothing crashes."""

from __future__ import annotations

import dataclasses

import policy_fixtures as f
from google.protobuf import struct_pb2

from stagewise.engine.record import UNKNOWN, DeclaredResource, ProgramRun
from stagewise.policy.analyzer import load_pack


def with_unknown(run: ProgramRun, name: str, *path: str) -> ProgramRun:
    """The run as a preview would see it: one input of ``name`` not known yet."""

    def patch(resource: DeclaredResource) -> DeclaredResource:
        if resource.name != name:
            return resource
        inputs = struct_pb2.Struct()
        inputs.CopyFrom(resource.inputs_struct)
        node = inputs
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = UNKNOWN
        return dataclasses.replace(resource, inputs_struct=inputs)

    return dataclasses.replace(run, resources=[patch(r) for r in run.resources])


def test_unknown_role_fails_closed() -> None:
    run = with_unknown(f.run(f.prod(lambda: f.project_member("grant", "roles/logging.logWriter"))), "grant", "role")
    verdicts = f.analyzer().evaluate(run).verdicts
    closed = {v.policy for v in verdicts if "cannot verify at preview" in v.message}
    # Fail-closed IAM rules that read a grant's role (the custom-role and federation rules read other types).
    fail_closed_iam = {r.name for r in load_pack().RULES if r.unknowns == "fail-closed" and r.family == "iam"}
    assert closed == fail_closed_iam - {"iam-no-authoritative-project-iam", "iam-custom-role-least-privilege",
                                        "iam-wif-attribute-condition"}
    assert all(v.resource_name == "grant" and v.level == "mandatory" and not v.unverified for v in verdicts if v.policy in closed)


def test_unknown_member_is_deferred_to_up_by_skip_rules() -> None:
    run = with_unknown(f.run(f.prod(lambda: f.project_member("grant", "roles/logging.logWriter"))), "grant", "member")
    verdicts = f.analyzer().evaluate(run).verdicts
    # The normal preview of our stacks: members come from a service account's email output.
    assert not [v for v in verdicts if v.level == "mandatory"]
    deferred = {v.policy for v in verdicts if v.unverified}
    assert {"iam-no-public-members", "iam-no-user-principals", "iam-no-default-service-accounts"} <= deferred
    assert all(v.level == "advisory" for v in verdicts)
    # Rules that decide on the (known) role alone never touch the member.
    assert not deferred & {"iam-no-basic-roles", "iam-sa-no-admin-roles", "iam-data-roles-resource-level"}


def test_unknown_member_with_a_forbidden_role_still_fails() -> None:
    run = with_unknown(f.run(f.prod(lambda: f.project_member("grant", "roles/editor"))), "grant", "member")
    verdicts = [v for v in f.analyzer().evaluate(run).verdicts if v.level == "mandatory"]
    assert {(v.policy, v.resource_name) for v in verdicts} == {("iam-no-basic-roles", "grant")}
    assert "a member not known until apply" in verdicts[0].message


def test_unknown_bucket_access_prevention_fails_closed_but_unknown_labels_skip() -> None:
    run = with_unknown(f.run(f.prod(lambda: f.bucket("b"))), "b", "publicAccessPrevention")
    pairs = {(v.policy, v.resource_name, v.level) for v in f.analyzer().evaluate(run).verdicts}
    assert pairs == {("storage-public-access-prevention", "b", "mandatory")}
    run = with_unknown(f.run(f.prod(lambda: f.bucket("b"))), "b", "labels")
    verdicts = f.analyzer().evaluate(run).verdicts
    assert verdicts and all(v.unverified and v.level == "advisory" for v in verdicts)


def test_unknown_image_defers_registry_rules() -> None:
    run = with_unknown(f.run(f.prod(lambda: f.cloud_run())), "chat", "template", "containers")
    verdicts = f.analyzer().evaluate(run).verdicts
    assert {v.policy for v in verdicts if v.level == "mandatory"} == set()
    assert {"run-image-from-registry", "run-image-pinned"} <= {v.policy for v in verdicts if v.unverified}


def test_unknown_source_service_accounts_count_as_internal() -> None:
    program = f.prod(lambda: f.firewall("from-sa", source_ranges=None, source_service_accounts=[f.SA_EMAIL], allows=[
        f.compute.FirewallAllowArgs(protocol="tcp", ports=["22"])]))
    assert f.violations(program) == set()
    run = with_unknown(f.run(program), "from-sa", "sourceServiceAccounts")
    assert f.analyzer().evaluate(run).pairs() == set()


def test_unknown_location_is_deferred_not_failed() -> None:
    run = with_unknown(f.run(f.prod(lambda: f.cloud_run())), "chat", "location")
    verdicts = f.analyzer().evaluate(run).verdicts
    assert [(v.policy, v.level, v.unverified) for v in verdicts] == [("cost-region-allowlist", "advisory", True)]
