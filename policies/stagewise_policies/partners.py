"""Partner access: a partner key limited to source ranges is limited by something that applies them.

The intent is on record where the key is: the partner's key secret carries the annotation
`stagewise-allowed-cidrs` (stagewise/stacks/partner_ranges.py). Two things can apply the ranges to every
Cloud Run service that injects that secret as `CHAT_API_KEY_<PARTNER>`:

- the app: the service's env has `CHAT_ALLOWED_CIDRS_<PARTNER>` listing only addresses inside the
  annotated ranges, and `CHAT_TRUSTED_PROXY_HOPS` unset or 1, so the app judges the X-Forwarded-For
  entry Cloud Run's front end appends; a larger count reads entries the client wrote (a bypass), 0
  the socket peer, which on Cloud Run is the front end itself
  (https://cloud.google.com/load-balancing/docs/https#x-forwarded-for_header; app/src/chatapp/source_ranges.py);
- Cloud Armor: the service's ingress admits only load balancers
  (INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER), and a backend service whose backend is a serverless NEG
  of that service has a security policy in which every rule that lets traffic through matches only
  source ranges inside the partner's, and the last rule denies. "Cloud Armor performs the action of
  the highest priority rule that matches a request" (https://cloud.google.com/armor/docs/create-security-policy-rules),
  so an address outside the ranges then meets a deny. Rules in preview are not enforced and count
  for nothing. An Armor policy sees addresses, not keys: it can apply one partner's ranges only when
  every allowed range is that partner's, which is why the stacks check in the app.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import Finding, Resource, stack_rule
from .props import flag, get, items, mapping, number, strings, text
from .runtime import INGRESS_LB, containers, ingress

ANNOTATION = "stagewise-allowed-cidrs"
KEY_PREFIX = "CHAT_API_KEY_"
RANGES_PREFIX = "CHAT_ALLOWED_CIDRS_"
TRUSTED_HOPS = "CHAT_TRUSTED_PROXY_HOPS"
NEG = "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup"
ARMOR_RULE = "gcp:compute/securityPolicyRule:SecurityPolicyRule"
BACKENDS = (t.BACKEND_SERVICE, t.REGION_BACKEND_SERVICE)
DEFAULT_PRIORITY = 2147483647
# Actions that let a matching request reach the backend (throttle and rate_based_ban admit the
# traffic under their threshold); every other action (deny(...), redirect) keeps it away.
PASSING_ACTIONS = ("allow", "throttle", "rate_based_ban")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(raw: str) -> list[Network] | None:
    """A comma list of CIDRs; None when any entry is not one."""
    found: list[Network] = []
    for part in raw.split(","):
        if not part.strip():
            continue
        try:
            found.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            return None
    return found


def _inside(networks: list[Network], allowed: list[Network]) -> bool:
    return all(any(n.version == a.version and n.subnet_of(a) for a in allowed) for n in networks)  # type: ignore[arg-type]


def _env(container: Any) -> dict[str, Any]:
    return {text(env, "name"): env for env in items(get(container, "envs"))}


def _refers(value: str, target: Resource) -> bool:
    """A self link / id / name that names ``target`` (by its name prop or logical name)."""
    name = text(target.props, "name") or target.name
    return bool(value) and value.rstrip("/").rsplit("/", 1)[-1] == name


def _linked(source: Resource, key: str, target: Resource) -> bool:
    return target in source.property_dependencies.get(key, ()) or any(_refers(v, target) for v in _strings_at(source.props, key))


def _strings_at(props: Any, key: str) -> list[str]:
    value = get(props, key)
    if isinstance(value, str):
        return [value]
    return [text(item, "group") for item in items(value)] if key == "backends" else strings(value)


def _passing_rules_within(rules: list[Any], allowed: list[Network]) -> Finding | None:
    """None when the rules deny every address outside ``allowed``; else why not."""
    enforced = [rule for rule in rules if flag(rule, "preview") is not True]
    if not enforced:
        return Finding("the Cloud Armor policy has no enforced rule", "add allow rules for the partner's ranges and a deny default")
    ordered = sorted(enforced, key=lambda rule: number(rule, "priority") or 0.0)
    if not text(ordered[-1], "action").lower().startswith("deny"):
        return Finding("the Cloud Armor policy's last rule lets traffic through, so any address is served",
                       "make the default rule (priority 2147483647) deny(403)")
    for rule in ordered:
        if text(rule, "action").lower() not in PASSING_ACTIONS:
            continue
        ranges = strings(get(rule, "match.config.srcIpRanges"))
        parsed = _networks(",".join(ranges)) if ranges and "*" not in ranges else None
        if text(rule, "match.versionedExpr") != "SRC_IPS_V1" or parsed is None or not _inside(parsed, allowed):
            where = f"priority {number(rule, 'priority') or 0:g}"
            return Finding(f"the Cloud Armor rule at {where} lets through addresses outside the partner's ranges",
                           "match only the partner's ranges (SRC_IPS_V1 srcIpRanges) in rules that allow, throttle or ban")
    return None


def _app_enforces(service: Resource, suffix: str, allowed: list[Network]) -> Finding | None:
    """None when the service's own app applies the ranges; else why not."""
    for container in containers(service):
        env = _env(container)
        if KEY_PREFIX + suffix not in env:
            continue
        entry = env.get(RANGES_PREFIX + suffix)
        if entry is None:
            return Finding(f"the service injects the key as {KEY_PREFIX}{suffix} but has no {RANGES_PREFIX}{suffix}, so the key works "
                           "from anywhere", f"set {RANGES_PREFIX}{suffix} to the partner's ranges (stagewise/stacks/partner_ranges.py does)")
        value = get(entry, "value")
        networks = _networks(value) if isinstance(value, str) else None
        if not networks:
            return Finding(f"{RANGES_PREFIX}{suffix} is not a literal list of CIDR ranges", "set it to the partner's ranges")
        if not _inside(networks, allowed):
            return Finding(f"{RANGES_PREFIX}{suffix} admits addresses outside the ranges on the partner's key secret",
                           "list only the partner's allowedCidrs")
        hops = get(env.get(TRUSTED_HOPS), "value")
        if hops is not None and str(hops).strip() != "1":
            return Finding(f"{TRUSTED_HOPS}={hops}: the app would judge an X-Forwarded-For entry other than the one Cloud Run's "
                           "front end appends (a client-written one above 1; the front end itself at 0)",
                           f"unset {TRUSTED_HOPS} or set it to 1")
        return None
    return Finding("no container of the service injects the key", "inject it as CHAT_API_KEY_<PARTNER>")


