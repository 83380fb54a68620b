r"""Generate stagewise/readiness/data/provider_facts.yaml from the provider's own schema.

Provenance only: CI never runs this. It reads two git snapshots (bare git directories, read
with ``git show``) and the installed pulumi_gcp package:

* GoogleCloudPlatform/magic-modules: ``mmv1/products/<product>/<Resource>.yaml`` is the source
  of every generated (MMv1) resource. A property is ForceNew by the generator's rule
  (``mmv1/api/type.go`` ``IsForceNew``): explicitly ``immutable: true``, or the resource is
  ``immutable: true`` and the property has no ``update_url`` and its parent is ForceNew too.
  ``output: true`` is computed-only, ``required: true`` is required, ``type: Enum`` lists
  ``enum_values``.
* hashicorp/terraform-provider-google-beta (or hashicorp/terraform-provider-google): the Go
  schema of the handwritten resources (``ForceNew: true``, ``Required: true``,
  ``Computed`` without ``Optional``, ``verify.ValidateEnum`` / ``validation.StringInSlice``) and
  of the IAM resources (``tpgiamresource.ResourceIamMember(<parent schema>, ...)``, whose base
  schema makes ``role``, ``member`` and ``condition`` ForceNew). pulumi-gcp bridges the *beta*
  provider (its provider/go.mod replaces terraform-provider-google-beta with ../upstream:
  https://github.com/pulumi/pulumi-gcp/blob/0029828bd4e80d8d562a7e2ac3b3c71798bc3919/provider/go.mod),
  so the beta snapshot is the one to pass; the GA one works too but lacks beta-only fields.

For an MMv1 resource the generated Go file of the same resource is read as well and compared
with what the YAML gave; any difference is printed (``--strict`` makes it fatal), so a
misreading of the generator's rules shows up instead of landing in the data.

Terraform names are mapped to the Pulumi engine's property names by walking pulumi_gcp's
``<Resource>Args`` / ``_<Resource>State`` classes and their nested ``...Args`` input classes
(``@pulumi.getter(name=...)``); list-valued blocks carry ``[]`` in a path, single-item blocks
(``MaxItems: 1``) are plain objects, as the bridge projects them.

Usage:
    uv run --locked python scripts/provider_facts.py \
        --magic-modules /work/.mirror/GoogleCloudPlatform+magic-modules/repo \
        --terraform /work/.mirror/hashicorp+terraform-provider-google-beta/repo \
        --out stagewise/readiness/data/provider_facts.yaml
"""

from __future__ import annotations

import argparse
import collections.abc
import dataclasses
import importlib
import inspect
import re
import subprocess
import sys
import typing
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import yaml

# Pulumi type token -> Terraform resource name. The bridge's own mapping (pulumi-gcp
# provider/resources.go) is not shipped in the wheel, so this table is the one hand-kept
# input; every token is checked against the class's ``super().__init__('gcp:...')`` call.
TYPES: dict[str, str] = {
    "gcp:cloudrunv2/service:Service": "google_cloud_run_v2_service",
    "gcp:cloudrunv2/job:Job": "google_cloud_run_v2_job",
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": "google_cloud_run_v2_service_iam_member",
    "gcp:storage/bucket:Bucket": "google_storage_bucket",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "google_storage_bucket_iam_member",
    "gcp:projects/service:Service": "google_project_service",
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:projects/iAMCustomRole:IAMCustomRole": "google_project_iam_custom_role",
    "gcp:projects/serviceIdentity:ServiceIdentity": "google_project_service_identity",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:serviceaccount/iAMMember:IAMMember": "google_service_account_iam_member",
    "gcp:secretmanager/secret:Secret": "google_secret_manager_secret",
    "gcp:secretmanager/secretVersion:SecretVersion": "google_secret_manager_secret_version",
    "gcp:secretmanager/secretIamMember:SecretIamMember": "google_secret_manager_secret_iam_member",
    "gcp:firestore/database:Database": "google_firestore_database",
    "gcp:firestore/field:Field": "google_firestore_field",
    "gcp:firestore/backupSchedule:BackupSchedule": "google_firestore_backup_schedule",
    "gcp:compute/network:Network": "google_compute_network",
    "gcp:compute/subnetwork:Subnetwork": "google_compute_subnetwork",
    "gcp:compute/router:Router": "google_compute_router",
    "gcp:compute/routerNat:RouterNat": "google_compute_router_nat",
    "gcp:compute/firewall:Firewall": "google_compute_firewall",
    "gcp:compute/globalAddress:GlobalAddress": "google_compute_global_address",
    "gcp:compute/address:Address": "google_compute_address",
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": (
        "google_compute_region_network_endpoint_group"
    ),
    "gcp:compute/backendService:BackendService": "google_compute_backend_service",
    "gcp:compute/uRLMap:URLMap": "google_compute_url_map",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "google_compute_target_https_proxy",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "google_compute_target_http_proxy",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": "google_compute_global_forwarding_rule",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "google_compute_managed_ssl_certificate",
    "gcp:compute/sSLPolicy:SSLPolicy": "google_compute_ssl_policy",
    "gcp:compute/securityPolicy:SecurityPolicy": "google_compute_security_policy",
    "gcp:compute/healthCheck:HealthCheck": "google_compute_health_check",
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate": "google_compute_region_instance_template",
    "gcp:compute/instanceTemplate:InstanceTemplate": "google_compute_instance_template",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": (
        "google_compute_region_instance_group_manager"
    ),
    "gcp:compute/regionAutoscaler:RegionAutoscaler": "google_compute_region_autoscaler",
    "gcp:compute/instance:Instance": "google_compute_instance",
    "gcp:monitoring/alertPolicy:AlertPolicy": "google_monitoring_alert_policy",
    "gcp:monitoring/notificationChannel:NotificationChannel": "google_monitoring_notification_channel",
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": "google_monitoring_uptime_check_config",
    "gcp:monitoring/dashboard:Dashboard": "google_monitoring_dashboard",
    "gcp:logging/projectSink:ProjectSink": "google_logging_project_sink",
    "gcp:logging/metric:Metric": "google_logging_metric",
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": "google_logging_project_bucket_config",
    "gcp:artifactregistry/repository:Repository": "google_artifact_registry_repository",
    "gcp:vertex/aiEndpoint:AiEndpoint": "google_vertex_ai_endpoint",
    "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment": (
        "google_vertex_ai_endpoint_with_model_garden_deployment"
    ),
    "gcp:cloudscheduler/job:Job": "google_cloud_scheduler_job",
    "gcp:billing/budget:Budget": "google_billing_budget",
    "gcp:kms/keyRing:KeyRing": "google_kms_key_ring",
    "gcp:kms/cryptoKey:CryptoKey": "google_kms_crypto_key",
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": "google_iam_workload_identity_pool",
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": (
        "google_iam_workload_identity_pool_provider"
    ),
    "gcp:modelarmor/template:Template": "google_model_armor_template",
}

