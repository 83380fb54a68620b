"""The staging composition (seed stage 2) as `pulumi up --stack staging` would declare it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import one
from stack_values import example_values, run_with_values

from stagewise.stacks.program import main as stagewise_program
from stagewise.engine.record import ProgramError, ProgramRun, load_stack_file, run_program

ROOT = Path(__file__).resolve().parents[1]
BASIC_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
SERVICE = "gcp:cloudrunv2/service:Service"


@pytest.fixture(scope="module")
def staging() -> ProgramRun:
    # The shipped stack file marks its project and principals REPLACE-ME; the sample values fill them in.
    return run_with_values("staging")


def service(run: ProgramRun, name: str) -> dict[str, Any]:
    return next(r.inputs for r in run.of_type(SERVICE) if r.inputs["name"] == name)


def env_of(service_inputs: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueSource")) for e in service_inputs["template"]["containers"][0]["envs"]}


def test_partner_service_is_separate_with_its_own_account_and_version(staging: ProgramRun) -> None:
    chat, partners = service(staging, "chat"), service(staging, "chat-partners")
    assert chat["template"]["serviceAccount"] != partners["template"]["serviceAccount"]
    assert partners["template"]["serviceAccount"].startswith("chat-partners-run@")
    assert env_of(partners)["CHAT_PROMPT_VERSION"] == "v2" and env_of(chat)["CHAT_PROMPT_VERSION"] == "v1"
    # No previous version on a first deploy (nothing has run yet), so partners choose no other version.
    assert "CHAT_ALLOWED_PROMPT_VERSIONS" not in env_of(partners)
    assert env_of(partners)["CHAT_ALLOW_ANONYMOUS"] == "false"


def test_partner_service_scales_more_aggressively(staging: ProgramRun) -> None:
    chat, partners = service(staging, "chat"), service(staging, "chat-partners")
    assert partners["template"]["scaling"]["maxInstanceCount"] > chat["template"]["scaling"]["maxInstanceCount"]
    assert partners["template"]["maxInstanceRequestConcurrency"] < chat["template"]["maxInstanceRequestConcurrency"]


def test_only_named_authenticated_callers_invoke_the_partner_service(staging: ProgramRun) -> None:
    invokers = [r.inputs for r in staging.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember") if r.inputs["role"] == "roles/run.invoker"]
    partner_invokers = {i["member"] for i in invokers if i["name"] == "chat-partners"}
    assert partner_invokers == {"serviceAccount:acme-client@acme-prod.iam.gserviceaccount.com", "group:globex-integrators@globex.com"}
    assert all(i["member"] in partner_invokers for i in invokers if i["name"] == "chat-partners")
    assert not {i["member"] for i in invokers} & {"allUsers", "allAuthenticatedUsers"}
    assert service(staging, "chat-partners")["invokerIamDisabled"] is False


def test_one_secret_per_partner_injected_into_the_partner_service_only(staging: ProgramRun) -> None:
    secret_ids = {r.inputs["secretId"] for r in staging.of_type("gcp:secretmanager/secret:Secret")}
    assert {"partner-acme-api-key", "partner-globex-api-key"} <= secret_ids
    env = env_of(service(staging, "chat-partners"))
    assert env["CHAT_API_KEY_ACME"]["secretKeyRef"] == {"secret": "partner-acme-api-key", "version": "latest"}
    assert env["CHAT_API_KEY_GLOBEX"]["secretKeyRef"]["secret"] == "partner-globex-api-key"
    assert not any(name.startswith("CHAT_API_KEY_") for name in env_of(service(staging, "chat")))
    accessors = [r.inputs for r in staging.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
                 if r.inputs["role"] == "roles/secretmanager.secretAccessor" and r.inputs["secretId"].startswith("partner-")]
    assert {a["member"] for a in accessors} == {"serviceAccount:chat-partners-run@stagewise-staging.iam.gserviceaccount.com"}


def test_first_deploy_tags_the_latest_revision_and_routes_to_no_named_revision(staging: ProgramRun) -> None:
    partners = service(staging, "chat-partners")
    assert "revision" not in partners["template"]  # Cloud Run names revisions; tags carry the version
    assert partners["traffics"] == [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100, "tag": "v2"}]


def test_two_versions_side_by_side_once_the_previous_revision_exists() -> None:
    config = _shipped("stagewise:partners")
    assert isinstance(config, dict)
    config["promptVersion"] = "v3"
    config["release"] = {"previous": "v2", "previousRevision": "chat-partners-00001-abc", "previousPercent": 50}
    run = run_with_values("staging", {"stagewise:partners": json.dumps(config)})
    partners = service(run, "chat-partners")
    assert "revision" not in partners["template"]
    traffic = {t["tag"]: t for t in partners["traffics"]}
    assert traffic["v3"]["type"] == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST" and traffic["v3"]["percent"] == 50
    assert traffic["v2"]["type"] == "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
    assert traffic["v2"]["revision"] == "chat-partners-00001-abc" and traffic["v2"]["percent"] == 50
    assert env_of(partners)["CHAT_ALLOWED_PROMPT_VERSIONS"] == "v3,v2"


def _shipped(key: str) -> object:
    return json.loads(load_stack_file("staging", ROOT)[key])


def test_partner_traffic_logs_go_to_the_analytics_bucket(staging: ProgramRun) -> None:
    sink = one(staging, "gcp:logging/projectSink:ProjectSink").inputs
    assert sink["destination"] == "storage.googleapis.com/stagewise-staging-staging-analytics"
    assert 'resource.labels.service_name="chat-partners"' in sink["filter"] and '"chat"' not in sink["filter"]
    writer = staging.by_name("partner-traffic-writer").inputs
    assert writer["bucket"] == "stagewise-staging-staging-analytics" and writer["role"] == "roles/storage.objectCreator"
    bucket = staging.by_name("buckets-analytics").inputs
    assert bucket["publicAccessPrevention"] == "enforced"
    assert any(rule["action"]["type"] == "Delete" for rule in bucket["lifecycleRules"])


def test_personas_get_predefined_roles_on_the_narrowest_resource(staging: ProgramRun) -> None:
    persona = [r for r in staging.resources if r.name.startswith("personas-") and r.custom]
    by_member: dict[str, set[tuple[str, str]]] = {}
    for r in persona:
        scope = r.type.split(":")[1].split("/")[0]
        by_member.setdefault(r.inputs["member"], set()).add((scope, r.inputs["role"]))
    assert by_member["group:chat-developers@yourcompany.com"] == {
        ("cloudrunv2", "roles/run.developer"), ("projects", "roles/logging.viewer"), ("projects", "roles/monitoring.viewer"),
        # deploying a revision acts as the service's own account: actAs on those accounts only
        ("serviceaccount", "roles/iam.serviceAccountUser"),
    }
    act_as = [r.inputs for r in persona if r.inputs["role"] == "roles/iam.serviceAccountUser"
              and r.inputs["member"] == "group:chat-developers@yourcompany.com"]
    runtime_accounts = {f"projects/stagewise-staging/serviceAccounts/{name}-run@stagewise-staging.iam.gserviceaccount.com"
                        for name in ("chat", "chat-partners")}
    assert {grant["serviceAccountId"] for grant in act_as} == runtime_accounts
    assert by_member["group:chat-analysts@yourcompany.com"] == {("storage", "roles/storage.objectViewer"), ("projects", "roles/monitoring.viewer")}
    analyst_bucket = next(r.inputs["bucket"] for r in persona if r.inputs["role"] == "roles/storage.objectViewer")
    assert analyst_bucket == "stagewise-staging-staging-analytics"
    admin = by_member["group:chat-admins@yourcompany.com"]
    assert ("cloudrunv2", "roles/run.admin") in admin and ("serviceaccount", "roles/iam.serviceAccountUser") in admin
    assert ("secretmanager", "roles/secretmanager.admin") in admin
    every_role = {r.inputs.get("role") for r in staging.resources if r.custom}
    assert not every_role & BASIC_ROLES


def test_test_inference_vm_is_spot_cpu_only_zero_to_one_and_private(staging: ProgramRun) -> None:
    template = one(staging, "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate").inputs
    assert template["scheduling"]["provisioningModel"] == "SPOT" and "guestAccelerators" not in template
    assert all("accessConfigs" not in nic for nic in template["networkInterfaces"])
    policy = one(staging, "gcp:compute/regionAutoscaler:RegionAutoscaler").inputs["autoscalingPolicy"]
    assert (policy["minReplicas"], policy["maxReplicas"]) == (0, 1)
    firewall = staging.by_name("test-inference-clients").inputs
    assert firewall["sourceRanges"] == ["10.30.0.0/24"]
    partners = service(staging, "chat-partners")
    assert env_of(partners)["CHAT_OPENAI_BASE_URL"] == "http://10.10.0.10:8000/v1"
    assert env_of(partners)["CHAT_VERTEX_MODEL"] == "gemini-3.1-flash-lite"  # Gemini stays behind the test VM
    assert partners["template"]["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
    assert "CHAT_OPENAI_BASE_URL" not in env_of(service(staging, "chat")) and "vpcAccess" not in service(staging, "chat")["template"]


@pytest.mark.parametrize(
    ("override", "phrase"),
    [
        ({"stagewise:partners": ""}, "staging runs a partner service"),
        ({"stagewise:buckets": json.dumps({"data": {"class": "data"}})}, "add analytics: {class: analytics}"),
        ({"stagewise:service": json.dumps({"maxInstances": 50, "secretEnv": {"CHAT_API_KEYS": "chat-api-keys"}})},
         "stagewise:partners.maxInstances"),
        ({"stagewise:testInference": ""}, "stagewise:partners.useTestInference"),
        ({"stagewise:network": ""}, "add stagewise:network"),
        ({"stagewise:release": json.dumps({"previous": "v1", "previousRevision": "chat-00001-abc"})}, "the version being deployed"),
        # a first deploy has no previous revision: the config says so instead of routing to a name that does not exist
        ({"stagewise:release": json.dumps({"previous": "v0"})}, "needs previousRevision"),
        ({"stagewise:release": json.dumps({"previous": "v0", "previousRevision": "search-00001-abc"})},
         "is not a revision of service 'chat'"),
    ],
)
def test_bad_staging_config_fails_before_any_resource(override: dict[str, str], phrase: str) -> None:
    config = {**load_stack_file("staging", ROOT), **example_values("staging")}
    for key, value in override.items():
        if value:
            config[key] = value
        else:
            config.pop(key)
    with pytest.raises(ProgramError) as caught:
        run_program(stagewise_program, project="stagewise", stack="staging", config=config)
    assert phrase in str(caught.value)


def test_review_cli_exits_zero_and_its_json_lists_the_staging_resources() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GOOGLE_"))}
    values = [arg for key, value in example_values("staging").items() for arg in ("--config", f"{key}={value}")]
    done = subprocess.run([sys.executable, "-m", "stagewise.cli", "review", "staging", "--format", "json", *values],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    types = {r["type"] for r in json.loads(done.stdout)["resources"]}
    assert {
        SERVICE, "gcp:secretmanager/secret:Secret", "gcp:logging/projectSink:ProjectSink", "gcp:storage/bucket:Bucket",
        "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager", "stagewise:index:PersonaAccess",
    } <= types
