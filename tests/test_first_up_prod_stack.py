"""Issue 14, prod half: what GCP would refuse, or what would never work, on the first `pulumi up --stack prod`.

Each test runs the real prod program under the offline engine (or a component the way prod composes
it) and fails if the defect it names comes back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import one

from stagewise.components.alerting import check_uptime_path
from stagewise.components.chat_service import HEALTH_PATH
from stagewise.components.edge import BODY_FAMILIES, FREE_TEXT_PATHS
from stagewise.components.inference import (
    STARTUP_PROBE_MAX_DELAY_S,
    STARTUP_PROBE_MAX_FAILURE_WINDOW_S,
    CloudRunGpu,
    InferenceEndpoint,
    InferenceEndpointArgs,
    docker_hub_path,
)
from prod_values import DIGEST, prod_config
from stagewise.stacks.program import main as stagewise_program
from stagewise.engine.record import ProgramError, ProgramRun, run_program

SERVICE = "gcp:cloudrunv2/service:Service"
BUCKET = "gcp:storage/bucket:Bucket"
DAY = 86_400


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return run_program(stagewise_program, project="stagewise", stack="prod", config=prod_config())


def gpu_service(run: ProgramRun) -> Any:
    return next(r for r in run.of_type(SERVICE) if r.inputs["name"] == "inference")


# 5. The model server image: a registry the project can pull from, with nothing to mirror by hand.
def test_vllm_is_pulled_through_a_declared_docker_hub_remote_repository(prod: ProgramRun) -> None:
    gpu = gpu_service(prod)
    image = gpu.inputs["template"]["containers"][0]["image"]
    assert image == f"us-central1-docker.pkg.dev/stagewise-prod/dockerhub/vllm/vllm-openai@{DIGEST}"
    [remote] = [r for r in prod.of_type("gcp:artifactregistry/repository:Repository") if r.inputs.get("mode") == "REMOTE_REPOSITORY"]
    assert remote.inputs["repositoryId"] == "dockerhub" and remote.inputs["location"] == "us-central1"
    assert remote.inputs["format"] == "DOCKER"
    assert remote.inputs["remoteRepositoryConfig"]["dockerRepository"] == {"publicRepository": "DOCKER_HUB"}
    # Created before the service that pulls from it.
    assert remote.urn in gpu.dependencies


def test_docker_hub_names_follow_dockers_own_rules() -> None:
    assert docker_hub_path("docker.io/vllm/vllm-openai:v0.10.1") == "vllm/vllm-openai:v0.10.1"
    assert docker_hub_path("vllm/vllm-openai@sha256:" + "a" * 64) == "vllm/vllm-openai@sha256:" + "a" * 64
    assert docker_hub_path("docker.io/ubuntu:24.04") == "library/ubuntu:24.04"
    assert docker_hub_path("us-central1-docker.pkg.dev/p/r/vllm@sha256:" + "a" * 64) is None
    assert docker_hub_path("public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.10.1") is None


def test_an_own_registry_image_is_used_as_is_without_a_remote_repository(run_component: Any) -> None:
    own = "us-central1-docker.pkg.dev/stagewise-test/models/vllm-openai@sha256:" + "b" * 64

    def program() -> None:
        InferenceEndpoint("llm", InferenceEndpointArgs(project="stagewise-test", mode=CloudRunGpu(
            model="Qwen/Qwen2.5-7B-Instruct", region="us-central1", server_image=own)))

    run = run_component(program)
    assert one(run, SERVICE).inputs["template"]["containers"][0]["image"] == own
    assert not run.of_type("gcp:artifactregistry/repository:Repository")


# 6 and 16. Backups: a locked retention policy and no Object Versioning (GCS refuses both); each export expires.
def test_backups_bucket_is_retained_unversioned_and_expires_after_its_retention(prod: ProgramRun) -> None:
    buckets = {r.inputs["labels"]["bucket-class"]: r.inputs for r in prod.of_type(BUCKET)}
    backups = buckets["backups"]
    assert backups["retentionPolicy"] == {"retentionPeriod": str(365 * DAY), "isLocked": True}
    assert backups["versioning"]["enabled"] is False
    rules = [(r["action"]["type"], r["condition"]) for r in backups["lifecycleRules"]]
    assert ("Delete", {"age": 366}) in rules
    assert not any("numNewerVersions" in condition for _, condition in rules)
    # No bucket of the stack has both protections.
    for bucket in buckets.values():
        assert not (bucket.get("retentionPolicy") and bucket["versioning"]["enabled"]), bucket["labels"]
    assert buckets["data"]["versioning"]["enabled"] is True


def test_firestore_export_caller_and_agent_may_use_the_backups_bucket(prod: ProgramRun) -> None:
    job = one(prod, "gcp:cloudscheduler/job:Job")
    caller = job.inputs["httpTarget"]["oauthToken"]["serviceAccountEmail"]
    grants = {r.name: r for r in prod.of_type("gcp:storage/bucketIAMMember:BucketIAMMember") if r.name.startswith("firestore-export-")}
    caller_grant = grants["firestore-export-caller-bucket"]
    assert caller_grant.inputs["member"] == f"serviceAccount:{caller}"
    assert caller_grant.inputs["bucket"] == "stagewise-prod-prod-backups"
    assert caller_grant.inputs["role"] == "roles/storage.admin"
    assert grants["firestore-export-agent-writer"].inputs["member"].endswith("@gcp-sa-firestore.iam.gserviceaccount.com")
    # The first scheduled run already has both grants.
    assert {caller_grant.urn, grants["firestore-export-agent-writer"].urn} <= set(job.dependencies)


# 7. The budget: created on the billing account through a provider that names a quota project.
def test_budget_calls_bill_the_stage_project_with_the_budget_api_enabled_there(prod: ProgramRun) -> None:
    budget = one(prod, "gcp:billing/budget:Budget")
    [provider] = prod.of_type("pulumi:providers:gcp")
    assert provider.inputs["billingProject"] == "stagewise-prod" and provider.inputs["userProjectOverride"] == "true"
    assert budget.provider.startswith(provider.urn)
    api = prod.by_name("budget-api")
    assert api.inputs == {**api.inputs, "project": "stagewise-prod", "service": "billingbudgets.googleapis.com"}
    assert api.urn in budget.dependencies
    assert budget.inputs["billingAccount"] == "0A1B2C-3D4E5F-6A7B8C"
    # The Budget API takes channels by resource name, not by a provider id.
    channels = budget.inputs["allUpdatesRule"]["monitoringNotificationChannels"]
    assert channels and all(c.startswith("projects/stagewise-prod/notificationChannels/") for c in channels)


def test_budget_quota_project_can_be_another_project() -> None:
    config = prod_config()
    config["stagewise:budget"] = json.dumps({**json.loads(config["stagewise:budget"]), "billingProject": "acme-billing-ops"})
    run = run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    [provider] = run.of_type("pulumi:providers:gcp")
    assert provider.inputs["billingProject"] == "acme-billing-ops"
    assert run.by_name("budget-api").inputs["project"] == "acme-billing-ops"


# 12. The uptime check probes a path that reaches the container.
def test_uptime_check_probes_the_chat_services_health_path_not_a_reserved_one(prod: ProgramRun) -> None:
    check = one(prod, "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig").inputs
    path = check["httpCheck"]["path"]
    assert not path.endswith("z")
    assert path == HEALTH_PATH == "/health"
    with pytest.raises(ValueError, match="Cloud Run reserves"):
        check_uptime_path("/healthz")


def test_a_reserved_uptime_path_fails_before_any_resource() -> None:
    config = prod_config()
    config["stagewise:alerting"] = json.dumps({**json.loads(config["stagewise:alerting"]), "uptimePath": "/healthz"})
    with pytest.raises(ProgramError) as caught:
        run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    assert "stagewise:alerting.uptimePath" in str(caught.value) and "Cloud Run reserves" in str(caught.value)


# 13. freeTextPaths reaches the Cloud Armor policy (default: the app's chat path).
def waf_expressions(run: ProgramRun) -> dict[str, str]:
    rules = one(run, "gcp:compute/securityPolicy:SecurityPolicy").inputs["rules"]
    return {r["description"].split()[2]: r["match"]["expr"]["expression"] for r in rules if "expr" in r["match"]}


def test_free_text_paths_reach_the_armor_rules(prod: ProgramRun) -> None:
    assert FREE_TEXT_PATHS == ("/v1/chat/completions",)
    waf = waf_expressions(prod)
    assert waf, "no WAF rules"
    for rule, expression in waf.items():
        skips = expression.startswith("!request.path.startsWith('/v1/chat/completions') && ")
        assert skips == (rule.split("-")[0] in BODY_FAMILIES), (rule, expression)


def test_configured_free_text_paths_replace_the_default_and_can_be_turned_off() -> None:
    config = prod_config()
    edge = json.loads(config["stagewise:edge"])
    edge["armor"]["freeTextPaths"] = ["/v1/partner"]
    config["stagewise:edge"] = json.dumps(edge)
    run = run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    assert waf_expressions(run)["sqli-v33-stable"].startswith("!request.path.startsWith('/v1/partner') && evaluatePreconfiguredWaf(")
    edge["armor"]["freeTextPaths"] = []
    config["stagewise:edge"] = json.dumps(edge)
    run = run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    assert all(e.startswith("evaluatePreconfiguredWaf(") for e in waf_expressions(run).values())


# 17. The GPU service's startup window: within Cloud Run's limits, and as long as they allow for a download.
def test_gpu_startup_probe_uses_the_longest_window_cloud_run_allows(prod: ProgramRun) -> None:
    probe = gpu_service(prod).inputs["template"]["containers"][0]["startupProbe"]
    assert probe["initialDelaySeconds"] <= STARTUP_PROBE_MAX_DELAY_S == 240
    assert probe["failureThreshold"] * probe["periodSeconds"] <= STARTUP_PROBE_MAX_FAILURE_WINDOW_S == 240
    assert probe["periodSeconds"] >= probe["timeoutSeconds"]
    # A Hugging Face id is downloaded at each cold start: 480 s, not the 240 s that was too short.
    assert probe["initialDelaySeconds"] + probe["failureThreshold"] * probe["periodSeconds"] == 480


def test_gpu_weights_from_cloud_storage_are_mounted_read_only(run_component: Any) -> None:
    mode = CloudRunGpu(model="gs://acme-models/qwen2.5-7b-instruct", region="us-central1",
                       served_model_name="qwen2.5-7b-instruct", server_image="docker.io/vllm/vllm-openai@" + DIGEST)

    def program() -> None:
        InferenceEndpoint("llm", InferenceEndpointArgs(project="stagewise-test", mode=mode))

    run = run_component(program)
    service = one(run, SERVICE).inputs["template"]
    container = service["containers"][0]
    assert service["volumes"] == [{"name": "weights", "gcs": {"bucket": "acme-models", "readOnly": True, "mountOptions": ["implicit-dirs"]}}]
    assert container["volumeMounts"] == [{"name": "weights", "mountPath": "/models"}]
    assert container["args"][:2] == ["--model", "/models/qwen2.5-7b-instruct"]
    reader = one(run, "gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert reader["bucket"] == "acme-models" and reader["role"] == "roles/storage.objectViewer"
    assert reader["member"] == f"serviceAccount:{service['serviceAccount']}"
    # Weights on Google's network need no download window: no floor on every cold start.
    assert container["startupProbe"]["initialDelaySeconds"] == 0


@pytest.mark.parametrize(
    ("inference", "phrase"),
    [
        ({"model": "gs://acme-models/qwen"}, "set servedModelName"),
        ({"model": "gs:/acme-models"}, "gs://BUCKET/PATH"),
    ],
)
def test_bad_gpu_weights_location_fails_before_any_resource(inference: dict[str, Any], phrase: str) -> None:
    config = prod_config()
    settings = {**json.loads(config["stagewise:inference"]), **inference}
    settings.pop("servedModelName", None)
    config["stagewise:inference"] = json.dumps(settings)
    with pytest.raises(ProgramError) as caught:
        run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    assert phrase in str(caught.value) and "stagewise:inference" in str(caught.value)


# 20. A private Vertex endpoint the app could not reach is refused, naming the key and the alternative.
def test_vertex_private_endpoint_fails_before_any_resource() -> None:
    config = prod_config()
    config["stagewise:inference"] = json.dumps({"mode": "vertex", "model": "google/gemma-3-4b-it",
                                                "fallbackModel": "gemini-2.5-flash", "privateEndpoint": True})
    with pytest.raises(ProgramError) as caught:
        run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    message = str(caught.value)
    assert "stagewise:inference.privateEndpoint" in message and "Private Service Connect" in message
    assert "cloudrun-gpu or gpu-vm" in message


# 21. us-east4 is a Cloud Run GPU region.
def test_us_east4_hosts_the_gpu_service() -> None:
    config = prod_config()
    settings = {**json.loads(config["stagewise:inference"]), "region": "us-east4"}
    config["stagewise:inference"] = json.dumps(settings)
    config["stagewise:network"] = json.dumps({**json.loads(config["stagewise:network"]),
                                              "subnets": {"us-central1": {"cidr": "10.10.0.0/24"},
                                                          "europe-west1": {"cidr": "10.20.0.0/24"},
                                                          "us-east4": {"cidr": "10.30.0.0/24"}}})
    run = run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    gpu = gpu_service(run)
    assert gpu.inputs["location"] == "us-east4"
    assert gpu.inputs["template"]["containers"][0]["image"].startswith("us-east4-docker.pkg.dev/stagewise-prod/dockerhub/")


def test_export_grant_names_its_custom_role_before_the_role_exists() -> None:
    # At `pulumi preview` of a first deploy the custom role's outputs are unknown: the grant must not
    # wait on them, or every mandatory IAM policy on it cannot run there.
    run = run_program(stagewise_program, project="stagewise", stack="prod", config=prod_config(), preview=True)
    exporter = run.by_name("firestore-export-exporter")
    assert exporter.inputs["role"] == "projects/stagewise-prod/roles/firestoreExporter"
    assert run.by_name("firestore-export-role").urn in exporter.dependencies


def test_shipped_prod_stops_at_its_placeholders_before_any_resource() -> None:
    from stagewise.engine.record import run_stack

    with pytest.raises(ProgramError) as caught:
        run_stack("prod")
    message = str(caught.value)
    for key in ("gcp:project", "stagewise:inference.serverImage", "stagewise:edge.domains[0]",
                "stagewise:alerting.emails[0]", "stagewise:budget.billingAccount"):
        assert f"  - {key}: " in message and "is a placeholder" in message, key
    # The digest's placeholder names the image it stands for, through the remote repository.
    assert "docker.io/vllm/vllm-openai@sha256:REPLACE-ME" in message