# Terraform-side names the bridge renames (pulumi-gcp provider/resources.go renames the
# provider-added label field for every resource).
TF_TO_PULUMI_RENAMES = {"terraform_labels": "pulumi_labels"}


# --------------------------------------------------------------------------------------------
# The provider-neutral schema model
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Field:
    """One Terraform attribute or block, as the provider's schema declares it."""

    name: str
    required: bool = False
    optional: bool = False
    computed: bool = False
    force_new: bool = False
    enum: tuple[str, ...] = ()
    children: dict[str, Field] | None = None

    @property
    def output_only(self) -> bool:
        return self.computed and not self.optional and not self.required


Schema = dict[str, Field]


def tf_paths(schema: Schema, prefix: str = "") -> Iterator[tuple[str, Field]]:
    for name in sorted(schema):
        field = schema[name]
        path = f"{prefix}{name}"
        yield path, field
        if field.children:
            yield from tf_paths(field.children, path + ".")


# --------------------------------------------------------------------------------------------
# Git snapshots
# --------------------------------------------------------------------------------------------


class Snapshot:
    def __init__(self, git_dir: str, slug: str) -> None:
        self.git_dir = git_dir
        self.slug = slug
        self.commit = self._git("rev-parse", "HEAD").strip()
        self.date = self._git("show", "-s", "--format=%cs", self.commit).strip()

    def _git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", self.git_dir, *args], check=True, capture_output=True, text=True
        ).stdout

    @cache
    def show(self, path: str) -> str:
        return self._git("show", f"{self.commit}:{path}")

    @cache
    def ls(self, folder: str) -> tuple[str, ...]:
        out = self._git("ls-tree", "--name-only", f"{self.commit}:{folder}")
        return tuple(f"{folder}/{name}" for name in out.split())

    def grep(self, pattern: str, folder: str) -> list[str]:
        proc = subprocess.run(
            ["git", "-C", self.git_dir, "grep", "-l", "-F", pattern, self.commit, "--", folder],
            capture_output=True,
            text=True,
        )
        return sorted(line.split(":", 1)[1] for line in proc.stdout.splitlines() if line)

    def url(self, path: str) -> str:
        return f"https://github.com/{self.slug}/blob/{self.commit}/{path}"


# --------------------------------------------------------------------------------------------
# magic-modules YAML
# --------------------------------------------------------------------------------------------


def underscore(name: str) -> str:
    """magic-modules ``google.Underscore`` (mmv1/google/string_utils.go)."""
    tmp = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    tmp = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", tmp)
    return tmp.replace("-", "_").replace(".", "_").lower()


def _in_beta(prop: dict[str, Any]) -> bool:
    return not prop.get("exclude") and prop.get("min_version", "ga") in ("ga", "beta")


