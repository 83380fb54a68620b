"""Fixtures: the edge (external Application Load Balancer, serverless NEGs, certificates, SSL policy, Cloud Armor)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pulumi_gcp as gcp
from harness import PROJECT, fail, ok
from pulumi_gcp import cloudrunv2 as run
from pulumi_gcp import compute

IMAGE = "us-central1-docker.pkg.dev/fixture-project/apps/chat@sha256:" + "a" * 64
REAL_DOMAIN = "chat.acme-corp.net"


def _run(region: str = "us-central1", name: str = "chat") -> run.Service:
    return run.Service(
        f"run-{region}", name=name, project=PROJECT, location=region, deletion_protection=False,
        ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        template=run.ServiceTemplateArgs(containers=[run.ServiceTemplateContainerArgs(image=IMAGE)]),
    )


def lb(*, fr_scheme: str | None = None, bs_scheme: str | None = None, canary_scheme: str | None = None, weighted: bool = False,
       neg_region: str = "us-central1", run_regions: Sequence[str] = ("us-central1",), protocol: str = "HTTPS",
       backend: dict[str, Any] | None = None, domains: Sequence[str] = (REAL_DOMAIN,), dns: bool = False,
       proxy: dict[str, Any] | None = None) -> Callable[[], None]:
    def program() -> None:
        for region in run_regions:
            _run(region)
        neg = compute.RegionNetworkEndpointGroup(
            "neg", name="neg", project=PROJECT, region=neg_region, network_endpoint_type="SERVERLESS",
            cloud_run=compute.RegionNetworkEndpointGroupCloudRunArgs(service="chat"),
        )
        stable = compute.BackendService(
            "stable", name="stable", project=PROJECT, protocol=protocol, load_balancing_scheme=bs_scheme,
            backends=[compute.BackendServiceBackendArgs(group=neg.id)], **(backend or {}),
        )
        if weighted:
            canary = compute.BackendService(
                "canary", name="canary", project=PROJECT, protocol=protocol, load_balancing_scheme=canary_scheme or bs_scheme,
                backends=[compute.BackendServiceBackendArgs(group=neg.id)],
            )
            url_map = compute.URLMap("urlmap", name="urlmap", project=PROJECT, default_route_action={
                "weighted_backend_services": [{"backend_service": stable.id, "weight": 90}, {"backend_service": canary.id, "weight": 10}],
            })
        else:
            url_map = compute.URLMap("urlmap", name="urlmap", project=PROJECT, default_service=stable.id)
        cert = compute.ManagedSslCertificate("cert", name="cert", project=PROJECT,
                                             managed=compute.ManagedSslCertificateManagedArgs(domains=list(domains)))
        https = compute.TargetHttpsProxy("proxy", name="proxy", project=PROJECT, url_map=url_map.id,
                                         **(proxy if proxy is not None else {"ssl_certificates": [cert.id]}))
        ip = compute.GlobalAddress("ip", name="ip", project=PROJECT)
        compute.GlobalForwardingRule("fr", name="fr", project=PROJECT, target=https.id, ip_address=ip.id, port_range="443",
                                     load_balancing_scheme=fr_scheme)
        if dns:
            for domain in domains:
                gcp.dns.RecordSet(f"dns-{domain}", name=f"{domain}.", type="A", ttl=300, managed_zone="zone", rrdatas=[ip.address])

    return program


def ssl(profile: str | None = None, tls: str | None = None, features: Sequence[str] | None = None) -> Callable[[], None]:
    def program() -> None:
        compute.SSLPolicy("tls", name="tls", project=PROJECT, profile=profile, min_tls_version=tls,
                          custom_features=list(features) if features is not None else None)

    return program


def _rule(priority: int, action: str = "deny(403)", expr: str | None = None, ranges: Sequence[str] | None = ("*",),
          **extra: Any) -> dict[str, Any]:
    match: dict[str, Any] = {"expr": {"expression": expr}} if expr is not None else {
        "versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": list(ranges or [])}}
    return {"priority": priority, "action": action, "match": match, **extra}


DEFAULT_RULE = _rule(2147483647, action="allow")


def armor(*rules: dict[str, Any], **policy: Any) -> Callable[[], None]:
    def program() -> None:
        compute.SecurityPolicy("armor", name="armor", project=PROJECT, rules=list(rules), **policy)

    return program


THROTTLE = {"conform_action": "allow", "exceed_action": "deny(429)", "enforce_on_key": "IP",
            "rate_limit_threshold": {"count": 300, "interval_sec": 60}}

CASES = [
    # serverless NEG backend services
    fail("edge-serverless-neg-backend", lb(backend={"health_checks": "projects/p/global/healthChecks/hc"}), resource="stable", field="healthChecks"),
    fail("edge-serverless-neg-backend", lb(backend={"port_name": "http"}), id="port-name", field="portName"),
    fail("edge-serverless-neg-backend", lb(backend={"timeout_sec": 120}), id="timeout", field="timeoutSec"),
    ok("edge-serverless-neg-backend", lb(backend={"port_name": "", "enable_cdn": False})),
    fail("edge-serverless-neg-lb-type", lb(protocol="TCP"), resource="stable", field="protocol"),
    ok("edge-serverless-neg-lb-type", lb(protocol="HTTP2")),
    fail("edge-neg-run-region", lb(neg_region="europe-west1"), resource="neg", field="cloudRun.service"),
    ok("edge-neg-run-region", lb(neg_region="europe-west1", run_regions=("us-central1", "europe-west1"))),
    # schemes
    fail("edge-scheme-mismatch", lb(fr_scheme="EXTERNAL"), resource="fr", field="loadBalancingScheme"),
    fail("edge-scheme-mismatch", lb(bs_scheme="EXTERNAL"), id="default-rule-scheme", resource="fr"),
    fail("edge-scheme-mismatch", lb(weighted=True, bs_scheme="EXTERNAL_MANAGED", canary_scheme="EXTERNAL"), id="mixed-map", resource="urlmap"),
    ok("edge-scheme-mismatch", lb()),
    ok("edge-scheme-mismatch", lb(fr_scheme="EXTERNAL", bs_scheme="EXTERNAL"), id="classic"),
    fail("edge-weighted-needs-managed", lb(weighted=True, fr_scheme="EXTERNAL", bs_scheme="EXTERNAL"), resource="urlmap",
         field="defaultRouteAction.weightedBackendServices"),
    ok("edge-weighted-needs-managed", lb(weighted=True)),
    ok("edge-weighted-needs-managed", lb(fr_scheme="EXTERNAL", bs_scheme="EXTERNAL"), id="classic-unweighted"),
    # certificates
    fail("edge-cert-domains", lb(domains=("*.acme-corp.net",)), resource="cert", field="managed.domains[0]"),
    fail("edge-cert-domains", lb(domains=[f"h{i}.acme-corp.net" for i in range(101)]), id="too-many", field="managed.domains"),
    fail("edge-cert-domains", lb(domains=("https://chat.acme-corp.net/",)), id="url", field="managed.domains[0]"),
    fail("edge-cert-domains", lb(domains=()), id="empty", field="managed.domains"),
    ok("edge-cert-domains", lb(domains=(REAL_DOMAIN, "api.acme-corp.net."))),
    fail("edge-cert-placeholder-domain", lb(domains=("chat.example.com",)), resource="cert", field="managed.domains[0]"),
    fail("edge-cert-placeholder-domain", lb(domains=(REAL_DOMAIN, "chat.staging.test")), id="test-tld", field="managed.domains[1]"),
    ok("edge-cert-placeholder-domain", lb(domains=(REAL_DOMAIN, "examples.com"))),
    fail("edge-cert-dns", lb(), resource="cert", field="managed.domains"),
    ok("edge-cert-dns", lb(dns=True)),
    fail("edge-https-proxy-certs", lb(proxy={}), resource="proxy", field="sslCertificates"),
    fail("edge-https-proxy-certs", lb(proxy={"ssl_certificates": [f"projects/p/global/sslCertificates/c{i}" for i in range(16)]}),
         id="too-many", field="sslCertificates"),
    ok("edge-https-proxy-certs", lb()),
    ok("edge-https-proxy-certs", lb(proxy={"certificate_map": "//certificatemanager.googleapis.com/projects/p/locations/global/certificateMaps/m"}),
       id="certificate-map"),
    # SSL policy
    fail("edge-ssl-policy", ssl("CUSTOM", "TLS_1_2"), resource="tls", field="customFeatures"),
    fail("edge-ssl-policy", ssl("MODERN", "TLS_1_2", ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]), id="features-not-custom", field="customFeatures"),
    fail("edge-ssl-policy", ssl("MODERN", "TLS_1_3"), id="tls13", field="minTlsVersion"),
    fail("edge-ssl-policy", ssl("STRICT"), id="profile", field="profile"),
    fail("edge-ssl-policy", ssl("MODERN", "TLS1.2"), id="tls-spelling", field="minTlsVersion"),
    ok("edge-ssl-policy", ssl("MODERN", "TLS_1_2")),
    ok("edge-ssl-policy", ssl("RESTRICTED", "TLS_1_3"), id="tls13-restricted"),
    ok("edge-ssl-policy", ssl("CUSTOM", "TLS_1_2", ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]), id="custom"),
    ok("edge-ssl-policy", ssl(), id="defaults"),
    # Cloud Armor
    fail("edge-armor-priority", armor(_rule(1000), _rule(1000, ranges=["10.0.0.0/8"]), DEFAULT_RULE), resource="armor", field="rules[1].priority"),
    ok("edge-armor-priority", armor(_rule(1000), _rule(1001), DEFAULT_RULE)),
    fail("edge-armor-default-rule", armor(_rule(1000)), resource="armor", field="rules"),
    fail("edge-armor-default-rule", armor(_rule(2147483647, action="allow", ranges=["10.0.0.0/8"])), id="not-star", field="rules[0].match"),
    ok("edge-armor-default-rule", armor(_rule(1000), DEFAULT_RULE)),
    ok("edge-armor-default-rule", armor(), id="no-rules"),
    fail("edge-armor-match", armor(_rule(1000, ranges=[]), DEFAULT_RULE), resource="armor", field="rules[0].match.config"),
    fail("edge-armor-match", armor(_rule(1000, ranges=[f"10.0.{i}.0/24" for i in range(11)]), DEFAULT_RULE), id="eleven-ranges",
         field="rules[0].match.config.srcIpRanges"),
    fail("edge-armor-match", armor(_rule(1000, expr="evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1}"), DEFAULT_RULE),
         id="unbalanced", field="rules[0].match.expr.expression"),
    ok("edge-armor-match", armor(_rule(1000, expr="request.path.matches('/admin(/.*)?') && origin.region_code == 'XX'"), DEFAULT_RULE)),
    fail("edge-armor-waf-rule", armor(_rule(1000, expr="evaluatePreconfiguredWaf('sqli-v33-stabel')"), DEFAULT_RULE),
         resource="armor", field="rules[0].match.expr.expression"),
    fail("edge-armor-waf-rule", armor(_rule(1000, expr="evaluatePreconfiguredWaf('xss-v33-stable', {'sensitivity': 5})"), DEFAULT_RULE),
         id="sensitivity", field="rules[0].match.expr.expression"),
    fail("edge-armor-waf-rule", armor(_rule(1000, expr="evaluatePreconfiguredExpr('sql-v33-stable')"), DEFAULT_RULE), id="family",
         field="rules[0].match.expr.expression"),
    ok("edge-armor-waf-rule", armor(
        _rule(1000, expr="evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1})"),
        _rule(1001, expr="evaluatePreconfiguredWaf(\"nodejs-v33-canary\")"),
        _rule(1002, expr="evaluatePreconfiguredExpr('xss-stable') || evaluatePreconfiguredWaf('rce-v422-stable', {'sensitivity': 4})"),
        _rule(1003, expr="evaluatePreconfiguredWaf('cve-canary')"), DEFAULT_RULE)),
    fail("edge-armor-action", armor(_rule(1000, action="deny(429)"), DEFAULT_RULE), resource="armor", field="rules[0].action"),
    fail("edge-armor-action", armor(_rule(1000, action="throttle"), DEFAULT_RULE), id="throttle-no-options", field="rules[0].rateLimitOptions"),
    fail("edge-armor-action", armor(_rule(1000, action="throttle", rate_limit_options={**THROTTLE, "conform_action": "deny(403)"}), DEFAULT_RULE),
         id="conform", field="rules[0].rateLimitOptions.conformAction"),
    fail("edge-armor-action", armor(_rule(1000, action="deny(403)", rate_limit_options=THROTTLE), DEFAULT_RULE), id="options-on-deny",
         field="rules[0].rateLimitOptions"),
    fail("edge-armor-action", armor(_rule(1000, action="throttle", rate_limit_options={**THROTTLE, "ban_duration_sec": 600}), DEFAULT_RULE),
         id="ban-on-throttle", field="rules[0].rateLimitOptions.banDurationSec"),
    ok("edge-armor-action", armor(_rule(1000, action="throttle", rate_limit_options=THROTTLE),
                                  _rule(1001, action="rate_based_ban", rate_limit_options={**THROTTLE, "ban_duration_sec": 600}),
                                  _rule(1002, action="deny(404)"), DEFAULT_RULE)),
    fail("edge-armor-policy-options", armor(DEFAULT_RULE, advanced_options_config={"json_parsing": "ENABLED"}), resource="armor",
         field="advancedOptionsConfig.jsonParsing"),
    fail("edge-armor-policy-options", armor({**DEFAULT_RULE, "description": "x" * 65}), id="rule-description", field="rules[0].description"),
    ok("edge-armor-policy-options", armor(DEFAULT_RULE, type="CLOUD_ARMOR", advanced_options_config={"json_parsing": "STANDARD", "log_level": "VERBOSE"},
                                          adaptive_protection_config={"layer7_ddos_defense_config": {"enable": True, "rule_visibility": "STANDARD"}})),
]
