"""Edge: the external Application Load Balancer, serverless NEGs, certificates, SSL and Cloud Armor policies.

Sources (read 2026-11):
- serverless NEG backend services take no health check, port name or timeout:
  https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts#backend-service-limitations and the
  API errors quoted in terraform-provider-google #7311, terraform-google-lb-http #448 and PR #358.
- load balancing schemes must match between forwarding rule and backend service
  (cloud-foundation-fabric #1065); advanced routing is refused for scheme EXTERNAL
  (terraform-provider-google #8307). Both schemes default to EXTERNAL_MANAGED in pulumi-gcp 10.2.
- certificates: ManagedSslCertificate.yaml (up to 100 domains), Certificate Manager's domain authorization page
  (load balancer authorization supports no wildcard), RFC 2606 (reserved example domains).
- Cloud Armor: the provider's security policy schema (unique priorities, the default rule at 2147483647, rate
  limit options, enums), the API's rule actions, and the preconfigured WAF rule list.
- SSL policies: SslPolicy.yaml and its sslPolicyCustomizeDiff.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import Inventory, Resource, as_list, is_unknown
from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Problem
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules._refs import integer, name_of, region_of, resolve, text

BACKEND_SERVICE = "gcp:compute/backendService:BackendService"
REGION_BACKEND_SERVICE = "gcp:compute/regionBackendService:RegionBackendService"
BACKEND_SERVICES = (BACKEND_SERVICE, REGION_BACKEND_SERVICE)
NEG = "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup"
URL_MAP = "gcp:compute/uRLMap:URLMap"
REGION_URL_MAP = "gcp:compute/regionUrlMap:RegionUrlMap"
URL_MAPS = (URL_MAP, REGION_URL_MAP)
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
PROXIES = (HTTPS_PROXY, HTTP_PROXY)
GLOBAL_FORWARDING_RULE = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
MANAGED_CERT = "gcp:compute/managedSslCertificate:ManagedSslCertificate"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
SECURITY_POLICY = "gcp:compute/securityPolicy:SecurityPolicy"
DNS_RECORD = "gcp:dns/recordSet:RecordSet"
RUN_SERVICES = ("gcp:cloudrunv2/service:Service", "gcp:cloudrun/service:Service")

# pulumi-gcp 10.2: BackendService and GlobalForwardingRule load_balancing_scheme default to EXTERNAL_MANAGED.
DEFAULT_SCHEME = "EXTERNAL_MANAGED"
# "Serverless NEGs are not supported by proxy Network Load Balancers and passthrough Network Load Balancers."
NON_HTTP_PROTOCOLS = frozenset({"TCP", "SSL", "UDP", "UNSPECIFIED"})

MAX_CERT_DOMAINS = 100  # ManagedSslCertificate.managed.domains: "up to 100 domains"
MAX_PROXY_CERTS = 15  # TargetHttpsProxy.sslCertificates: "you may specify up to 15 SSL certificates"
# RFC 2606 (https://www.rfc-editor.org/rfc/rfc2606.html): example second-level domains and reserved TLDs.
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

ARMOR_DEFAULT_PRIORITY = 2147483647
# API rule actions (SecurityPolicyRule.action): allow, deny(403|404|502), rate_based_ban, redirect, throttle.
ARMOR_ACTIONS = frozenset({"allow", "deny(403)", "deny(404)", "deny(502)", "rate_based_ban", "redirect", "throttle", "fairshare"})
RATE_LIMITED_ACTIONS = frozenset({"throttle", "rate_based_ban"})
EXCEED_ACTIONS = frozenset({"redirect", "deny(403)", "deny(404)", "deny(429)", "deny(502)"})
MAX_SRC_IP_RANGES = 10  # "There is a limit of 10 IP ranges per rule."
MAX_RULE_DESCRIPTION = 64
# https://cloud.google.com/armor/docs/waf-rules: CRS 3.3 (-v33-), CRS 4.22 (-v422-) and CRS 3.0 (no version) rule sets.
WAF_FAMILIES_V33 = frozenset({
    "sqli", "xss", "lfi", "rfi", "rce", "methodenforcement", "scannerdetection", "protocolattack", "php",
    "sessionfixation", "java", "nodejs",
})
WAF_FAMILIES_V30 = WAF_FAMILIES_V33
WAF_OTHER = frozenset({"cve-canary", "json-sqli-canary"})
# https://cloud.google.com/armor/docs/rule-tuning: "a sensitivity between 0 and 4".
WAF_SENSITIVITY = range(0, 5)
_WAF_CALL = re.compile(r"evaluatePreconfigured(?:Waf|Expr)\(\s*(['\"])([^'\"]*)\1(.*?)\)", re.S)
_SENSITIVITY = re.compile(r"['\"]sensitivity['\"]\s*:\s*(-?\d+)")

SSL_PROFILES = frozenset({"COMPATIBLE", "MODERN", "RESTRICTED", "CUSTOM", "FIPS_202205"})
TLS_VERSIONS = frozenset({"TLS_1_0", "TLS_1_1", "TLS_1_2", "TLS_1_3"})


# --- references -------------------------------------------------------------------------------
def _backend_groups(service: Resource, inventory: Inventory) -> Iterator[tuple[int, Resource]]:
    for index, backend in enumerate(as_list(service.get("backends"))):
        if isinstance(backend, dict):
            target = resolve(inventory, service, "backends", backend.get("group"), (NEG,))
            if target is not None:
                yield index, target


def _serverless(neg: Resource) -> bool:
    return text(neg.get("networkEndpointType")).upper() == "SERVERLESS"


def _scheme(resource: Resource) -> str:
    value = resource.get("loadBalancingScheme")
    if is_unknown(value):
        return ""
    return text(value).upper() or DEFAULT_SCHEME


def _url_map_services(url_map: Resource) -> Iterator[tuple[str, Any, bool]]:
    """(field, reference, weighted?) of every backend service a URL map routes to."""
    def route_action(prefix: str, action: Any) -> Iterator[tuple[str, Any, bool]]:
        if isinstance(action, dict):
            for index, item in enumerate(as_list(action.get("weightedBackendServices"))):
                if isinstance(item, dict):
                    yield f"{prefix}.weightedBackendServices[{index}].backendService", item.get("backendService"), True

    if url_map.get("defaultService") is not None:
        yield "defaultService", url_map.get("defaultService"), False
    yield from route_action("defaultRouteAction", url_map.get("defaultRouteAction"))
    for m, matcher in enumerate(as_list(url_map.get("pathMatchers"))):
        if not isinstance(matcher, dict):
            continue
        base = f"pathMatchers[{m}]"
        if matcher.get("defaultService") is not None:
            yield f"{base}.defaultService", matcher.get("defaultService"), False
        yield from route_action(f"{base}.defaultRouteAction", matcher.get("defaultRouteAction"))
        for kind in ("pathRules", "routeRules"):
            for r, path_rule in enumerate(as_list(matcher.get(kind))):
                if not isinstance(path_rule, dict):
                    continue
                if path_rule.get("service") is not None:
                    yield f"{base}.{kind}[{r}].service", path_rule.get("service"), False
                yield from route_action(f"{base}.{kind}[{r}].routeAction", path_rule.get("routeAction"))


def _chain(rule_: Resource, inventory: Inventory) -> tuple[Resource | None, Resource | None]:
    proxy = resolve(inventory, rule_, "target", rule_.get("target"), PROXIES)
    if proxy is None:
        return None, None
    return proxy, resolve(inventory, proxy, "urlMap", proxy.get("urlMap"), URL_MAPS)


# --- serverless NEGs --------------------------------------------------------------------------
@rule(
    "edge-serverless-neg-backend", types=BACKEND_SERVICES, severity=BLOCKS,
    title="a backend service with serverless NEG backends sets a health check, port name or timeout",
    source="https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts#backend-service-limitations",
)
def serverless_neg_backend(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    serverless = [neg for _, neg in _backend_groups(resource, inventory) if _serverless(neg)]
    if not serverless:
        return
    which = serverless[0].name
    checks = resource.get("healthChecks")
    if checks is not None and as_list(checks):
        yield Problem("healthChecks", f"{resource.name} routes to serverless NEG {which} and sets healthChecks: GCP refuses a "
                      "health check on a backend service with serverless NEG backends", "drop health_checks (Cloud Run checks its "
                      "own instances: use startup/liveness probes on the service)")
    if text(resource.get("portName")):
        yield Problem("portName", f"{resource.name} routes to serverless NEG {which} and sets portName, which serverless NEG "
                      "backends do not support", "drop port_name")
    if resource.get("timeoutSec") is not None:
        yield Problem("timeoutSec", f"{resource.name} routes to serverless NEG {which} and sets timeoutSec: 'Timeout sec is not "
                      "supported for a backend service with Serverless network endpoint groups'",
                      "drop timeout_sec and set the request timeout on the Cloud Run service instead")


@rule(
    "edge-serverless-neg-lb-type", types=BACKEND_SERVICES, severity=BLOCKS,
    title="a serverless NEG sits behind a network (non-HTTP) load balancer",
    source="https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts",
)
def serverless_neg_lb_type(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    serverless = [neg for _, neg in _backend_groups(resource, inventory) if _serverless(neg)]
    if not serverless:
        return
    protocol = text(resource.get("protocol")).upper()
    scheme = _scheme(resource)
    if protocol in NON_HTTP_PROTOCOLS:
        yield Problem("protocol", f"{resource.name} uses protocol {protocol} with serverless NEG {serverless[0].name}: serverless "
                      "NEGs work only behind Application Load Balancers", "set protocol='HTTPS' (or HTTP/HTTP2)")
    elif scheme == "INTERNAL":
        yield Problem("loadBalancingScheme", f"{resource.name} is a passthrough (INTERNAL) backend service with serverless NEG "
                      f"{serverless[0].name}, which it cannot serve", "use an Application Load Balancer scheme "
                      "(EXTERNAL_MANAGED or INTERNAL_MANAGED)")


@rule(
    "edge-neg-run-region", types=(NEG,), severity=BROKEN,
    title="a serverless NEG names a Cloud Run service the program declares only in other regions",
    source="https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts",
)
def neg_run_region(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # A regional serverless NEG reaches the Cloud Run service of its own region only.
    if not _serverless(resource):
        return
    cloud_run = resource.get("cloudRun")
    if not isinstance(cloud_run, dict):
        return
    service = text(cloud_run.get("service"))
    if not service:
        return
    service = service.rsplit("/", 1)[-1]
    region = region_of(resource, inventory)
    matches = [r for r in inventory.of_type(*RUN_SERVICES) if name_of(r) == service]
    if not matches or not region:
        return
    regions = sorted({region_of(r, inventory, key="location") for r in matches})
    if region not in regions:
        yield Problem("cloudRun.service", f"{resource.name} in {region} points at Cloud Run service '{service}', which the program "
                      f"deploys only in {', '.join(regions)}: the NEG finds no service and the load balancer answers errors",
                      f"set region to one of {', '.join(regions)}, or deploy '{service}' in {region}")


# --- load balancing schemes -------------------------------------------------------------------
@stack_rule(
    "edge-scheme-mismatch", severity=BLOCKS, types=(GLOBAL_FORWARDING_RULE, *URL_MAPS, *BACKEND_SERVICES),
    title="a forwarding rule, its URL map's backend services and each other disagree on EXTERNAL vs EXTERNAL_MANAGED",
    source="https://github.com/GoogleCloudPlatform/cloud-foundation-fabric/issues/1065",
)
def scheme_mismatch(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    # "Load balancing scheme EXTERNAL_MANAGED does not match the backend service load balancing scheme EXTERNAL."
    for url_map in inventory.of_type(URL_MAP):
        schemes: dict[str, Resource] = {}
        for field, ref, _weighted in _url_map_services(url_map):
            service = resolve(inventory, url_map, field, ref, (BACKEND_SERVICE,))
            if service is not None and _scheme(service) in ("EXTERNAL", "EXTERNAL_MANAGED"):
                schemes.setdefault(_scheme(service), service)
        if len(schemes) > 1:
            yield url_map, Problem("defaultService", f"{url_map.name} routes to backend services of both schemes "
                                   f"({schemes['EXTERNAL'].name}: EXTERNAL, {schemes['EXTERNAL_MANAGED'].name}: EXTERNAL_MANAGED); "
                                   "one load balancer has one scheme", "set load_balancing_scheme='EXTERNAL_MANAGED' on every backend "
                                   "service behind it")
    for forwarding in inventory.of_type(GLOBAL_FORWARDING_RULE):
        scheme = _scheme(forwarding)
        if scheme not in ("EXTERNAL", "EXTERNAL_MANAGED"):
            continue
        _proxy, chained = _chain(forwarding, inventory)
        if chained is None:
            continue
        for field, ref, _weighted in _url_map_services(chained):
            service = resolve(inventory, chained, field, ref, (BACKEND_SERVICE,))
            if service is None:
                continue
            other = _scheme(service)
            if other in ("EXTERNAL", "EXTERNAL_MANAGED") and other != scheme:
                yield forwarding, Problem("loadBalancingScheme", f"{forwarding.name} is {scheme} but backend service {service.name} "
                                          f"(through {chained.name}) is {other}: GCP refuses the forwarding rule",
                                          f"use the same load_balancing_scheme on both (EXTERNAL_MANAGED, the global external "
                                          "Application Load Balancer, unless you need the classic one)")
                break


@stack_rule(
    "edge-weighted-needs-managed", severity=BLOCKS, types=(URL_MAP, GLOBAL_FORWARDING_RULE, BACKEND_SERVICE),
    title="weighted backend services (advanced routing) on a classic (EXTERNAL) load balancer",
    source="https://github.com/hashicorp/terraform-provider-google/issues/8307",
)
def weighted_needs_managed(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    # "Advanced routing rules are not supported for scheme EXTERNAL": weighted splitting needs the
    # global external Application Load Balancer (EXTERNAL_MANAGED).
    schemes_by_map: dict[str, set[str]] = {}
    for forwarding in inventory.of_type(GLOBAL_FORWARDING_RULE):
        _proxy, url_map = _chain(forwarding, inventory)
        if url_map is not None and _scheme(forwarding):
            schemes_by_map.setdefault(url_map.urn, set()).add(_scheme(forwarding))
    for url_map in inventory.of_type(URL_MAP):
        weighted = [(field, ref) for field, ref, is_weighted in _url_map_services(url_map) if is_weighted]
        if not weighted:
            continue
        classic = "EXTERNAL" in schemes_by_map.get(url_map.urn, set())
        field = weighted[0][0]
        for item_field, ref in weighted:
            service = resolve(inventory, url_map, item_field, ref, (BACKEND_SERVICE,))
            if service is not None and _scheme(service) == "EXTERNAL":
                classic, field = True, item_field
                break
        if classic:
            yield url_map, Problem(field, f"{url_map.name} splits traffic by weight but its load balancer is classic (EXTERNAL): "
                                   "GCP refuses advanced routing for scheme EXTERNAL", "set load_balancing_scheme='EXTERNAL_MANAGED' "
                                   "on the forwarding rules and backend services")


# --- certificates -----------------------------------------------------------------------------
def _domains(resource: Resource) -> list[Any]:
    managed = resource.get("managed")
    return as_list(managed.get("domains")) if isinstance(managed, dict) else []


def _placeholder(domain: str) -> bool:
    host = domain.lower().rstrip(".")
    return host in RESERVED_DOMAINS or any(host.endswith("." + d) for d in RESERVED_DOMAINS) or host.rsplit(".", 1)[-1] in RESERVED_TLDS


@rule(
    "edge-cert-domains", types=(MANAGED_CERT,), severity=BLOCKS,
    title="a Google-managed certificate lists no domain, more than 100, a wildcard or a malformed host name",
    source="https://docs.cloud.google.com/certificate-manager/docs/domain-authorization",
)
def cert_domains(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    kind = text(resource.get("type")).upper() or "MANAGED"
    managed = resource.get("managed")
    if kind == "MANAGED" and managed is None:
        yield Problem("managed", f"{resource.name} is a MANAGED certificate with no managed block", "set managed=ManagedSslCertificateManagedArgs(domains=[...])")
        return
    domains = resource.get("managed.domains")
    if is_unknown(domains):
        return
    listed = _domains(resource)
    if not listed:
        yield Problem("managed.domains", f"{resource.name} lists no domain", "list the host names the load balancer serves")
    if len(listed) > MAX_CERT_DOMAINS:
        yield Problem("managed.domains", f"{resource.name} lists {len(listed)} domains; a managed certificate holds at most 100",
                      "split the domains across several certificates (a proxy takes up to 15)")
    for index, domain in enumerate(listed):
        host = text(domain)
        if not host:
            continue
        field = f"managed.domains[{index}]"
        if "*" in host:
            yield Problem(field, f"{resource.name}: '{host}' is a wildcard; Google-managed certificates with load balancer "
                          "authorization support no wildcard domains", "list each host name, or use a Certificate Manager "
                          "certificate with DNS authorization for the wildcard")
            continue
        labels = host.lower().rstrip(".").split(".")
        if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels) or len(host.rstrip(".")) > 253:
            yield Problem(field, f"{resource.name}: '{host}' is not a fully qualified host name", "write it like chat.example.org "
                          "(no scheme, path or port)")


@rule(
    "edge-cert-placeholder-domain", types=(MANAGED_CERT,), severity=BROKEN,
    title="a managed certificate is for a reserved example domain: provisioning never completes",
    source="https://www.rfc-editor.org/rfc/rfc2606.html",
)
def cert_placeholder(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for index, domain in enumerate(_domains(resource)):
        host = text(domain)
        if host and _placeholder(host):
            yield Problem(f"managed.domains[{index}]", f"{resource.name}: '{host}' is a reserved example domain (RFC 2606) nobody "
                          "can point at the load balancer, so the certificate stays PROVISIONING and HTTPS never works",
                          "replace it with your real domain (the stack's edge.domains)")


@rule(
    "edge-cert-dns", types=(MANAGED_CERT,), severity=RISK,
    title="a managed certificate provisions only once DNS for each domain points at the load balancer",
    source="https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Compute.V1/3.0.0/Google.Cloud.Compute.V1.SslCertificateManagedSslCertificate.Types.Status",
)
def cert_dns(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # Load balancer authorization "can only provision certificates after the load balancer has been
    # fully set up and is serving network traffic" (certificate-manager/docs/domain-authorization);
    # until then the status is PROVISIONING, or PROVISIONING_FAILED "due to an issue with the DNS or
    # load balancing configuration".
    records = {text(r.get("name")).lower().rstrip(".") for r in inventory.of_type(DNS_RECORD)
               if text(r.get("type")).upper() in ("A", "AAAA", "CNAME")}
    missing = [text(d) for d in _domains(resource) if text(d) and not _placeholder(text(d))
               and text(d).lower().rstrip(".") not in records]
    if missing:
        yield Problem("managed.domains", f"{resource.name} stays PROVISIONING (HTTPS fails with a TLS error) until the A record of "
                      f"{', '.join(missing)} points at the load balancer's address; the program declares no such DNS record",
                      "after the first `pulumi up`, create an A record for each domain with the forwarding rule's IP (stack "
                      "output), or declare gcp.dns.RecordSet(type='A', rrdatas=[address.address]) in the program; provisioning "
                      "then takes up to 60 minutes")


@rule(
    "edge-https-proxy-certs", types=(HTTPS_PROXY,), severity=BLOCKS,
    title="an HTTPS proxy has no certificate, more than 15, or both certificate kinds",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/TargetHttpsProxy.yaml",
)
def https_proxy_certs(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    values = {k: resource.get(k) for k in ("sslCertificates", "certificateManagerCertificates", "certificateMap")}
    if any(is_unknown(v) for v in values.values()):
        return
    ssl, manager, cert_map = (as_list(values["sslCertificates"]), as_list(values["certificateManagerCertificates"]),
                              text(values["certificateMap"]))
    if not ssl and not manager and not cert_map:
        yield Problem("sslCertificates", f"{resource.name} has no certificate", "set ssl_certificates=[cert.id] (or a certificate map)")
    if ssl and manager:
        yield Problem("certificateManagerCertificates", f"{resource.name} sets both sslCertificates and "
                      "certificateManagerCertificates, which cannot be defined together", "keep one of them")
    if len(ssl) > MAX_PROXY_CERTS:
        yield Problem("sslCertificates", f"{resource.name} lists {len(ssl)} SSL certificates; a proxy takes at most 15",
                      "use a certificate map (Certificate Manager) for more")


# --- SSL policies -----------------------------------------------------------------------------
@rule(
    "edge-ssl-policy", types=(SSL_POLICY,), severity=BLOCKS,
    title="an SSL policy's profile, minimum TLS version and custom features do not fit together",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/SslPolicy.yaml",
)
def ssl_policy(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    profile_value, tls_value, features = resource.get("profile"), resource.get("minTlsVersion"), resource.get("customFeatures")
    if is_unknown(profile_value) or is_unknown(tls_value) or is_unknown(features):
        return
    profile = text(profile_value).upper() or "COMPATIBLE"
    tls = text(tls_value).upper() or "TLS_1_0"
    if profile not in SSL_PROFILES:
        yield Problem("profile", f"{resource.name}: profile '{profile_value}' is not one of {', '.join(sorted(SSL_PROFILES))}",
                      "set profile to MODERN or RESTRICTED (or CUSTOM with custom_features)")
        return
    if tls not in TLS_VERSIONS:
        yield Problem("minTlsVersion", f"{resource.name}: minTlsVersion '{tls_value}' is not one of {', '.join(sorted(TLS_VERSIONS))}",
                      "set min_tls_version='TLS_1_2'")
        return
    if profile == "CUSTOM" and not as_list(features):
        yield Problem("customFeatures", f"{resource.name} has profile CUSTOM but no customFeatures", "list the cipher suites in "
                      "custom_features, or pick MODERN/RESTRICTED")
    if profile != "CUSTOM" and as_list(features):
        yield Problem("customFeatures", f"{resource.name} sets customFeatures with profile {profile}; custom features need profile "
                      "CUSTOM", "drop custom_features or set profile='CUSTOM'")
    if tls == "TLS_1_3" and profile != "RESTRICTED":
        yield Problem("minTlsVersion", f"{resource.name}: minTlsVersion TLS_1_3 requires profile RESTRICTED, not {profile}",
                      "set profile='RESTRICTED' or min_tls_version='TLS_1_2'")
    if profile == "FIPS_202205" and tls != "TLS_1_2":
        yield Problem("minTlsVersion", f"{resource.name}: profile FIPS_202205 requires minTlsVersion TLS_1_2, not {tls}",
                      "set min_tls_version='TLS_1_2'")


# --- Cloud Armor ------------------------------------------------------------------------------
def _armor_rules(resource: Resource) -> list[tuple[int, dict[str, Any]]]:
    return [(i, r) for i, r in enumerate(as_list(resource.get("rules"))) if isinstance(r, dict)]


@rule(
    "edge-armor-priority", types=(SECURITY_POLICY,), severity=BLOCKS,
    title="two Cloud Armor rules share a priority, or a priority is out of range",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/third_party/terraform/services/compute/resource_compute_security_policy.go.tmpl",
)
def armor_priority(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # rulesCustomizeDiff: "Two rules have the same priority, please update one of the priorities to be different."
    seen: dict[int, int] = {}
    for index, item in _armor_rules(resource):
        value = item.get("priority")
        if value is None or is_unknown(value):
            continue
        priority = integer(value)
        if priority is None or not 0 <= priority <= ARMOR_DEFAULT_PRIORITY:
            yield Problem(f"rules[{index}].priority", f"{resource.name}: rules[{index}] priority {value!r} is not an integer in "
                          f"0-{ARMOR_DEFAULT_PRIORITY}", "use a unique integer priority")
            continue
        if priority in seen:
            yield Problem(f"rules[{index}].priority", f"{resource.name}: rules[{index}] and rules[{seen[priority]}] both have priority "
                          f"{priority}", "give every rule its own priority")
        seen.setdefault(priority, index)


@rule(
    "edge-armor-default-rule", types=(SECURITY_POLICY,), severity=BLOCKS,
    title="a Cloud Armor policy with rules has no default rule (priority 2147483647 matching '*')",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/third_party/terraform/services/compute/resource_compute_security_policy.go.tmpl",
)
def armor_default_rule(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "There must always be a default rule (rule with priority 2147483647 and match "*")."
    rules = _armor_rules(resource)
    if not rules or is_unknown(resource.get("rules")):
        return
    defaults = [(i, r) for i, r in rules if integer(r.get("priority")) == ARMOR_DEFAULT_PRIORITY]
    if not defaults:
        yield Problem("rules", f"{resource.name} declares rules but none at priority {ARMOR_DEFAULT_PRIORITY}, the default rule every "
                      "policy must have", "add a rule with priority=2147483647, match versioned_expr='SRC_IPS_V1' "
                      "src_ip_ranges=['*'] and action 'allow' or 'deny(403)'")
        return
    index, default = defaults[0]
    match = default.get("match")
    ranges = as_list(match.get("config", {}).get("srcIpRanges")) if isinstance(match, dict) and isinstance(match.get("config"), dict) else []
    if isinstance(match, dict) and text(match.get("versionedExpr")) and not is_unknown(ranges) and ranges != ["*"]:
        yield Problem(f"rules[{index}].match", f"{resource.name}: the default rule must match '*', not {ranges}",
                      "set src_ip_ranges=['*'] on the priority 2147483647 rule")


def _balanced(expression: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote = ""
    escaped = False
    for char in expression:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in pairs:
            if not stack or stack.pop() != pairs[char]:
                return False
    return not stack and not quote


@rule(
    "edge-armor-match", types=(SECURITY_POLICY,), severity=BLOCKS,
    title="a Cloud Armor rule's match is malformed (versioned_expr without config, both kinds, >10 ranges, bad expression)",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/third_party/terraform/services/compute/resource_compute_security_policy.go.tmpl",
)
def armor_match(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for index, item in _armor_rules(resource):
        match = item.get("match")
        field = f"rules[{index}].match"
        if not isinstance(match, dict):
            if match is None:
                yield Problem(field, f"{resource.name}: rules[{index}] has no match", "add a match (versioned_expr + config, or expr)")
            continue
        versioned, expr, config = match.get("versionedExpr"), match.get("expr"), match.get("config")
        if any(is_unknown(v) for v in (versioned, expr, config)):
            continue
        if text(versioned) and isinstance(expr, dict):
            yield Problem(field, f"{resource.name}: rules[{index}] sets both versionedExpr and expr", "keep one of them")
        if text(versioned):
            ranges = as_list(config.get("srcIpRanges")) if isinstance(config, dict) else []
            if not ranges:
                yield Problem(f"{field}.config", f"{resource.name}: rules[{index}] uses versionedExpr {versioned} without "
                              "config.srcIpRanges", "set config=SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=[...])")
            elif len(ranges) > MAX_SRC_IP_RANGES:
                yield Problem(f"{field}.config.srcIpRanges", f"{resource.name}: rules[{index}] lists {len(ranges)} IP ranges; a rule "
                              "takes at most 10", "split the ranges across several rules")
        elif config is not None:
            yield Problem(f"{field}.config", f"{resource.name}: rules[{index}] sets config without versionedExpr",
                          "set versioned_expr='SRC_IPS_V1' or drop config")
        if isinstance(expr, dict):
            expression = expr.get("expression")
            if is_unknown(expression):
                continue
            if not text(expression) or not _balanced(text(expression)):
                yield Problem(f"{field}.expr.expression", f"{resource.name}: rules[{index}] expression is empty or has unbalanced "
                              "quotes or brackets", "fix the CEL expression (test it with `gcloud compute security-policies rules "
                              "create --expression`)")
        elif not text(versioned) and expr is None:
            yield Problem(field, f"{resource.name}: rules[{index}] match has neither versionedExpr nor expr",
                          "set versioned_expr='SRC_IPS_V1' with config, or expr")


def _waf_name_ok(name: str) -> bool:
    if name in WAF_OTHER:
        return True
    match = re.fullmatch(r"([a-z]+)-(?:(v33|v422)-)?(stable|canary)", name)
    if not match:
        return False
    family, version = match.group(1), match.group(2)
    if version == "v422":
        return True
    return family in (WAF_FAMILIES_V33 if version == "v33" else WAF_FAMILIES_V30)


@rule(
    "edge-armor-waf-rule", types=(SECURITY_POLICY,), severity=BLOCKS,
    title="a rule names a preconfigured WAF rule set that does not exist, or a sensitivity outside 0-4",
    source="https://cloud.google.com/armor/docs/waf-rules",
)
def armor_waf_rule(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for index, item in _armor_rules(resource):
        expression = text(item.get("match", {}).get("expr", {}).get("expression")) if isinstance(item.get("match"), dict) and isinstance(item.get("match", {}).get("expr"), dict) else ""
        for call in _WAF_CALL.finditer(expression):
            name, rest = call.group(2), call.group(3)
            field = f"rules[{index}].match.expr.expression"
            if not _waf_name_ok(name):
                yield Problem(field, f"{resource.name}: rules[{index}] evaluates WAF rule set '{name}', which Cloud Armor does not "
                              "have", "use a name from the preconfigured list, e.g. sqli-v33-stable, xss-v33-stable, "
                              "lfi-v33-stable, rce-v33-stable")
            level = _SENSITIVITY.search(rest)
            if level and int(level.group(1)) not in WAF_SENSITIVITY:
                yield Problem(field, f"{resource.name}: rules[{index}] sensitivity {level.group(1)} is outside 0-4",
                              "use a sensitivity between 0 and 4 (1 is the least noisy)")


@rule(
    "edge-armor-action", types=(SECURITY_POLICY,), severity=BLOCKS,
    title="a Cloud Armor rule's action, or its rate limit options, are not what the action needs",
    source="https://cloud.google.com/python/docs/reference/compute/1.11.0/google.cloud.compute_v1.types.SecurityPolicyRule",
)
def armor_action(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for index, item in _armor_rules(resource):
        action_value = item.get("action")
        if is_unknown(action_value):
            continue
        action = text(action_value).lower().replace(" ", "")
        field = f"rules[{index}]"
        if action not in ARMOR_ACTIONS:
            yield Problem(f"{field}.action", f"{resource.name}: {field} action '{action_value}' is not allow, deny(403|404|502), "
                          "redirect, throttle or rate_based_ban", "use e.g. 'deny(403)' (429 is only an exceedAction of a rate limit)")
            continue
        options = item.get("rateLimitOptions")
        if action in RATE_LIMITED_ACTIONS and not isinstance(options, dict):
            yield Problem(f"{field}.rateLimitOptions", f"{resource.name}: {field} action {action} requires rateLimitOptions",
                          "set rate_limit_options (conform_action='allow', exceed_action='deny(429)', rate_limit_threshold)")
            continue
        if action not in RATE_LIMITED_ACTIONS and options is not None:
            yield Problem(f"{field}.rateLimitOptions", f"{resource.name}: {field} sets rateLimitOptions but action {action} takes "
                          "none (only throttle and rate_based_ban do)", "drop rate_limit_options or change the action")
            continue
        if not isinstance(options, dict):
            continue
        conform, exceed = text(options.get("conformAction")).lower(), text(options.get("exceedAction")).lower()
        if conform and conform != "allow":
            yield Problem(f"{field}.rateLimitOptions.conformAction", f"{resource.name}: conformAction '{conform}' must be 'allow'",
                          "set conform_action='allow'")
        if exceed and exceed not in EXCEED_ACTIONS:
            yield Problem(f"{field}.rateLimitOptions.exceedAction", f"{resource.name}: exceedAction '{exceed}' is not deny(403|404|"
                          "429|502) or redirect", "set exceed_action='deny(429)'")
        threshold = options.get("rateLimitThreshold")
        if not isinstance(threshold, dict) or threshold.get("count") is None or threshold.get("intervalSec") is None:
            yield Problem(f"{field}.rateLimitOptions.rateLimitThreshold", f"{resource.name}: {field} has no rateLimitThreshold "
                          "(count and intervalSec)", "set rate_limit_threshold=...(count=300, interval_sec=60)")
        if action != "rate_based_ban":
            for key in ("banDurationSec", "banThreshold"):
                if options.get(key) is not None:
                    yield Problem(f"{field}.rateLimitOptions.{key}", f"{resource.name}: {key} applies only to rate_based_ban, not "
                                  f"{action}", f"drop {key} or use action 'rate_based_ban'")


@rule(
    "edge-armor-policy-options", types=(SECURITY_POLICY,), severity=BLOCKS,
    title="a Cloud Armor policy's type, advanced or adaptive protection options, or a description are not accepted values",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/third_party/terraform/services/compute/resource_compute_security_policy.go.tmpl",
)
def armor_policy_options(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    checks: list[tuple[str, frozenset[str]]] = [
        ("type", frozenset({"CLOUD_ARMOR", "CLOUD_ARMOR_EDGE", "CLOUD_ARMOR_INTERNAL_SERVICE"})),
        ("advancedOptionsConfig.jsonParsing", frozenset({"DISABLED", "STANDARD", "STANDARD_WITH_GRAPHQL"})),
        ("advancedOptionsConfig.logLevel", frozenset({"NORMAL", "VERBOSE"})),
        ("adaptiveProtectionConfig.layer7DdosDefenseConfig.ruleVisibility", frozenset({"STANDARD", "PREMIUM"})),
    ]
    for path, allowed in checks:
        value = resource.get(path)
        if text(value) and value not in allowed:
            yield Problem(path, f"{resource.name}: {path} '{value}' is not one of {', '.join(sorted(allowed))}",
                          f"set {path} to one of {', '.join(sorted(allowed))}")
    description = text(resource.get("description"))
    if len(description) > 2048:
        yield Problem("description", f"{resource.name}: description is {len(description)} characters; at most 2048",
                      "shorten the description")
    for index, item in _armor_rules(resource):
        rule_description = text(item.get("description"))
        if len(rule_description) > MAX_RULE_DESCRIPTION:
            yield Problem(f"rules[{index}].description", f"{resource.name}: rules[{index}] description is {len(rule_description)} "
                          "characters; a rule description holds at most 64", "shorten it")