class MmResource:
    """The TF schema an MMv1 resource YAML generates, by the rules of mmv1/api/type.go."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.immutable = bool(doc.get("immutable"))
        props = [p for p in (doc.get("parameters") or []) + (doc.get("properties") or []) if _in_beta(p)]
        self.root_labels = any(p.get("type") == "KeyValueLabels" for p in props)
        self.updatable = not self.immutable or any(
            p.get("update_url") for p in self._walk(props)
        )
        self.props = props

    def _walk(self, props: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for p in props:
            yield p
            yield from self._walk(_nested_props(p))

    def is_force_new(self, prop: dict[str, Any], parent_force_new: bool | None) -> bool:
        """``Type.IsForceNew``; ``parent_force_new`` is None at the top level."""
        kind = prop.get("type")
        if kind == "KeyValueLabels" and self.root_labels:
            return False
        if prop.get("client_side"):
            return bool(prop.get("immutable"))
        if prop.get("write_only") or prop.get("write_only_legacy"):
            return False
        if prop.get("output"):
            return False
        if prop.get("immutable"):
            return True
        if not self.immutable or prop.get("update_url"):
            return False
        if parent_force_new is None:
            return True
        return parent_force_new

    def schema(self) -> Schema:
        out: Schema = {}
        self._fields(self.props, None, out)
        for vf in self.doc.get("virtual_fields") or []:
            name = underscore(vf["name"])
            out[name] = Field(
                name=name,
                optional=not vf.get("required"),
                required=bool(vf.get("required")),
                force_new=bool(vf.get("immutable")),
                enum=_enum_values(vf),
            )
        if not self.doc.get("deletion_policy_exclude") and "deletion_policy" not in out:
            out["deletion_policy"] = Field("deletion_policy", optional=True, computed=True)
        if self.doc.get("has_self_link") and "self_link" not in out:
            out["self_link"] = Field("self_link", computed=True)
        urls = " ".join(
            str(self.doc.get(k, "")) for k in ("base_url", "self_link", "id_format", "create_url")
        )
        if "{{project}}" in urls and "project" not in out:
            out["project"] = Field("project", optional=True, computed=True, force_new=True)
        for p in self.props:
            if p.get("type") == "KeyValueLabels":
                fn = not self.updatable
                out["terraform_labels"] = Field("terraform_labels", computed=True, force_new=fn)
                out["effective_labels"] = Field("effective_labels", computed=True, force_new=fn)
            if p.get("type") == "KeyValueAnnotations":
                out["effective_annotations"] = Field("effective_annotations", computed=True)
        return out

    def _fields(self, props: list[dict[str, Any]], parent_fn: bool | None, out: Schema) -> None:
        for p in props:
            if not _in_beta(p):
                continue
            fn = self.is_force_new(p, parent_fn)
            nested = [c for c in _nested_props(p) if _in_beta(c)]
            if p.get("flatten_object"):
                self._fields(nested, fn, out)
                continue
            name = underscore(p["name"])
            output = bool(p.get("output"))
            required = bool(p.get("required")) and not output
            field = Field(
                name=name,
                required=required,
                optional=not required and not output,
                computed=output or bool(p.get("default_from_api")),
                force_new=fn,
                enum=_enum_values(p),
            )
            if nested or _is_nested(p):
                children: Schema = {}
                if p.get("type") == "Map":
                    key = underscore(p["key_name"])
                    children[key] = Field(key, required=True, force_new=fn)
                self._fields(nested, fn, children)
                field.children = children
            out[name] = field


def _item(prop: dict[str, Any], key: str) -> dict[str, Any]:
    value = prop.get(key)
    return value if isinstance(value, dict) else {}


def _is_nested(prop: dict[str, Any]) -> bool:
    kind = prop.get("type")
    if kind == "NestedObject":
        return True
    if kind == "Array":
        return _item(prop, "item_type").get("type") == "NestedObject"
    if kind == "Map":
        return _item(prop, "value_type").get("type") == "NestedObject"
    return False


def _nested_props(prop: dict[str, Any]) -> list[dict[str, Any]]:
    kind = prop.get("type")
    if kind == "NestedObject":
        return list(prop.get("properties") or [])
    if kind == "Array":
        return list(_item(prop, "item_type").get("properties") or [])
    if kind == "Map":
        return list(_item(prop, "value_type").get("properties") or [])
    return []


def _enum_values(prop: dict[str, Any]) -> tuple[str, ...]:
    source = prop
    if prop.get("type") == "Array":
        source = _item(prop, "item_type")
    if source.get("type") != "Enum":
        return ()
    values: list[str] = []
    for v in source.get("enum_values") or []:
        values.append(str(next(iter(v))) if isinstance(v, dict) else str(v))
    return tuple(sorted(set(values) - {""}))


# --------------------------------------------------------------------------------------------
# A small Go reader: enough of the composite-literal grammar for terraform-plugin-sdk schemas
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lc>//[^\n]*)
  | (?P<bc>/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<rune>'(?:\\.|[^'\\\n])+')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>\d[\w.]*)
  | (?P<op>:=|\.\.\.|&&|\|\||==|!=|<=|>=|<-|[{}()\[\],:;.&*=!<>+\-/%|^?~])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclasses.dataclass
class Tok:
    kind: str
    text: str
    nl: bool = False  # a line break precedes this token


def tokenize(src: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    nl = False
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            raise ValueError(f"cannot tokenize Go at {src[pos:pos + 40]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind in ("ws", "lc", "bc"):
            nl = nl or "\n" in m.group() or kind == "lc"
            continue
        toks.append(Tok(kind, m.group(), nl))
        nl = False
    return toks


def _ends_statement(prev: Tok, tok: Tok) -> bool:
    """Go's semicolon insertion: a line break after these tokens ends the statement."""
    if not tok.nl:
        return False
    return prev.kind in ("ident", "num", "str", "raw", "rune") or prev.text in (")", "]", "}")


@dataclasses.dataclass
class Node:
    kind: str  # "lit", "str", "comp", "call", "opaque"
    text: str = ""
    elems: list[tuple[Node | None, Node]] = dataclasses.field(default_factory=list)
    args: list[Node] = dataclasses.field(default_factory=list)

    def get(self, key: str) -> Node | None:
        for k, v in self.elems:
            if k is not None and k.text == key:
                return v
        return None


_STOP = {",", "}", ")", "]", ":", ";"}


