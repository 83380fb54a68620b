"""EdgeLoadBalancer: the global external Application Load Balancer (EXTERNAL_MANAGED) in front of
Cloud Run, with a Google-managed certificate, a TLS >= 1.2 SSL policy, HTTP→HTTPS redirect and a
Cloud Armor policy (OWASP WAF rules, per-client rate limit, Adaptive Protection).

Each backend ("track") is one backend service over a serverless NEG per region. With several tracks
the URL map splits traffic by weight: a canary is ``stable=90, canary=10``; blue/green is two tracks
whose weights flip from 100/0 to 0/100. Standby tracks stay declared (weight 0) so a switch is instant.

Usage::

    edge = EdgeLoadBalancer("edge", EdgeLoadBalancerArgs(
        project="my-project",
        domains=["chat.example.com"],
        backends=[
            EdgeBackend("stable", [ServerlessTarget("us-central1", chat.service_name)], weight=90),
            EdgeBackend("canary", [ServerlessTarget("us-central1", chat.service_name, tag="canary")], weight=10),
        ],
    ))
    pulumi.export("ip", edge.ip_address)   # point the domains' A records here

Behind it, run the services with ingress ``internal-and-cloud-load-balancing`` (and in prod
``default_uri_disabled``) so the load balancer is the only way in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.compute import (
    BackendServiceBackendArgs,
    BackendServiceLogConfigArgs,
    ManagedSslCertificateManagedArgs,
    RegionNetworkEndpointGroupCloudRunArgs,
    SecurityPolicyAdaptiveProtectionConfigArgs,
    SecurityPolicyAdaptiveProtectionConfigLayer7DdosDefenseConfigArgs,
    SecurityPolicyAdvancedOptionsConfigArgs,
    SecurityPolicyRuleArgs,
    SecurityPolicyRuleMatchArgs,
    SecurityPolicyRuleMatchConfigArgs,
    SecurityPolicyRuleMatchExprArgs,
    SecurityPolicyRuleRateLimitOptionsArgs,
    SecurityPolicyRuleRateLimitOptionsRateLimitThresholdArgs,
    URLMapDefaultRouteActionArgs,
    URLMapDefaultRouteActionWeightedBackendServiceArgs,
    URLMapDefaultUrlRedirectArgs,
)

from stagewise.components.limits import DEFAULT_WAF_RULES, FREE_TEXT_PATHS, RATE_INTERVALS, WAF_FAMILIES, is_waf_rule

SCHEME = "EXTERNAL_MANAGED"
SSL_PROFILES = frozenset({"MODERN", "RESTRICTED"})
ENFORCE_KEYS = frozenset({"IP", "XFF_IP", "USER_IP", "HTTP_HEADER"})
# Rule order matters: a throttle rule's conform action ("allow") ends evaluation, so deny lists and
# WAF rules must come first or conforming attackers would skip them.
DENY_PRIORITY = 100
WAF_PRIORITY = 1000
RATE_LIMIT_PRIORITY = 2000
DEFAULT_PRIORITY = 2147483647
MAX_RANGES_PER_RULE = 10  # Cloud Armor's limit of src_ip_ranges in one basic-match rule
# Preconfigured WAF families whose signatures read request arguments, POST bodies included
# (OWASP CRS: SQLi 942, XSS 941, LFI 930, RFI 931, RCE 932, PHP 933, Java 944, Node.js 934,
# session fixation 943). Cloud Armor can exclude headers, cookies, query parameters and URIs from a
# rule's inspection, but not body fields (https://cloud.google.com/armor/docs/rule-tuning, "Exclude
# request fields from inspection"), so on a free-text path these families are skipped by path.
# methodenforcement, scannerdetection and protocolattack read the request line and headers only
# and keep guarding free-text paths.
BODY_FAMILIES = frozenset({"sqli", "xss", "lfi", "rfi", "rce", "php", "java", "nodejs", "sessionfixation"})


@dataclass(frozen=True)
class ServerlessTarget:
    """A Cloud Run service (optionally one revision tag of it) in a region."""

    region: str
    service: pulumi.Input[str]
    tag: str | None = None


@dataclass(frozen=True)
class EdgeBackend:
    """A traffic track: one backend service over a serverless NEG per target, and its weight (percent)."""

    key: str
    targets: Sequence[ServerlessTarget]
    weight: int = 100

    def __post_init__(self) -> None:
        if not re.match(r"^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$", self.key):
            raise ValueError(f"backend key {self.key!r}: use up to 20 lowercase letters, digits and dashes")
        if not self.targets:
            raise ValueError(f"backend {self.key}: no targets; give at least one ServerlessTarget(region, service)")
        regions = [target.region for target in self.targets]
        if len(set(regions)) != len(regions):
            raise ValueError(f"backend {self.key}: two targets in one region ({regions}); a backend has one NEG per region")
        if not 0 <= self.weight <= 100:
            raise ValueError(f"backend {self.key}: weight {self.weight} is a percent; use 0..100")


@dataclass(frozen=True)
class RateLimit:
    """Per-client rate limit. ``throttle`` answers 429 above the rate; ``ban`` blocks the client for a while."""

    action: str = "throttle"
    requests: int = 300
    interval_sec: int = 60
    ban_duration_sec: int = 600
    enforce_on_key: str = "IP"
    enforce_on_key_name: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ("throttle", "ban"):
            raise ValueError(f"rate limit action {self.action!r}: use throttle or ban")
        if self.interval_sec not in RATE_INTERVALS:
            raise ValueError(f"rate limit interval_sec {self.interval_sec}: use one of {', '.join(map(str, RATE_INTERVALS))}")
        if self.requests < 1:
            raise ValueError("rate limit requests must be at least 1")
        if self.enforce_on_key not in ENFORCE_KEYS:
            raise ValueError(f"rate limit enforce_on_key {self.enforce_on_key!r}: use one of {sorted(ENFORCE_KEYS)}")
        if (self.enforce_on_key == "HTTP_HEADER") != bool(self.enforce_on_key_name):
            raise ValueError("enforce_on_key_name is needed with (and only with) enforce_on_key HTTP_HEADER")


@dataclass(frozen=True)
class ArmorSettings:
    """Cloud Armor policy settings; the defaults are the secure baseline."""

    waf_rules: Sequence[str] = DEFAULT_WAF_RULES
    waf_sensitivity: int = 1
    waf_preview: bool = False
    rate_limit: RateLimit | None = field(default_factory=RateLimit)
    adaptive_protection: bool = True
    denied_ranges: Sequence[str] = ()
    # Paths whose bodies are free text (chat messages may quote SQL, HTML or shell): the rule
    # families that read request arguments (and so the body) skip them, instead of answering 403 to
    # a user who asks about a SELECT statement. Families that read only the request line and
    # headers still apply there, and so do rate limits. See BODY_FAMILIES.
    free_text_paths: Sequence[str] = FREE_TEXT_PATHS

    def __post_init__(self) -> None:
        for path in self.free_text_paths:
            if not re.match(r"^/[-/_.a-zA-Z0-9]*$", path):
                raise ValueError(f"free_text_paths: {path!r} must be a URL path prefix such as /v1/chat")
        for rule in self.waf_rules:
            if not is_waf_rule(rule):
                raise ValueError(
                    f"waf rule {rule!r} is not a preconfigured Cloud Armor rule; use names like sqli-v33-stable "
                    f"(families: {', '.join(sorted(WAF_FAMILIES))})"
                )
        if not 1 <= self.waf_sensitivity <= 4:
            raise ValueError(f"waf_sensitivity {self.waf_sensitivity}: use 1..4 (0 would disable every signature)")
        for cidr in self.denied_ranges:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"denied_ranges: {cidr!r} is not an IP range; write it like 198.51.100.0/24") from None


@dataclass
class EdgeLoadBalancerArgs:
    project: pulumi.Input[str]
    domains: Sequence[str]
    backends: Sequence[EdgeBackend]
    ssl_profile: str = "MODERN"
    min_tls_version: str = "TLS_1_2"
    http_redirect: bool = True
    log_sample_rate: float = 1.0
    armor: ArmorSettings = field(default_factory=ArmorSettings)
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.domains:
            raise ValueError("domains is empty; the managed certificate needs at least one domain name")
        if any(domain.startswith("*") for domain in self.domains):
            raise ValueError("domains: Google-managed certificates don't cover wildcards; list each name")
        if not self.backends:
            raise ValueError("backends is empty; give at least one EdgeBackend")
        keys = [backend.key for backend in self.backends]
        if len(set(keys)) != len(keys):
            raise ValueError(f"backend keys repeat ({keys}); give each track its own key")
        total = sum(backend.weight for backend in self.backends)
        if len(self.backends) > 1 and total != 100:
            raise ValueError(f"backend weights add up to {total}; make them add up to 100")
        if self.ssl_profile not in SSL_PROFILES:
            raise ValueError(f"ssl_profile {self.ssl_profile!r}: use MODERN or RESTRICTED (COMPATIBLE allows weak ciphers)")
        if self.min_tls_version != "TLS_1_2":
            raise ValueError(f"min_tls_version {self.min_tls_version!r}: TLS_1_2 is the floor; older versions are insecure")
        if not 0 <= self.log_sample_rate <= 1:
            raise ValueError("log_sample_rate is a share of requests; use 0..1")


class EdgeLoadBalancer(pulumi.ComponentResource):
    """Global HTTPS load balancer + Cloud Armor over serverless NEGs, with weighted tracks."""

    def __init__(self, name: str, args: EdgeLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:EdgeLoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.security_policy = self._security_policy(name, args)

        self.negs: dict[str, list[gcp.compute.RegionNetworkEndpointGroup]] = {}
        self.backend_services: dict[str, gcp.compute.BackendService] = {}
        for backend in args.backends:
            negs = [
                gcp.compute.RegionNetworkEndpointGroup(
                    f"{name}-{backend.key}-{target.region}",
                    project=args.project,
                    region=target.region,
                    network_endpoint_type="SERVERLESS",
                    cloud_run=RegionNetworkEndpointGroupCloudRunArgs(service=target.service, tag=target.tag),
                    opts=child,
                )
                for target in backend.targets
            ]
            self.negs[backend.key] = negs
            # Serverless NEGs take no health check, port or timeout: Cloud Run answers for its instances.
            self.backend_services[backend.key] = gcp.compute.BackendService(
                f"{name}-{backend.key}",
                project=args.project,
                load_balancing_scheme=SCHEME,
                protocol="HTTPS",
                backends=[BackendServiceBackendArgs(group=neg.id) for neg in negs],
                security_policy=self.security_policy.id,
                log_config=BackendServiceLogConfigArgs(enable=True, sample_rate=args.log_sample_rate),
                enable_cdn=False,
                description=f"track {backend.key} ({backend.weight}%)",
                opts=child,
            )

        single = args.backends[0].key if len(args.backends) == 1 else None
        self.url_map = gcp.compute.URLMap(
            f"{name}-https",
            project=args.project,
            # One track: a plain default service. Several: a weighted split (canary / blue-green).
            default_service=self.backend_services[single].id if single else None,
            default_route_action=None if single else self._weighted(args),
            opts=child,
        )
        self.certificate = gcp.compute.ManagedSslCertificate(
            f"{name}-cert",
            project=args.project,
            type="MANAGED",
            managed=ManagedSslCertificateManagedArgs(domains=list(args.domains)),
            # Auto-named, so a changed domain list creates the new certificate before deleting the old one.
            opts=child,
        )
        self.ssl_policy = gcp.compute.SSLPolicy(
            f"{name}-tls",
            project=args.project,
            profile=args.ssl_profile,
            min_tls_version=args.min_tls_version,
            opts=child,
        )
        self.https_proxy = gcp.compute.TargetHttpsProxy(
            f"{name}-https",
            project=args.project,
            url_map=self.url_map.id,
            ssl_certificates=[self.certificate.id],
            ssl_policy=self.ssl_policy.id,
            opts=child,
        )
        self.address = gcp.compute.GlobalAddress(
            f"{name}-ip", project=args.project, address_type="EXTERNAL", ip_version="IPV4", labels=dict(args.labels), opts=child
        )
        self.https_rule = gcp.compute.GlobalForwardingRule(
            f"{name}-https",
            project=args.project,
            load_balancing_scheme=SCHEME,
            ip_protocol="TCP",
            port_range="443",
            ip_address=self.address.id,
            target=self.https_proxy.id,
            labels=dict(args.labels),
            opts=child,
        )
        self.http_rule: gcp.compute.GlobalForwardingRule | None = None
        if args.http_redirect:
            redirect_map = gcp.compute.URLMap(
                f"{name}-redirect",
                project=args.project,
                default_url_redirect=URLMapDefaultUrlRedirectArgs(
                    https_redirect=True, redirect_response_code="MOVED_PERMANENTLY_DEFAULT", strip_query=False
                ),
                opts=child,
            )
            http_proxy = gcp.compute.TargetHttpProxy(f"{name}-redirect", project=args.project, url_map=redirect_map.id, opts=child)
            self.http_rule = gcp.compute.GlobalForwardingRule(
                f"{name}-http",
                project=args.project,
                load_balancing_scheme=SCHEME,
                ip_protocol="TCP",
                port_range="80",
                ip_address=self.address.id,
                target=http_proxy.id,
                labels=dict(args.labels),
                opts=child,
            )

        self.ip_address: pulumi.Output[str] = self.address.address
        self.url: str = f"https://{args.domains[0]}"
        self.security_policy_id: pulumi.Output[str] = self.security_policy.id
        self.backend_service_ids: dict[str, pulumi.Output[str]] = {k: b.id for k, b in self.backend_services.items()}
        self.register_outputs(
            {
                "ip_address": self.ip_address,
                "url": self.url,
                "security_policy_id": self.security_policy_id,
                "backend_service_ids": self.backend_service_ids,
            }
        )

    def _weighted(self, args: EdgeLoadBalancerArgs) -> URLMapDefaultRouteActionArgs:
        return URLMapDefaultRouteActionArgs(
            weighted_backend_services=[
                URLMapDefaultRouteActionWeightedBackendServiceArgs(
                    backend_service=self.backend_services[backend.key].id, weight=backend.weight
                )
                for backend in args.backends
            ]
        )

    def _security_policy(self, name: str, args: EdgeLoadBalancerArgs) -> gcp.compute.SecurityPolicy:
        armor = args.armor
        rules: list[SecurityPolicyRuleArgs] = []
        ranges = list(armor.denied_ranges)
        for index in range(0, len(ranges), MAX_RANGES_PER_RULE):
            rules.append(
                SecurityPolicyRuleArgs(
                    action="deny(403)",
                    priority=DENY_PRIORITY + index // MAX_RANGES_PER_RULE,
                    match=_src_ips(ranges[index : index + MAX_RANGES_PER_RULE]),
                    description="denied source ranges",
                )
            )
        exempt = "".join(f"!request.path.startsWith('{path}') && " for path in armor.free_text_paths)
        for index, waf_rule in enumerate(armor.waf_rules):
            skips_free_text = bool(exempt) and waf_rule.split("-", 1)[0] in BODY_FAMILIES
            rules.append(
                SecurityPolicyRuleArgs(
                    action="deny(403)",
                    priority=WAF_PRIORITY + index,
                    match=SecurityPolicyRuleMatchArgs(
                        expr=SecurityPolicyRuleMatchExprArgs(
                            expression=(exempt if skips_free_text else "")
                            + f"evaluatePreconfiguredWaf('{waf_rule}', {{'sensitivity': {armor.waf_sensitivity}}})"
                        )
                    ),
                    preview=armor.waf_preview,
                    description=f"OWASP CRS {waf_rule}" + (" (not on free-text paths)" if skips_free_text else ""),
                )
            )
        if armor.rate_limit is not None:
            rules.append(_rate_limit_rule(armor.rate_limit))
        rules.append(
            SecurityPolicyRuleArgs(action="allow", priority=DEFAULT_PRIORITY, match=_src_ips(["*"]), description="default: allow")
        )
        adaptive = None
        if armor.adaptive_protection:
            adaptive = SecurityPolicyAdaptiveProtectionConfigArgs(
                layer7_ddos_defense_config=SecurityPolicyAdaptiveProtectionConfigLayer7DdosDefenseConfigArgs(
                    enable=True, rule_visibility="STANDARD"
                )
            )
        return gcp.compute.SecurityPolicy(
            f"{name}-armor",
            project=args.project,
            type="CLOUD_ARMOR",
            description="stagewise edge: OWASP WAF, per-client rate limit, adaptive protection",
            rules=rules,
            adaptive_protection_config=adaptive,
            # Parse JSON bodies so WAF signatures match field values, not the JSON punctuation around them.
            advanced_options_config=SecurityPolicyAdvancedOptionsConfigArgs(json_parsing="STANDARD", log_level="NORMAL"),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _src_ips(ranges: list[str]) -> SecurityPolicyRuleMatchArgs:
    return SecurityPolicyRuleMatchArgs(versioned_expr="SRC_IPS_V1", config=SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=ranges))


def _rate_limit_rule(limit: RateLimit) -> SecurityPolicyRuleArgs:
    ban = limit.action == "ban"
    return SecurityPolicyRuleArgs(
        action="rate_based_ban" if ban else "throttle",
        priority=RATE_LIMIT_PRIORITY,
        match=_src_ips(["*"]),
        description=f"per-client rate limit: {limit.requests} requests / {limit.interval_sec}s",
        rate_limit_options=SecurityPolicyRuleRateLimitOptionsArgs(
            conform_action="allow",
            exceed_action="deny(429)",
            enforce_on_key=limit.enforce_on_key,
            enforce_on_key_name=limit.enforce_on_key_name,
            rate_limit_threshold=SecurityPolicyRuleRateLimitOptionsRateLimitThresholdArgs(
                count=limit.requests, interval_sec=limit.interval_sec
            ),
            ban_duration_sec=limit.ban_duration_sec if ban else None,
        ),
    )
