"""Fixtures: networking (names, subnet ranges, firewalls, Cloud NAT, addresses, private services access)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pulumi_gcp as gcp
from harness import PROJECT, fail, ok
from pulumi_gcp import compute

REGION = "us-central1"


def _net(name: str = "main", auto: bool | None = False) -> compute.Network:
    return compute.Network("net", name=name, project=PROJECT, auto_create_subnetworks=auto)


def _subnet(logical: str, net: compute.Network, cidr: str, region: str = REGION,
            secondary: Sequence[tuple[str, str]] = ()) -> compute.Subnetwork:
    return compute.Subnetwork(
        logical, name=logical, project=PROJECT, region=region, network=net.id, ip_cidr_range=cidr,
        secondary_ip_ranges=[compute.SubnetworkSecondaryIpRangeArgs(range_name=n, ip_cidr_range=r) for n, r in secondary] or None,
    )


def subnets(*ranges: str, auto: bool | None = False, secondary: Sequence[tuple[str, str]] = ()) -> Callable[[], None]:
    def program() -> None:
        net = _net(auto=auto)
        for index, cidr in enumerate(ranges):
            _subnet(f"sub{index}", net, cidr, secondary=secondary if index == 0 else ())

    return program


def second_network_same_range() -> None:
    first = compute.Network("net-a", name="net-a", project=PROJECT, auto_create_subnetworks=False)
    second = compute.Network("net-b", name="net-b", project=PROJECT, auto_create_subnetworks=False)
    _subnet("sub-a", first, "10.0.0.0/24")
    _subnet("sub-b", second, "10.0.0.0/24")


def literal_network_refs() -> None:
    # Subnets that name their network by a literal self link, not an Output.
    compute.Network("net", name="main", project=PROJECT, auto_create_subnetworks=False)
    compute.Subnetwork("sub-a", name="sub-a", region=REGION, network=f"projects/{PROJECT}/global/networks/main", ip_cidr_range="10.0.0.0/16")
    compute.Subnetwork("sub-b", name="sub-b", region="europe-west1", network="main", ip_cidr_range="10.0.128.0/20")


def named(name: str | None, logical: str = "net", prefix: str | None = None) -> Callable[[], None]:
    def program() -> None:
        if prefix is not None:
            compute.RegionInstanceTemplate(
                logical, name_prefix=prefix, region=REGION, machine_type="e2-small",
                disks=[compute.RegionInstanceTemplateDiskArgs(source_image="debian-cloud/debian-12", boot=True)],
                network_interfaces=[compute.RegionInstanceTemplateNetworkInterfaceArgs(network="default")],
            )
            return
        compute.Network(logical, name=name, project=PROJECT, auto_create_subnetworks=False)

    return program


def firewall(**kwargs: object) -> Callable[[], None]:
    def program() -> None:
        net = _net()
        args: dict[str, object] = {"allows": [compute.FirewallAllowArgs(protocol="tcp", ports=["443"])], "source_ranges": ["10.0.0.0/8"]}
        args.update(kwargs)
        compute.Firewall("fw", name="fw", project=PROJECT, network=net.name, **args)  # type: ignore[arg-type]

    return program


def nat(**kwargs: object) -> Callable[[], None]:
    def program() -> None:
        net = _net()
        sub = _subnet("sub", net, "10.0.0.0/24")
        router = compute.Router("router", name="router", project=PROJECT, region=REGION, network=net.id)
        args: dict[str, object] = {
            "source_subnetwork_ip_ranges_to_nat": "LIST_OF_SUBNETWORKS", "nat_ip_allocate_option": "AUTO_ONLY",
            "subnetworks": [compute.RouterNatSubnetworkArgs(name=sub.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])],
        }
        args.update(kwargs)
        compute.RouterNat("nat", name="nat", project=PROJECT, router=router.name, region=REGION, **args)  # type: ignore[arg-type]

    return program


def nat_manual(with_ips: bool) -> Callable[[], None]:
    def program() -> None:
        net = _net()
        router = compute.Router("router", name="router", project=PROJECT, region=REGION, network=net.id)
        ips = [compute.Address("nat-ip", name="nat-ip", project=PROJECT, region=REGION).self_link] if with_ips else []
        compute.RouterNat("nat", name="nat", project=PROJECT, router=router.name, region=REGION, nat_ip_allocate_option="MANUAL_ONLY",
                          nat_ips=ips, source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES")

    return program


def nat_other_region_subnet() -> None:
    net = _net()
    sub = _subnet("sub-eu", net, "10.1.0.0/24", region="europe-west1")
    router = compute.Router("router", name="router", project=PROJECT, region=REGION, network=net.id)
    compute.RouterNat("nat", name="nat", router=router.name, region=REGION, nat_ip_allocate_option="AUTO_ONLY",
                      source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
                      subnetworks=[compute.RouterNatSubnetworkArgs(name=sub.self_link, source_ip_ranges_to_nats=["PRIMARY_IP_RANGE"])])


def nat_region_mismatch() -> None:
    net = _net()
    router = compute.Router("router", name="router", project=PROJECT, region="europe-west1", network=net.id)
    compute.RouterNat("nat", name="nat", router=router.name, region=REGION, nat_ip_allocate_option="AUTO_ONLY",
                      source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES")


def two_nats(first_mode: str) -> Callable[[], None]:
    def program() -> None:
        net = _net()
        a = _subnet("sub-a", net, "10.0.0.0/24")
        b = _subnet("sub-b", net, "10.0.1.0/24")
        r1 = compute.Router("router-1", name="router-1", region=REGION, network=net.id)
        r2 = compute.Router("router-2", name="router-2", region=REGION, network=net.id)
        listed = "LIST_OF_SUBNETWORKS"
        compute.RouterNat("nat-1", name="nat-1", router=r1.name, region=REGION, nat_ip_allocate_option="AUTO_ONLY",
                          source_subnetwork_ip_ranges_to_nat=first_mode,
                          subnetworks=[compute.RouterNatSubnetworkArgs(name=a.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])] if first_mode == listed else None)
        compute.RouterNat("nat-2", name="nat-2", router=r2.name, region=REGION, nat_ip_allocate_option="AUTO_ONLY",
                          source_subnetwork_ip_ranges_to_nat=listed,
                          subnetworks=[compute.RouterNatSubnetworkArgs(name=b.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])])

    return program


def internal_address(address: str | None, rule_ip: str | None = None) -> Callable[[], None]:
    def program() -> None:
        net = _net()
        sub = _subnet("sub", net, "10.30.0.0/24")
        ip = compute.Address("ip", name="ip", region=REGION, address_type="INTERNAL", subnetwork=sub.id, address=address)
        # The forwarding rule takes the reserved address's output unless given a literal.
        compute.ForwardingRule("ilb", name="ilb", region=REGION, load_balancing_scheme="INTERNAL", subnetwork=sub.id, network=net.id,
                               ip_address=rule_ip or ip.address, ports=["8000"],
                               backend_service=f"projects/{PROJECT}/regions/{REGION}/backendServices/b")

    return program


def psa(purpose: str = "VPC_PEERING", prefix: int | None = 16, service: str = "servicenetworking.googleapis.com") -> Callable[[], None]:
    def program() -> None:
        net = _net()
        block = compute.GlobalAddress("psa-range", name="psa-range", purpose=purpose, address_type="INTERNAL", prefix_length=prefix, network=net.id)
        gcp.servicenetworking.Connection("psa", network=net.id, service=service, reserved_peering_ranges=[block.name])

    return program


CASES = [
    # names
    fail("net-name-format", named("Main_VPC"), resource="net", field="name"),
    fail("net-name-format", named("a" * 64), id="too-long", resource="net", field="name"),
    fail("net-name-format", named("vpc-"), id="trailing-hyphen", field="name"),
    fail("net-name-format", named(None, logical="Edge_HTTPS"), id="autoname", resource="Edge_HTTPS", field="name"),
    fail("net-name-format", named(None, logical="tmpl", prefix="Test_"), id="prefix", field="namePrefix"),
    ok("net-name-format", named("main-vpc")),
    ok("net-name-format", named(None, logical="edge-https"), id="autoname"),
    ok("net-name-format", named(None, logical="tmpl", prefix="test-inference-"), id="prefix"),
    # subnet ranges
    fail("net-subnet-cidr", subnets("10.0.0.0/30"), resource="sub0", field="ipCidrRange"),
    fail("net-subnet-cidr", subnets("10.0.0/24"), id="unparsable", field="ipCidrRange"),
    fail("net-subnet-cidr", subnets("10.0.0.0/24", secondary=[("pods", "10.9.0.0/32")]), id="secondary", field="secondaryIpRanges[0]"),
    ok("net-subnet-cidr", subnets("10.0.0.0/29", "172.16.0.0/12")),
    fail("net-subnet-reserved-range", subnets("169.254.0.0/24"), resource="sub0", field="ipCidrRange"),
    fail("net-subnet-reserved-range", subnets("10.0.0.0/24", secondary=[("svc", "224.0.0.0/24")]), id="multicast-secondary", field="secondaryIpRanges[0]"),
    ok("net-subnet-reserved-range", subnets("192.168.0.0/16", "240.0.0.0/24")),
    fail("net-subnet-overlap", subnets("10.10.0.0/24", "10.10.0.128/25"), resource="sub1", field="ipCidrRange"),
    fail("net-subnet-overlap", subnets("10.10.0.0/24", secondary=[("pods", "10.10.0.0/20")]), id="own-secondary", resource="sub0", field="secondaryIpRanges[0]"),
    fail("net-subnet-overlap", literal_network_refs, id="literal-refs", resource="sub-b"),
    ok("net-subnet-overlap", subnets("10.10.0.0/24", "10.20.0.0/24", secondary=[("pods", "10.100.0.0/16")])),
    ok("net-subnet-overlap", second_network_same_range, id="other-network"),
    fail("net-subnet-auto-mode", subnets("10.128.4.0/24", auto=True), resource="sub0", field="ipCidrRange"),
    fail("net-subnet-auto-mode", subnets("10.130.0.0/20", auto=None), id="default-auto", field="ipCidrRange"),
    ok("net-subnet-auto-mode", subnets("10.128.4.0/24", auto=False)),
    ok("net-subnet-auto-mode", subnets("10.0.4.0/24", auto=True), id="outside-range"),
    # firewalls
    fail("net-firewall-action", firewall(denies=[compute.FirewallDenyArgs(protocol="all")]), resource="fw", field="allows"),
    fail("net-firewall-action", firewall(allows=[]), id="neither", field="allows"),
    ok("net-firewall-action", firewall()),
    fail("net-firewall-priority", firewall(priority=70000), resource="fw", field="priority"),
    fail("net-firewall-priority", firewall(priority=-1), id="negative", field="priority"),
    ok("net-firewall-priority", firewall(priority=65535)),
    ok("net-firewall-priority", firewall(priority=0), id="zero"),
    fail("net-firewall-ports", firewall(allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["80:90"])]), resource="fw", field="allows[0].ports[0]"),
    fail("net-firewall-ports", firewall(allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["9000-8000"])]), id="reversed", field="allows[0].ports[0]"),
    fail("net-firewall-ports", firewall(allows=[compute.FirewallAllowArgs(protocol="icmp", ports=["8"])]), id="icmp-ports", field="allows[0].ports"),
    fail("net-firewall-ports", firewall(allows=[compute.FirewallAllowArgs(protocol="http")]), id="protocol", field="allows[0].protocol"),
    fail("net-firewall-ports", firewall(allows=[compute.FirewallAllowArgs(protocol="udp", ports=["70000"])]), id="range", field="allows[0].ports[0]"),
    ok("net-firewall-ports", firewall(allows=[compute.FirewallAllowArgs(protocol="TCP", ports=["80", "8000-8080"]),
                                              compute.FirewallAllowArgs(protocol="icmp"), compute.FirewallAllowArgs(protocol="17", ports=["53"])])),
    fail("net-firewall-sources", firewall(source_ranges=None), resource="fw", field="sourceRanges"),
    fail("net-firewall-sources", firewall(direction="EGRESS", source_ranges=None, source_tags=["web"], destination_ranges=["0.0.0.0/0"]),
         id="egress-source-tags", field="sourceTags"),
    fail("net-firewall-sources", firewall(source_ranges=None, source_service_accounts=["a@p.iam.gserviceaccount.com"], target_tags=["web"]),
         id="tags-and-accounts", field="sourceServiceAccounts"),
    ok("net-firewall-sources", firewall(source_ranges=None, source_tags=["web"], target_tags=["db"])),
    ok("net-firewall-sources", firewall(direction="EGRESS", source_ranges=None, destination_ranges=["10.0.0.0/8"], target_tags=["web"]), id="egress"),
    # NAT
    fail("net-nat-ips", nat(nat_ips=["projects/p/regions/us-central1/addresses/ip"]), resource="nat", field="natIps"),
    ok("net-nat-ips", nat_manual(True)),
    fail("net-nat-manual-without-ips", nat_manual(False), resource="nat", field="natIps"),
    ok("net-nat-manual-without-ips", nat_manual(True)),
    fail("net-nat-subnetworks", nat(subnetworks=[]), resource="nat", field="subnetworks"),
    fail("net-nat-subnetworks", nat(subnetworks=[compute.RouterNatSubnetworkArgs(name="projects/p/regions/us-central1/subnetworks/sub",
                                                                                 source_ip_ranges_to_nats=["LIST_OF_SECONDARY_IP_RANGES"])]),
         id="secondary-names", field="subnetworks[0].secondaryIpRangeNames"),
    ok("net-nat-subnetworks", nat()),
    fail("net-nat-all-subnetworks-exclusive", two_nats("ALL_SUBNETWORKS_ALL_IP_RANGES"), resource="nat-1", field="sourceSubnetworkIpRangesToNat"),
    ok("net-nat-all-subnetworks-exclusive", two_nats("LIST_OF_SUBNETWORKS")),
    fail("net-nat-region", nat_other_region_subnet, resource="nat", field="subnetworks[0].name"),
    fail("net-nat-region", nat_region_mismatch, id="router-region", resource="nat", field="region"),
    ok("net-nat-region", nat()),
    # addresses
    fail("net-address-in-subnet", internal_address("10.10.0.10"), resource="ip", field="address"),
    fail("net-address-in-subnet", internal_address("10.30.0.5", rule_ip="10.99.0.1"), id="forwarding-rule-literal", resource="ilb", field="ipAddress"),
    ok("net-address-in-subnet", internal_address("10.30.0.10")),
    ok("net-address-in-subnet", internal_address(None), id="auto"),
    # private services access
    fail("net-psa-range", psa(purpose="PRIVATE_SERVICE_CONNECT"), resource="psa", field="reservedPeeringRanges[0]"),
    fail("net-psa-range", psa(prefix=None), id="no-prefix", field="reservedPeeringRanges[0]"),
    fail("net-psa-range", psa(service="sqladmin.googleapis.com"), id="service", field="service"),
    ok("net-psa-range", psa()),
]
