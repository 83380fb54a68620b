"""VpcNetwork: a custom-mode VPC with private regional subnets, Cloud NAT and a deny-by-default firewall.

Nothing reaches a VM in this network unless a rule says so: the baseline admits only Google's
load-balancer and health-check ranges (to the listed ports, on VMs tagged ``lb-backend``), IAP's
range for SSH when asked (on VMs tagged ``iap-ssh``), and the internal flows a caller declares.
Every other ingress is denied and logged.

Usage::

    vpc = VpcNetwork("vpc", VpcNetworkArgs(
        project="my-project",
        subnets=[SubnetSpec(region="us-central1", cidr="10.10.0.0/24")],
        lb_ports=(8000,),
    ))
    ChatServiceArgs(..., vpc_egress=vpc.egress("us-central1"))   # direct VPC egress, ALL_TRAFFIC
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.compute import (
    FirewallAllowArgs,
    FirewallDenyArgs,
    FirewallLogConfigArgs,
    RouterNatLogConfigArgs,
    RouterNatSubnetworkArgs,
    SubnetworkLogConfigArgs,
)

from stagewise.components.limits import MAX_EGRESS_PREFIX

from stagewise.components.chat_service import VpcEgress

# Google Front Ends and health checkers: https://cloud.google.com/load-balancing/docs/health-checks#fw-rule
GOOGLE_LB_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
# Identity-Aware Proxy TCP forwarding: https://cloud.google.com/iap/docs/using-tcp-forwarding
IAP_RANGE = "35.235.240.0/20"
LB_BACKEND_TAG = "lb-backend"
IAP_SSH_TAG = "iap-ssh"
FLOW_LOG_INTERVALS = frozenset(
    {"INTERVAL_5_SEC", "INTERVAL_30_SEC", "INTERVAL_1_MIN", "INTERVAL_5_MIN", "INTERVAL_10_MIN", "INTERVAL_15_MIN"}
)
NAT_LOG_FILTERS = frozenset({"ERRORS_ONLY", "TRANSLATIONS_ONLY", "ALL"})


@dataclass(frozen=True)
class SubnetSpec:
    """One regional subnet. Cloud Run direct VPC egress needs a /26 or larger."""

    region: str
    cidr: str

    def __post_init__(self) -> None:
        try:
            network = ipaddress.IPv4Network(self.cidr)
        except ValueError as exc:
            raise ValueError(f"subnet {self.region}: cidr {self.cidr!r} is not an IPv4 network ({exc}); write it like 10.10.0.0/24") from None
        if network.prefixlen > MAX_EGRESS_PREFIX:
            raise ValueError(
                f"subnet {self.region}: cidr {self.cidr} is smaller than /{MAX_EGRESS_PREFIX}; "
                f"Cloud Run direct VPC egress needs /{MAX_EGRESS_PREFIX} or larger"
            )


@dataclass(frozen=True)
class InternalAllow:
    """An ingress rule between workloads of this network, by network tags (e.g. chat → inference VM)."""

    name: str
    ports: tuple[int, ...]
    source_tags: tuple[str, ...]
    target_tags: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.ports:
            raise ValueError(f"internal rule {self.name}: no ports; list the TCP ports the targets serve")
        if not self.source_tags or not self.target_tags:
            raise ValueError(f"internal rule {self.name}: set both source_tags and target_tags so the rule stays narrow")


@dataclass
class VpcNetworkArgs:
    project: pulumi.Input[str]
    subnets: Sequence[SubnetSpec]
    network_name: str = "chat-vpc"
    flow_log_sampling: float = 0.5
    flow_log_interval: str = "INTERVAL_5_SEC"
    nat: bool = True
    nat_log_filter: str = "ERRORS_ONLY"
    lb_ports: tuple[int, ...] = (8000,)
    iap_ssh: bool = False
    internal_allows: Sequence[InternalAllow] = ()

    def __post_init__(self) -> None:
        if not self.subnets:
            raise ValueError("subnets is empty; give at least one SubnetSpec(region, cidr)")
        regions = [subnet.region for subnet in self.subnets]
        if len(set(regions)) != len(regions):
            raise ValueError(f"subnets: one subnet per region (got {regions}); merge the duplicates")
        networks = [ipaddress.IPv4Network(subnet.cidr) for subnet in self.subnets]
        for index, network in enumerate(networks):
            for other in networks[index + 1 :]:
                if network.overlaps(other):
                    raise ValueError(f"subnets {network} and {other} overlap; give each region its own range")
        if not 0 < self.flow_log_sampling <= 1:
            raise ValueError("flow_log_sampling must be in (0, 1]; flow logs stay on in this network")
        if self.flow_log_interval not in FLOW_LOG_INTERVALS:
            raise ValueError(f"flow_log_interval {self.flow_log_interval!r}: use one of {', '.join(sorted(FLOW_LOG_INTERVALS))}")
        if self.nat_log_filter not in NAT_LOG_FILTERS:
            raise ValueError(f"nat_log_filter {self.nat_log_filter!r}: use one of {', '.join(sorted(NAT_LOG_FILTERS))}")
        if 22 in self.lb_ports:
            raise ValueError("lb_ports contains 22; SSH is only opened to IAP: set iap_ssh=True instead")
        if any(not 1 <= port <= 65535 for port in self.lb_ports):
            raise ValueError(f"lb_ports {self.lb_ports}: ports are 1..65535")


class VpcNetwork(pulumi.ComponentResource):
    """Custom-mode VPC + subnets (Private Google Access, flow logs) + Cloud NAT + firewall baseline."""

    def __init__(self, name: str, args: VpcNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:VpcNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.network = gcp.compute.Network(
            name,
            project=args.project,
            name=args.network_name,
            auto_create_subnetworks=False,
            routing_mode="GLOBAL",
            description="stagewise: private network for the chat service and inference",
            opts=child,
        )
        self.subnets: dict[str, gcp.compute.Subnetwork] = {}
        self.routers: dict[str, gcp.compute.Router] = {}
        self.nats: dict[str, gcp.compute.RouterNat] = {}
        for spec in args.subnets:
            subnet = gcp.compute.Subnetwork(
                f"{name}-{spec.region}",
                project=args.project,
                name=f"{args.network_name}-{spec.region}",
                region=spec.region,
                network=self.network.id,
                ip_cidr_range=spec.cidr,
                private_ip_google_access=True,
                log_config=SubnetworkLogConfigArgs(
                    aggregation_interval=args.flow_log_interval,
                    flow_sampling=args.flow_log_sampling,
                    metadata="INCLUDE_ALL_METADATA",
                ),
                opts=child,
            )
            self.subnets[spec.region] = subnet
            if args.nat:
                self._nat(name, args, spec.region, subnet)
        self.firewalls = self._firewalls(name, args)

        self.network_id: pulumi.Output[str] = self.network.id
        self.network_self_link: pulumi.Output[str] = self.network.self_link
        self.subnet_ids: dict[str, pulumi.Output[str]] = {region: s.id for region, s in self.subnets.items()}
        self.register_outputs(
            {"network_id": self.network_id, "network_self_link": self.network_self_link, "subnet_ids": self.subnet_ids}
        )

    def egress(self, region: str, all_traffic: bool = True, tags: Sequence[str] = ()) -> VpcEgress:
        """Direct VPC egress settings for a Cloud Run service in ``region`` (ALL_TRAFFIC by default)."""
        if region not in self.subnets:
            raise ValueError(f"no subnet in {region}; add one to the network's subnets (have: {', '.join(self.subnets)})")
        return VpcEgress(network=self.network.id, subnetwork=self.subnets[region].id, all_traffic=all_traffic, tags=tuple(tags))

    def _nat(self, name: str, args: VpcNetworkArgs, region: str, subnet: gcp.compute.Subnetwork) -> None:
        child = pulumi.ResourceOptions(parent=self)
        router = gcp.compute.Router(
            f"{name}-router-{region}",
            project=args.project,
            name=f"{args.network_name}-router-{region}",
            region=region,
            network=self.network.id,
            opts=child,
        )
        self.routers[region] = router
        self.nats[region] = gcp.compute.RouterNat(
            f"{name}-nat-{region}",
            project=args.project,
            name=f"{args.network_name}-nat-{region}",
            region=region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            # Only this network's subnet is translated; nothing else gets a path out by accident.
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[RouterNatSubnetworkArgs(name=subnet.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])],
            enable_endpoint_independent_mapping=False,
            log_config=RouterNatLogConfigArgs(enable=True, filter=args.nat_log_filter),
            opts=child,
        )

    def _firewalls(self, name: str, args: VpcNetworkArgs) -> list[gcp.compute.Firewall]:
        child = pulumi.ResourceOptions(parent=self)
        logged = FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA")

        def allow(rule: str, ranges: Sequence[str] | None, ports: Sequence[int], targets: Sequence[str],
                  source_tags: Sequence[str] | None = None, description: str = "") -> gcp.compute.Firewall:
            return gcp.compute.Firewall(
                f"{name}-{rule}",
                project=args.project,
                name=f"{args.network_name}-{rule}",
                network=self.network.id,
                direction="INGRESS",
                priority=1000,
                source_ranges=list(ranges) if ranges else None,
                source_tags=list(source_tags) if source_tags else None,
                target_tags=list(targets),
                allows=[FirewallAllowArgs(protocol="tcp", ports=[str(port) for port in ports])],
                log_config=logged,
                description=description,
                opts=child,
            )

        rules: list[gcp.compute.Firewall] = []
        if args.lb_ports:
            rules.append(allow("allow-google-lb", GOOGLE_LB_RANGES, args.lb_ports, [LB_BACKEND_TAG],
                               description="Google load balancers and health checkers to backends"))
        if args.iap_ssh:
            rules.append(allow("allow-iap-ssh", [IAP_RANGE], [22], [IAP_SSH_TAG], description="SSH through IAP only"))
        for internal in args.internal_allows:
            rules.append(allow(f"allow-{internal.name}", None, internal.ports, internal.target_tags,
                               source_tags=internal.source_tags, description=f"internal: {internal.name}"))
        rules.append(
            gcp.compute.Firewall(
                f"{name}-deny-all-ingress",
                project=args.project,
                name=f"{args.network_name}-deny-all-ingress",
                network=self.network.id,
                direction="INGRESS",
                # Just above the implied deny, so every refused connection is logged.
                priority=65534,
                source_ranges=["0.0.0.0/0"],
                denies=[FirewallDenyArgs(protocol="all")],
                log_config=logged,
                description="baseline: deny and log every ingress no rule above allows",
                opts=child,
            )
        )
        return rules