def _armor_enforces(service: Resource, resources: list[Resource], allowed: list[Network]) -> Finding | None:
    if ingress(service) != INGRESS_LB:
        return Finding("the service's ingress admits more than load balancers, so Cloud Armor can be bypassed",
                       "set ingress to INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")
    service_name = text(service.props, "name") or service.name
    negs = [r for r in resources if r.type == NEG and text(r.props, "cloudRun.service") == service_name]
    backends = [b for b in resources if b.type in BACKENDS and any(_linked(b, "backends", neg) for neg in negs)]
    if not backends:
        return Finding("no load balancer backend (serverless NEG) reaches the service", "put the partner service behind one")
    for backend in backends:
        policies = [p for p in resources if p.type == t.SECURITY_POLICY and _linked(backend, "securityPolicy", p)]
        if not policies:
            return Finding(f"backend {backend.name} has no Cloud Armor policy", "attach one that allows only the partner's ranges")
        for policy in policies:
            extra = [r.props for r in resources if r.type == ARMOR_RULE and _linked(r, "securityPolicy", policy)]
            problem = _passing_rules_within([*items(get(policy.props, "rules")), *extra], allowed)
            if problem is not None:
                return problem
    return None


@stack_rule(
    "partner-source-ranges-enforced",
    family="network",
    description="A partner key whose secret records allowed source ranges (annotation stagewise-allowed-cidrs) is limited to "
                "them wherever it is injected: by the service's app (CHAT_ALLOWED_CIDRS_<PARTNER>, trusted hops 1) or by a Cloud "
                "Armor policy on the only way in (load-balancer-only ingress).",
    severity=Severity.HIGH,
    remediation="Set stagewise:partners.partners.<partner>.allowedCidrs and let the staging stack pass them to the partner "
                "service (CHAT_ALLOWED_CIDRS_<PARTNER>); behind a load balancer instead, allow only those ranges in Cloud Armor "
                "and deny the rest.",
    types=[t.SECRET, *t.RUN_SERVICES, NEG, *BACKENDS, t.SECURITY_POLICY, ARMOR_RULE],
    applies_to="partner key secrets with stagewise-allowed-cidrs, and the Cloud Run v2 services that inject them",
    unknowns="skip",
)
def source_ranges_enforced(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    services = [r for r in resources if r.type == t.RUN_SERVICE]
    for secret in resources:
        if secret.type != t.SECRET:
            continue
        raw = mapping(get(secret.props, "annotations")).get(ANNOTATION)
        if raw is None:
            continue
        secret_id = text(secret.props, "secretId") or secret.name
        allowed = _networks(str(raw))
        if not allowed:
            yield secret, Finding(f"annotation {ANNOTATION} on {secret_id} lists no valid CIDR range",
                                  "set it to the partner's ranges (comma-separated CIDRs)")
            continue
        for service in services:
            for container in containers(service):
                for name, env in _env(container).items():
                    ref = text(env, "valueSource.secretKeyRef.secret")
                    if not name.startswith(KEY_PREFIX) or not (ref and ref.rstrip("/").rsplit("/", 1)[-1] == secret_id):
                        continue
                    suffix = name[len(KEY_PREFIX):]
                    partner = suffix.lower().replace("_", "-")
                    by_app = _app_enforces(service, suffix, allowed)
                    if by_app is None:
                        continue
                    by_armor = _armor_enforces(service, resources, allowed)
                    if by_armor is None:
                        continue
                    yield service, Finding(
                        f"the key of partner {partner!r} ({secret_id}) is limited to {raw} but nothing applies the ranges here: "
                        f"in the app, {by_app.problem}; in front, {by_armor.problem}",
                        by_app.fix,
                    )
