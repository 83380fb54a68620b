"""The provider facts (stagewise/readiness/data/provider_facts.yaml) against the provider's sources
and the installed pulumi_gcp.

Each expected fact below was read in the snapshots the data names in its header:
- Cloud Run v2 Service: ``location`` and ``name`` are ``ForceNew``, ``template.containers.image`` is
  not (google-beta services/cloudrunv2/resource_cloud_run_v2_service.go);
- storage bucket: ``name`` and ``location`` ``ForceNew``, ``versioning`` not
  (services/storage/resource_storage_bucket.go);
- Firestore Database ``locationId``: ``immutable: true`` (mmv1/products/firestore/Database.yaml);
- Secret ``secretId`` and ``replication``: ``immutable: true`` (mmv1/products/secretmanager/Secret.yaml);
- service account ``account_id``: ``ForceNew`` (services/resourcemanager/resource_google_service_account.go);
- subnetwork ``ipCidrRange``: updatable through ``expandIpCidrRange``
  (https://cloud.google.com/compute/docs/reference/rest/beta/subnetworks/expandIpCidrRange), replaced
  only when it shrinks (``customdiff.ForceNewIfChange("ip_cidr_range", IsShrinkageIpCidr)`` in
  mmv1/products/compute/Subnetwork.yaml).
"""

from __future__ import annotations

import collections.abc
import importlib
import inspect
import re
import sys
import typing
from functools import cache
from typing import Any

import pytest

import stagewise
from stagewise.readiness import provider_facts as pf

# The resource types the readiness checks read (issue 15's families).
EXPECTED_TYPES = [
    "gcp:cloudrunv2/service:Service",
    "gcp:cloudrunv2/job:Job",
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
    "gcp:storage/bucket:Bucket",
    "gcp:storage/bucketIAMMember:BucketIAMMember",
    "gcp:projects/service:Service",
    "gcp:projects/iAMMember:IAMMember",
    "gcp:projects/iAMCustomRole:IAMCustomRole",
    "gcp:projects/serviceIdentity:ServiceIdentity",
    "gcp:serviceaccount/account:Account",
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:secretmanager/secret:Secret",
    "gcp:secretmanager/secretVersion:SecretVersion",
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    "gcp:firestore/database:Database",
    "gcp:firestore/field:Field",
    "gcp:firestore/backupSchedule:BackupSchedule",
    "gcp:compute/network:Network",
    "gcp:compute/subnetwork:Subnetwork",
    "gcp:compute/router:Router",
    "gcp:compute/routerNat:RouterNat",
    "gcp:compute/firewall:Firewall",
    "gcp:compute/globalAddress:GlobalAddress",
    "gcp:compute/address:Address",
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
    "gcp:compute/backendService:BackendService",
    "gcp:compute/uRLMap:URLMap",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
    "gcp:compute/targetHttpProxy:TargetHttpProxy",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate",
    "gcp:compute/sSLPolicy:SSLPolicy",
    "gcp:compute/securityPolicy:SecurityPolicy",
    "gcp:compute/healthCheck:HealthCheck",
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
    "gcp:compute/instanceTemplate:InstanceTemplate",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
    "gcp:compute/regionAutoscaler:RegionAutoscaler",
    "gcp:compute/instance:Instance",
    "gcp:monitoring/alertPolicy:AlertPolicy",
    "gcp:monitoring/notificationChannel:NotificationChannel",
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
    "gcp:monitoring/dashboard:Dashboard",
    "gcp:logging/projectSink:ProjectSink",
    "gcp:logging/metric:Metric",
    "gcp:logging/projectBucketConfig:ProjectBucketConfig",
    "gcp:artifactregistry/repository:Repository",
    "gcp:vertex/aiEndpoint:AiEndpoint",
    "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment",
    "gcp:cloudscheduler/job:Job",
    "gcp:billing/budget:Budget",
    "gcp:kms/keyRing:KeyRing",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
    "gcp:modelarmor/template:Template",
]

RUN = "gcp:cloudrunv2/service:Service"
BUCKET = "gcp:storage/bucket:Bucket"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
SECRET = "gcp:secretmanager/secret:Secret"


def test_every_expected_type_has_an_entry() -> None:
    missing = [t for t in EXPECTED_TYPES if pf.facts(t) is None]
    assert not missing, f"no provider facts for {missing}: rerun scripts/provider_facts.py with them in TYPES"


