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
from .compute import run_spec
from .iam import COMPUTE_DEFAULT, DEFAULT_SA, PUBLIC_MEMBERS, default_identity, grants
from .props import config_list, flag, get, items, mapping, strings, text

INGRESS_ALL = "INGRESS_TRAFFIC_ALL"
INGRESS_LB = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
# Cloud Run v1 sets ingress with a service annotation ("run.googleapis.com/ingress" = "all"; all is the
# default): https://pub.dev/documentation/pulumi_gcp/latest/cloudrun/ServiceMetadata/annotations.html
V1_INGRESS = "run.googleapis.com/ingress"
V1_INGRESS_VALUES = {"all": INGRESS_ALL, "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
                     "internal-and-cloud-load-balancing": INGRESS_LB}
SECRET_VALUE = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|"
    r"xox[abp]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|ya29\.[A-Za-z0-9_-]{20,}|"
    r"\bBearer\s+[A-Za-z0-9._~+/=-]{20,})",
)
# A connection string with a password in it: scheme://user:password@host (a DSN).
DSN_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@", re.IGNORECASE)
# Long random-looking tokens (base64/hex alphabets, no path separators or spaces).
TOKEN_SHAPED = re.compile(r"^[A-Za-z0-9+=_-]{32,}$")
# Values that look like a name-triggered secret but are plainly configuration.
HARMLESS = re.compile(r"^(|true|false|\d+|[a-z][a-z0-9_.-]*|https?://[^\s@]+)$", re.IGNORECASE)
# Values the platform fills in (Kubernetes-style $(VAR) or shell ${VAR}): not a literal.
INTERPOLATED = re.compile(r"^\$[({][A-Za-z_][A-Za-z0-9_]*[)}]$")
# Name words: a name whose last words are a credential word holds a credential; a word after it
# (…_NAME, …_FILE, …_LIMIT) makes it describe one instead (CHAT_SECRET_NAME names a secret).
STRONG_WORDS = {"password", "passwd", "pwd", "pass", "passphrase", "secret", "credential", "credentials", "dsn"}
STRONG_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"), ("client", "secret"),
                ("auth", "token"), ("access", "token"), ("refresh", "token"), ("bearer", "token"), ("api", "token"),
                ("connection", "string")}
WEAK_WORDS = {"key", "token", "auth"}
# One-word spellings (PGPASSWORD, apikey, dbsecret): the word ends with a credential word.
STRONG_SUFFIXES = ("password", "passwd", "passphrase", "secret", "credential", "credentials", "apikey", "accesskey", "privatekey")
# key=value inside an argument or a shell line (--db-password=…, PASSWORD=… in sh -c).
ASSIGNMENT = re.compile(r"([A-Za-z0-9_.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|dsn))"
                        r"\s*[=:]\s*['\"]?([^\s'\"&;|]+)", re.IGNORECASE)


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.lstrip("-"))
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


def credential_name(name: str) -> str | None:
    """'strong' when the name says it holds a credential, 'weak' when it may, None when it does not."""
    words = _name_words(name)
    if not words:
        return None
    if words[-1] in STRONG_WORDS or tuple(words[-2:]) in STRONG_PAIRS or words[-1].endswith(STRONG_SUFFIXES):
        return "strong"
    if words[-1] in WEAK_WORDS:
        return "weak"
    return None


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _shaped_like_a_secret(value: str) -> bool:
    if SECRET_VALUE.search(value):
        return True
    password = DSN_PASSWORD.search(value)
    if password and not password.group(1).startswith("$"):
        return True
    return bool(TOKEN_SHAPED.match(value) and any(c.isdigit() for c in value) and _entropy(value) >= 4.0)


def looks_secret(name: str, value: str) -> bool:
    """A literal value that is (or is named like, and shaped like) a credential."""
    if not value or INTERPOLATED.match(value.strip()):
        return False
    if _shaped_like_a_secret(value):
        return True
    kind = credential_name(name)
    if kind == "strong":
        return value.strip().lower() not in ("", "true", "false")
    return kind == "weak" and not HARMLESS.match(value)


def secret_arguments(arguments: list[str]) -> list[str]:
    """Where, in a container's command and args, a literal credential sits (by position; never the value)."""
    found: list[str] = []
    for index, argument in enumerate(arguments):
        flag_name, equals, flag_value = argument.partition("=")
        following = arguments[index + 1] if index + 1 < len(arguments) else ""
        if argument.startswith("-") and equals and looks_secret(flag_name, flag_value):
            found.append(f"argument {index} ({flag_name})")
        elif argument.startswith("-") and not equals and following and not following.startswith("-") \
                and credential_name(argument) == "strong" and looks_secret(argument, following):
            found.append(f"argument {index + 1} (after {argument})")
        elif _shaped_like_a_secret(argument) or any(looks_secret(m.group(1), m.group(2)) for m in ASSIGNMENT.finditer(argument)):
            found.append(f"argument {index}")
    return list(dict.fromkeys(found))


def containers(resource: Resource) -> list[Any]:
    return items(get(run_spec(resource), "containers"))


def ingress(resource: Resource) -> str:
    """A Cloud Run service's ingress as the v2 enum (v1 annotations mapped; unset is ALL)."""
    if resource.type == t.RUN_V1_SERVICE:
        value = mapping(get(resource.props, "metadata.annotations")).get(V1_INGRESS)
        return V1_INGRESS_VALUES.get(str(value).lower(), INGRESS_ALL) if value is not None else INGRESS_ALL
    return text(resource.props, "ingress", INGRESS_ALL)


