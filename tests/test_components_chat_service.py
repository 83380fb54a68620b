"""ChatService: what it declares for given args, its secure defaults and its options."""

from __future__ import annotations

import pytest
from conftest import dig, one

from stagewise.components.chat_service import ChatService, ChatServiceArgs, TrafficSplit, VpcEgress
from stagewise.components.iam import BucketRole, ProjectRole

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
    # Not /readyz, /healthz: Cloud Run reserves some paths ending in z (they never reach the container).
    assert container["startupProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8080}
    assert not any(probe["httpGet"]["path"].endswith("z") for key, probe in container.items() if key.endswith("Probe"))
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
    from stagewise.engine.record import ProgramError

    with pytest.raises(ProgramError, match="basic role"):
        run_component(declare(grants=[ProjectRole(role)]))


def test_public_turns_the_invoker_check_off_and_invokers_list_otherwise(run_component) -> None:  # type: ignore[no-untyped-def]
    # No allUsers binding: domain-restricted sharing (on by default in new organisations) refuses it.
    public = run_component(declare(public=True))
    assert one(public, RUN).inputs["invokerIamDisabled"] is True
    assert public.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember") == []
    private = run_component(declare(invokers=["group:partners@example.com"]))
    assert one(private, RUN).inputs["invokerIamDisabled"] is False
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


def test_revisions_keep_the_names_cloud_run_gives_them(run_component) -> None:  # type: ignore[no-untyped-def]
    # A fixed template.revision is reused by the next template change: 409 (terraform-provider-google#14569).
    run = run_component(declare(traffic=[TrafficSplit(100, tag="v2")]))
    assert "revision" not in one(run, RUN).inputs["template"]


def test_service_waits_for_every_grant_and_what_its_caller_names(run_component) -> None:  # type: ignore[no-untyped-def]
    import pulumi_gcp as gcp

    def program() -> None:
        api = gcp.projects.Service("api-run", project="p-test", service="run.googleapis.com")
        def hook(member, waits):  # type: ignore[no-untyped-def]
            return [gcp.projects.IAMMember("model-grant", project="p-test", role="roles/aiplatform.user", member=member,
                                           opts=__import__("pulumi").ResourceOptions(depends_on=list(waits)))]

        ChatService("chat", ChatServiceArgs(project="p-test", region="us-central1", image="img@sha256:abc",
                                            secret_env={"CHAT_API_KEYS": "keys"}, grant_hooks=[hook], depends_on=[api]))

    run = run_component(program)
    service = one(run, RUN)
    grants = [r for r in run.resources if r.type.endswith(("iAMMember:IAMMember", "IamMember:SecretIamMember"))]
    assert {g.name for g in grants} == {"model-grant", "chat-sa-secretmanager-secretAccessor-keys"}
    for grant in grants:
        assert grant.urn in service.dependencies, f"the service does not wait for {grant.name}"
    api_urn = run.by_name("api-run").urn
    account = one(run, "gcp:serviceaccount/account:Account")
    # A component's depends_on reaches no child by itself: each one names it.
    for resource in (account, service, *grants):
        assert api_urn in resource.dependencies, f"{resource.name} does not wait for the API"


def test_invokers_are_named_by_member_so_adding_one_renames_none(run_component) -> None:  # type: ignore[no-untyped-def]
    one_member = run_component(declare(invokers=["group:a@example.com"]))
    two_members = run_component(declare(invokers=["group:b@example.com", "group:a@example.com"]))
    names = lambda run: {r.name for r in run.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")}  # noqa: E731
    assert names(one_member) == {"chat-invoker-group-a-example-com"}
    assert names(one_member) < names(two_members)


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
