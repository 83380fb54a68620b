"""VpcNetwork: what it declares (custom mode, private subnets with flow logs, NAT, firewall baseline)
and every `stagewise:network` config error."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from stagewise.components.chat_service import ChatService, ChatServiceArgs
from stagewise.components.vpc import (
    GOOGLE_LB_RANGES,
    IAP_RANGE,
    InternalAllow,
    SubnetSpec,
    VpcNetwork,
    VpcNetworkArgs,
)
from stagewise.stacks.config.loader import ConfigError, load_config
from stagewise.engine.record import ProgramRun
from tests.conftest import one

FIREWALL = "gcp:compute/firewall:Firewall"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
NAT = "gcp:compute/routerNat:RouterNat"
ROUTER = "gcp:compute/router:Router"
TWO_REGIONS = [SubnetSpec("us-central1", "10.10.0.0/24"), SubnetSpec("europe-west1", "10.20.0.0/24")]


def declare(run_component: Callable[..., ProgramRun], **overrides: object) -> ProgramRun:
    def program() -> None:
        VpcNetwork("vpc", VpcNetworkArgs(project="stagewise-test", **{"subnets": TWO_REGIONS, **overrides}))  # type: ignore[arg-type]

    return run_component(program)


def firewalls(run: ProgramRun) -> dict[str, dict[str, object]]:
    return {resource.name: resource.inputs for resource in run.of_type(FIREWALL)}


def test_custom_mode_network_with_private_flow_logged_subnets(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component)
    network = one(run, "gcp:compute/network:Network").inputs
    assert network["autoCreateSubnetworks"] is False
    assert network["routingMode"] == "GLOBAL"
    subnets = {r.inputs["region"]: r.inputs for r in run.of_type(SUBNET)}
    assert set(subnets) == {"us-central1", "europe-west1"}
    for region, subnet in subnets.items():
        assert subnet["privateIpGoogleAccess"] is True, region
        assert subnet["logConfig"]["flowSampling"] == 0.5
        assert subnet["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"
    assert subnets["europe-west1"]["ipCidrRange"] == "10.20.0.0/24"
    component = one(run, "stagewise:index:VpcNetwork")
    assert all(r.parent == component.urn for r in run.resources if r.custom)


def test_nat_per_region_only_for_its_subnet_and_logged(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, nat_log_filter="ALL")
    nats = {r.inputs["region"]: r.inputs for r in run.of_type(NAT)}
    assert set(nats) == {"us-central1", "europe-west1"}
    assert len(run.of_type(ROUTER)) == 2
    for nat in nats.values():
        assert nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
        assert len(nat["subnetworks"]) == 1
        assert nat["logConfig"] == {"enable": True, "filter": "ALL"}


def test_nat_can_be_left_out(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, nat=False)
    assert not run.of_type(NAT) and not run.of_type(ROUTER)


def test_firewall_baseline_admits_only_google_lb_ranges(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, lb_ports=(8000, 8080))
    rules = firewalls(run)
    assert set(rules) == {"vpc-allow-google-lb", "vpc-deny-all-ingress"}
    lb = rules["vpc-allow-google-lb"]
    assert sorted(lb["sourceRanges"]) == sorted(GOOGLE_LB_RANGES) == ["130.211.0.0/22", "35.191.0.0/16"]
    assert lb["allows"] == [{"protocol": "tcp", "ports": ["8000", "8080"]}]
    assert lb["targetTags"] == ["lb-backend"]
    deny = rules["vpc-deny-all-ingress"]
    assert deny["denies"] == [{"protocol": "all"}] and deny["sourceRanges"] == ["0.0.0.0/0"]
    assert deny["priority"] > lb["priority"]
    for rule in rules.values():
        assert rule["direction"] == "INGRESS"
        assert rule["logConfig"] == {"metadata": "INCLUDE_ALL_METADATA"}
    no_rule_opens_ssh_to_the_world = all(
        "22" not in allow.get("ports", []) for rule in rules.values() for allow in rule.get("allows", [])  # type: ignore[attr-defined]
    )
    assert no_rule_opens_ssh_to_the_world


def test_iap_ssh_only_when_asked_and_only_port_22_from_iap(run_component: Callable[..., ProgramRun]) -> None:
    rules = firewalls(declare(run_component, iap_ssh=True))
    iap = rules["vpc-allow-iap-ssh"]
    assert iap["sourceRanges"] == [IAP_RANGE] == ["35.235.240.0/20"]
    assert iap["allows"] == [{"protocol": "tcp", "ports": ["22"]}]
    assert iap["targetTags"] == ["iap-ssh"]


def test_internal_allow_is_tag_to_tag(run_component: Callable[..., ProgramRun]) -> None:
    allow = InternalAllow("chat-to-inference", (8000,), ("chat-egress",), ("inference",))
    rules = firewalls(declare(run_component, internal_allows=[allow]))
    rule = rules["vpc-allow-chat-to-inference"]
    assert rule["sourceTags"] == ["chat-egress"] and rule["targetTags"] == ["inference"]
    assert "sourceRanges" not in rule


def test_egress_feeds_chat_service_direct_vpc_egress(run_component: Callable[..., ProgramRun]) -> None:
    def program() -> None:
        vpc = VpcNetwork("vpc", VpcNetworkArgs(project="stagewise-test", subnets=TWO_REGIONS))
        ChatService(
            "chat",
            ChatServiceArgs(project="stagewise-test", region="europe-west1", image="img@sha256:00",
                            vpc_egress=vpc.egress("europe-west1", tags=["chat-egress"])),
        )

    run = run_component(program)
    service = one(run, "gcp:cloudrunv2/service:Service").inputs
    access = service["template"]["vpcAccess"]
    assert access["egress"] == "ALL_TRAFFIC"
    # The subnetwork's and network's ids, as the provider forms them.
    subnet = run.by_name("vpc-europe-west1", "gcp:compute/subnetwork:Subnetwork").inputs["name"]
    network = run.by_name("vpc", "gcp:compute/network:Network").inputs["name"]
    assert access["networkInterfaces"][0]["subnetwork"] == f"projects/stagewise-test/regions/europe-west1/subnetworks/{subnet}"
    assert access["networkInterfaces"][0]["network"] == f"projects/stagewise-test/global/networks/{network}"
    assert access["networkInterfaces"][0]["tags"] == ["chat-egress"]


def test_egress_in_a_region_without_subnet_says_what_to_add(run_component: Callable[..., ProgramRun]) -> None:
    from stagewise.engine.record import ProgramError

    def program() -> None:
        VpcNetwork("vpc", VpcNetworkArgs(project="p", subnets=TWO_REGIONS)).egress("asia-east1")

    with pytest.raises(ProgramError, match="no subnet in asia-east1"):
        run_component(program)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subnets": []}, "subnets is empty"),
        ({"subnets": [SubnetSpec("us-central1", "10.0.0.0/24"), SubnetSpec("us-central1", "10.1.0.0/24")]}, "one subnet per region"),
        ({"subnets": [SubnetSpec("us-central1", "10.0.0.0/16"), SubnetSpec("us-east1", "10.0.1.0/24")]}, "overlap"),
        ({"flow_log_sampling": 0.0}, "flow_log_sampling"),
        ({"flow_log_interval": "INTERVAL_1_SEC"}, "flow_log_interval"),
        ({"nat_log_filter": "SOME"}, "nat_log_filter"),
        ({"lb_ports": (22,)}, "iap_ssh=True"),
        ({"lb_ports": (0,)}, "1..65535"),
    ],
)
def test_args_errors_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VpcNetworkArgs(project="p", **{"subnets": TWO_REGIONS, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "message"),
    [(("us-central1", "10.0.0.0/27"), "/26"), (("us-central1", "not-a-cidr"), "IPv4"),
     (("us-central1", "10.0.0.1/24"), "IPv4")],
)
def test_subnet_spec_errors(spec: tuple[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SubnetSpec(*spec)


def test_internal_allow_must_stay_narrow() -> None:
    with pytest.raises(ValueError, match="source_tags and target_tags"):
        InternalAllow("x", (8000,), (), ("inference",))
    with pytest.raises(ValueError, match="no ports"):
        InternalAllow("x", (), ("a",), ("b",))


# --- stagewise:network config -------------------------------------------------------------

BASE = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}


def network_error(section: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config({**BASE, "stagewise:network": json.dumps(section)}, "prod")
    return str(caught.value)


def test_network_config_defaults() -> None:
    config = load_config({**BASE, "stagewise:network": json.dumps({"subnets": {"us-central1": {"cidr": "10.10.0.0/24"}}})}, "prod")
    assert config.network is not None
    assert config.network.nat and not config.network.iap_ssh
    assert config.network.lb_ports == [8000]
    assert load_config(BASE, "mvp").network is None


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({}, "stagewise:network.subnets: required"),
        ({"subnets": {}}, "no subnets"),
        ({"subnets": {"us-centrall1": {"cidr": "10.0.0.0/24"}}}, "subnet key 'us-centrall1' is not a Google Cloud region"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/28"}}}, "too small for Cloud Run direct VPC egress"),
        ({"subnets": {"us-central1": {"cidr": "8.8.8.0/24"}}}, "is not private (RFC 1918)"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.5/24"}}}, "is not an IPv4 network"),
        ({"subnets": {"us-central1": {"cidr": "fd00::/64"}}}, "is IPv6"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/16"}, "us-east1": {"cidr": "10.0.4.0/24"}}}, "overlap"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/24"}}, "lbPorts": [22]}, "set iapSsh: true instead"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/24"}}, "lbPorts": [70000]}, "is not a TCP port"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/24"}}, "lbPorts": [80, 80]}, "lists a port twice"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/24"}}, "flowLogSampling": 0}, "stagewise:network.flowLogSampling"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/24"}}, "flowLogInterval": "1s"}, "stagewise:network.flowLogInterval"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/24"}}, "nat": False, "natLogFilter": "ALL"}, "set nat: true"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/24"}}, "natLog": "ALL"}, "did you mean 'natLogFilter'"),
        ({"subnets": {"us-central1": {"cidr": "10.0.0.0/24"}}, "name": "Bad_Name"}, "stagewise:network.name"),
    ],
)
def test_network_config_errors_name_the_key_and_fix(section: dict[str, object], expected: str) -> None:
    assert expected in network_error(section)
