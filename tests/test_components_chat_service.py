"""ChatService: what it declares for given args, its secure defaults and its options."""

from __future__ import annotations

import pytest
from conftest import dig, one

from components.chat_service import ChatService, ChatServiceArgs, TrafficSplit, VpcEgress
from components.iam import BucketRole, ProjectRole

RUN = "gcp:cloudrunv2/service:Service"


def declare(**overrides: object):  # type: ignore[no-untyped-def]
    def program() -> None:
        ChatService("chat", ChatServiceArgs(project="p-test", region="us-central1", image="img@sha256:abc", **overrides))  # type: ignore[arg-type]

    return program


def test_defaults_are_private_scaled_to_zero_with_probes(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(declare())
    service = one(run, RUN).inputs
    assert service["scaling"]["minInstanceCount"] == 0
    assert dig(service, "template", "scaling", "maxInstanceCount") == 3
    container = service["template"]["containers"][0]
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"]["containerPort"] == 8080
    assert service["deletionProtection"] is True
    assert service["template"]["serviceAccount"].startswith("chat-run@")
    assert not run.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember"), "private by default: no invoker"
    account = one(run, "gcp:serviceaccount/account:Account").inputs
    assert account["accountId"] == "chat-run"


def test_sizing_and_scaling_flow_into_the_template(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(declare(min_instances=1, max_instances=7, concurrency=20, cpu="2", memory="1Gi",
                                cpu_idle=False, startup_cpu_boost=False, timeout_seconds=120))
    template = one(run, RUN).inputs["template"]
    resources = template["containers"][0]["resources"]
    assert resources["limits"] == {"cpu": "2", "memory": "1Gi"}
    assert resources["cpuIdle"] is False and resources["startupCpuBoost"] is False
    assert template["maxInstanceRequestConcurrency"] == 20
    assert template["timeout"] == "120s"
    assert template["scaling"]["maxInstanceCount"] == 7
    assert one(run, RUN).inputs["scaling"]["minInstanceCount"] == 1


def test_secret_env_is_a_secret_reference_and_grants_accessor_on_that_secret_only(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(declare(env={"CHAT_STORE": "firestore"}, secret_env={"CHAT_API_KEYS": "chat-api-keys"}))
    env = {item["name"]: item for item in one(run, RUN).inputs["template"]["containers"][0]["envs"]}
    assert env["CHAT_STORE"]["value"] == "firestore"
    assert env["CHAT_API_KEYS"]["valueSource"]["secretKeyRef"] == {"secret": "chat-api-keys", "version": "latest"}
    assert "value" not in env["CHAT_API_KEYS"]
    grant = one(run, "gcp:secretmanager/secretIamMember:SecretIamMember").inputs
    assert grant["secretId"] == "chat-api-keys" and grant["role"] == "roles/secretmanager.secretAccessor"


def test_caller_grants_are_declared_on_the_service_account(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(declare(grants=[ProjectRole("roles/aiplatform.user"), BucketRole("b-data", "roles/storage.objectUser")]))
    roles = {r.inputs["role"] for r in run.of_type("gcp:projects/iAMMember:IAMMember")}
    assert "roles/aiplatform.user" in roles
    bucket = one(run, "gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert bucket["bucket"] == "b-data" and bucket["member"].startswith("serviceAccount:chat-run@")


@pytest.mark.parametrize("role", ["roles/owner", "roles/editor", "roles/viewer"])
def test_basic_roles_are_refused(run_component, role: str) -> None:  # type: ignore[no-untyped-def]
    from stagewise.engine import ProgramError

    with pytest.raises(ProgramError, match="basic role"):
        run_component(declare(grants=[ProjectRole(role)]))


def test_public_grants_all_users_invoker_and_invokers_list_otherwise(run_component) -> None:  # type: ignore[no-untyped-def]
    public = run_component(declare(public=True))
    assert [r.inputs["member"] for r in public.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")] == ["allUsers"]
    private = run_component(declare(invokers=["group:partners@example.com"]))
    invoker = one(private, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember").inputs
    assert invoker["member"] == "group:partners@example.com" and invoker["role"] == "roles/run.invoker"


def test_ingress_vpc_egress_and_default_url(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(declare(ingress="internal-and-cloud-load-balancing", default_uri_disabled=True,
                                vpc_egress=VpcEgress(network="net", subnetwork="sub", all_traffic=True)))
    service = one(run, RUN).inputs
    assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert service["defaultUriDisabled"] is True
    vpc = service["template"]["vpcAccess"]
    assert vpc["egress"] == "ALL_TRAFFIC"
    assert vpc["networkInterfaces"][0]["network"] == "net" and vpc["networkInterfaces"][0]["subnetwork"] == "sub"


def test_traffic_split_with_tags(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(declare(traffic=[TrafficSplit(90, revision="chat-v1", tag="stable"), TrafficSplit(10, tag="canary")]))
    traffics = one(run, RUN).inputs["traffics"]
    assert [t["percent"] for t in traffics] == [90, 10]
    assert traffics[0]["revision"] == "chat-v1" and traffics[0]["tag"] == "stable"
    assert traffics[1]["type"] == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"


def test_ci_owned_image_is_ignored_on_later_updates(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(declare(ignore_image_changes=True))
    assert "template.containers[0].image" in one(run, RUN).ignore_changes


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ingress": "public"}, "ingress"),
        ({"min_instances": 3, "max_instances": 1}, "raise max_instances"),
        ({"public": True, "invokers": ["user:a@b.c"]}, "drop one"),
        ({"traffic": [TrafficSplit(50)]}, "add up to 100"),
    ],
)
def test_bad_args_fail_with_the_fix(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChatServiceArgs(project="p", region="us-central1", image="i", **overrides)  # type: ignore[arg-type]
