"""Network and edge: VPC, firewall, NAT, HTTPS load balancer and Cloud Armor."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from . import tokens as t
from .base import Finding, Resource, resource_rule
from .props import config_list, flag, get, items, strings, text

WORLD = ("0.0.0.0/0", "::/0")
IAP_RANGE = "35.235.240.0/20"
# Google front ends and health checkers: the ranges a load balancer's traffic comes from.
LB_RANGES = ["130.211.0.0/22", "35.191.0.0/16"]
ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
# Subnet purposes that carry no VM traffic: flow logs and Private Google Access do not apply.
PROXY_PURPOSES = {"REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY", "INTERNAL_HTTPS_LOAD_BALANCER", "PRIVATE_SERVICE_CONNECT"}


def _sources(resource: Resource) -> list[str]:
    """Source ranges of an ingress rule; none at all (no ranges, tags or service accounts) means 0.0.0.0/0."""
    props = resource.props
    ranges = strings(get(props, "sourceRanges"))
    if ranges or strings(get(props, "sourceTags")):
        return ranges
    try:
        accounts = strings(get(props, "sourceServiceAccounts"))
    except UnknownValueError:
        return []  # service accounts from another resource's output: internal sources, known at apply
    return ranges if accounts else ["0.0.0.0/0"]


def _ingress_allow(resource: Resource) -> bool:
    props = resource.props
    return text(props, "direction", "INGRESS") == "INGRESS" and bool(items(get(props, "allows"))) and flag(props, "disabled") is not True


def _port_ranges(allow: Any) -> list[tuple[int, int]] | None:
    """Port ranges an allow block opens; None means every port."""
    protocol = text(allow, "protocol").lower()
    ports = strings(get(allow, "ports"))
    if protocol in ("all", "") or (protocol in ("tcp", "udp", "sctp") and not ports):
        return None
    ranges: list[tuple[int, int]] = []
    for port in ports:
        low, _, high = port.partition("-")
        if low.strip().isdigit():
            ranges.append((int(low), int(high) if high.strip().isdigit() else int(low)))
    return ranges


def _opens(allow: Any, port: int) -> bool:
    protocol = text(allow, "protocol").lower()
    if protocol not in ("tcp", "all", ""):
        return False
    ranges = _port_ranges(allow)
    return ranges is None or any(low <= port <= high for low, high in ranges)


def _within(cidr: str, allowed: list[str]) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    for candidate in allowed:
        try:
            outer = ipaddress.ip_network(candidate, strict=False)
        except ValueError:
            continue
        if network.version == outer.version and network.subnet_of(outer):  # type: ignore[arg-type]
            return True
    return False


@resource_rule(
    "net-no-world-ingress",
    family="network",
    description="No firewall rule allows ingress from 0.0.0.0/0 or ::/0 (load balancer and health-check ranges are the way in).",
    severity=Severity.CRITICAL,
    remediation="Restrict source_ranges to the load balancer ranges (130.211.0.0/22, 35.191.0.0/16), IAP (35.235.240.0/20) or your own CIDRs.",
    types=[t.FIREWALL],
    unknowns="fail-closed",
    anchor="CKV_GCP_2, CKV_GCP_3, CKV_GCP_88",
)
def no_world_ingress(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not _ingress_allow(resource):
        return
    open_ranges = [cidr for cidr in _sources(resource) if cidr in WORLD]
    if open_ranges:
        yield Finding(f"allows ingress from {', '.join(open_ranges)}", "restrict source_ranges to load balancer, IAP or known CIDRs")


@resource_rule(
    "net-admin-ports-iap-only",
    family="network",
    description="SSH (22) and RDP (3389) are reachable only from Identity-Aware Proxy (35.235.240.0/20).",
    severity=Severity.CRITICAL,
    remediation="Set source_ranges=['35.235.240.0/20'] on the rule that opens 22/3389 and connect with `gcloud compute ssh --tunnel-through-iap`.",
    types=[t.FIREWALL],
    unknowns="fail-closed",
    anchor="CKV_GCP_2, CKV_GCP_3",
)
def admin_ports_iap_only(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not _ingress_allow(resource):
        return
    # Only tags/service accounts (internal VMs) and no ranges: _sources gives [] and nothing is outside.
    outside = [cidr for cidr in _sources(resource) if not _within(cidr, [IAP_RANGE])]
    if not outside:
        return
    for port, label in ADMIN_PORTS.items():
        if any(_opens(allow, port) for allow in items(get(resource.props, "allows"))):
            yield Finding(f"{label} port {port} is open to {', '.join(outside)}", f"limit source_ranges to {IAP_RANGE}")


@resource_rule(
    "net-no-allow-all-ports",
    family="network",
    description="Firewall allow rules name protocols and ports; no rule opens every port.",
    severity=Severity.HIGH,
    remediation="List the ports the workload serves (e.g. tcp:8080) in the allow block.",
    types=[t.FIREWALL],
    unknowns="fail-closed",
)
def no_allow_all_ports(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not _ingress_allow(resource):
        return
    for allow in items(get(resource.props, "allows")):
        if _port_ranges(allow) is None:
            protocol = text(allow, "protocol") or "all"
            yield Finding(f"allows every port of protocol {protocol}", "list the ports the workload needs")


@resource_rule(
    "net-firewall-logging",
    family="network",
    description="Firewall rules log connections (log_config set).",
    severity=Severity.LOW,
    remediation='Set log_config=FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA") (or EXCLUDE_ALL_METADATA to save cost).',
    types=[t.FIREWALL],
)
def firewall_logging(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not text(resource.props, "logConfig.metadata"):
        yield Finding("connections matched by this rule are not logged", "set log_config.metadata")


@resource_rule(
    "net-no-default-network",
    family="network",
    description="No default network and no auto-mode VPC (the provider creates auto subnets unless told not to).",
    severity=Severity.HIGH,
    remediation="Set auto_create_subnetworks=False, name the network for the stage, and declare the subnets you need.",
    types=[t.NETWORK],
    anchor="CKV_GCP_59 (intent)",
)
def no_default_network(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if text(resource.props, "name") == "default":
        yield Finding("the network is named 'default'", "give the network a stage-specific name")
    if flag(resource.props, "autoCreateSubnetworks", default=True) is not False:
        yield Finding("auto-mode subnets are created in every region", "set auto_create_subnetworks=False")


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
    anchor="CKV_GCP_15 (intent)",
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
    anchor="CKV_GCP_15",
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
