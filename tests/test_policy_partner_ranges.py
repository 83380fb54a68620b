"""partner-source-ranges-enforced (issue 23): a partner key whose secret records allowed source ranges is
limited to them by whatever serves it — the app (CHAT_ALLOWED_CIDRS_<PARTNER>) or Cloud Armor on the only
way in. Failing and passing programs from raw pulumi_gcp resources (the prod frame, so every other rule
passes and the verdict sets are exact) and from the real staging composition."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import policy_fixtures as f
import pulumi
import pytest
from policy_fixtures import compute, crun, prod
from pulumi_gcp import secretmanager
from stack_values import run_with_values

import stagewise.stacks.partner_ranges as partner_ranges
from stagewise.policy.config import load_config_file
from stagewise.policy.analyzer import stage_config_path

RULE = "partner-source-ranges-enforced"
ACME = "203.0.113.0/24,2001:db8:ac::/48"
SECRET_ID = "partner-acme-api-key"
SERVICE = "chat-partners"


@dataclass(frozen=True)
class Case:
    id: str
    program: Callable[[], None]
    expected: set[tuple[str, str]]
    overrides: Mapping[str, Any] = field(default_factory=dict)


def key_secret(annotation: str | None = ACME) -> secretmanager.Secret:
    return f.secret(SECRET_ID, annotations={partner_ranges.ANNOTATION: annotation} if annotation is not None else None)


def env(name: str, value: str) -> crun.ServiceTemplateContainerEnvArgs:
    return crun.ServiceTemplateContainerEnvArgs(name=name, value=value)


def key_env(secret: str = SECRET_ID) -> crun.ServiceTemplateContainerEnvArgs:
    return crun.ServiceTemplateContainerEnvArgs(name="CHAT_API_KEY_ACME", value_source=crun.ServiceTemplateContainerEnvValueSourceArgs(
        secret_key_ref=crun.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(secret=secret, version="latest")))


def partner_service(*extra: crun.ServiceTemplateContainerEnvArgs, ingress: str = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
                    secret: str = SECRET_ID) -> crun.Service:
    envs = [env("CHAT_STORE", "firestore"), key_env(secret), *extra]
    return f.cloud_run(SERVICE, ingress=ingress, template=f.template(containers=[f.container(envs=envs)]))


def app_checked(ranges: str = ACME, hops: str | None = None, annotation: str | None = ACME) -> Callable[[], None]:
    def declare() -> None:
        key_secret(annotation)
        extra = [env("CHAT_ALLOWED_CIDRS_ACME", ranges)] + ([env("CHAT_TRUSTED_PROXY_HOPS", hops)] if hops is not None else [])
        partner_service(*extra)
    return prod(declare)


def allow(ranges: list[str], priority: int, action: str = "allow", preview: bool | None = None) -> compute.SecurityPolicyRuleArgs:
    return compute.SecurityPolicyRuleArgs(
        action=action, priority=priority, preview=preview,
        match=compute.SecurityPolicyRuleMatchArgs(versioned_expr="SRC_IPS_V1", config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=ranges)),
    )


def limited_throttle(ranges: list[str]) -> compute.SecurityPolicyRuleArgs:
    rule = f.throttle_rule()
    return compute.SecurityPolicyRuleArgs(
        action=rule.action, priority=rule.priority, rate_limit_options=rule.rate_limit_options,
        match=compute.SecurityPolicyRuleMatchArgs(versioned_expr="SRC_IPS_V1", config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=ranges)),
    )


ACME_RANGES = ACME.split(",")
# WAF deny first, then only acme's ranges pass (throttled), and the default denies.
ARMOR_FOR_ACME = [f.waf_rule(), limited_throttle(ACME_RANGES), allow(["*"], 2147483647, action="deny(403)")]


def behind_armor(rules: list[compute.SecurityPolicyRuleArgs] | None = None, ingress: str = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
                 extra_rule: compute.SecurityPolicyRuleArgs | None = None) -> Callable[[], None]:
    def declare() -> None:
        key_secret()
        service = partner_service(ingress=ingress)
        neg = compute.RegionNetworkEndpointGroup(
            "partners-neg", project=f.PROJECT, region=f.REGION, network_endpoint_type="SERVERLESS",
            cloud_run=compute.RegionNetworkEndpointGroupCloudRunArgs(service=service.name))
        policy = f.armor("partners-armor", rules=rules if rules is not None else ARMOR_FOR_ACME)
        if extra_rule is not None:
            compute.SecurityPolicyRule("partners-armor-extra", project=f.PROJECT, security_policy=policy.name,
                                       priority=extra_rule.priority, action=extra_rule.action, match=extra_rule.match)
        f.backend("partners-backend", security_policy=policy.self_link, backends=[compute.BackendServiceBackendArgs(group=neg.id)])
    return prod(declare)


def unrestricted() -> None:
    key_secret(annotation=None)
    partner_service()


def other_secret() -> None:
    key_secret()
    f.secret("partner-globex-api-key")
    partner_service(secret="partner-globex-api-key")


CASES = [
    # --- the app applies them ------------------------------------------------------------------------------------------
    Case("app-ranges-as-annotated", app_checked(), set()),
    Case("app-ranges-narrower", app_checked("203.0.113.0/25"), set()),
    Case("app-hops-one", app_checked(hops="1"), set()),
    Case("app-ranges-missing", prod(lambda: (key_secret(), partner_service())), {(RULE, SERVICE)}),
    Case("app-ranges-broader", app_checked("203.0.112.0/23"), {(RULE, SERVICE)}),
    Case("app-ranges-other-partners", app_checked("198.51.100.0/24"), {(RULE, SERVICE)}),
    Case("app-ranges-not-cidrs", app_checked("acme-office"), {(RULE, SERVICE)}),
    Case("app-hops-two-reads-client-entries", app_checked(hops="2"), {(RULE, SERVICE)}),
    Case("app-hops-zero-reads-the-front-end", app_checked(hops="0"), {(RULE, SERVICE)}),
    Case("annotation-not-ranges", app_checked(annotation="everyone"), {(RULE, SECRET_ID)}),
    # --- nothing to enforce -------------------------------------------------------------------------------------------
    Case("key-without-ranges", prod(unrestricted), set()),
    Case("service-reads-another-key", prod(other_secret), set()),
    # --- Cloud Armor in front applies them ------------------------------------------------------------------------------
    Case("armor-allows-only-acme", behind_armor(), set()),
    Case("armor-default-allows", behind_armor([f.waf_rule(), limited_throttle(ACME_RANGES), f.default_rule()]), {(RULE, SERVICE)}),
    Case("armor-throttles-everyone", behind_armor([f.waf_rule(), f.throttle_rule(), allow(["*"], 2147483647, "deny(403)")]),
         {(RULE, SERVICE)}),
    Case("armor-allow-in-preview-only", behind_armor([f.waf_rule(), limited_throttle(ACME_RANGES), allow(["*"], 2147483647, "deny(403)"),
                                                      allow(["*"], 2147483646, preview=True)]), set()),
    Case("armor-separate-rule-opens-it", behind_armor(extra_rule=allow(["0.0.0.0/0"], 500)), {(RULE, SERVICE)}),
    Case("armor-bypassed-by-open-ingress", behind_armor(ingress="INGRESS_TRAFFIC_ALL"),
         {(RULE, SERVICE), ("run-ingress-restricted", SERVICE)}),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exact_verdicts(case: Case) -> None:
    assert f.violations(case.program, "prod", case.overrides) == case.expected


def test_the_message_names_the_partner_and_both_ways_it_could_be_enforced() -> None:
    report = f.report(prod(lambda: (key_secret(), partner_service())))
    [verdict] = [v for v in report.verdicts if v.policy == RULE]
    assert verdict.level == "mandatory"
    assert "partner 'acme'" in verdict.message and SECRET_ID in verdict.message
    assert "no CHAT_ALLOWED_CIDRS_ACME" in verdict.message and "no load balancer backend" in verdict.message


def test_mandatory_in_staging() -> None:
    settings = load_config_file(stage_config_path("staging"))
    assert RULE not in settings or settings[RULE].level == "mandatory"


def staging_verdicts(monkeypatch: pytest.MonkeyPatch, service_env: Callable[..., dict[str, pulumi.Input[str]]] | None) -> set[tuple[str, str]]:
    if service_env is not None:
        monkeypatch.setattr(partner_ranges, "service_env", service_env)
    run = run_with_values("staging")
    return {pair for pair in f.stage_analyzer("staging").evaluate(run).pairs() if pair[0] == RULE}


def test_the_staging_composition_applies_every_partners_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    assert staging_verdicts(monkeypatch, None) == set()


def test_the_staging_composition_without_the_range_variables_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # the key secret still records acme's ranges, but the partner service no longer gets them
    assert staging_verdicts(monkeypatch, lambda partners: {}) == {(RULE, "partners")}


def test_the_staging_composition_trusting_client_entries_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real = partner_ranges.service_env

    def two_hops(partners: Any) -> dict[str, pulumi.Input[str]]:
        return {**real(partners), "CHAT_TRUSTED_PROXY_HOPS": "2"}

    assert staging_verdicts(monkeypatch, two_hops) == {(RULE, "partners")}


# --- our components: SecretSet + ChatService, directly or behind the prod EdgeLoadBalancer -------------------------

def components(app_ranges: str | None, behind_edge: bool) -> Callable[[], None]:
    from stagewise.components.chat_service import ChatService, ChatServiceArgs
    from stagewise.components.edge import EdgeBackend, EdgeLoadBalancer, EdgeLoadBalancerArgs, ServerlessTarget
    from stagewise.components.secrets import SecretSet, SecretSetArgs

    def declare() -> None:
        secrets = SecretSet("secrets", SecretSetArgs(
            project=f.PROJECT, secret_ids=[SECRET_ID], replica_locations=[f.REGION],
            annotations={SECRET_ID: {partner_ranges.ANNOTATION: ACME}}))
        service = ChatService("partners", ChatServiceArgs(
            project=f.PROJECT, region=f.REGION, image=f.IMAGE, service_name=SERVICE,
            ingress="internal-and-cloud-load-balancing" if behind_edge else "all",
            default_uri_disabled=behind_edge,
            env={"CHAT_ALLOWED_CIDRS_ACME": app_ranges} if app_ranges is not None else {},
            secret_env={"CHAT_API_KEY_ACME": secrets.ids[SECRET_ID]}))
        if behind_edge:
            EdgeLoadBalancer("edge", EdgeLoadBalancerArgs(
                project=f.PROJECT, domains=["partners.example.com"],
                backends=[EdgeBackend("stable", [ServerlessTarget(f.REGION, service.service_name)])]))
    return prod(declare)


def rule_verdicts(program: Callable[[], None]) -> list[str]:
    return [v.message for v in f.report(program).verdicts if v.policy == RULE]


def test_components_with_the_app_check_pass() -> None:
    assert rule_verdicts(components(ACME, behind_edge=False)) == []
    assert rule_verdicts(components(ACME, behind_edge=True)) == []


def test_components_without_it_fail_and_the_prod_edges_armor_does_not_count() -> None:
    [direct] = rule_verdicts(components(None, behind_edge=False))
    assert "no CHAT_ALLOWED_CIDRS_ACME" in direct and "ingress admits more than load balancers" in direct
    # The prod edge's Armor throttles and serves every address: it is not a partner allowlist.
    [edge] = rule_verdicts(components(None, behind_edge=True))
    assert "no CHAT_ALLOWED_CIDRS_ACME" in edge and "Cloud Armor" in edge and "ingress" not in edge