@pytest.mark.parametrize(
    ("token", "path", "replaces"),
    [
        (RUN, "location", True),
        (RUN, "name", True),
        (RUN, "project", True),
        (RUN, "template.containers[0].image", False),
        (RUN, "template.containers[1].envs[0].value", False),
        (RUN, "template.scaling.maxInstanceCount", False),
        (RUN, "traffics[0].percent", False),
        (RUN, "ingress", False),
        ("gcp:cloudrunv2/job:Job", "location", True),
        ("gcp:cloudrunv2/job:Job", "template.template.containers[0].image", False),
        (BUCKET, "name", True),
        (BUCKET, "location", True),
        (BUCKET, "versioning", False),
        (BUCKET, "versioning.enabled", False),
        (BUCKET, "lifecycleRules[0].condition.age", False),
        (BUCKET, "labels.env", False),
        ("gcp:firestore/database:Database", "locationId", True),
        ("gcp:firestore/database:Database", "name", True),
        ("gcp:firestore/database:Database", "deleteProtectionState", False),
        (SECRET, "secretId", True),
        (SECRET, "replication", True),
        # the prefix rule: a change inside a ForceNew block replaces
        (SECRET, "replication.userManaged.replicas[0].location", True),
        (SECRET, "replication.auto.customerManagedEncryption.kmsKeyName", True),
        (SECRET, "labels.team", False),
        ("gcp:serviceaccount/account:Account", "accountId", True),
        ("gcp:serviceaccount/account:Account", "displayName", False),
        (SUBNET, "ipCidrRange", False),
        (SUBNET, "name", True),
        (SUBNET, "region", True),
        (SUBNET, "network", True),
        ("gcp:projects/iAMMember:IAMMember", "role", True),
        ("gcp:projects/iAMMember:IAMMember", "member", True),
        ("gcp:projects/iAMMember:IAMMember", "condition.title", True),
        ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "name", True),
        ("gcp:projects/service:Service", "service", True),
        ("gcp:projects/service:Service", "disableOnDestroy", False),
        ("gcp:monitoring/dashboard:Dashboard", "dashboardJson", False),
        ("gcp:secretmanager/secretVersion:SecretVersion", "secretData", True),
        ("gcp:compute/instanceTemplate:InstanceTemplate", "machineType", True),
        ("gcp:compute/instanceTemplate:InstanceTemplate", "disks[0].diskSizeGb", True),
        ("gcp:unknown/thing:Thing", "name", False),
    ],
)
def test_forces_replacement(token: str, path: str, replaces: bool) -> None:
    assert pf.forces_replacement(token, path) is replaces


def test_a_prefix_is_not_a_longer_name() -> None:
    # "name" is ForceNew on an instance template; "namePrefix" is its own input.
    forced = pf.facts("gcp:compute/instanceTemplate:InstanceTemplate")
    assert forced is not None and "name" in forced.force_new
    assert pf.within("name", "name") and not pf.within("namePrefix", "name")
    assert pf.within("a.b[].c", "a.b") and pf.within("a.b[]", "a.b") and not pf.within("a.bc", "a.b")
    assert pf.pattern("template.containers[12].envs[*].name") == "template.containers[].envs[].name"


def test_subnetwork_range_replaces_only_when_it_shrinks() -> None:
    subnet = pf.facts(SUBNET)
    assert subnet is not None
    assert subnet.force_new_if == {"ipCidrRange": "IsShrinkageIpCidr"}
    assert "ipCidrRange" not in subnet.force_new


def test_force_new_within_a_changed_block() -> None:
    assert pf.force_new_within(BUCKET, "customPlacementConfig") == {"customPlacementConfig.dataLocations"}
    assert pf.force_new_within(RUN, "template") == frozenset()
    assert pf.force_new_within("gcp:unknown/thing:Thing", "x") == frozenset()


def test_required_enums_and_outputs() -> None:
    run = pf.facts(RUN)
    assert run is not None
    assert {"location", "name", "template", "template.containers[].image"} <= run.required
    assert "template.containers[].envs[].name" in run.required
    assert "ingress" not in run.required
    assert set(run.enums["ingress"]) == {
        "INGRESS_TRAFFIC_ALL",
        "INGRESS_TRAFFIC_INTERNAL_ONLY",
        "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    }
    assert {"uri", "urls", "latestReadyRevision", "conditions"} <= run.output_only
    assert not run.output_only & run.required

    bucket = pf.facts(BUCKET)
    assert bucket is not None
    assert {"name", "location"} <= bucket.required
    assert {"selfLink", "url"} <= bucket.output_only

    db = pf.facts("gcp:firestore/database:Database")
    assert db is not None
    assert set(db.enums["type"]) == {"FIRESTORE_NATIVE", "DATASTORE_MODE"}
    assert {"locationId", "name", "type"} <= db.required

    account = pf.facts("gcp:serviceaccount/account:Account")
    assert account is not None
    assert account.required == {"accountId"} and {"email", "member", "uniqueId"} <= account.output_only


def test_loader_is_typed_and_cached() -> None:
    run = pf.facts(RUN)
    assert run is pf.facts(RUN)
    assert run is not None and isinstance(run.force_new, frozenset) and isinstance(run.required, frozenset)
    assert all(isinstance(v, tuple) for v in run.enums.values())
    assert pf.facts("gcp:unknown/thing:Thing") is None
    assert set(EXPECTED_TYPES) <= pf.known_types()


# --- provenance ------------------------------------------------------------------------------

HEADER_SNAPSHOT = re.compile(r"^#\s+(\S+/\S+) @ ([0-9a-f]{40})", re.MULTILINE)


def _header() -> str:
    text = pf.DATA.read_text(encoding="utf-8")
    return "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))


def test_every_source_is_a_pinned_file_of_a_named_snapshot() -> None:
    snapshots = dict(HEADER_SNAPSHOT.findall(_header()))
    assert set(snapshots) == {"GoogleCloudPlatform/magic-modules", "hashicorp/terraform-provider-google-beta"}
    for token in pf.known_types():
        found = pf.facts(token)
        assert found is not None
        m = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)/blob/([0-9a-f]{40})/(\S+\.(?:yaml|go))", found.source)
        assert m, f"{token}: source {found.source!r} is not a file at a commit"
        assert snapshots.get(m.group(1)) == m.group(2), f"{token}: {found.source} is not from a header snapshot"


