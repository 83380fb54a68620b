"""EdgeLoadBalancer: EXTERNAL_MANAGED ALB over serverless NEGs, TLS policy, redirect, Cloud Armor,
weighted tracks — and every `stagewise:edge` config error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stagewise.components.chat_service import ChatService, ChatServiceArgs
from stagewise.components.edge import (
    DEFAULT_WAF_RULES,
    ArmorSettings,
    EdgeBackend,
    EdgeLoadBalancer,
    EdgeLoadBalancerArgs,
    RateLimit,
    ServerlessTarget,
)
from stagewise.stacks.config.loader import ConfigError, load_config
from stagewise.engine.record import ProgramRun
from tests.conftest import one

NEG = "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup"
BACKEND = "gcp:compute/backendService:BackendService"
URL_MAP = "gcp:compute/uRLMap:URLMap"
RULE = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
ARMOR = "gcp:compute/securityPolicy:SecurityPolicy"
STABLE = EdgeBackend("stable", [ServerlessTarget("us-central1", "chat"), ServerlessTarget("europe-west1", "chat")])


def declare(run_component: Callable[..., ProgramRun], **overrides: Any) -> ProgramRun:
    def program() -> None:
        args: dict[str, Any] = {"project": "stagewise-test", "domains": ["chat.example.com"], "backends": [STABLE]}
        args.update(overrides)
        EdgeLoadBalancer("edge", EdgeLoadBalancerArgs(**args))

    return run_component(program)


def armor_rules(run: ProgramRun) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = one(run, ARMOR).inputs["rules"]
    return rules


def test_serverless_neg_per_region_behind_external_managed_backend(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component)
    negs = run.of_type(NEG)
    assert sorted(n.inputs["region"] for n in negs) == ["europe-west1", "us-central1"]
    for neg in negs:
        assert neg.inputs["networkEndpointType"] == "SERVERLESS"
        assert neg.inputs["cloudRun"] == {"service": "chat"}
    backend = one(run, BACKEND).inputs
    assert backend["loadBalancingScheme"] == "EXTERNAL_MANAGED"
    assert backend["protocol"] == "HTTPS"
    assert len(backend["backends"]) == 2
    assert backend["logConfig"] == {"enable": True, "sampleRate": 1.0}
    assert backend["securityPolicy"] == "projects/stagewise-test/global/securityPolicies/edge-armor"
    assert "healthChecks" not in backend  # serverless NEGs take none
    component = one(run, "stagewise:index:EdgeLoadBalancer")
    assert all(r.parent == component.urn for r in run.resources if r.custom)


def test_https_with_managed_certificate_and_tls12_policy(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, domains=["chat.example.com", "api.example.com"], ssl_profile="RESTRICTED")
    cert = one(run, "gcp:compute/managedSslCertificate:ManagedSslCertificate").inputs
    assert cert["managed"]["domains"] == ["chat.example.com", "api.example.com"]
    policy = one(run, "gcp:compute/sSLPolicy:SSLPolicy").inputs
    assert policy["minTlsVersion"] == "TLS_1_2" and policy["profile"] == "RESTRICTED"
    proxy = one(run, "gcp:compute/targetHttpsProxy:TargetHttpsProxy").inputs
    assert proxy["sslPolicy"] == "projects/stagewise-test/global/sslPolicies/edge-tls" and proxy["sslCertificates"] == ["projects/stagewise-test/global/sslCertificates/edge-cert"]
    rules = {r.inputs["portRange"]: r.inputs for r in run.of_type(RULE)}
    assert set(rules) == {"443", "80"}
    assert all(rule["loadBalancingScheme"] == "EXTERNAL_MANAGED" for rule in rules.values())
    assert rules["443"]["target"] == "projects/stagewise-test/global/targetHttpsProxies/edge-https"
    assert rules["443"]["ipAddress"] == rules["80"]["ipAddress"] == "projects/stagewise-test/global/addresses/edge-ip"


def test_http_only_redirects_to_https(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component)
    redirect = run.by_name("edge-redirect", URL_MAP).inputs
    assert redirect["defaultUrlRedirect"]["httpsRedirect"] is True
    assert "defaultService" not in redirect
    http_proxy = one(run, "gcp:compute/targetHttpProxy:TargetHttpProxy").inputs
    assert http_proxy["urlMap"] == "projects/stagewise-test/global/urlMaps/edge-redirect"


def test_no_port_80_without_redirect(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, http_redirect=False)
    assert [r.inputs["portRange"] for r in run.of_type(RULE)] == ["443"]
    assert not run.of_type("gcp:compute/targetHttpProxy:TargetHttpProxy")


def test_single_track_is_the_default_service(run_component: Callable[..., ProgramRun]) -> None:
    url_map = declare(run_component).by_name("edge-https", URL_MAP).inputs
    assert url_map["defaultService"] == "projects/stagewise-test/global/backendServices/edge-stable"
    assert "defaultRouteAction" not in url_map


@pytest.mark.parametrize(("stable", "canary"), [(90, 10), (0, 100), (100, 0)])
def test_canary_and_blue_green_are_weighted_splits(run_component: Callable[..., ProgramRun], stable: int, canary: int) -> None:
    backends = [
        EdgeBackend("stable", [ServerlessTarget("us-central1", "chat")], weight=stable),
        EdgeBackend("canary", [ServerlessTarget("us-central1", "chat", tag="canary")], weight=canary),
    ]
    run = declare(run_component, backends=backends)
    url_map = run.by_name("edge-https", URL_MAP).inputs
    assert "defaultService" not in url_map
    weights = {w["backendService"]: w["weight"] for w in url_map["defaultRouteAction"]["weightedBackendServices"]}
    assert weights == {"projects/stagewise-test/global/backendServices/edge-stable": stable, "projects/stagewise-test/global/backendServices/edge-canary": canary}
    # the standby track stays declared so switching is only a weight change
    assert len(run.of_type(BACKEND)) == 2
    canary_neg = run.by_name("edge-canary-us-central1", NEG).inputs
    assert canary_neg["cloudRun"] == {"service": "chat", "tag": "canary"}


def test_armor_waf_rules_precede_rate_limit_and_default_allow(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, armor=ArmorSettings(denied_ranges=[f"198.51.100.{i}/32" for i in range(12)]))
    rules = armor_rules(run)
    waf = [r for r in rules if "evaluatePreconfiguredWaf" in r["match"].get("expr", {}).get("expression", "")]
    assert len(waf) == len(DEFAULT_WAF_RULES)
    expressions = " ".join(r["match"]["expr"]["expression"] for r in waf)
    for family in ("sqli", "xss", "lfi", "rce"):
        assert f"evaluatePreconfiguredWaf('{family}-v33-stable', {{'sensitivity': 1}})" in expressions
    assert all(r["action"] == "deny(403)" and r["preview"] is False for r in waf)
    throttle = [r for r in rules if r["action"] == "throttle"]
    assert len(throttle) == 1
    options = throttle[0]["rateLimitOptions"]
    assert options["enforceOnKey"] == "IP" and options["exceedAction"] == "deny(429)" and options["conformAction"] == "allow"
    assert options["rateLimitThreshold"] == {"count": 300, "intervalSec": 60}
    # a conforming request is allowed by the throttle rule, so every deny must be evaluated before it
    deny_priorities = [r["priority"] for r in rules if r["action"].startswith("deny")]
    assert max(deny_priorities) < throttle[0]["priority"]
    default = max(rules, key=lambda r: r["priority"])
    assert default["priority"] == 2147483647 and default["action"] == "allow"
    denied = [r for r in rules if r.get("description") == "denied source ranges"]
    assert [len(r["match"]["config"]["srcIpRanges"]) for r in denied] == [10, 2]
    assert len({r["priority"] for r in rules}) == len(rules)
    policy = one(run, ARMOR).inputs
    assert policy["adaptiveProtectionConfig"]["layer7DdosDefenseConfig"]["enable"] is True


def test_free_text_paths_skip_body_waf_rules_but_not_header_rules_or_rate_limit(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, armor=ArmorSettings(free_text_paths=["/v1/chat", "/v1/partner"]))
    rules = armor_rules(run)
    waf = {r["description"].split()[2]: r["match"]["expr"]["expression"] for r in rules if "expr" in r["match"]}
    skip = "!request.path.startsWith('/v1/chat') && !request.path.startsWith('/v1/partner') && evaluatePreconfiguredWaf("
    # Rules that read arguments (the body included) would 403 a pasted SQL query: skipped on those paths.
    for rule in ("sqli-v33-stable", "xss-v33-stable", "rce-v33-stable", "lfi-v33-stable", "rfi-v33-stable"):
        assert waf[rule].startswith(skip), rule
    # Rules on the request line and headers still guard the free-text paths.
    for rule in ("methodenforcement-v33-stable", "scannerdetection-v33-stable", "protocolattack-v33-stable"):
        assert waf[rule].startswith("evaluatePreconfiguredWaf("), rule
    throttle = next(r for r in rules if r["action"] == "throttle")
    assert throttle["match"]["config"]["srcIpRanges"] == ["*"]


def test_json_bodies_are_parsed_for_waf(run_component: Callable[..., ProgramRun]) -> None:
    options = one(declare(run_component), ARMOR).inputs["advancedOptionsConfig"]
    assert options["jsonParsing"] == "STANDARD"


def test_rate_based_ban_and_header_key(run_component: Callable[..., ProgramRun]) -> None:
    limit = RateLimit(action="ban", requests=50, interval_sec=10, ban_duration_sec=900,
                      enforce_on_key="HTTP_HEADER", enforce_on_key_name="x-api-key")
    rules = armor_rules(declare(run_component, armor=ArmorSettings(rate_limit=limit, adaptive_protection=False)))
    ban = next(r for r in rules if r["action"] == "rate_based_ban")
    assert ban["rateLimitOptions"]["banDurationSec"] == 900
    assert ban["rateLimitOptions"]["enforceOnKeyName"] == "x-api-key"


def test_without_rate_limit_or_adaptive_protection(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, armor=ArmorSettings(rate_limit=None, adaptive_protection=False, waf_preview=True))
    rules = armor_rules(run)
    assert not [r for r in rules if r["action"] in ("throttle", "rate_based_ban")]
    assert "adaptiveProtectionConfig" not in one(run, ARMOR).inputs
    assert all(r["preview"] for r in rules if "expr" in r["match"])


def test_behind_the_lb_chat_service_is_lb_only_without_default_url(run_component: Callable[..., ProgramRun]) -> None:
    def program() -> None:
        chat = ChatService("chat", ChatServiceArgs(project="p", region="us-central1", image="img@sha256:00",
                                                   ingress="internal-and-cloud-load-balancing", default_uri_disabled=True))
        EdgeLoadBalancer("edge", EdgeLoadBalancerArgs(
            project="p", domains=["chat.example.com"],
            backends=[EdgeBackend("stable", [ServerlessTarget("us-central1", chat.service_name)])]))

    run = run_component(program)
    service = one(run, "gcp:cloudrunv2/service:Service").inputs
    assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert service["defaultUriDisabled"] is True
    assert one(run, NEG).inputs["cloudRun"]["service"] == "chat"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"domains": []}, "domains is empty"),
        ({"domains": ["*.example.com"]}, "wildcards"),
        ({"backends": []}, "backends is empty"),
        ({"backends": [STABLE, STABLE]}, "keys repeat"),
        ({"backends": [EdgeBackend("a", STABLE.targets, 50), EdgeBackend("b", STABLE.targets, 40)]}, "add up to 90"),
        ({"ssl_profile": "COMPATIBLE"}, "MODERN or RESTRICTED"),
        ({"min_tls_version": "TLS_1_0"}, "TLS_1_2 is the floor"),
        ({"log_sample_rate": 2.0}, "log_sample_rate"),
    ],
)
def test_args_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EdgeLoadBalancerArgs(**{"project": "p", "domains": ["chat.example.com"], "backends": [STABLE], **kwargs})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: EdgeBackend("Bad Key", STABLE.targets), "backend key"),
        (lambda: EdgeBackend("a", []), "no targets"),
        (lambda: EdgeBackend("a", [ServerlessTarget("us-central1", "x"), ServerlessTarget("us-central1", "y")]), "one NEG per region"),
        (lambda: EdgeBackend("a", STABLE.targets, 101), "0..100"),
        (lambda: RateLimit(action="block"), "throttle or ban"),
        (lambda: RateLimit(interval_sec=45), "interval_sec 45"),
        (lambda: RateLimit(enforce_on_key="HTTP_HEADER"), "enforce_on_key_name"),
        (lambda: RateLimit(enforce_on_key="COOKIE"), "enforce_on_key"),
        (lambda: ArmorSettings(waf_rules=["sqli"]), "sqli-v33-stable"),
        (lambda: ArmorSettings(waf_rules=["evil-v33-stable"]), "families: java"),
        (lambda: ArmorSettings(waf_sensitivity=0), "1..4"),
        (lambda: ArmorSettings(denied_ranges=["nope"]), "denied_ranges: 'nope'"),
        (lambda: ArmorSettings(free_text_paths=["v1/chat"]), "free_text_paths"),
        (lambda: ArmorSettings(free_text_paths=["/v1/chat') || true || ('"]), "free_text_paths"),
    ],
)
def test_part_errors(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


# --- stagewise:edge config -----------------------------------------------------------------

BASE = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}


def edge_error(section: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config({**BASE, "stagewise:edge": json.dumps({"domains": ["chat.example.com"], **section})}, "prod")
    return str(caught.value)


def test_edge_config_defaults_are_secure() -> None:
    config = load_config({**BASE, "stagewise:edge": json.dumps({"domains": ["chat.example.com"]})}, "prod").edge
    assert config is not None
    assert config.ssl_profile == "MODERN" and config.min_tls_version == "TLS_1_2" and config.http_redirect
    assert set(config.armor.waf_rules) >= {"sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rce-v33-stable"}
    assert config.armor.rate_limit is not None and config.armor.adaptive_protection
    assert {k: t.weight for k, t in config.tracks.items()} == {"stable": 100}


def test_edge_config_canary_tracks() -> None:
    section = {"domains": ["chat.example.com"], "tracks": {"blue": {"weight": 0}, "green": {"weight": 100, "tag": "green"}}}
    config = load_config({**BASE, "stagewise:edge": json.dumps(section)}, "prod").edge
    assert config is not None and config.tracks["green"].tag == "green"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"domains": []}, "no domains"),
        ({"domains": ["*.example.com"]}, "is a wildcard"),
        ({"domains": ["Chat.Example.com"]}, "is not a lowercase DNS name"),
        ({"domains": ["a.example.com", "a.example.com"]}, "lists a name twice"),
        ({"sslProfile": "COMPATIBLE"}, "stagewise:edge.sslProfile"),
        ({"minTlsVersion": "TLS_1_0"}, "stagewise:edge.minTlsVersion"),
        ({"logSampleRate": 1.5}, "stagewise:edge.logSampleRate"),
        ({"armor": {"wafRules": ["sqli-v99-stable"]}}, "is not a Cloud Armor preconfigured WAF rule"),
        ({"armor": {"wafRules": ["evil-v33-stable"]}}, "families:"),
        ({"armor": {"wafRules": ["xss-v33-stable", "xss-v33-stable"]}}, "lists a rule twice"),
        ({"armor": {"wafSensitivity": 0}}, "stagewise:edge.armor.wafSensitivity"),
        ({"armor": {"deniedRanges": ["300.1.1.1/32"]}}, "deniedRanges: '300.1.1.1/32' is not an IP range"),
        ({"armor": {"rateLimit": {"intervalSec": 45}}}, "intervalSec 45 is not allowed"),
        ({"armor": {"rateLimit": {"enforceOnKey": "HTTP_HEADER"}}}, "needs enforceOnKeyName"),
        ({"armor": {"rateLimit": {"enforceOnKeyName": "x-api-key"}}}, "only used with enforceOnKey: HTTP_HEADER"),
        ({"armor": {"rateLimit": {"banDurationSec": 600}}}, "set action: ban"),
        ({"armor": {"rateLimit": {"action": "block"}}}, "stagewise:edge.armor.rateLimit.action"),
        ({"armor": {"wafRule": []}}, "did you mean 'wafRules'"),
        ({"armor": {"freeTextPaths": ["chat"]}}, "freeTextPaths: 'chat' is not a URL path prefix"),
        ({"tracks": {}}, "no tracks"),
        ({"tracks": {"stable": {"weight": 90}, "canary": {"weight": 20, "tag": "canary"}}}, "add up to 110"),
        ({"tracks": {"Stable": {"weight": 100}}}, "track name 'Stable'"),
        ({"tracks": {"a": {"weight": 50}, "b": {"weight": 50}}}, "same service and tag"),
        ({"tracks": {"a": {"weight": 100, "tag": "Canary"}}}, "a revision tag is lowercase"),
        ({"tracks": {"a": {"weight": 101}}}, "stagewise:edge.tracks.a.weight"),
    ],
)
def test_edge_config_errors_name_the_key_and_fix(section: dict[str, Any], expected: str) -> None:
    assert expected in edge_error(section)


def test_config_armor_fields_map_one_to_one_onto_the_component() -> None:
    from dataclasses import fields

    from stagewise.stacks.config.edge import ArmorConfig, RateLimitConfig

    assert RateLimit(**RateLimitConfig().model_dump()) == RateLimit()
    armor = ArmorConfig().model_dump(exclude={"rate_limit"})
    assert set(armor) | {"rate_limit"} == {f.name for f in fields(ArmorSettings)}
    settings = ArmorSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in armor.items()})
    assert settings == ArmorSettings()
