"""Every type token the pack matches exists in the installed pulumi-gcp (tokens are irregular)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pulumi_gcp
import pytest

from stagewise.policy.analyzer import load_pack


def _installed_tokens() -> dict[str, str]:
    """token -> module of every resource class in the installed wheel (read from its sources:
    importing all of pulumi-gcp's lazy modules takes minutes)."""
    root = Path(pulumi_gcp.__file__).parent
    found: dict[str, str] = {}
    for path in root.rglob("*.py"):
        for token in TYPE_TOKEN.findall(path.read_text(encoding="utf-8")):
            module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
            found[token] = module
    return found


TYPE_TOKEN = re.compile(r'@pulumi\.type_token\("(gcp:[^"]+)"\)')
INSTALLED = _installed_tokens()


def _pack_tokens() -> set[str]:
    pack = load_pack()
    tokens = {token for rule in pack.RULES for token in rule.types if token != "*"}
    import stagewise_policies.observability as observability
    import stagewise_policies.tokens as t

    tokens |= set(observability.LABELLED_TYPES)
    tokens |= {value for name, value in vars(t).items() if name.isupper() and isinstance(value, str)}
    return tokens


def test_installed_token_index_is_complete_enough_to_mean_something() -> None:
    assert "gcp:projects/iAMMember:IAMMember" in INSTALLED and len(INSTALLED) > 1000


@pytest.mark.parametrize("token", sorted(_pack_tokens()))
def test_token_exists_in_pulumi_gcp(token: str) -> None:
    assert token in INSTALLED, f"{token} is not a pulumi-gcp resource type"


def test_labelled_types_take_labels() -> None:
    import stagewise_policies.observability as observability

    for token in observability.LABELLED_TYPES:
        cls = getattr(importlib.import_module(INSTALLED[token]), token.rsplit(":", 1)[-1])
        parameters = inspect.signature(cls._internal_init).parameters
        assert "labels" in parameters, token


def test_iam_shapes_match_every_iam_resource_of_the_provider() -> None:
    import stagewise_policies.tokens as t

    iam = [token for token in INSTALLED if t.is_iam(token)]
    assert len(iam) > 300
    assert t.is_iam_member("gcp:projects/iAMMember:IAMMember") and t.is_iam_binding("gcp:storage/bucketIAMBinding:BucketIAMBinding")
    assert t.is_iam_policy("gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy")
    assert not t.is_iam("gcp:projects/iAMCustomRole:IAMCustomRole") and not t.is_iam("gcp:projects/iAMAuditConfig:IAMAuditConfig")