@resource_rule(
    "run-ingress-restricted",
    family="runtime",
    description="Cloud Run services do not accept traffic from the whole internet directly (ingress not ALL; the provider default is ALL).",
    severity=Severity.HIGH,
    remediation='Set ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" and put the HTTPS load balancer with Cloud Armor in front.',
    types=t.RUN_SERVICES,
    applies_to="Cloud Run services (v2 ingress; v1 run.googleapis.com/ingress annotation)",
    unknowns="fail-closed",
)
def ingress_restricted(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if ingress(resource) == INGRESS_ALL:
        yield Finding("ingress is INGRESS_TRAFFIC_ALL", "set ingress to INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER behind the load balancer")


def _service_for(grant_resource: Resource, services: Mapping[str, Resource]) -> Resource | None:
    """The Cloud Run service an invoker grant targets: by dependency on its name, else by name."""
    key = "service" if grant_resource.type in (t.RUN_V1_IAM_MEMBER, t.RUN_V1_IAM_BINDING, t.RUN_V1_IAM_POLICY) else "name"
    for dependency in grant_resource.property_dependencies.get(key, ()):
        if dependency.type in t.RUN_SERVICES:
            return dependency
    return services.get(text(grant_resource.props, key).rsplit("/", 1)[-1])


def _internet_facing(service: Resource | None) -> bool:
    # A service outside the stack is judged unknown, hence internet-facing.
    return service is None or ingress(service) == INGRESS_ALL


@stack_rule(
    "run-invoker-not-public",
    family="runtime",
    description="A Cloud Run service that takes traffic from the internet (ingress ALL) is not invokable by allUsers/allAuthenticatedUsers, nor with the invoker check disabled, unless the stage allows a public API. Public invokers behind an internal/load-balancer-only ingress are how the HTTPS load balancer reaches the service.",
    severity=Severity.HIGH,
    remediation="Restrict ingress to the load balancer (INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER) or grant roles/run.invoker to named callers; set allowPublic only for a stage whose API is public by design.",
    types=[*t.RUN_SERVICES, *t.RUN_INVOKER_IAM],
    params={"allowPublic": {"type": "boolean", "default": False, "description": "the stage serves a public, app-authenticated API"}},
    unknowns="skip",
)
def invoker_not_public(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    if config.get("allowPublic") is True:
        return
    services = {text(r.props, "name") or r.name: r for r in resources if r.type in t.RUN_SERVICES}
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
    description="Secrets reach containers as Secret Manager references, never as literal values: not in env (whatever the name's case "
                "or spelling), not in a connection string's password, not in the container's command or args.",
    severity=Severity.CRITICAL,
    remediation="Store the value in Secret Manager and reference it with env value_source.secret_key_ref (ChatServiceArgs.secret_env); "
                "pass it to the process through that variable, not on the command line.",
    types=t.RUN_WORKLOADS,
    applies_to="Cloud Run services (v1 and v2) and jobs",
    unknowns="skip",
)
def secrets_from_secret_manager(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for index, container in enumerate(containers(resource)):
        for env in items(get(container, "envs")):
            name = text(env, "name")
            value = get(env, "value")
            # The value itself is never echoed: policies see secrets in plain text.
            if isinstance(value, str) and looks_secret(name, value):
                yield Finding(f"env {name} holds a literal value that looks like a secret",
                              f"move it to Secret Manager and set {name} from value_source.secret_key_ref")
        arguments = strings(get(container, "commands")) + strings(get(container, "args"))
        for where in secret_arguments(arguments):
            yield Finding(f"container {index}'s command line has a literal credential at {where}",
                          "read it from an env variable set from Secret Manager instead")


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
    types=t.RUN_WORKLOADS,
    params={"allowedRegistrySuffixes": {"type": "array", "items": {"type": "string"}, "default": ["-docker.pkg.dev"],
                                        "description": "registry host suffixes images may come from"}},
)
def image_from_registry(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    suffixes = tuple(config_list(config, "allowedRegistrySuffixes"))
    for container in containers(resource):
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
    types=t.RUN_WORKLOADS,
)
def image_pinned(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for container in containers(resource):
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
    description="Cloud Run services and jobs run as a dedicated service account (not the default compute one, which GCP uses when none is set).",
    severity=Severity.HIGH,
    remediation="Create a gcp.serviceaccount.Account for the service and set template.service_account to its email.",
    types=t.RUN_WORKLOADS,
    applies_to="Cloud Run services (v1 and v2) and jobs",
    anchor="CKV_GCP_30 (intent)",
)
def dedicated_service_account(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    identity = default_identity(resource)
    if identity == COMPUTE_DEFAULT:
        yield Finding("no service account is set, so it runs as the default compute service account",
                      "set the template's service account to a dedicated account")
    elif identity and DEFAULT_SA.match(identity):
        yield Finding("runs as a default service account", "set the template's service account to a dedicated account")


@resource_rule(
    "run-health-probes",
    family="runtime",
    description="Containers declare a startup probe and a liveness probe.",
    severity=Severity.LOW,
    remediation="Set startup_probe and liveness_probe (http_get on the app's /readyz and /healthz).",
    types=[t.RUN_SERVICE],
)
def health_probes(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for index, container in enumerate(items(get(resource.props, "template.containers"))):
        missing = [probe for probe in ("startupProbe", "livenessProbe") if get(container, probe) is None]
        if missing:
            yield Finding(f"container {index} has no {' or '.join(missing)}", "declare both probes")
