"""Each rule's Checkov cross-reference names a real Checkov check that reads the same kind of resource
(issue 16 found 6 pointing at unrelated checks). The check table is tests/data/checkov_gcp_checks.json,
extracted from Checkov's GCP Terraform checks at a pinned commit (its `source`). A reference marked
"(intent)" shares the rule's intent on another resource (a Cloud Run rule citing the VM check) and must
only exist."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from stagewise.policy.analyzer import load_pack

TABLE = json.loads((Path(__file__).parent / "data" / "checkov_gcp_checks.json").read_text())
CHECKS: dict[str, list[str]] = TABLE["checks"]
_PART = re.compile(r"^(CKV2?_GCP)_(\d+)(?:-(\d+))?\s*(\((.*)\))?$")
# Pulumi's module names where Terraform's differ (gcp:projects/iAMMember ↔ google_project_iam_member).
_MODULES = {"projects": "project", "organizations": "organization", "serviceaccount": "service"}


@dataclass(frozen=True)
class Reference:
    check: str
    note: str


def references(anchor: str) -> list[Reference]:
    found: list[Reference] = []
    for part in filter(None, (piece.strip() for piece in anchor.split(","))):
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not a Checkov id (CKV_GCP_<n>, a range CKV_GCP_<n>-<m>, an optional (note))")
        prefix, first, last, _, note = match.groups()
        found += [Reference(f"{prefix}_{n}", note or "") for n in range(int(first), int(last or first) + 1)]
    return found


def _terraform(token: str) -> str:
    module, kind = token.split(":")[1].split("/")
    return (_MODULES.get(module, module) + kind).lower()


def problems(name: str, types: tuple[str, ...], anchor: str) -> list[str]:
    """What is wrong with a rule's references: unknown ids, and checks that read none of the rule's types."""
    found: list[str] = []
    ours = {_terraform(token) for token in types if token != "*"}
    for ref in references(anchor):
        if ref.check not in CHECKS:
            found.append(f"{name}: {ref.check} is not a Checkov GCP check")
            continue
        # A rule that selects its resources by predicate (every IAM member type, anything with a service
        # account) lists no types to compare.
        if "intent" in ref.note or not ours:
            continue
        theirs = {resource.removeprefix("google_").replace("_", "") for resource in CHECKS[ref.check]}
        if not theirs & ours:
            found.append(f"{name}: {ref.check} reads {', '.join(CHECKS[ref.check])}, none of the rule's types")
    return found


RULES = [rule for rule in load_pack().RULES if rule.anchor]


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_every_reference_is_a_check_of_the_same_resources(rule: object) -> None:
    assert problems(rule.name, tuple(rule.types), rule.anchor) == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(("anchor", "types", "wrong"), [
    # The references issue 16 found: a bucket rule citing a GKE check, an SSL-policy rule citing a BigQuery one.
    ("CKV_GCP_65", ("gcp:storage/bucket:Bucket",), ["CKV_GCP_65"]),
    ("CKV_GCP_15", ("gcp:compute/sSLPolicy:SSLPolicy",), ["CKV_GCP_15"]),
    ("CKV_GCP_29, CKV_GCP_999", ("gcp:storage/bucket:Bucket",), ["CKV_GCP_999"]),
    ("CKV_GCP_37", ("gcp:compute/disk:Disk",), []),
    ("CKV_GCP_4", ("gcp:compute/sSLPolicy:SSLPolicy",), []),
    ("CKV_GCP_30 (intent)", ("gcp:cloudrunv2/service:Service",), []),
    ("CKV_GCP_115-117", ("gcp:projects/iAMMember:IAMMember",), ["CKV_GCP_115", "CKV_GCP_116"]),
    ("CKV_GCP_117", ("gcp:projects/iAMMember:IAMMember",), []),
])
def test_the_check_catches_unrelated_references_and_passes_related_ones(anchor: str, types: tuple[str, ...], wrong: list[str]) -> None:
    assert [problem.split(": ")[1].split(" ")[0] for problem in problems("rule", types, anchor)] == wrong


def test_the_table_is_the_pinned_extract() -> None:
    assert "03d5fdad8d6154b1565799a7b1fb8070c158866f" in TABLE["source"]
    assert CHECKS["CKV_GCP_35"] == ["google_compute_instance", "google_compute_instance_from_template", "google_compute_instance_template"]
    assert len(CHECKS) > 100
