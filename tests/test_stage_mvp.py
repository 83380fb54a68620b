"""The MVP composition (seed stage 1) as `pulumi up --stack mvp` would declare it."""

from __future__ import annotations

from conftest import one

from stagewise.engine.record import ProgramRun

BASIC_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}


def test_cloud_run_scales_to_zero_and_runs_as_its_own_account(mvp_run: ProgramRun) -> None:
    service = one(mvp_run, "gcp:cloudrunv2/service:Service").inputs
    assert service["scaling"]["minInstanceCount"] == 0
    assert service["template"]["scaling"]["maxInstanceCount"] == 2
    account = one(mvp_run, "gcp:serviceaccount/account:Account").inputs
    assert service["template"]["serviceAccount"] == f"{account['accountId']}@stagewise-mvp.iam.gserviceaccount.com"


def test_app_environment_points_at_firestore_and_the_managed_model(mvp_run: ProgramRun) -> None:
    container = one(mvp_run, "gcp:cloudrunv2/service:Service").inputs["template"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["envs"]}
    assert env["CHAT_STORE"] == "firestore" and env["CHAT_FIRESTORE_DATABASE"] == "(default)"
    assert env["CHAT_VERTEX_MODEL"] == "gemini-3.1-flash-lite" and env["CHAT_VERTEX_LOCATION"] == "us-central1"
    assert env["CHAT_PROMPT_VERSION"] == "v1" and env["CHAT_LOG_CONTENT"] == "false"
    assert env["CHAT_TTL_DAYS"] == "90"
    secret = next(e for e in container["envs"] if e["name"] == "CHAT_API_KEYS")
    assert secret["valueSource"]["secretKeyRef"]["secret"] == "chat-api-keys"


def test_no_primitive_roles_and_grants_are_least_privilege(mvp_run: ProgramRun) -> None:
    grants = [r.inputs for r in mvp_run.resources if r.type.endswith(("iAMMember:IAMMember", "IamMember", "IAMMember"))]
    assert grants and not {g["role"] for g in grants} & BASIC_ROLES
    project_roles = {g["role"]: g for g in grants if "bucket" not in g and "secretId" not in g and "location" not in g}
    assert set(project_roles) == {"roles/aiplatform.user", "roles/datastore.user", "roles/logging.logWriter", "roles/cloudtrace.agent"}
    assert "databases/(default)" in project_roles["roles/datastore.user"]["condition"]["expression"]
    bucket_grant = one(mvp_run, "gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert bucket_grant["role"] == "roles/storage.objectUser" and bucket_grant["bucket"] == "stagewise-mvp-mvp-data"


def test_one_private_data_bucket_and_firestore(mvp_run: ProgramRun) -> None:
    bucket = one(mvp_run, "gcp:storage/bucket:Bucket").inputs
    assert bucket["publicAccessPrevention"] == "enforced" and bucket["labels"]["bucket-class"] == "data"
    database = one(mvp_run, "gcp:firestore/database:Database").inputs
    assert database["type"] == "FIRESTORE_NATIVE" and database["locationId"] == "nam5"


def test_apis_the_stage_needs_are_enabled(mvp_run: ProgramRun) -> None:
    enabled = {r.inputs["service"] for r in mvp_run.of_type("gcp:projects/service:Service")}
    assert {"run.googleapis.com", "firestore.googleapis.com", "aiplatform.googleapis.com", "secretmanager.googleapis.com",
            "artifactregistry.googleapis.com", "logging.googleapis.com"} <= enabled


def test_logging_from_day_one_and_image_by_digest(mvp_run: ProgramRun) -> None:
    metric = one(mvp_run, "gcp:logging/metric:Metric").inputs
    assert "severity>=ERROR" in metric["filter"]
    assert "@sha256:" in mvp_run.stack_outputs["image"]


def test_every_labelled_resource_carries_the_stack_labels(mvp_run: ProgramRun) -> None:
    for resource in mvp_run.resources:
        labels = resource.inputs.get("labels")
        if resource.custom and isinstance(labels, dict):
            assert labels.get("env") == "mvp" and labels.get("managed-by") == "pulumi", resource.name


def test_components_parent_their_children(mvp_run: ProgramRun) -> None:
    components = {r.urn for r in mvp_run.resources if not r.custom}
    assert len(components) >= 7
    for resource in mvp_run.resources:
        if resource.custom:
            assert resource.parent in components, f"{resource.type} {resource.name} is not inside a component"


def test_stack_outputs(mvp_run: ProgramRun) -> None:
    outputs = mvp_run.stack_outputs
    assert outputs["service_url"].startswith("https://") and outputs["service_account"].endswith(".iam.gserviceaccount.com")
    assert outputs["buckets"] == {"data": "stagewise-mvp-mvp-data"} and outputs["stage"] == "mvp"