class GoParser:
    def __init__(self, toks: list[Tok]) -> None:
        self.t = toks

    def skip_group(self, i: int) -> int:
        """From an opening bracket at i, return the index after its closing bracket."""
        pairs = {"{": "}", "(": ")", "[": "]"}
        depth = 0
        while i < len(self.t):
            text = self.t[i].text if self.t[i].kind == "op" else ""
            if text in pairs:
                depth += 1
            elif text in ("}", ")", "]"):
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return i

    def expr(self, i: int) -> tuple[Node, int]:
        head: list[str] = []
        node: Node | None = None
        start = i
        while i < len(self.t):
            tok = self.t[i]
            if tok.kind == "op" and tok.text in _STOP:
                break
            if i > start and _ends_statement(self.t[i - 1], tok):
                break
            if tok.kind == "ident" and tok.text == "func":
                i += 1
                if i < len(self.t) and self.t[i].text == "(":
                    i = self.skip_group(i)
                while i < len(self.t) and not (
                    self.t[i].kind == "op" and self.t[i].text in _STOP | {"{"}
                ):
                    i = self.skip_group(i) if self.t[i].text == "(" else i + 1
                if i < len(self.t) and self.t[i].text == "{":
                    i = self.skip_group(i)
                node = Node("opaque", "func")
                head = []
                continue
            if tok.kind == "op" and tok.text == "[":
                end = self.skip_group(i)
                head.extend(t.text for t in self.t[i:end])
                i = end
                continue
            if tok.kind == "op" and tok.text == "{":
                node, i = self.composite("".join(head), i)
                head = []
                continue
            if tok.kind == "op" and tok.text == "(":
                fn = "".join(head) if head else (node.text if node else "")
                node, i = self.call(fn, i)
                head = []
                continue
            head.append(tok.text)
            i += 1
        if node is not None and not head:
            return node, i
        if node is None and len(head) == 1:
            text = head[0]
            kind = self.t[i - 1].kind
            if kind in ("str", "raw"):
                return Node("str", _go_string(text)), i
            return Node("lit", text), i
        if node is None and head:
            return Node("lit", "".join(head)), i
        return Node("opaque", "".join(head)), i

    def composite(self, type_text: str, i: int) -> tuple[Node, int]:
        node = Node("comp", type_text)
        i += 1  # "{"
        while i < len(self.t) and self.t[i].text != "}":
            if self.t[i].text == ",":
                i += 1
                continue
            if self.t[i].text == "{":
                value, i = self.composite("", i)
                node.elems.append((None, value))
                continue
            first, i = self.expr(i)
            if i < len(self.t) and self.t[i].text == ":":
                i += 1
                if self.t[i].text == "{":
                    value, i = self.composite("", i)
                else:
                    value, i = self.expr(i)
                node.elems.append((first, value))
            else:
                node.elems.append((None, first))
            if i < len(self.t) and self.t[i].text not in (",", "}"):
                i += 1  # tolerate anything unexpected
        return node, i + 1

    def call(self, fn: str, i: int) -> tuple[Node, int]:
        node = Node("call", fn)
        i += 1  # "("
        while i < len(self.t) and self.t[i].text != ")":
            if self.t[i].text == ",":
                i += 1
                continue
            arg, i = self.expr(i)
            node.args.append(arg)
            if i < len(self.t) and self.t[i].text not in (",", ")"):
                i += 1
        return node, i + 1


