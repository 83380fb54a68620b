"""Networking: names, VPC ranges, firewall rules, Cloud NAT, private services access.

Sources (read 2026-11, quoted next to each table):
- names: https://cloud.google.com/compute/docs/naming-resources#resource-name-format, enforced by the
  provider's ``ValidateGCEName`` (magic-modules ``mmv1/third_party/terraform/verify/validation.go``).
- subnet ranges: https://cloud.google.com/vpc/docs/subnets (IPv4 subnet ranges: smallest /29; ranges
  may not overlap any primary or secondary range in the network; the prohibited ranges table).
- firewalls: the provider schema (``mmv1/products/compute/Firewall.yaml``): priority 0-65535, exactly
  one of allow/deny, ports only for tcp/udp/sctp, the conflicting source/target fields.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import Inventory, Resource, as_list, is_unknown
from stagewise.readiness.model import BLOCKS, BROKEN, Problem
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules._refs import (
    GCE_NAME,
    IPNetwork,
    derived,
    integer,
    network,
    region_of,
    resolve,
    text,
)

NETWORK = "gcp:compute/network:Network"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
ROUTER = "gcp:compute/router:Router"
ROUTER_NAT = "gcp:compute/routerNat:RouterNat"
FIREWALL = "gcp:compute/firewall:Firewall"
ADDRESS = "gcp:compute/address:Address"
GLOBAL_ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
PSA_CONNECTION = "gcp:servicenetworking/connection:Connection"
FORWARDING_RULE = "gcp:compute/forwardingRule:ForwardingRule"

# Compute types whose ``name`` is not a Compute Engine resource name (or that have none).
_NAME_EXEMPT_SUFFIXES = ("IamMember", "IamBinding", "IamPolicy", "IAMMember", "IAMBinding", "IAMPolicy")
_NAME_EXEMPT = frozenset({
    "gcp:compute/projectMetadataItem:ProjectMetadataItem", "gcp:compute/projectMetadata:ProjectMetadata",
    "gcp:compute/sharedVPCHostProject:SharedVPCHostProject", "gcp:compute/sharedVPCServiceProject:SharedVPCServiceProject",
    "gcp:compute/projectDefaultNetworkTier:ProjectDefaultNetworkTier", "gcp:compute/networkEndpoint:NetworkEndpoint",
    "gcp:compute/networkEndpoints:NetworkEndpoints", "gcp:compute/regionNetworkEndpoint:RegionNetworkEndpoint",
    "gcp:compute/globalNetworkEndpoint:GlobalNetworkEndpoint", "gcp:compute/attachedDisk:AttachedDisk",
    "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", "gcp:compute/networkPeering:NetworkPeering",
    "gcp:compute/securityPolicyRule:SecurityPolicyRule", "gcp:compute/regionSecurityPolicyRule:RegionSecurityPolicyRule",
    "gcp:compute/instanceGroupNamedPort:InstanceGroupNamedPort", "gcp:compute/routerInterface:RouterInterface",
    "gcp:compute/organizationSecurityPolicy:OrganizationSecurityPolicy",
    "gcp:compute/organizationSecurityPolicyRule:OrganizationSecurityPolicyRule",
    "gcp:compute/firewallPolicy:FirewallPolicy", "gcp:compute/firewallPolicyRule:FirewallPolicyRule",
    "gcp:compute/firewallPolicyAssociation:FirewallPolicyAssociation",
    "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule",
    "gcp:compute/regionNetworkFirewallPolicyRule:RegionNetworkFirewallPolicyRule",
    "gcp:compute/perInstanceConfig:PerInstanceConfig", "gcp:compute/regionPerInstanceConfig:RegionPerInstanceConfig",
})
# Pulumi auto-names an omitted ``name`` as the logical name plus "-" and 7 random hex characters.
_AUTONAME_SUFFIX = "-0000000"
# Types whose provider generates a unique name itself (they take name_prefix) when none is given.
_PROVIDER_NAMED = frozenset({
    "gcp:compute/instanceTemplate:InstanceTemplate", "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
    "gcp:compute/sSLCertificate:SSLCertificate", "gcp:compute/regionSslCertificate:RegionSslCertificate",
})

# https://cloud.google.com/vpc/docs/subnets#valid-ranges: "Each primary or secondary IPv4 range ...
# the smallest ... is /29" and the prohibited ranges (local host, link-local, multicast, broadcast).
SMALLEST_IPV4_PREFIX = 29
PROHIBITED_IPV4 = (
    (ipaddress.ip_network("127.0.0.0/8"), "local host"),
    (ipaddress.ip_network("169.254.0.0/16"), "link-local"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast"),
    (ipaddress.ip_network("255.255.255.255/32"), "broadcast"),
)
# An auto mode network creates one subnet per region inside 10.128.0.0/9
# (provider schema Network.autoCreateSubnetworks, default true).
AUTO_MODE_RANGE = ipaddress.ip_network("10.128.0.0/9")

# Firewall protocols the API names (or a number 0-255); ports apply only to these.
FIREWALL_PROTOCOLS = frozenset({"tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip", "all"})
PORT_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "6", "17", "132"})
_PORT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def _is_list(value: Any) -> bool:
    return bool(as_list(value)) and not is_unknown(value)


# --- names -----------------------------------------------------------------------------------
@stack_rule(
    "net-name-format", severity=BLOCKS,
    title="a Compute Engine resource name is not 1-63 characters of RFC 1035",
    source="https://cloud.google.com/compute/docs/naming-resources#resource-name-format",
    types=(NETWORK, SUBNETWORK, FIREWALL, ROUTER, ROUTER_NAT),
)
def name_format(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    for resource in inventory.resources:
        if not resource.type.startswith("gcp:compute/") or resource.type in _NAME_EXEMPT:
            continue
        if resource.type.rsplit(":", 1)[-1].endswith(_NAME_EXEMPT_SUFFIXES):
            continue
        name = resource.get("name")
        if name is None and resource.get("namePrefix") is None and resource.type not in _PROVIDER_NAMED:
            # Omitted: Pulumi auto-names it from the logical name.
            candidate = resource.name + _AUTONAME_SUFFIX
            if not GCE_NAME.match(candidate):
                yield resource, Problem(
                    "name", f"{resource.name} has no name, so Pulumi names it '{resource.name}-<7 hex>', which is not a valid "
                    "Compute Engine name (1-63 characters: a lowercase letter, then lowercase letters, digits or hyphens, "
                    "not ending in a hyphen)",
                    "set name= explicitly (e.g. " + _suggest(resource.name) + "), or use a logical name of lowercase letters, "
                    "digits and hyphens of at most 55 characters",
                )
            continue
        if isinstance(name, str) and not is_unknown(name) and not GCE_NAME.match(name):
            yield resource, Problem(
                "name", f"{resource.name}: name '{name}' is not a valid Compute Engine name: 1-63 characters, a lowercase "
                "letter first, then lowercase letters, digits or hyphens, not ending in a hyphen",
                f"set name to e.g. '{_suggest(name)}'",
            )
        prefix = resource.get("namePrefix")
        if isinstance(prefix, str) and not is_unknown(prefix) and not re.fullmatch(r"[a-z][-a-z0-9]*", prefix):
            yield resource, Problem(
                "namePrefix", f"{resource.name}: namePrefix '{prefix}' cannot start a valid Compute Engine name (a lowercase "
                "letter, then lowercase letters, digits or hyphens)",
                f"set name_prefix to e.g. '{_suggest(prefix)}-'",
            )


def _suggest(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "r-" + cleaned
    return cleaned[:63].rstrip("-")


# --- subnet ranges ----------------------------------------------------------------------------
def _subnet_ranges(subnet: Resource) -> Iterator[tuple[str, IPNetwork | None, str]]:
    """(field, parsed range or None when unparsable, raw value) of a subnet's primary and secondary ranges."""
    primary = text(subnet.get("ipCidrRange"))
    if primary:
        yield "ipCidrRange", network(primary), primary
    for index, item in enumerate(as_list(subnet.get("secondaryIpRanges"))):
        value = text(item.get("ipCidrRange")) if isinstance(item, dict) else ""
        if value:
            yield f"secondaryIpRanges[{index}].ipCidrRange", network(value), value


