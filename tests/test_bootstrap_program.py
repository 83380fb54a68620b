"""The bootstrap program, reviewed offline like the stacks: what CI's first run depends on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bootstrap.program import main as bootstrap_program
from bootstrap.roles import BILLING_ROLES, STAGE_ROLES
from stagewise.cli import main
from stagewise.engine.record import REPO_ROOT, DeclaredResource, ProgramError, ProgramRun, load_stack_file, run_program, run_stack

BOOTSTRAP = REPO_ROOT / "bootstrap"
PRIMITIVE = {"roles/owner", "roles/editor", "roles/viewer"}


def _run(**overrides: Any) -> ProgramRun:
    config = load_stack_file("bootstrap", BOOTSTRAP)
    config.update({f"bootstrap:{k}": json.dumps(v) if not isinstance(v, str) else v for k, v in overrides.items()})
    return run_program(bootstrap_program, project="stagewise-bootstrap", stack="bootstrap", config=config)


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_stack("bootstrap", root=BOOTSTRAP)


def _one(run: ProgramRun, type_token: str) -> DeclaredResource:
    [resource] = run.of_type(type_token)
    return resource


def test_review_cli_runs_the_bootstrap_project_and_it_passes_the_policy_pack(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["review", "bootstrap", "--root", str(BOOTSTRAP), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert document["project"] == "stagewise-bootstrap"
    assert "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider" in document["resourcesByType"]
    if "policies" in document:
        assert document["policies"]["config"].endswith("bootstrap.json")
        mandatory = [v for v in document["policies"]["verdicts"] if v["level"] == "mandatory"]
        assert mandatory == []
    assert code == 0


def test_review_finds_the_bootstrap_project_by_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "bootstrap", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["project"] == "stagewise-bootstrap"


def test_state_bucket_is_versioned_private_and_protected(run: ProgramRun) -> None:
    bucket = _one(run, "gcp:storage/bucket:Bucket")
    props = bucket.inputs
    assert props["name"] == "stagewise-ci-pulumi-state"
    assert props["uniformBucketLevelAccess"] is True
    assert props["publicAccessPrevention"] == "enforced"
    assert props["versioning"] == {"enabled": True}
    assert props["forceDestroy"] is False
    assert props["lifecycleRules"][0]["condition"]["numNewerVersions"] == 20
    assert bucket.protect
    assert run.stack_outputs["backend_url"] == "gs://stagewise-ci-pulumi-state"


def test_kms_key_rotates_and_is_the_secrets_provider(run: ProgramRun) -> None:
    key = _one(run, "gcp:kms/cryptoKey:CryptoKey")
    assert key.inputs["rotationPeriod"] == f"{90 * 86400}s" and key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    assert key.protect and _one(run, "gcp:kms/keyRing:KeyRing").protect
    assert run.stack_outputs["secrets_provider"] == (
        "gcpkms://projects/stagewise-ci/locations/us-central1/keyRings/pulumi/cryptoKeys/pulumi-secrets")


def test_oidc_provider_accepts_only_this_repository(run: ProgramRun) -> None:
    provider = _one(run, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").inputs
    assert provider["oidc"]["issuerUri"] == "https://token.actions.githubusercontent.com"
    assert provider["attributeCondition"] == "assertion.repository == 'your-org/stagewise'"
    assert provider["attributeMapping"]["google.subject"] == "assertion.sub"
    with_ids = _one(_run(github={"repository": "acme/chat", "repositoryId": "42", "ownerId": "7"}),
                    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").inputs
    assert with_ids["attributeCondition"] == "assertion.repository_id == '42' && assertion.repository_owner_id == '7'"


def _member_of(run: ProgramRun, account_id: str) -> str:
    return f"serviceAccount:{account_id}@stagewise-ci.iam.gserviceaccount.com"


def test_each_stage_deployer_is_bound_to_its_environment_with_only_its_roles(run: ProgramRun) -> None:
    pool = "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github"
    bindings = {r.inputs["serviceAccountId"].rsplit("/", 1)[-1]: r.inputs for r in run.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    grants = [r.inputs for r in run.of_type("gcp:projects/iAMMember:IAMMember")]
    for stage in ("mvp", "staging", "prod"):
        email = f"deploy-{stage}@stagewise-ci.iam.gserviceaccount.com"
        assert bindings[email]["role"] == "roles/iam.workloadIdentityUser"
        assert bindings[email]["member"] == f"{pool}/subject/repo:your-org/stagewise:environment:{stage}"
        roles = {g["role"] for g in grants if g["member"] == f"serviceAccount:{email}"}
        assert roles == set(STAGE_ROLES[stage]) - BILLING_ROLES
        assert not roles & PRIMITIVE
        assert {g["project"] for g in grants if g["member"] == f"serviceAccount:{email}"} == {f"stagewise-{stage}"}
        [iam_admin] = [g for g in grants if g["member"] == f"serviceAccount:{email}" and g["role"] == "roles/resourcemanager.projectIamAdmin"]
        assert "modifiedGrantsByRole" in iam_admin["condition"]["expression"]
        assert "roles/owner" not in iam_admin["condition"]["expression"]
        assert f"'projects/stagewise-{stage}/roles/firestoreExporter'" in iam_admin["condition"]["expression"]
    assert run.of_type("gcp:serviceaccount/key:Key") == []  # federation only: no JSON keys


def test_previewer_reads_and_builder_pushes_nothing_else(run: ProgramRun) -> None:
    preview = _member_of(run, "pulumi-preview")
    roles = {r.inputs["role"] for r in run.resources if r.custom and r.inputs.get("member") == preview}
    assert roles == {"roles/browser", "roles/storage.objectViewer", "roles/cloudkms.cryptoKeyDecrypter"}
    builder = _member_of(run, "image-builder")
    assert {r.inputs["role"] for r in run.resources if r.custom and r.inputs.get("member") == builder} == {"roles/artifactregistry.writer"}
    subjects = {r.inputs["member"].rsplit("/subject/", 1)[-1] for r in run.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    assert "repo:your-org/stagewise:pull_request" in subjects and "repo:your-org/stagewise:ref:refs/heads/main" in subjects


def test_billing_role_only_with_a_billing_account() -> None:
    with_billing = _run(billingAccount="0A1B2C-3D4E5F-6A7B8C")
    [grant] = with_billing.of_type("gcp:billing/accountIamMember:AccountIamMember")
    assert grant.inputs["member"] == "serviceAccount:deploy-prod@stagewise-ci.iam.gserviceaccount.com"
    assert grant.inputs["role"] == "roles/billing.costsManager"


def test_a_subset_of_stages_and_custom_environment() -> None:
    run = _run(stages={"mvp": {"project": "acme-mvp-1", "environment": "preview-env"}})
    accounts = {r.inputs["accountId"] for r in run.of_type("gcp:serviceaccount/account:Account")}
    assert accounts == {"deploy-mvp", "pulumi-preview", "image-builder"}
    [binding] = [r for r in run.of_type("gcp:serviceaccount/iAMMember:IAMMember") if "deploy-mvp" in r.inputs["serviceAccountId"]]
    assert binding.inputs["member"].endswith(":environment:preview-env")
    assert run.stack_outputs["environment_variables"] == {"preview-env": {"GCP_DEPLOY_SERVICE_ACCOUNT": "deploy-mvp@stagewise-ci.iam.gserviceaccount.com"}}


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"github": {"repository": "not a repo"}}, "bootstrap:github.repository: 'not a repo' does not match"),
    ({"github": {"repository": "a/b", "repositoryId": "1"}}, "bootstrap:github: set both repositoryId and ownerId"),
    ({"stages": {}}, "bootstrap:stages: list at least one stage"),
    ({"stages": {"qa": {"project": "acme-qa-1"}}}, "bootstrap:stages: unknown stage(s) qa; stages are mvp, staging, prod"),
    ({"stages": {"mvp": {"project": "acme-mvp-1", "extraRoles": ["roles/editor"]}}}, "bootstrap:stages.mvp.extraRoles: roles/editor is a primitive role"),
    ({"stages": {"mvp": {"project": "x"}}}, "bootstrap:stages.mvp.project: 'x' does not match"),
    ({"identity": {"poolId": "gcp-pool"}}, "bootstrap:identity.poolId: 'gcp-pool': the gcp- prefix is reserved"),
    ({"kms": {"keyRing": "ring", "colour": "red"}}, "bootstrap:kms.colour: unknown key"),
])
def test_bad_config_names_the_key_and_the_fix(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ProgramError) as info:
        _run(**overrides)
    assert expected in str(info.value)


def test_missing_keys_are_all_reported_before_any_resource() -> None:
    with pytest.raises(ProgramError) as info:
        run_program(bootstrap_program, project="stagewise-bootstrap", stack="bootstrap", config={"gcp:region": "us-central1"})
    message = str(info.value)
    for key in ("bootstrap:github: not set", "bootstrap:stages: not set", "gcp:project: not set"):
        assert key in message


def test_bootstrap_policy_config_is_prod_plus_documented_exceptions() -> None:
    from bootstrap.policy_config import EXCEPTIONS, deployer_admin_roles, render

    policies = REPO_ROOT / "policies" / "config"
    assert (policies / "bootstrap.json").read_text() == render(), (
        "policies/config/bootstrap.json is stale: run `uv run python -m bootstrap.policy_config`")
    prod = json.loads((policies / "prod.json").read_text())
    bootstrap = json.loads((policies / "bootstrap.json").read_text())
    assert {k: v for k, v in bootstrap.items() if k not in EXCEPTIONS} == {k: v for k, v in prod.items() if k not in EXCEPTIONS}
    assert bootstrap["iam-sa-no-admin-roles"]["enforcementLevel"] == "mandatory"
    assert "roles/owner" not in deployer_admin_roles() and "roles/run.admin" in deployer_admin_roles()
    assert Path(BOOTSTRAP / "Pulumi.yaml").is_file()


def test_no_bootstrap_module_shadows_a_top_level_package() -> None:
    # `pulumi up` in bootstrap/ puts that directory first on sys.path: a bootstrap/components.py
    # would hide the repository's components package from the stack config it imports.
    top_level = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").is_file()} | {"pulumi", "pulumi_gcp", "yaml", "pydantic"}
    modules = {p.stem for p in BOOTSTRAP.glob("*.py")}
    assert not modules & top_level, sorted(modules & top_level)
