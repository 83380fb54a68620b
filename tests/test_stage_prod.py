"""The prod composition (seed stage 3) as `pulumi up --stack prod` would declare it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import one
from prod_values import REAL, prod_config, run_prod

from stagewise.stacks.program import main as stagewise_program
from stagewise.engine.record import ProgramError, ProgramRun, run_program

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "gcp:cloudrunv2/service:Service"
DAY = 86_400


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    # The shipped stack file with real-looking values where it holds placeholders (tests/prod_values.py).
    return run_prod()


def chat_services(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["location"]: r.inputs for r in run.of_type(SERVICE) if r.inputs["name"] == "chat"}


def env_of(service: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueSource")) for e in service["template"]["containers"][0]["envs"]}


def test_chat_runs_in_every_failover_region_behind_the_load_balancer_only(prod: ProgramRun) -> None:
    services = chat_services(prod)
    assert set(services) == {"us-central1", "europe-west1"}
    for region, service in services.items():
        assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
        assert service["defaultUriDisabled"] is True and service["deletionProtection"] is True
        assert service["template"]["vpcAccess"]["egress"] == "ALL_TRAFFIC"
        assert region in service["template"]["vpcAccess"]["networkInterfaces"][0]["subnetwork"]
    accounts = {s["template"]["serviceAccount"] for s in services.values()}
    assert len(accounts) == 2  # one account per region (ChatServiceArgs.account_id)
    negs = {r.inputs["region"]: r.inputs for r in prod.of_type("gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")}
    assert set(negs) == set(services) and all(n["networkEndpointType"] == "SERVERLESS" for n in negs.values())


def test_edge_has_tls_policy_managed_cert_and_cloud_armor(prod: ProgramRun) -> None:
    assert one(prod, "gcp:compute/sSLPolicy:SSLPolicy").inputs["minTlsVersion"] == "TLS_1_2"
    assert one(prod, "gcp:compute/managedSslCertificate:ManagedSslCertificate").inputs["managed"]["domains"] == [REAL["stagewise:edge.domains"]]
    armor = one(prod, "gcp:compute/securityPolicy:SecurityPolicy").inputs
    assert any("preconfiguredWaf" in json.dumps(rule) or "evaluatePreconfiguredWaf" in json.dumps(rule) for rule in armor["rules"])
    assert any(rule.get("action") == "throttle" for rule in armor["rules"])
    backend = one(prod, "gcp:compute/backendService:BackendService").inputs
    assert backend["loadBalancingScheme"] == "EXTERNAL_MANAGED" and backend["logConfig"]["enable"] is True


def test_dedicated_inference_with_gemini_fallback_reached_privately(prod: ProgramRun) -> None:
    gpu = next(r.inputs for r in prod.of_type(SERVICE) if r.inputs["name"] == "inference")
    assert gpu["template"]["nodeSelector"] == {"accelerator": "nvidia-l4"} and gpu["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    # Docker Hub's vLLM, pulled through the remote repository the stack declares (nothing mirrored by hand).
    assert gpu["template"]["containers"][0]["image"].split("@")[0] == "us-central1-docker.pkg.dev/stagewise-prod/dockerhub/vllm/vllm-openai"
    assert gpu["deletionProtection"] is True and gpu["template"]["vpcAccess"]["egress"] == "ALL_TRAFFIC"
    for service in chat_services(prod).values():
        env = env_of(service)
        assert env["CHAT_OPENAI_BASE_URL"].endswith(".run.app/v1") and env["CHAT_OPENAI_MODEL"] == "qwen2.5-7b-instruct"
        assert env["CHAT_FALLBACK_MODEL"] == "gemini-3.1-flash-lite" and env["CHAT_VERTEX_PROJECT"] == "stagewise-prod"
    invokers = {r.inputs["member"] for r in prod.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember") if r.inputs["name"] == "inference"}
    assert invokers == {f"serviceAccount:{s['template']['serviceAccount']}" for s in chat_services(prod).values()}


def test_vpc_subnets_nat_and_firewall(prod: ProgramRun) -> None:
    network = one(prod, "gcp:compute/network:Network").inputs
    assert network["autoCreateSubnetworks"] is False
    subnets = prod.of_type("gcp:compute/subnetwork:Subnetwork")
    assert {s.inputs["ipCidrRange"] for s in subnets} == {"10.10.0.0/24", "10.20.0.0/24"}
    assert all(s.inputs["privateIpGoogleAccess"] is True and "logConfig" in s.inputs for s in subnets)
    assert len(prod.of_type("gcp:compute/routerNat:RouterNat")) == 2
    assert prod.of_type("gcp:compute/firewall:Firewall")


def test_alerting_uptime_and_dashboard(prod: ProgramRun) -> None:
    policies = prod.of_type("gcp:monitoring/alertPolicy:AlertPolicy")
    assert len(policies) >= 6 and all(p.inputs["documentation"]["content"] for p in policies)
    uptime = one(prod, "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig").inputs
    assert uptime["monitoredResource"]["labels"]["host"] == REAL["stagewise:edge.domains"]
    assert one(prod, "gcp:monitoring/dashboard:Dashboard")
    assert "inference" in json.dumps([p.inputs for p in policies])  # the GPU service is watched too


def test_three_buckets_with_the_seeds_retention(prod: ProgramRun) -> None:
    buckets = {r.inputs["labels"]["bucket-class"]: r.inputs for r in prod.of_type("gcp:storage/bucket:Bucket")}
    assert set(buckets) == {"data", "logs", "backups"}
    assert buckets["logs"]["retentionPolicy"]["retentionPeriod"] == str(30 * DAY)
    assert any(rule["action"]["type"] == "Delete" and rule["condition"]["age"] == 30 for rule in buckets["logs"]["lifecycleRules"])
    assert buckets["backups"]["retentionPolicy"] == {"retentionPeriod": str(365 * DAY), "isLocked": True}
    assert all(b["publicAccessPrevention"] == "enforced" and b.get("forceDestroy") is False for b in buckets.values())
    sink = one(prod, "gcp:logging/projectSink:ProjectSink").inputs
    assert sink["destination"] == "storage.googleapis.com/stagewise-prod-prod-logs"


def test_firestore_pitr_backups_and_deletion_protection(prod: ProgramRun) -> None:
    database = one(prod, "gcp:firestore/database:Database").inputs
    assert database["pointInTimeRecoveryEnablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
    assert database["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED"
    assert one(prod, "gcp:firestore/backupSchedule:BackupSchedule").inputs["retention"] == f"{30 * DAY}s"


@pytest.mark.parametrize("mode", ["vertex", "gpu-vm"])
def test_prod_composes_the_other_dedicated_modes(mode: str) -> None:
    config = prod_config()
    settings: dict[str, Any] = {"mode": mode, "fallbackModel": "gemini-2.5-flash", "region": "us-central1"}
    settings.update({"model": "google/gemma-3-4b-it"} if mode == "vertex" else {"model": "Qwen/Qwen2.5-7B-Instruct", "maxReplicas": 3})
    config["stagewise:inference"] = json.dumps(settings)
    run = run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    env = env_of(next(iter(chat_services(run).values())))
    if mode == "vertex":
        assert "prediction.vertexai.goog" in env["CHAT_OPENAI_BASE_URL"]
        assert run.of_type("gcp:vertex/aiEndpointIamMember:AiEndpointIamMember")
    else:
        assert env["CHAT_OPENAI_BASE_URL"] == "http://10.10.0.10:8000/v1"
        rule = one(run, "gcp:compute/forwardingRule:ForwardingRule").inputs
        assert rule["allowGlobalAccess"] is True  # europe-west1 callers reach the us-central1 ILB
        firewall = run.by_name("inference-clients").inputs
        assert firewall["sourceRanges"] == ["10.10.0.0/24", "10.20.0.0/24"]


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("stagewise:failover", None, "prod runs in at least two regions"),
        ("stagewise:failover", {"regions": ["us-central1"]}, "failover needs at least two"),
        ("stagewise:failover", {"regions": ["us-central1", "asia-east1"]}, "no subnet for failover region(s) asia-east1"),
        ("stagewise:edge", None, "add stagewise:edge"),
        ("stagewise:alerting", None, "add stagewise:alerting"),
        ("stagewise:network", None, "add stagewise:network"),
        ("stagewise:buckets", {"data": {"class": "data"}}, "class logs, backups"),
        ("stagewise:firestore", {"locationId": "nam5", "deleteProtection": True, "backupRetentionDays": 30}, "pointInTimeRecovery"),
        ("stagewise:inference", {"mode": "cloudrun-gpu", "model": "Qwen/Qwen2.5-7B-Instruct", "fallbackModel": None}, "keeps managed Gemini"),
        ("stagewise:inference", {"mode": "cloudrun-gpu", "model": "Qwen/Qwen2.5-7B-Instruct", "region": "europe-north1"}, "has no Cloud Run GPUs"),
        ("stagewise:edge", {"domains": ["chat.example.com"], "tracks": {"stable": {"weight": 90}, "canary": {"weight": 10, "tag": "v9"}}},
         "is not a revision tag of the chat service"),
    ],
)
def test_bad_prod_config_fails_before_any_resource(key: str, value: object, phrase: str) -> None:
    config = prod_config()
    if value is None:
        config.pop(key)
    else:
        config[key] = json.dumps(value)
    with pytest.raises(ProgramError) as caught:
        run_program(stagewise_program, project="stagewise", stack="prod", config=config)
    assert phrase in str(caught.value)


@pytest.mark.parametrize(
    "inference",
    [
        None,  # the stack file's default: cloudrun-gpu
        {"mode": "vertex", "model": "google/gemma-3-4b-it", "fallbackModel": "gemini-2.5-flash"},
        {"mode": "gpu-vm", "model": "Qwen/Qwen2.5-7B-Instruct", "fallbackModel": "gemini-2.5-flash", "region": "us-central1"},
    ],
)
def test_review_cli_exits_zero_and_its_json_lists_the_prod_resources(inference: dict[str, Any] | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GOOGLE_"))}
    # The shipped file's placeholders filled the way a user would, from the command line.
    filled = prod_config()
    keys = ["gcp:project", "stagewise:edge", "stagewise:alerting", "stagewise:budget"]
    extra = [arg for key in keys for arg in ("--config", f"{key}={filled[key]}")]
    extra += ["--config", f"stagewise:inference={json.dumps(inference) if inference else filled['stagewise:inference']}"]
    done = subprocess.run([sys.executable, "-m", "stagewise.cli", "review", "prod", "--format", "json", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    types = {r["type"] for r in json.loads(done.stdout)["resources"]}
    assert {
        "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup", "gcp:compute/sSLPolicy:SSLPolicy",
        "gcp:compute/securityPolicy:SecurityPolicy", "gcp:compute/network:Network", "gcp:compute/subnetwork:Subnetwork",
        "gcp:compute/routerNat:RouterNat", "gcp:compute/firewall:Firewall", "gcp:monitoring/alertPolicy:AlertPolicy",
        "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig", "gcp:monitoring/dashboard:Dashboard",
        "gcp:firestore/backupSchedule:BackupSchedule", "gcp:storage/bucket:Bucket",
    } <= types


def test_firestore_is_exported_to_the_backups_bucket_by_a_narrow_job(prod: ProgramRun) -> None:
    job = one(prod, "gcp:cloudscheduler/job:Job").inputs["httpTarget"]
    assert job["uri"] == "https://firestore.googleapis.com/v1/projects/stagewise-prod/databases/(default):exportDocuments"
    import base64

    assert json.loads(base64.b64decode(job["body"])) == {"outputUriPrefix": "gs://stagewise-prod-prod-backups"}
    role = one(prod, "gcp:projects/iAMCustomRole:IAMCustomRole").inputs
    assert "datastore.databases.export" in role["permissions"] and not any("import" in p for p in role["permissions"])
    exporter = prod.by_name("firestore-export-exporter").inputs
    assert exporter["role"] == "projects/stagewise-prod/roles/firestoreExporter"
    assert exporter["member"] == f"serviceAccount:{job['oauthToken']['serviceAccountEmail']}"
    assert exporter["condition"]["expression"] == 'resource.name == "projects/stagewise-prod/databases/(default)"'
    writer = prod.by_name("firestore-export-agent-writer").inputs
    assert writer["bucket"] == "stagewise-prod-prod-backups"
    assert writer["member"] == "serviceAccount:service-123456789012@gcp-sa-firestore.iam.gserviceaccount.com"