def test_header_says_how_to_regenerate_and_the_file_stays_modest() -> None:
    header = _header()
    assert "uv run --locked python scripts/provider_facts.py" in header
    assert "--magic-modules" in header and "--terraform" in header and "--out stagewise/readiness/data/provider_facts.yaml" in header
    assert pf.DATA.stat().st_size < 300_000


def test_the_data_ships_inside_the_package() -> None:
    # pyproject.toml's wheel target packages the whole "stagewise" folder, YAML included
    # (as stagewise/pricing/*.yaml already is).
    assert pf.DATA.is_relative_to(pf.DATA.parents[2]) and pf.DATA.parents[2].name == "stagewise"
    assert pf.DATA.parents[2] == __import__("pathlib").Path(stagewise.__file__).resolve().parent


# --- every path is a real property of pulumi_gcp --------------------------------------------


def _resource_classes(token: str) -> tuple[type, type]:
    _, rest = token.split(":", 1)
    module_path, cls_name = rest.split(":")
    module = importlib.import_module(f"pulumi_gcp.{module_path.split('/')[0]}")
    cls = getattr(module, cls_name)
    assert f"'{token}'" in inspect.getsource(cls), f"{cls.__qualname__} does not register {token}"
    file_module = sys.modules[cls.__module__]
    return getattr(file_module, f"{cls_name}Args"), getattr(file_module, f"_{cls_name}State")


def _names(tp: Any, out: list[str], shape: dict[str, bool]) -> None:
    if isinstance(tp, typing.ForwardRef):
        out.append(tp.__forward_arg__)
        return
    origin = typing.get_origin(tp)
    if origin is collections.abc.Sequence:
        shape["list"] = True
    if origin is collections.abc.Mapping:
        shape["map"] = True
        return
    for arg in typing.get_args(tp):
        _names(arg, out, shape)


@cache
def _props(cls: type) -> dict[str, tuple[bool, bool, type | None]]:
    """Pulumi property name -> (is a list, is a map, nested input class)."""
    inputs = importlib.import_module(cls.__module__.rsplit(".", 1)[0] + "._inputs")
    out: dict[str, tuple[bool, bool, type | None]] = {}
    for member in vars(cls).values():
        if isinstance(member, property) and member.fget is not None and hasattr(member.fget, "_pulumi_name"):
            names: list[str] = []
            shape = {"list": False, "map": False}
            _names(member.fget.__annotations__.get("return"), names, shape)
            nested = next((getattr(inputs, n) for n in names if n.endswith("Args") and hasattr(inputs, n)), None)
            out[member.fget._pulumi_name] = (shape["list"], shape["map"], None if shape["map"] else nested)
    return out


def _resolve(token: str, path: str, output: bool) -> str | None:
    """None when ``path`` names a property of the resource's Pulumi types, else the problem."""
    args, state = _resource_classes(token)
    classes = [args, state] if output else [args]
    for index, segment in enumerate(path.split(".")):
        name, is_element = (segment[:-2], True) if segment.endswith("[]") else (segment, False)
        found = next((_props(c)[name] for c in classes if name in _props(c)), None)
        if found is None:
            return f"{segment!r} is not a property of {[c.__name__ for c in classes]}"
        is_list, is_map, nested = found
        if is_element and not is_list:
            return f"{name!r} is not a list"
        last = index == len(path.split(".")) - 1
        if not last:
            if is_list and not is_element:
                return f"{name!r} is a list: its fields are '{name}[].…'"
            if nested is None:
                return f"{name!r} has no nested properties"
            classes = [nested]
    return None


def _all_paths() -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    for token in sorted(pf.known_types()):
        found = pf.facts(token)
        assert found is not None
        inputs = found.force_new | found.required | set(found.enums) | set(found.force_new_if)
        out += [(token, p, False) for p in sorted(inputs)]
        out += [(token, p, True) for p in sorted(found.output_only)]
    return out


def test_every_path_is_a_pulumi_property() -> None:
    problems = [f"{token} {path}: {why}" for token, path, output in _all_paths() if (why := _resolve(token, path, output))]
    assert not problems, "\n".join(problems[:20])


def test_the_resolver_catches_a_mistyped_path() -> None:
    assert _resolve(RUN, "template.containers[].image", False) is None
    assert _resolve(RUN, "template.container[].image", False) is not None  # Terraform's name, not Pulumi's
    assert _resolve(RUN, "template.containers.image", False) is not None  # a list needs []
    assert _resolve(RUN, "traffic[].percent", False) is not None  # the bridge pluralises: traffics
    assert _resolve(RUN, "uri", False) is not None and _resolve(RUN, "uri", True) is None