def _go_string(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    return bytes(text[1:-1], "utf-8").decode("unicode_escape")


@dataclasses.dataclass
class GoFile:
    path: str
    imports: dict[str, str]  # alias -> repo folder
    vars: dict[str, tuple[list[Tok], int]]
    funcs: dict[str, tuple[list[Tok], int]]  # name -> (tokens, index of body "{")
    toks: list[Tok]


class GoRepo:
    """Resolves schema expressions across the files and packages of the provider."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        gomod = snap.show("go.mod")
        m = re.search(r"^module\s+(\S+)", gomod, re.MULTILINE)
        assert m, "go.mod has no module line"
        self.module = m.group(1)
        root = "google-beta" if self.module.endswith("-beta") else "google"
        self.root = root

    @cache
    def file(self, path: str) -> GoFile:
        toks = tokenize(self.snap.show(path))
        imports: dict[str, str] = {}
        vars_: dict[str, tuple[list[Tok], int]] = {}
        funcs: dict[str, tuple[list[Tok], int]] = {}
        i, depth = 0, 0
        parser = GoParser(toks)
        while i < len(toks):
            tok = toks[i]
            if tok.kind == "op" and tok.text in "{([":
                depth += 1
            elif tok.kind == "op" and tok.text in "})]":
                depth -= 1
            elif depth == 0 and tok.kind == "ident" and tok.text == "import":
                j = i + 1
                group = toks[j].text == "("
                end = parser.skip_group(j) if group else j + 2
                specs = toks[j + 1 : end - 1] if group else toks[j:end]
                alias: str | None = None
                for s in specs:
                    if s.kind == "ident" or s.text in ("_", "."):
                        alias = s.text
                    elif s.kind == "str":
                        pkg = _go_string(s.text)
                        if pkg.startswith(self.module + "/"):
                            folder = pkg[len(self.module) + 1 :]
                            imports[alias or folder.rsplit("/", 1)[-1]] = folder
                        alias = None
                i = end
                continue
            elif depth == 0 and tok.kind == "ident" and tok.text == "var":
                j = i + 1
                if toks[j].text == "(":
                    end = parser.skip_group(j)
                    k = j + 1
                    while k < end - 1:
                        if toks[k].kind == "ident" and toks[k + 1].text == "=":
                            vars_[toks[k].text] = (toks, k + 2)
                            _, k = parser.expr(k + 2)
                        else:
                            k += 1
                    i = end
                    continue
                if toks[j].kind == "ident":
                    k = j + 1
                    while toks[k].text != "=" and toks[k].text not in ("\n",):
                        if toks[k].kind == "ident" and toks[k].text in ("var", "func", "type"):
                            break
                        k += 1
                    if toks[k].text == "=":
                        vars_[toks[j].text] = (toks, k + 1)
            elif depth == 0 and tok.kind == "ident" and tok.text == "func":
                j = i + 1
                if toks[j].text == "(":  # method receiver: not a schema helper
                    i = j
                    continue
                name = toks[j].text
                k = parser.skip_group(j + 1)  # parameters
                while k < len(toks) and toks[k].text != "{":
                    k = parser.skip_group(k) if toks[k].text in "([" else k + 1
                funcs[name] = (toks, k)
                i = parser.skip_group(k)
                continue
            i += 1
        return GoFile(path, imports, vars_, funcs, toks)

    def package_files(self, folder: str) -> list[str]:
        return [
            p
            for p in self.snap.ls(folder)
            if p.endswith(".go") and not p.endswith("_test.go")
        ]

    def lookup(self, name: str, ctx: GoFile) -> tuple[Node, GoFile] | None:
        """Resolve ``name`` or ``pkg.name`` to the expression that defines it."""
        folder = ctx.path.rsplit("/", 1)[0]
        if "." in name:
            alias, _, name = name.partition(".")
            if alias not in ctx.imports:
                return None
            folder = ctx.imports[alias]
        for path in self.package_files(folder):
            gf = self.file(path)
            if name in gf.vars:
                toks, start = gf.vars[name]
                return GoParser(toks).expr(start)[0], gf
            if name in gf.funcs:
                toks, body = gf.funcs[name]
                found = _eval_body(toks, body)
                return (found, gf) if found is not None else None
        return None

    # --- schema evaluation -----------------------------------------------------------------

    def resource_schema(self, node: Node, ctx: GoFile) -> Schema:
        if node.kind == "patched":
            out = dict(self.resource_schema(node.args[0], ctx))
            out.update(self.schema_map(Node("comp", "map[string]", elems=node.elems), ctx))
            return out
        if node.kind == "comp" and node.text.endswith("schema.Resource"):
            inner = node.get("Schema")
            if inner is None:
                raise ValueError(f"{ctx.path}: schema.Resource without Schema")
            return self.schema_map(inner, ctx)
        if node.kind == "call" and node.text.endswith("ResourceIamMember"):
            base = self.lookup("tpgiamresource.IamMemberBaseSchema", self._iam_ctx(ctx))
            assert base, "IamMemberBaseSchema not found"
            merged = dict(self.schema_map(*base))
            merged.update(self.schema_map(node.args[0], ctx))
            return merged
        return self.resource_schema(*self._resolve(node, ctx))

    def _iam_ctx(self, ctx: GoFile) -> GoFile:
        if "tpgiamresource" in ctx.imports:
            return ctx
        return dataclasses.replace(
            ctx, imports={**ctx.imports, "tpgiamresource": f"{self.root}/tpgiamresource"}
        )

    def _resolve(self, node: Node, ctx: GoFile) -> tuple[Node, GoFile]:
        if node.kind in ("lit", "call"):
            found = self.lookup(node.text.lstrip("&*"), ctx)
            if found is not None:
                return found
        raise ValueError(f"{ctx.path}: cannot resolve {node.kind} {node.text!r}")

    def schema_map(self, node: Node, ctx: GoFile) -> Schema:
        out: Schema = {}
        if node.kind == "patched":
            out.update(self.schema_map(node.args[0], ctx))
            out.update(self.schema_map(Node("comp", "map[string]", elems=node.elems), ctx))
            return out
        if node.kind == "comp" and node.text.startswith("map[string]"):
            for key, value in node.elems:
                if key is None:
                    continue
                if key.kind == "str":
                    name = key.text
                else:  # a constant key
                    found = self.lookup(key.text, ctx)
                    if found is None or found[0].kind != "str":
                        raise ValueError(f"{ctx.path}: cannot resolve key {key.text!r}")
                    name = found[0].text
                out[name] = self.field(name, value, ctx)
            return out
        if node.kind == "call" and node.text.endswith("MergeSchemas"):
            merged: Schema = {}
            for arg in node.args:
                merged.update(self.schema_map(arg, ctx))
            return merged
        return self.schema_map(*self._resolve(node, ctx))

    def field(self, name: str, node: Node, ctx: GoFile) -> Field:
        if node.kind != "comp":
            node, ctx = self._resolve(node, ctx)
            if node.kind != "comp":
                raise ValueError(f"{ctx.path}: field {name} is {node.kind}")

        def flag(key: str) -> bool:
            v = node.get(key)
            return v is not None and v.text == "true"

        field = Field(
            name=name,
            required=flag("Required"),
            optional=flag("Optional"),
            computed=flag("Computed"),
            force_new=flag("ForceNew"),
        )
        kind = (node.get("Type") or Node("lit")).text
        validate = node.get("ValidateFunc") or node.get("ValidateDiagFunc")
        elem = node.get("Elem")
        if elem is not None and kind in ("schema.TypeList", "schema.TypeSet"):
            target, tctx = elem, ctx
            if target.kind != "comp":
                target, tctx = self._resolve(target, ctx)
            if target.text.endswith("schema.Resource"):
                field.children = self.resource_schema(target, tctx)
            elif validate is None:
                validate = target.get("ValidateFunc") or target.get("ValidateDiagFunc")
        if validate is not None:
            field.enum = _go_enum(validate)
        return field


def _eval_body(toks: list[Tok], body: int) -> Node | None:
    """The value a helper function returns, following the straight-line statements of its
    body: ``x := expr``, ``x.Schema["k"] = expr`` / ``x["k"] = expr``, ``return x``."""
    parser = GoParser(toks)
    local: dict[str, Node] = {}
    patches: dict[str, list[tuple[Node | None, Node]]] = {}
    depth = 0
    i = body
    while i < len(toks):
        tok = toks[i]
        text = tok.text
        if tok.kind == "op" and text in "{([":
            depth += 1
        elif tok.kind == "op" and text in "})]":
            depth -= 1
            if depth == 0:
                return None
        elif depth == 1 and tok.kind == "ident":
            nxt = [t.text for t in toks[i + 1 : i + 8]]
            if text == "return":
                ret, _ = parser.expr(i + 1)
                if ret.kind == "lit" and ret.text in local:
                    base = local[ret.text]
                    extra = patches.get(ret.text, [])
                    return Node("patched", elems=extra, args=[base]) if extra else base
                return ret
            if nxt[:1] == [":="]:
                local[text], i = parser.expr(i + 2)
                continue
            key_at = 3 if nxt[:3] == [".", "Schema", "["] else 1 if nxt[:1] == ["["] else 0
            if key_at and toks[i + key_at + 1].kind == "str" and toks[i + key_at + 3].text == "=":
                key = Node("str", _go_string(toks[i + key_at + 1].text))
                value, i = parser.expr(i + key_at + 4)
                patches.setdefault(text, []).append((key, value))
                continue
        i += 1
    return None


def _go_enum(node: Node) -> tuple[str, ...]:
    if node.kind != "call":
        return ()
    fn = node.text.rsplit(".", 1)[-1]
    if fn in ("ValidateEnum", "StringInSlice") and node.args:
        lst = node.args[0]
        if lst.kind == "comp" and lst.text == "[]string":
            values = {v.text for _, v in lst.elems if v.kind == "str"}
            return tuple(sorted(values - {""}))
    if fn in ("All", "Any", "ValidateDiagFunc", "ToDiagFunc"):
        for arg in node.args:
            found = _go_enum(arg)
            if found:
                return found
    return ()


# --------------------------------------------------------------------------------------------
# Locating a resource in the provider
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Located:
    go_path: str
    go_schema: Schema
    mmv1_yaml: str | None  # magic-modules path when the Go file was generated from a YAML
    force_new_if: dict[str, str]  # TF path -> the CustomizeDiff condition that replaces


_FORCE_NEW_IF = re.compile(r'customdiff\.ForceNewIf(?:Change)?\(\s*"([\w.]+)"\s*,\s*(func\b|[\w.]+)')


def force_new_if(go_source: str) -> dict[str, str]:
    """``customdiff.ForceNewIfChange("key", Cond)`` / ``ForceNewIf`` in a resource's
    CustomizeDiff: the key is updatable in place except when the condition holds (e.g. a
    subnetwork's ``ip_cidr_range`` may grow but not shrink)."""
    out: dict[str, str] = {}
    for key, cond in _FORCE_NEW_IF.findall(go_source):
        out[key] = "inline condition" if cond == "func" else cond.rsplit(".", 1)[-1]
    return out


_MMV1_CONFIG = re.compile(r"Configuration: https://github\.com/GoogleCloudPlatform/magic-modules/tree/main/(\S+\.yaml)")


def locate(repo: GoRepo, tf_name: str) -> Located:
    needle = f'"{tf_name}"'
    for path in repo.snap.grep(needle, f"{repo.root}/services"):
        if path.endswith("_test.go"):
            continue
        gf = repo.file(path)
        parser = GoParser(gf.toks)
        toks = gf.toks
        for i in range(len(toks) - 3):
            if (toks[i].text, toks[i + 1].text, toks[i + 2].text, toks[i + 3].text) != (
                "registry", ".", "Schema", "{"
            ):
                continue
            reg, _ = parser.composite("registry.Schema", i + 3)
            name, kind, schema = reg.get("Name"), reg.get("Type"), reg.get("Schema")
            if name is None or name.text != tf_name or schema is None or kind is None:
                continue
            if kind.text not in ("registry.SchemaTypeResource", "registry.SchemaTypeIAMResource"):
                continue
            header = repo.snap.show(path)[:2000]
            m = _MMV1_CONFIG.search(header)
            # An IAM resource's file names its parent's YAML: its schema is the IAM one, in Go.
            own = kind.text == "registry.SchemaTypeResource" and "Type: MMv1" in header
            yaml_path = m.group(1) if m is not None and own else None
            conditional = force_new_if(repo.snap.show(path))
            return Located(path, repo.resource_schema(schema, gf), yaml_path, conditional)
    raise SystemExit(f"{tf_name}: no registry.Schema registration found in {repo.snap.slug}")


# --------------------------------------------------------------------------------------------
# pulumi_gcp introspection
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PProp:
    pulumi_name: str
    py_name: str
    is_list: bool
    nested: type | None


def _type_names(tp: Any, out: list[str], flags: dict[str, bool]) -> None:
    if isinstance(tp, typing.ForwardRef):
        out.append(tp.__forward_arg__)
        return
    if isinstance(tp, str):
        out.append(tp)
        return
    origin = typing.get_origin(tp)
    if origin is collections.abc.Sequence:
        flags["list"] = True
    if origin is collections.abc.Mapping:
        flags["map"] = True
        return
    for arg in typing.get_args(tp):
        _type_names(arg, out, flags)


@cache
def pulumi_props(cls: type) -> dict[str, PProp]:
    inputs = importlib.import_module(cls.__module__.rsplit(".", 1)[0] + "._inputs")
    props: dict[str, PProp] = {}
    for attr, member in vars(cls).items():
        if not isinstance(member, property) or member.fget is None:
            continue
        pname = getattr(member.fget, "_pulumi_name", None)
        if pname is None:
            continue
        names: list[str] = []
        flags = {"list": False, "map": False}
        _type_names(member.fget.__annotations__.get("return"), names, flags)
        nested = None
        if not flags["map"]:
            for n in names:
                if n.endswith("Args") and isinstance(getattr(inputs, n, None), type):
                    nested = getattr(inputs, n)
                    break
        props[attr] = PProp(pname, attr, flags["list"], nested)
    return props


def _plurals(name: str) -> list[str]:
    out = [name + "s", name + "es"]
    if name.endswith("y"):
        out.append(name[:-1] + "ies")
    if name.endswith("s"):
        out.append(name)
    return out


def _squash(name: str) -> str:
    return name.replace("_", "").lower()


def match_prop(tf_name: str, classes: list[type]) -> PProp | None:
    """The Pulumi property a Terraform attribute becomes: the same snake name, its plural (the
    bridge pluralises list-valued names: ``traffic`` -> ``traffics``), or the same name with
    digits glued (``layer_7_ddos`` -> ``layer7Ddos``; a Python-reserved ``exec`` -> ``exec_``)."""
    tf_name = TF_TO_PULUMI_RENAMES.get(tf_name, tf_name)
    wanted = [tf_name, *_plurals(tf_name)]
    for cls in classes:
        props = pulumi_props(cls)
        for candidate in wanted:
            if candidate in props:
                return props[candidate]
        by_pulumi = {_squash(p.pulumi_name): p for p in props.values()}
        for candidate in wanted:
            if _squash(candidate) in by_pulumi:
                return by_pulumi[_squash(candidate)]
    return None


@dataclasses.dataclass
class PulumiResource:
    token: str
    args: type
    state: type


def pulumi_resource(token: str) -> PulumiResource:
    _, rest = token.split(":", 1)
    module_path, cls_name = rest.split(":")
    package = module_path.split("/")[0]
    module = importlib.import_module(f"pulumi_gcp.{package}")
    cls = getattr(module, cls_name)
    source = inspect.getsource(cls)
    if f"'{token}'" not in source:
        raise SystemExit(f"{token}: pulumi_gcp.{package}.{cls_name} registers another token")
    file_module = sys.modules[cls.__module__]
    return PulumiResource(token, getattr(file_module, cls_name + "Args"), getattr(file_module, f"_{cls_name}State"))


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Facts:
    source: str
    force_new: set[str] = dataclasses.field(default_factory=set)
    required: set[str] = dataclasses.field(default_factory=set)
    enums: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    output_only: set[str] = dataclasses.field(default_factory=set)
    force_new_if: dict[str, str] = dataclasses.field(default_factory=dict)
    unmapped: list[str] = dataclasses.field(default_factory=list)
    pulumi_only: list[str] = dataclasses.field(default_factory=list)

    def as_yaml(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "forceNew": sorted(_minimal(self.force_new)),
            "required": sorted(self.required),
            "enums": {k: self.enums[k] for k in sorted(self.enums)},
            "outputOnly": sorted(self.output_only),
            "forceNewIf": {k: self.force_new_if[k] for k in sorted(self.force_new_if)},
        }


def _minimal(paths: set[str]) -> set[str]:
    """Drop a path whose ancestor is already ForceNew: the loader's prefix rule covers it."""

    def ancestors(path: str) -> Iterator[str]:
        for m in re.finditer(r"[.\[]", path):
            yield path[: m.start()]

    return {p for p in paths if not any(a in paths for a in ancestors(p))}


def build_facts(
    schema: Schema, res: PulumiResource, source: str, conditional: dict[str, str]
) -> Facts:
    facts = Facts(source=source)
    tf_to_pulumi: dict[str, str] = {}

    def walk(fields: Schema, classes: list[type], prefix: str, tf_prefix: str) -> None:
        matched: set[str] = set()
        for name in sorted(fields):
            field = fields[name]
            prop = match_prop(name, classes)
            if prop is None:
                facts.unmapped.append(tf_prefix + name)
                continue
            matched.add(prop.py_name)
            # A property's own path never ends in "[]": a ForceNew list is the list itself, and
            # the fields of its elements are "<list>[].<field>".
            path = prefix + prop.pulumi_name
            tf_to_pulumi[tf_prefix + name] = path
            if field.force_new and not field.output_only:
                # Go marks some computed-only attributes ForceNew too (creation_timestamp on
                # an instance template): the program cannot change them, so they are no input.
                facts.force_new.add(path)
            if field.required:
                facts.required.add(path)
            if field.enum and not field.output_only:
                facts.enums[path] = list(field.enum)
            if field.output_only:
                facts.output_only.add(path)
            if field.children and prop.nested is not None:
                inner = path + ("[]" if prop.is_list else "") + "."
                walk(field.children, [prop.nested], inner, tf_prefix + name + ".")
        for cls in classes[:1]:
            for py_name, prop in sorted(pulumi_props(cls).items()):
                if py_name not in matched:
                    facts.pulumi_only.append(prefix + prop.pulumi_name)

    walk(schema, [res.args, res.state], "", "")
    for key, cond in conditional.items():
        tf_path = ".".join(part for part in key.split(".") if not part.isdigit())
        if tf_path in tf_to_pulumi:
            facts.force_new_if[tf_to_pulumi[tf_path]] = cond
        else:
            facts.unmapped.append(f"{key} (CustomizeDiff)")
    return facts


def compare(tf_name: str, from_yaml: Schema, from_go: Schema) -> list[str]:
    """Differences between the YAML reading and the generated Go, in Terraform paths."""
    a = dict(tf_paths(from_yaml))
    b = dict(tf_paths(from_go))
    problems: list[str] = []
    for path in sorted(set(a) | set(b)):
        if path not in a:
            problems.append(f"{tf_name}: {path} only in Go")
            continue
        if path not in b:
            problems.append(f"{tf_name}: {path} only in YAML")
            continue
        fa, fb = a[path], b[path]
        for attr in ("force_new", "required", "output_only", "enum"):
            if attr == "enum" and fa.output_only and fb.output_only:
                continue  # the provider validates no output; the YAML documents its values
            va, vb = getattr(fa, attr), getattr(fb, attr)
            if va != vb:
                problems.append(f"{tf_name}: {path} {attr}: yaml={va} go={vb}")
    return problems


def merge(from_yaml: Schema, from_go: Schema) -> Schema:
    """The provider's schema as the generated Go has it, with the YAML's enum values where the
    Go validates none. Fields the generator adds outside the YAML (write-only companions,
    ``self_link``, custom schema entries) come from the Go; a field only the YAML has is not
    in the provider and is dropped (``compare`` reports both)."""
    out: Schema = {}
    for name, go in from_go.items():
        ym = from_yaml.get(name)
        field = dataclasses.replace(go)
        if ym is not None and not go.enum:
            field.enum = ym.enum
        if go.children is not None:
            field.children = merge(ym.children or {} if ym else {}, go.children)
        out[name] = field
    return out


HEADER = """\
# Provider facts for the offline deploy-readiness checks: per Pulumi type token, the input
# paths whose change forces a replacement (forceNew; a change inside a listed block counts
# too), the required inputs, the allowed values of enum inputs and the computed-only
# properties, in the Pulumi engine's property names ("[]" marks a list element); forceNewIf
# names the inputs that are updatable in place except when the provider's CustomizeDiff
# condition holds (then the change replaces).
#
# GENERATED by scripts/provider_facts.py -- do not edit by hand. Derived from:
#   {mm_slug} @ {mm_commit} ({mm_date})
#     mmv1/products/**/*.yaml: the source of every MMv1 (generated) resource
#   {tf_slug} @ {tf_commit} ({tf_date})
#     the Go schema of the handwritten and IAM resources; each MMv1 reading is checked
#     against its generated Go, and where they differ (write-only companions, custom schema
#     entries) the Go wins
#   pulumi_gcp {pulumi_version} (installed): property names and list/object shapes
# {pulumi_only} inputs of pulumi_gcp {pulumi_version} are newer than these snapshots and have no facts.
# Regenerate (the two snapshots as bare git directories, e.g. from the search tool's fetch):
#   uv run --locked python scripts/provider_facts.py --strict \\
#     --magic-modules <git dir of GoogleCloudPlatform/magic-modules> \\
#     --terraform <git dir of hashicorp/terraform-provider-google-beta> \\
#     --out stagewise/readiness/data/provider_facts.yaml
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--magic-modules", required=True, help="git dir of GoogleCloudPlatform/magic-modules")
    ap.add_argument("--terraform", required=True, help="git dir of hashicorp/terraform-provider-google(-beta)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--strict", action="store_true", help="fail when a provider name maps to no Pulumi property")
    ns = ap.parse_args(argv)

    mm = Snapshot(ns.magic_modules, "GoogleCloudPlatform/magic-modules")
    tf_probe = Snapshot(ns.terraform, "hashicorp/terraform-provider-google")
    module = re.search(r"^module\s+\S+/(\S+)", tf_probe.show("go.mod"), re.MULTILINE)
    tf = Snapshot(ns.terraform, f"hashicorp/{module.group(1) if module else 'terraform-provider-google'}")
    repo = GoRepo(tf)

    import pulumi_gcp  # noqa: F401  (only the generator imports pulumi)
    from importlib.metadata import version

    out: dict[str, Any] = {}
    problems: list[str] = []
    notes: list[str] = []
    pulumi_only = 0
    for token in sorted(TYPES):
        tf_name = TYPES[token]
        res = pulumi_resource(token)
        located = locate(repo, tf_name)
        if located.mmv1_yaml is not None:
            doc = yaml.safe_load(mm.show(located.mmv1_yaml))
            from_yaml = MmResource(doc).schema()
            notes += compare(tf_name, from_yaml, located.go_schema)
            schema = merge(from_yaml, located.go_schema)
            source = mm.url(located.mmv1_yaml)
        else:
            schema = located.go_schema
            source = tf.url(located.go_path)
        facts = build_facts(schema, res, source, located.force_new_if)
        problems += [f"{token}: no pulumi property for {p}" for p in facts.unmapped]
        notes += [f"{token}: pulumi input {p} not in the provider schema" for p in facts.pulumi_only]
        pulumi_only += len(facts.pulumi_only)
        out[token] = facts.as_yaml()

    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    header = HEADER.format(
        mm_slug=mm.slug,
        mm_commit=mm.commit,
        mm_date=mm.date,
        tf_slug=tf.slug,
        tf_commit=tf.commit,
        tf_date=tf.date,
        pulumi_only=pulumi_only,
        pulumi_version=version("pulumi_gcp"),
    )
    body = yaml.safe_dump(out, sort_keys=True, default_flow_style=False, width=100)
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    ns.out.write_text(header + body, encoding="utf-8")
    print(
        f"wrote {ns.out}: {len(out)} types; {len(notes)} YAML/Go differences (the Go wins);"
        f" {len(problems)} unmapped names",
        file=sys.stderr,
    )
    return 1 if ns.strict and problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
