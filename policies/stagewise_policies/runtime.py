"""Cloud Run v2 services: exposure, identity, secrets, images and lifecycle."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import Finding, Resource, resource_rule, stack_rule
from .iam import DEFAULT_SA, PUBLIC_MEMBERS, grants
from .props import config_list, flag, get, items, text

INGRESS_ALL = "INGRESS_TRAFFIC_ALL"
INGRESS_LB = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY)", re.IGNORECASE)
SECRET_VALUE = re.compile(
    r"^(sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|ghp_[A-Za-z0-9]{30,}|xox[abp]-[A-Za-z0-9-]{10,}|"
    r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----.*|ya29\.[A-Za-z0-9_-]{20,})",
    re.DOTALL,
)
# Long random-looking tokens (base64/hex alphabets, no path separators or spaces).
TOKEN_SHAPED = re.compile(r"^[A-Za-z0-9+=_-]{32,}$")
# Values that look like a name-triggered secret but are plainly configuration.
HARMLESS = re.compile(r"^(|true|false|\d+|[a-z][a-z0-9-]*|https?://\S+)$", re.IGNORECASE)


def containers(resource: Resource) -> list[Any]:
    return items(get(resource.props, "template.containers"))


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_secret(name: str, value: str) -> bool:
    """A literal env value that is (or is named like, and shaped like) a credential."""
    if SECRET_VALUE.match(value):
        return True
    if TOKEN_SHAPED.match(value) and any(c.isdigit() for c in value) and _entropy(value) >= 4.0:
        return True
    return bool(SECRET_NAME.search(name)) and not HARMLESS.match(value)


@resource_rule(
    "run-ingress-restricted",
    family="runtime",
    description="Cloud Run services do not accept traffic from the whole internet directly (ingress not ALL; the provider default is ALL).",
    severity=Severity.HIGH,
    remediation='Set ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" and put the HTTPS load balancer with Cloud Armor in front.',
    types=[t.RUN_SERVICE],
    unknowns="fail-closed",
)
def ingress_restricted(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if text(resource.props, "ingress", INGRESS_ALL) == INGRESS_ALL:
        yield Finding("ingress is INGRESS_TRAFFIC_ALL", "set ingress to INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER behind the load balancer")


def _service_for(grant_resource: Resource, services: Mapping[str, Resource]) -> Resource | None:
    """The Cloud Run service an invoker grant targets: by dependency on its name, else by name."""
    for dependency in grant_resource.property_dependencies.get("name", ()):
        if dependency.type == t.RUN_SERVICE:
            return dependency
    return services.get(text(grant_resource.props, "name").rsplit("/", 1)[-1])


def _internet_facing(service: Resource | None) -> bool:
    # A service outside the stack is judged unknown, hence internet-facing.
    return service is None or text(service.props, "ingress", INGRESS_ALL) == INGRESS_ALL


@stack_rule(
    "run-invoker-not-public",
    family="runtime",
    description="A Cloud Run service that takes traffic from the internet (ingress ALL) is not invokable by allUsers/allAuthenticatedUsers, nor with the invoker check disabled, unless the stage allows a public API. Public invokers behind an internal/load-balancer-only ingress are how the HTTPS load balancer reaches the service.",
    severity=Severity.HIGH,
    remediation="Restrict ingress to the load balancer (INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER) or grant roles/run.invoker to named callers; set allowPublic only for a stage whose API is public by design.",
    types=[t.RUN_SERVICE, *t.RUN_INVOKER_IAM],
    params={"allowPublic": {"type": "boolean", "default": False, "description": "the stage serves a public, app-authenticated API"}},
    unknowns="skip",
)
def invoker_not_public(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    if config.get("allowPublic") is True:
        return
    services = {text(r.props, "name") or r.name: r for r in resources if r.type == t.RUN_SERVICE}
    for resource in resources:
        if resource.type == t.RUN_SERVICE:
            if flag(resource.props, "invokerIamDisabled") is True and _internet_facing(resource):
                yield resource, Finding("invoker IAM checks are disabled on an internet-facing service, so anyone can call it",
                                        "set invoker_iam_disabled=False or restrict ingress to the load balancer")
        elif resource.type in t.RUN_INVOKER_IAM:
            for grant in grants(resource):
                if grant.role != "roles/run.invoker" or grant.member not in PUBLIC_MEMBERS:
                    continue
                if _internet_facing(_service_for(resource, services)):
                    yield resource, Finding(f"roles/run.invoker is granted to {grant.member} on a service open to the internet",
                                            "restrict the service's ingress to the load balancer or grant to named callers")


@resource_rule(
    "run-secrets-from-secret-manager",
    family="runtime",
    description="Secrets reach containers as Secret Manager references, never as literal env values.",
    severity=Severity.CRITICAL,
    remediation="Store the value in Secret Manager and reference it with env value_source.secret_key_ref (ChatServiceArgs.secret_env).",
    types=[t.RUN_SERVICE, t.RUN_JOB],
    unknowns="skip",
)
def secrets_from_secret_manager(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    spec = get(resource.props, "template.template") if resource.type == t.RUN_JOB else get(resource.props, "template")
    for container in items(get(spec, "containers")):
        for env in items(get(container, "envs")):
            name = text(env, "name")
            value = get(env, "value")
            # The value itself is never echoed: policies see secrets in plain text.
            if isinstance(value, str) and looks_secret(name, value):
                yield Finding(f"env {name} holds a literal value that looks like a secret",
                              f"move it to Secret Manager and set {name} from value_source.secret_key_ref")


@resource_rule(
    "run-deletion-protection",
    family="runtime",
    description="Cloud Run services keep deletion protection on (the provider default).",
    severity=Severity.MEDIUM,
    remediation="Remove deletion_protection=False (or set True); turn it off only in the change that retires the service.",
    types=[t.RUN_SERVICE],
)
def deletion_protection(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if flag(resource.props, "deletionProtection", default=True) is False:
        yield Finding("deletion protection is off", "set deletion_protection=True")


@resource_rule(
    "run-vpc-egress-all-traffic",
    family="runtime",
    description="Cloud Run services send all egress through the VPC (Direct VPC egress ALL_TRAFFIC), so NAT, firewall and logs apply.",
    severity=Severity.MEDIUM,
    remediation='Set template.vpc_access=ServiceTemplateVpcAccessArgs(egress="ALL_TRAFFIC", network_interfaces=[...]).',
    types=[t.RUN_SERVICE],
)
def vpc_egress_all_traffic(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    access = get(resource.props, "template.vpcAccess")
    if access is None:
        yield Finding("the service has no VPC egress", "attach a subnet with egress ALL_TRAFFIC")
    elif text(access, "egress") != "ALL_TRAFFIC":
        yield Finding(f"VPC egress is {text(access, 'egress') or 'PRIVATE_RANGES_ONLY'}", "set egress to ALL_TRAFFIC")


@resource_rule(
    "run-image-from-registry",
    family="runtime",
    description="Containers run images from an allowed registry (by default Artifact Registry, *-docker.pkg.dev).",
    severity=Severity.HIGH,
    remediation="Push the image to the stage's Artifact Registry repository and reference it there.",
    types=[t.RUN_SERVICE, t.RUN_JOB],
    params={"allowedRegistrySuffixes": {"type": "array", "items": {"type": "string"}, "default": ["-docker.pkg.dev"],
                                        "description": "registry host suffixes images may come from"}},
)
def image_from_registry(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    suffixes = tuple(config_list(config, "allowedRegistrySuffixes"))
    spec = get(resource.props, "template.template") if resource.type == t.RUN_JOB else get(resource.props, "template")
    for container in items(get(spec, "containers")):
        image = text(container, "image")
        host = image.split("/", 1)[0] if "/" in image else "docker.io"
        if not host.endswith(suffixes):
            yield Finding(f"image comes from {host}", f"use a registry ending in {', '.join(suffixes)}")


@resource_rule(
    "run-image-pinned",
    family="runtime",
    description="Container images are referenced by digest (a tag such as latest never rolls a new revision and can change under you).",
    severity=Severity.MEDIUM,
    remediation="Reference image@sha256:<digest> (ContainerImage exports repo_digest).",
    types=[t.RUN_SERVICE, t.RUN_JOB],
)
def image_pinned(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    spec = get(resource.props, "template.template") if resource.type == t.RUN_JOB else get(resource.props, "template")
    for container in items(get(spec, "containers")):
        if "@sha256:" not in text(container, "image"):
            yield Finding("the image is referenced by tag, not digest", "reference it as image@sha256:<digest>")


@resource_rule(
    "run-default-url-disabled",
    family="runtime",
    description="Services behind the load balancer disable the default run.app URL, so the WAF cannot be bypassed.",
    severity=Severity.MEDIUM,
    remediation="Set default_uri_disabled=True on services with ingress INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER.",
    types=[t.RUN_SERVICE],
)
def default_url_disabled(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if text(resource.props, "ingress") == INGRESS_LB and flag(resource.props, "defaultUriDisabled") is not True:
        yield Finding("the default run.app URL stays enabled behind the load balancer", "set default_uri_disabled=True")


@resource_rule(
    "run-dedicated-service-account",
    family="runtime",
    description="Cloud Run services run as a dedicated service account (not the default compute one).",
    severity=Severity.HIGH,
    remediation="Create a gcp.serviceaccount.Account for the service and set template.service_account to its email.",
    types=[t.RUN_SERVICE],
    anchor="CKV_GCP_30 (intent)",
)
def dedicated_service_account(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    email = text(resource.props, "template.serviceAccount")
    if not email:
        yield Finding("no service account is set, so it runs as the default compute service account",
                      "set template.service_account to a dedicated account")
    elif DEFAULT_SA.match(email):
        yield Finding("runs as a default service account", "set template.service_account to a dedicated account")


@resource_rule(
    "run-health-probes",
    family="runtime",
    description="Containers declare a startup probe and a liveness probe.",
    severity=Severity.LOW,
    remediation="Set startup_probe and liveness_probe (http_get on the app's /readyz and /healthz).",
    types=[t.RUN_SERVICE],
)
def health_probes(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for index, container in enumerate(containers(resource)):
        missing = [probe for probe in ("startupProbe", "livenessProbe") if get(container, probe) is None]
        if missing:
            yield Finding(f"container {index} has no {' or '.join(missing)}", "declare both probes")