@rule(
    "net-subnet-cidr", types=(SUBNETWORK,), severity=BLOCKS,
    title="a subnet range is not a CIDR block of /29 or larger",
    source="https://cloud.google.com/vpc/docs/subnets#valid-ranges",
)
def subnet_cidr(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for field, parsed, raw in _subnet_ranges(resource):
        if parsed is None:
            yield Problem(field, f"{resource.name}: {field} '{raw}' is not a CIDR range", "write it as ADDRESS/PREFIX, e.g. 10.10.0.0/24")
        elif parsed.version == 4 and parsed.prefixlen > SMALLEST_IPV4_PREFIX:
            yield Problem(
                field, f"{resource.name}: {field} {raw} is smaller than /29, the smallest IPv4 subnet range GCP accepts",
                f"use a /{SMALLEST_IPV4_PREFIX} or larger range (e.g. {parsed.supernet(new_prefix=SMALLEST_IPV4_PREFIX)})",
            )


@rule(
    "net-subnet-reserved-range", types=(SUBNETWORK,), severity=BLOCKS,
    title="a subnet range overlaps a range GCP prohibits for subnets",
    source="https://cloud.google.com/vpc/docs/subnets#valid-ranges",
)
def subnet_reserved(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for field, parsed, raw in _subnet_ranges(resource):
        if parsed is None or parsed.version != 4:
            continue
        for prohibited, what in PROHIBITED_IPV4:
            if parsed.overlaps(prohibited):
                yield Problem(
                    field, f"{resource.name}: {field} {raw} overlaps {prohibited} ({what}), which no subnet may use",
                    "pick a range from 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
                )


def _network_key(subnet: Resource, inventory: Inventory) -> str:
    target = resolve(inventory, subnet, "network", subnet.get("network"), (NETWORK,))
    if target is not None:
        return target.urn
    value = text(subnet.get("network"))
    return value.rstrip("/").rsplit("/", 1)[-1] if value else ""


@stack_rule(
    "net-subnet-overlap", severity=BLOCKS, types=(SUBNETWORK,),
    title="two subnet ranges in one VPC network overlap",
    source="https://cloud.google.com/ruby/docs/reference/google-cloud-compute-v1/latest/Google-Cloud-Compute-V1-SubnetworkSecondaryRange",
)
def subnet_overlap(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    # "Ranges must be unique and non-overlapping with all primary and secondary IP ranges within a network."
    seen: dict[str, list[tuple[Resource, str, IPNetwork]]] = {}
    for subnet in inventory.of_type(SUBNETWORK):
        key = _network_key(subnet, inventory)
        if not key:
            continue
        for field, parsed, _raw in _subnet_ranges(subnet):
            if parsed is None:
                continue
            for other, other_field, other_range in seen.get(key, []):
                if parsed.version == other_range.version and parsed.overlaps(other_range):
                    where = "its own " + other_field if other.urn == subnet.urn else f"{other.name}'s {other_field}"
                    yield subnet, Problem(
                        field, f"{subnet.name}: {field} {parsed} overlaps {where} {other_range} in the same VPC network",
                        "give every primary and secondary range in the network its own non-overlapping block",
                    )
            seen.setdefault(key, []).append((subnet, field, parsed))


@rule(
    "net-subnet-auto-mode", types=(SUBNETWORK,), severity=BLOCKS,
    title="a subnet in an auto mode network uses the auto mode range 10.128.0.0/9",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/Network.yaml",
)
def subnet_auto_mode(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    target = resolve(inventory, resource, "network", resource.get("network"), (NETWORK,))
    if target is None:
        return
    auto = target.get("autoCreateSubnetworks", True)  # the provider's default is true
    if auto is not True:
        return
    for field, parsed, raw in _subnet_ranges(resource):
        if parsed is not None and parsed.version == 4 and parsed.overlaps(AUTO_MODE_RANGE):
            yield Problem(
                field, f"{resource.name}: {field} {raw} lies in 10.128.0.0/9, where auto mode network {target.name} "
                "(autoCreateSubnetworks is true, the default) creates its own subnet in every region: the ranges collide",
                f"set auto_create_subnetworks=False on {target.name} (custom mode), or move the range outside 10.128.0.0/9",
            )


# --- firewalls --------------------------------------------------------------------------------
def _rules(resource: Resource) -> Iterator[tuple[str, Any]]:
    for key in ("allows", "denies"):
        for index, item in enumerate(as_list(resource.get(key))):
            yield f"{key}[{index}]", item


@rule(
    "net-firewall-action", types=(FIREWALL,), severity=BLOCKS,
    title="a firewall rule has both or neither of allow and deny",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/Firewall.yaml",
)
def firewall_action(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    allows, denies = resource.get("allows"), resource.get("denies")
    if is_unknown(allows) or is_unknown(denies):
        return
    if as_list(allows) and as_list(denies):
        yield Problem("allows", f"{resource.name} sets both allows and denies; a firewall rule takes exactly one",
                      "split it into an allow rule and a deny rule")
    elif not as_list(allows) and not as_list(denies):
        yield Problem("allows", f"{resource.name} sets neither allows nor denies; a firewall rule needs exactly one",
                      "add allows=[FirewallAllowArgs(protocol='tcp', ports=[...])] or denies=[...]")


@rule(
    "net-firewall-priority", types=(FIREWALL,), severity=BLOCKS,
    title="a firewall priority is not an integer in 0-65535",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/Firewall.yaml",
)
def firewall_priority(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = resource.get("priority")
    if value is None or is_unknown(value):
        return
    priority = integer(value)
    if priority is None or not 0 <= priority <= 65535:
        yield Problem("priority", f"{resource.name}: priority {value!r} is not an integer between 0 and 65535",
                      "set priority to an integer in 0-65535 (1000 is the default)")


@rule(
    "net-firewall-ports", types=(FIREWALL,), severity=BLOCKS,
    title="a firewall protocol or port range is malformed, or ports are given for a protocol without ports",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/Firewall.yaml",
)
def firewall_ports(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for where, item in _rules(resource):
        if not isinstance(item, dict):
            continue
        raw_protocol = item.get("protocol")
        protocol = text(raw_protocol)
        if not protocol:
            if raw_protocol is None:
                yield Problem(f"{where}.protocol", f"{resource.name}: {where} has no protocol", "set protocol, e.g. 'tcp'")
            continue
        proto = protocol.lower()
        number_ok = proto.isdigit() and 0 <= int(proto) <= 255
        if proto not in FIREWALL_PROTOCOLS and not number_ok:
            yield Problem(f"{where}.protocol", f"{resource.name}: {where}.protocol '{protocol}' is not a protocol GCP knows",
                          "use tcp, udp, icmp, esp, ah, sctp, ipip, all, or an IP protocol number")
            continue
        ports = item.get("ports")
        if ports is None or is_unknown(ports):
            continue
        if as_list(ports) and proto not in PORT_PROTOCOLS:
            yield Problem(f"{where}.ports", f"{resource.name}: {where} lists ports for protocol '{protocol}'; ports apply only "
                          "to tcp, udp and sctp", "drop ports, or use protocol tcp/udp/sctp")
        for index, port in enumerate(as_list(ports)):
            if is_unknown(port):
                continue
            match = _PORT.match(str(port).strip())
            low, high = (int(match.group(1)), int(match.group(2) or match.group(1))) if match else (1, 0)
            if not match or not (0 <= low <= high <= 65535):
                yield Problem(f"{where}.ports[{index}]", f"{resource.name}: port '{port}' is not a port or a range like 8000-8080 "
                              "within 0-65535", "write each entry as '443' or '8000-8080'")


@rule(
    "net-firewall-sources", types=(FIREWALL,), severity=BLOCKS,
    title="a firewall rule's sources and targets do not fit its direction",
    source="https://github.com/hashicorp/terraform-provider-google/issues/2924",
)
def firewall_sources(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # Ingress needs a source (provider #2924); egress takes no source tags or service accounts
    # ("Should not specify source tag or service account for egress direction",
    # https://github.com/mchmarny/grunner/issues/6); tags and service accounts never mix
    # (Firewall.yaml `conflicts`), and each service-account list holds at most 10.
    direction = text(resource.get("direction")).upper() or "INGRESS"
    fields = ("sourceRanges", "sourceTags", "sourceServiceAccounts", "targetTags", "targetServiceAccounts")
    values = {key: resource.get(key) for key in fields}
    if any(is_unknown(v) for v in values.values()):
        return
    present = {key for key, value in values.items() if as_list(value)}
    if direction == "INGRESS" and not present & {"sourceRanges", "sourceTags", "sourceServiceAccounts"}:
        yield Problem("sourceRanges", f"{resource.name} is an INGRESS rule with no source: the provider refuses it",
                      "set source_ranges (e.g. the callers' CIDR ranges), source_tags or source_service_accounts")
    if direction == "EGRESS":
        for key in ("sourceTags", "sourceServiceAccounts"):
            if key in present:
                yield Problem(key, f"{resource.name} is an EGRESS rule with {key}: GCP refuses source tags or service accounts on "
                              "egress rules", "select the VMs with target_tags/target_service_accounts and the destinations with "
                              "destination_ranges")
    for accounts, tags in (("sourceServiceAccounts", ("sourceTags", "targetTags")), ("targetServiceAccounts", ("sourceTags", "targetTags"))):
        if accounts in present:
            for tag_field in tags:
                if tag_field in present:
                    yield Problem(accounts, f"{resource.name} sets both {accounts} and {tag_field}: a rule uses network tags or "
                                  "service accounts, not both", "use only tags or only service accounts in this rule")
        if len(as_list(values[accounts])) > 10:
            yield Problem(accounts, f"{resource.name}: {accounts} lists {len(as_list(values[accounts]))} accounts; at most 10 are "
                          "allowed", "split the rule")


# --- Cloud NAT --------------------------------------------------------------------------------
@rule(
    "net-nat-ips", types=(ROUTER_NAT,), severity=BLOCKS,
    title="NAT IPs are listed on a NAT that allocates its addresses automatically",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/RouterNat.yaml",
)
def nat_ips(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # natIps: "Only valid if natIpAllocateOption is set to MANUAL_ONLY."
    option = text(resource.get("natIpAllocateOption")).upper()
    ips = resource.get("natIps")
    if option != "MANUAL_ONLY" and _is_list(ips) and option:
        yield Problem("natIps", f"{resource.name} lists natIps but natIpAllocateOption is {option}; natIps are only valid with "
                      "MANUAL_ONLY", "set nat_ip_allocate_option='MANUAL_ONLY', or drop nat_ips")


@rule(
    "net-nat-manual-without-ips", types=(ROUTER_NAT,), severity=BROKEN,
    title="a MANUAL_ONLY NAT has no addresses, so nothing it serves reaches the internet",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/RouterNat.yaml",
)
def nat_manual_without_ips(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    ips = resource.get("natIps")
    if text(resource.get("natIpAllocateOption")).upper() == "MANUAL_ONLY" and not is_unknown(ips) and not as_list(ips):
        yield Problem("natIps", f"{resource.name} allocates NAT addresses manually (MANUAL_ONLY) but lists no natIps: no VM behind "
                      "it gets an external address", "reserve gcp.compute.Address resources and pass their self_links as nat_ips, "
                      "or use nat_ip_allocate_option='AUTO_ONLY'")


@rule(
    "net-nat-subnetworks", types=(ROUTER_NAT,), severity=BROKEN,
    title="a LIST_OF_SUBNETWORKS NAT lists no subnetworks, or a subnetwork entry is incomplete",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/RouterNat.yaml",
)
def nat_subnetworks(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    mode = text(resource.get("sourceSubnetworkIpRangesToNat")).upper()
    subnets = resource.get("subnetworks")
    if mode != "LIST_OF_SUBNETWORKS" or is_unknown(subnets):
        return
    if not as_list(subnets):
        yield Problem("subnetworks", f"{resource.name} NATs LIST_OF_SUBNETWORKS but lists none: no subnet gets NAT",
                      "list the subnets (subnetworks=[RouterNatSubnetworkArgs(name=subnet.id, "
                      "source_ip_ranges_to_nats=['ALL_IP_RANGES'])]) or use ALL_SUBNETWORKS_ALL_IP_RANGES")
    for index, item in enumerate(as_list(subnets)):
        if not isinstance(item, dict):
            continue
        ranges = [str(v).upper() for v in as_list(item.get("sourceIpRangesToNats")) if not is_unknown(v)]
        if "LIST_OF_SECONDARY_IP_RANGES" in ranges and not as_list(item.get("secondaryIpRangeNames")):
            yield Problem(f"subnetworks[{index}].secondaryIpRangeNames", f"{resource.name}: subnetworks[{index}] NATs "
                          "LIST_OF_SECONDARY_IP_RANGES but names no secondary range", "set secondary_ip_range_names")


@stack_rule(
    "net-nat-all-subnetworks-exclusive", severity=BLOCKS, types=(ROUTER_NAT, ROUTER),
    title="a NAT for all subnetworks shares its network and region with another NAT",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/RouterNat.yaml",
)
def nat_all_exclusive(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    # "if this field contains ALL_SUBNETWORKS_ALL_IP_RANGES or ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES,
    # then there should not be any other RouterNat section in any Router for this network in this region."
    groups: dict[tuple[str, str], list[Resource]] = {}
    for nat in inventory.of_type(ROUTER_NAT):
        router = resolve(inventory, nat, "router", nat.get("router"), (ROUTER,))
        if router is None:
            continue
        key = _router_network(router, inventory)
        if key:
            groups.setdefault((key, region_of(nat, inventory)), []).append(nat)
    for (_net, region), nats in groups.items():
        if len(nats) < 2:
            continue
        for nat in nats:
            mode = text(nat.get("sourceSubnetworkIpRangesToNat")).upper()
            if mode.startswith("ALL_SUBNETWORKS"):
                others = ", ".join(n.name for n in nats if n.urn != nat.urn)
                yield nat, Problem("sourceSubnetworkIpRangesToNat", f"{nat.name} NATs {mode} in {region}, yet {others} also NAT "
                                   "the same network there: an all-subnetworks NAT must be the only one",
                                   "use LIST_OF_SUBNETWORKS on each NAT, or keep a single NAT per network and region")


def _router_network(router: Resource, inventory: Inventory) -> str:
    target = resolve(inventory, router, "network", router.get("network"), (NETWORK,))
    if target is not None:
        return target.urn
    value = text(router.get("network"))
    return value.rstrip("/").rsplit("/", 1)[-1] if value else ""


@rule(
    "net-nat-region", types=(ROUTER_NAT,), severity=BLOCKS,
    title="a NAT, its router and the subnetworks it serves are not in one region and network",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/RouterNat.yaml",
)
def nat_region(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # A NAT is a section of its Cloud Router (RouterNat.yaml base_url
    # projects/{project}/regions/{region}/routers/{router}): its region is the router's. A Cloud NAT
    # gateway is regional and serves subnets of its router's region and VPC network
    # (https://cloud.google.com/nat/docs/overview).
    router = resolve(inventory, resource, "router", resource.get("router"), (ROUTER,))
    region = region_of(resource, inventory)
    if router is not None:
        router_region = region_of(router, inventory)
        if router_region and region and router_region != region:
            yield Problem("region", f"{resource.name} is declared in {region} but its router {router.name} is in {router_region}",
                          f"set region='{router_region}' on {resource.name}")
        region = router_region or region
    for index, item in enumerate(as_list(resource.get("subnetworks"))):
        if not isinstance(item, dict):
            continue
        subnet = resolve(inventory, resource, "subnetworks", item.get("name"), (SUBNETWORK,))
        if subnet is None:
            continue
        subnet_region = region_of(subnet, inventory)
        if subnet_region and region and subnet_region != region:
            yield Problem(f"subnetworks[{index}].name", f"{resource.name} (in {region}) lists subnet {subnet.name} of {subnet_region}: "
                          "a NAT serves only subnets in its router's region", f"declare a router and NAT in {subnet_region} for it")
        elif router is not None:
            router_net, subnet_net = _router_network(router, inventory), _network_key(subnet, inventory)
            if router_net and subnet_net and router_net != subnet_net:
                yield Problem(f"subnetworks[{index}].name", f"{resource.name}: subnet {subnet.name} is not in the VPC network of router "
                              f"{router.name}", "use a router on the subnet's network")


# --- addresses --------------------------------------------------------------------------------
@rule(
    "net-address-in-subnet", types=(ADDRESS, FORWARDING_RULE), severity=BLOCKS,
    title="a fixed internal IP is outside its subnetwork's primary range",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/Address.yaml",
)
def address_in_subnet(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # Address.address: "The IP address must be inside the specified subnetwork, if any."
    field = "address" if resource.type == ADDRESS else "ipAddress"
    value = text(resource.get(field))
    if not value or derived(resource, field):
        return
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return
    subnet = resolve(inventory, resource, "subnetwork", resource.get("subnetwork"), (SUBNETWORK,))
    if subnet is None:
        return
    primary = network(subnet.get("ipCidrRange"))
    if primary is not None and ip.version == primary.version and ip not in primary:
        yield Problem(field, f"{resource.name}: {field} {value} is not inside subnet {subnet.name}'s range {primary}",
                      f"pick an address inside {primary}, or omit it and let GCP choose one")


@rule(
    "net-psa-range", types=(PSA_CONNECTION,), severity=BLOCKS,
    title="a private services access connection reserves a range that is not an internal VPC_PEERING block of its network",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/GlobalAddress.yaml",
)
def psa_range(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    service = text(resource.get("service"))
    if service and service != "servicenetworking.googleapis.com":
        yield Problem("service", f"{resource.name}: service '{service}' is not servicenetworking.googleapis.com",
                      "set service='servicenetworking.googleapis.com'")
    ranges = resource.get("reservedPeeringRanges")
    if is_unknown(ranges):
        return
    if not as_list(ranges):
        yield Problem("reservedPeeringRanges", f"{resource.name} reserves no peering range",
                      "reserve a gcp.compute.GlobalAddress(purpose='VPC_PEERING', address_type='INTERNAL', prefix_length=16, "
                      "network=...) and pass its name")
    connection_net = resolve(inventory, resource, "network", resource.get("network"), (NETWORK,))
    for index, value in enumerate(as_list(ranges)):
        target = resolve(inventory, resource, "reservedPeeringRanges", value, (GLOBAL_ADDRESS,))
        if target is None:
            continue
        field = f"reservedPeeringRanges[{index}]"
        purpose = text(target.get("purpose")).upper()
        kind = text(target.get("addressType")).upper() or "EXTERNAL"
        if purpose != "VPC_PEERING" or kind != "INTERNAL":
            yield Problem(field, f"{resource.name} reserves {target.name}, which is purpose={purpose or '(unset)'} addressType={kind}; "
                          "private services access needs an INTERNAL VPC_PEERING range",
                          f"set purpose='VPC_PEERING' and address_type='INTERNAL' on {target.name}")
        if target.get("prefixLength") is None and not text(target.get("address")):
            yield Problem(field, f"{target.name} has no prefix_length: it reserves a single address, not a range",
                          f"set prefix_length (e.g. 16) on {target.name}")
        range_net = resolve(inventory, target, "network", target.get("network"), (NETWORK,))
        if connection_net is not None and range_net is not None and range_net.urn != connection_net.urn:
            yield Problem(field, f"{target.name} is reserved in network {range_net.name}, not in {connection_net.name} that "
                          f"{resource.name} peers", f"reserve the range in {connection_net.name}")
