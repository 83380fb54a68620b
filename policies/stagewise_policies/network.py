"""Network and edge: VPC, firewall, NAT, HTTPS load balancer and Cloud Armor."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from . import tokens as t
from .base import Finding, Resource, resource_rule
from .props import config_list, flag, get, items, strings, text

IAP_RANGE = "35.235.240.0/20"
# Google front ends and health checkers: the ranges a load balancer's traffic comes from.
LB_RANGES = ["130.211.0.0/22", "35.191.0.0/16"]
ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
# Subnet purposes that carry no VM traffic: flow logs and Private Google Access do not apply.
PROXY_PURPOSES = {"REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY", "INTERNAL_HTTPS_LOAD_BALANCER", "PRIVATE_SERVICE_CONNECT"}

# A rule's protocol is "one of the well known protocol strings (tcp, udp, icmp, esp, ah, ipip, sctp) or the
# IP protocol number"; ports are "an integer or a range", and none means "any port"
# (https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Compute.V1/latest/Google.Cloud.Compute.V1.Allowed).
# Rules reason about what the protocol is, not how it is spelled.
PROTOCOL_NUMBERS = {"1": "icmp", "4": "ipip", "6": "tcp", "17": "udp", "50": "esp", "51": "ah", "132": "sctp"}
PORTED = ("tcp", "udp", "sctp")
MAX_PORT = 65535
# Address space that is not the internet: a source inside it is not "the world".
_NOT_INTERNET = tuple(ipaddress.ip_network(cidr) for cidr in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
))
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
# More public addresses than a /8 (IPv4) or a /32 (IPv6, a whole ISP allocation) is open to the world,
# however the ranges are split (0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0).
WORLD_THRESHOLD = {4: 2 ** 24, 6: 2 ** 96}
# Firewall policy rules: sources that are other VMs, not addresses.
_INTERNAL_SCOPES = {"INTRA_VPC", "VPC_NETWORKS", "NON_INTERNET"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Allow:
    """What one allow entry opens: a protocol (normalised name) and its port ranges (None: every port)."""

    protocol: str
    ports: tuple[tuple[int, int], ...] | None

    @property
    def every_port(self) -> bool:
        return self.ports is None and self.protocol in (*PORTED, "all")

    def opens(self, port: int) -> bool:
        if self.protocol not in ("tcp", "all"):
            return False
        return self.ports is None or any(low <= port <= high for low, high in self.ports)


@dataclass(frozen=True)
class Ingress:
    """One ingress allow rule, whatever resource declares it: its sources and what it opens."""

    where: str  # "" for a VPC firewall rule, "rule <priority>" inside a firewall policy
    ranges: tuple[str, ...]  # source CIDRs (none given and no other source: 0.0.0.0/0)
    external: tuple[str, ...]  # other sources outside the VPC (region codes, FQDNs, address groups, …)
    world_sources: tuple[str, ...]  # non-CIDR sources that mean "anyone" (whole countries, the INTERNET scope)
    allows: tuple[Allow, ...]

    def prefix(self) -> str:
        return f"{self.where}: " if self.where else ""


def protocol_name(raw: str) -> str:
    lowered = raw.strip().lower()
    return PROTOCOL_NUMBERS.get(lowered, lowered or "all")


def port_ranges(protocol: str, ports: list[str]) -> tuple[tuple[int, int], ...] | None:
    """Port ranges of an allow entry, merged; None when they cover every port (1-65535, or none given)."""
    if protocol == "all" or (protocol in PORTED and not ports):
        return None
    ranges: list[tuple[int, int]] = []
    for port in ports:
        first, _, last = port.strip().partition("-")
        if first.strip().isdigit():
            ranges.append((int(first), int(last) if last.strip().isdigit() else int(first)))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    if protocol in PORTED and merged and merged[0][0] <= 1 and merged[-1][1] >= MAX_PORT and len(merged) == 1:
        return None
    return tuple(merged)


def _firewall_ingress(resource: Resource) -> list[Ingress]:
    """A VPC firewall rule; no ranges, tags or service accounts at all means 0.0.0.0/0."""
    props = resource.props
    if text(props, "direction", "INGRESS") != "INGRESS" or flag(props, "disabled") is True:
        return []
    allows = tuple(Allow(protocol_name(text(a, "protocol")), port_ranges(protocol_name(text(a, "protocol")),
                                                                          strings(get(a, "ports"))))
                   for a in items(get(props, "allows")))
    if not allows:
        return []
    ranges = strings(get(props, "sourceRanges"))
    if not ranges and not strings(get(props, "sourceTags")):
        try:
            accounts = strings(get(props, "sourceServiceAccounts"))
        except UnknownValueError:
            accounts = ["(known at apply)"]  # service accounts from another resource's output: internal sources
        if not accounts:
            ranges = ["0.0.0.0/0"]
    return [Ingress("", tuple(ranges), (), (), allows)]


def _policy_rule_ingress(rule: Any, where: str) -> list[Ingress]:
    """A rule of a (hierarchical, global or regional network) firewall policy
    (https://cloud.google.com/firewall/docs/firewall-policies-rule-details: "Firewall policy rules
    generally work the same as VPC firewall rules"). Only allow rules open anything; goto_next hands
    the decision on, deny blocks; apply_security_profile_group lets what the inspection passes through."""
    if text(rule, "action").lower() not in ("allow", "apply_security_profile_group"):
        return []
    if text(rule, "direction", "INGRESS") != "INGRESS" or flag(rule, "disabled") is True:
        return []
    match = get(rule, "match")
    allows = tuple(
        Allow(protocol_name(text(config, "ipProtocol")), port_ranges(protocol_name(text(config, "ipProtocol")),
                                                                     strings(get(config, "ports"))))
        for config in items(get(match, "layer4Configs"))
    ) or (Allow("all", None),)
    ranges = strings(get(match, "srcIpRanges"))
    scope = text(match, "srcNetworkScope").upper()
    countries = strings(get(match, "srcRegionCodes"))
    world = [f"region codes {', '.join(countries)}"] if countries else []
    if scope == "INTERNET":
        world.append("the INTERNET network scope")
    external = [*(f"FQDN {name}" for name in strings(get(match, "srcFqdns"))),
                *(f"address group {group.rsplit('/', 1)[-1]}" for group in strings(get(match, "srcAddressGroups"))),
                *(f"threat list {name}" for name in strings(get(match, "srcThreatIntelligences")))]
    internal = bool(items(get(match, "srcSecureTags")) or strings(get(match, "srcNetworks")) or scope in _INTERNAL_SCOPES)
    if not (ranges or world or external or internal):
        ranges = ["0.0.0.0/0"]
    return [Ingress(where, tuple(ranges), tuple(external), tuple(world), allows)]


def ingress_rules(resource: Resource) -> list[Ingress]:
    """Every ingress allow rule a resource declares: VPC firewall rules, firewall policy rules and
    the rules inside a firewall policy declared with its rules."""
    if resource.type == t.FIREWALL:
        return _firewall_ingress(resource)
    if resource.type in t.FIREWALL_POLICY_RULES:
        return _policy_rule_ingress(resource.props, "")
    if resource.type in t.FIREWALL_POLICIES_WITH_RULES:
        found: list[Ingress] = []
        for rule in items(get(resource.props, "rules")):
            found += _policy_rule_ingress(rule, f"rule {text(rule, 'priority') or _priority(rule)}")
        return found
    return []


def _priority(rule: Any) -> str:
    value = get(rule, "priority")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _networks(cidrs: list[str] | tuple[str, ...]) -> list[Network]:
    found: list[Network] = []
    for cidr in cidrs:
        try:
            found.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            continue
    return found


def _overlap(a: Network, b: Network) -> int:
    if a.version != b.version:
        return 0
    if b.subnet_of(a):  # type: ignore[arg-type]
        return b.num_addresses
    if a.subnet_of(b):  # type: ignore[arg-type]
        return a.num_addresses
    return 0


def public_addresses(network: Network) -> int:
    """Addresses of ``network`` on the internet (IPv4 minus private/reserved space; IPv6 global unicast)."""
    if network.version == 6:
        return _overlap(network, _GLOBAL_UNICAST_V6)
    return network.num_addresses - sum(_overlap(network, private) for private in _NOT_INTERNET)


def world_open(cidrs: list[str] | tuple[str, ...]) -> list[str]:
    """The ranges that, together, open a rule to the world ([] when they do not)."""
    opened: list[str] = []
    for version in (4, 6):
        mine = [(cidr, network) for cidr in cidrs for network in _networks([cidr]) if network.version == version]
        networks: list[Any] = [network for _, network in mine]
        collapsed: list[Network] = list(ipaddress.collapse_addresses(networks))
        if sum(public_addresses(network) for network in collapsed) >= WORLD_THRESHOLD[version]:
            opened += [cidr for cidr, network in mine if public_addresses(network)]
    return opened


def _within(cidr: str, allowed: list[str]) -> bool:
    networks = _networks([cidr])
    if not networks:
        return False
    outers = _networks(allowed)
    return any(networks[0].version == outer.version and networks[0].subnet_of(outer) for outer in outers)  # type: ignore[arg-type]


FIREWALL_TYPES_TEXT = "VPC firewall rules, firewall policy rules and firewall policies with rules"


@resource_rule(
    "net-no-world-ingress",
    family="network",
    description="No firewall rule (VPC rule or firewall policy rule) allows ingress from the world: 0.0.0.0/0, ::/0, "
                "ranges that add up to them (0.0.0.0/1 + 128.0.0.0/1), more public space than a /8, or whole countries.",
    severity=Severity.CRITICAL,
    remediation="Restrict source ranges to the load balancer ranges (130.211.0.0/22, 35.191.0.0/16), IAP (35.235.240.0/20) or your own CIDRs.",
    types=t.FIREWALLS,
    applies_to=FIREWALL_TYPES_TEXT,
    unknowns="fail-closed",
    anchor="CKV_GCP_2, CKV_GCP_3, CKV_GCP_88, CKV_GCP_106",
)
def no_world_ingress(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for rule in ingress_rules(resource):
        opened = world_open(rule.ranges)
        if opened:
            yield Finding(f"{rule.prefix()}allows ingress from the whole internet ({', '.join(opened)})",
                          "restrict the source ranges to load balancer, IAP or known CIDRs")
        for source in rule.world_sources:
            yield Finding(f"{rule.prefix()}allows ingress from {source}", "restrict the sources to known CIDRs")


@resource_rule(
    "net-admin-ports-iap-only",
    family="network",
    description="SSH (22) and RDP (3389) are reachable only from Identity-Aware Proxy (35.235.240.0/20), in VPC firewall rules and firewall policy rules.",
    severity=Severity.CRITICAL,
    remediation="Set the source ranges to ['35.235.240.0/20'] on the rule that opens 22/3389 and connect with `gcloud compute ssh --tunnel-through-iap`.",
    types=t.FIREWALLS,
    applies_to=FIREWALL_TYPES_TEXT,
    unknowns="fail-closed",
    anchor="CKV_GCP_2, CKV_GCP_3",
)
def admin_ports_iap_only(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for rule in ingress_rules(resource):
        # Only tags/service accounts (internal VMs) and no ranges: nothing is outside.
        outside = [cidr for cidr in rule.ranges if not _within(cidr, [IAP_RANGE])] + list(rule.world_sources) + list(rule.external)
        if not outside:
            continue
        for port, label in ADMIN_PORTS.items():
            if any(allow.opens(port) for allow in rule.allows):
                yield Finding(f"{rule.prefix()}{label} port {port} is open to {', '.join(outside)}", f"limit the sources to {IAP_RANGE}")


@resource_rule(
    "net-no-allow-all-ports",
    family="network",
    description="Firewall allow rules name protocols and ports; no rule opens every port (protocol all, no ports, or a range covering 1-65535).",
    severity=Severity.HIGH,
    remediation="List the ports the workload serves (e.g. tcp:8080) in the allow block.",
    types=t.FIREWALLS,
    applies_to=FIREWALL_TYPES_TEXT,
    unknowns="fail-closed",
)
def no_allow_all_ports(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for rule in ingress_rules(resource):
        for allow in rule.allows:
            if allow.every_port:
                yield Finding(f"{rule.prefix()}allows every port of protocol {allow.protocol}", "list the ports the workload needs")


@resource_rule(
    "net-firewall-logging",
    family="network",
    description="Firewall rules log connections (log_config on VPC rules, enable_logging on firewall policy allow and deny rules).",
    severity=Severity.LOW,
    remediation='Set log_config=FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA") (or EXCLUDE_ALL_METADATA to save cost); enable_logging=True on policy rules.',
    types=t.FIREWALLS,
    applies_to=FIREWALL_TYPES_TEXT,
)
def firewall_logging(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if resource.type == t.FIREWALL:
        if not text(resource.props, "logConfig.metadata"):
            yield Finding("connections matched by this rule are not logged", "set log_config.metadata")
        return
    rules = [resource.props] if resource.type in t.FIREWALL_POLICY_RULES else items(get(resource.props, "rules"))
    for rule in rules:
        # Logging "is not supported for goto_next rules" (https://cloud.google.com/firewall/docs/using-firewall-policies).
        if text(rule, "action").lower() in ("allow", "deny") and flag(rule, "enableLogging") is not True:
            where = "" if resource.type in t.FIREWALL_POLICY_RULES else f"rule {_priority(rule)}: "
            yield Finding(f"{where}connections matched by this rule are not logged", "set enable_logging=True")


def _is_default(reference: str, kind: str) -> bool:
    name = reference.rstrip("/").rsplit("/", 1)[-1]
    return name == "default" and (reference == "default" or f"/{kind}/" in reference)


def _network_references(resource: Resource) -> Iterator[tuple[str, str, str]]:
    """(where, reference, kind) of each network or subnetwork a resource attaches to. A reference that
    is another resource's output (unknown at preview) names a declared network, which is checked itself."""
    props = resource.props
    candidates: list[tuple[str, Any, str]] = []
    if resource.type in (t.FIREWALL, t.ROUTER, t.SUBNETWORK, t.VERTEX_ENDPOINT):
        candidates.append(("network", props, "network"))
    elif resource.type in t.VMS:
        for index, interface in enumerate(items(get(props, "networkInterfaces"))):
            candidates += [(f"network interface {index}", interface, "network"), (f"network interface {index}", interface, "subnetwork")]
    elif resource.type in (t.RUN_SERVICE, t.RUN_JOB):
        spec = get(props, "template.template") if resource.type == t.RUN_JOB else get(props, "template")
        for index, interface in enumerate(items(get(spec, "vpcAccess.networkInterfaces"))):
            candidates += [(f"VPC egress interface {index}", interface, "network"), (f"VPC egress interface {index}", interface, "subnetwork")]
    for where, holder, key in candidates:
        try:
            reference = text(holder, key)
        except UnknownValueError:
            continue
        if reference:
            yield where, reference, "networks" if key == "network" else "subnetworks"


@resource_rule(
    "net-no-default-network",
    family="network",
    description="Nothing is created in or attached to the default network (its pre-populated firewall rules open SSH, RDP and ICMP), "
                "and no VPC is auto-mode (the provider creates auto subnets unless told not to).",
    severity=Severity.HIGH,
    remediation="Declare a custom-mode VPC (auto_create_subnetworks=False) named for the stage, with the subnets you need, and attach everything to it.",
    types=[t.NETWORK, t.SUBNETWORK, t.FIREWALL, t.ROUTER, t.VERTEX_ENDPOINT, *t.VMS, t.RUN_SERVICE, t.RUN_JOB],
    applies_to="networks, subnets, firewall rules, routers, VMs, templates, Cloud Run VPC egress, Vertex AI endpoints",
    anchor="CKV_GCP_27 (intent)",
)
def no_default_network(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if resource.type == t.NETWORK:
        if text(resource.props, "name") == "default":
            yield Finding("the network is named 'default'", "give the network a stage-specific name")
        if flag(resource.props, "autoCreateSubnetworks", default=True) is not False:
            yield Finding("auto-mode subnets are created in every region", "set auto_create_subnetworks=False")
        return
    # The default network's subnets are named default in every region
    # (https://github.com/hashicorp/terraform-provider-google/issues/10133).
    for where, reference, kind in _network_references(resource):
        if _is_default(reference, kind):
            yield Finding(f"{where} is on the default network", "attach it to the stage's own VPC")


def _vm_subnet(resource: Resource) -> bool:
    return text(resource.props, "purpose", "PRIVATE") not in PROXY_PURPOSES


@resource_rule(
    "net-subnet-flow-logs",
    family="network",
    description="VM subnets keep VPC flow logs (proxy-only and PSC subnets are exempt).",
    severity=Severity.MEDIUM,
    remediation="Set log_config=SubnetworkLogConfigArgs(aggregation_interval='INTERVAL_5_SEC', flow_sampling=0.5).",
    types=[t.SUBNETWORK],
    anchor="CKV_GCP_26",
)
def subnet_flow_logs(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if _vm_subnet(resource) and get(resource.props, "logConfig") is None:
        yield Finding("VPC flow logs are off", "set log_config on the subnetwork")


@resource_rule(
    "net-private-google-access",
    family="network",
    description="VM subnets have Private Google Access, so workloads without external IPs reach Google APIs.",
    severity=Severity.MEDIUM,
    remediation="Set private_ip_google_access=True.",
    types=[t.SUBNETWORK],
    anchor="CKV_GCP_74",
)
def private_google_access(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if _vm_subnet(resource) and flag(resource.props, "privateIpGoogleAccess") is not True:
        yield Finding("Private Google Access is off", "set private_ip_google_access=True")


@resource_rule(
    "net-nat-logging",
    family="network",
    description="Cloud NAT logs translations (at least errors).",
    severity=Severity.LOW,
    remediation='Set log_config=RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY").',
    types=[t.ROUTER_NAT],
)
def nat_logging(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if flag(resource.props, "logConfig.enable") is not True:
        yield Finding("NAT logging is off", "set log_config.enable=True")


@resource_rule(
    "net-https-proxy-ssl-policy",
    family="network",
    description="HTTPS proxies carry an SSL policy (without one Google serves TLS 1.0 with legacy ciphers).",
    severity=Severity.HIGH,
    remediation="Declare gcp.compute.SSLPolicy(min_tls_version='TLS_1_2', profile='MODERN') and set ssl_policy on the proxy.",
    types=t.HTTPS_PROXIES,
    anchor="CKV_GCP_4 (intent)",
)
def https_proxy_ssl_policy(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not text(resource.props, "sslPolicy"):
        yield Finding("no SSL policy, so TLS 1.0 and weak ciphers are accepted", "set ssl_policy to a TLS 1.2+ policy")


@resource_rule(
    "net-ssl-policy-tls12",
    family="network",
    description="SSL policies require TLS 1.2 or newer and not the COMPATIBLE profile.",
    severity=Severity.HIGH,
    remediation="Set min_tls_version='TLS_1_2' and profile='MODERN' (or RESTRICTED).",
    types=t.SSL_POLICIES,
    anchor="CKV_GCP_4",
)
def ssl_policy_tls12(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    version = text(resource.props, "minTlsVersion", "TLS_1_0")
    if version not in ("TLS_1_2", "TLS_1_3"):
        yield Finding(f"minimum TLS version is {version}", "set min_tls_version='TLS_1_2'")
    if text(resource.props, "profile", "COMPATIBLE") == "COMPATIBLE":
        yield Finding("the COMPATIBLE profile allows weak ciphers", "set profile='MODERN' or 'RESTRICTED'")


def _external_backend(resource: Resource) -> bool:
    return text(resource.props, "loadBalancingScheme", "EXTERNAL") in ("EXTERNAL", "EXTERNAL_MANAGED")


@resource_rule(
    "lb-backend-cloud-armor",
    family="network",
    description="Internet-facing backend services are protected by a Cloud Armor security policy.",
    severity=Severity.HIGH,
    remediation="Declare gcp.compute.SecurityPolicy and set security_policy on the backend service.",
    types=t.BACKEND_SERVICES,
)
def backend_cloud_armor(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if _external_backend(resource) and not text(resource.props, "securityPolicy"):
        yield Finding("the internet-facing backend has no Cloud Armor policy", "set security_policy")


@resource_rule(
    "lb-backend-logging",
    family="network",
    description="Backend services log requests.",
    severity=Severity.MEDIUM,
    remediation="Set log_config=BackendServiceLogConfigArgs(enable=True, sample_rate=1.0).",
    types=t.BACKEND_SERVICES,
)
def backend_logging(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if flag(resource.props, "logConfig.enable") is not True:
        yield Finding("request logging is off", "set log_config.enable=True")


def _armor_rules(resource: Resource) -> list[Any]:
    return items(get(resource.props, "rules"))


@resource_rule(
    "armor-waf-rules",
    family="network",
    description="Cloud Armor policies deny at least one preconfigured WAF rule set (e.g. sqli, xss).",
    severity=Severity.HIGH,
    remediation="Add a rule with action 'deny(403)' and match.expr.expression \"evaluatePreconfiguredWaf('sqli-v33-stable')\".",
    types=[t.SECURITY_POLICY],
    params={"requiredWafSets": {"type": "array", "items": {"type": "string"}, "default": [],
                                "description": "WAF rule-set prefixes that must each be denied (e.g. sqli, xss)"}},
)
def armor_waf_rules(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    expressions = [
        text(rule, "match.expr.expression")
        for rule in _armor_rules(resource)
        if text(rule, "action").startswith("deny") and flag(rule, "preview") is not True
    ]
    waf = [e for e in expressions if "evaluatePreconfiguredWaf(" in e or "evaluatePreconfiguredExpr(" in e]
    if not waf:
        yield Finding("no enforced preconfigured WAF rule", "add a deny rule using evaluatePreconfiguredWaf")
        return
    for rule_set in config_list(config, "requiredWafSets"):
        if not any(f"'{rule_set}" in e or f'"{rule_set}' in e for e in waf):
            yield Finding(f"no enforced WAF rule for {rule_set}", f"add a deny rule for evaluatePreconfiguredWaf('{rule_set}-…')")


@resource_rule(
    "armor-rate-limit",
    family="network",
    description="Cloud Armor policies rate-limit clients (a throttle or rate_based_ban rule).",
    severity=Severity.MEDIUM,
    remediation="Add a rule with action 'throttle' and rate_limit_options (rate_limit_threshold, enforce_on_key='IP').",
    types=[t.SECURITY_POLICY],
)
def armor_rate_limit(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    limited = any(
        text(rule, "action") in ("throttle", "rate_based_ban") and get(rule, "rateLimitOptions") is not None
        for rule in _armor_rules(resource)
    )
    if not limited:
        yield Finding("no rate limit rule", "add a throttle or rate_based_ban rule with rate_limit_options")
