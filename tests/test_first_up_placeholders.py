"""Issue 14, item 8: every value only the user knows is marked REPLACE-ME in the stack files and
refused, all in one error, before any resource is declared; the sample values make the shipped
stacks review cleanly and fill in exactly the placeholders."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from stack_values import example_values, run_with_values, values_document, values_path

from stagewise.stacks.config import ConfigError, load_config
from stagewise.stacks.config.placeholders import MARKER, find_placeholders
from stagewise.engine.record import REPO_ROOT, ProgramError, load_stack_file, run_stack

STACKS = [s for s in ("mvp", "staging", "prod") if (REPO_ROOT / f"Pulumi.{s}.yaml").is_file()]


def stack_document(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert isinstance(config, dict)
    return config


# stacks whose config values (not comments) hold the marker
MARKED = [s for s in STACKS if MARKER in json.dumps(stack_document(s))]


def marked_paths(value: Any, path: str) -> list[str]:
    """Every leaf of a YAML value that holds the marker, as the error names it."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in marked_paths(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in marked_paths(item, f"{path}[{index}]")]
    return [path] if isinstance(value, str) and MARKER in value else []


def test_staging_ships_placeholders_for_what_only_the_user_knows() -> None:
    assert "staging" in MARKED
    paths = [p for key, value in stack_document("staging").items() for p in marked_paths(value, key)]
    assert "gcp:project" in paths
    assert {p.split("[")[0] for p in paths} >= {
        "stagewise:service.invokers", "stagewise:personas.developers", "stagewise:personas.analysts",
        "stagewise:personas.partners", "stagewise:personas.admins",
    }
    # no principal in the stack file is a made-up one that IAM would refuse
    assert "@example.com" not in json.dumps(stack_document("staging"))


@pytest.mark.parametrize("stack", MARKED)
def test_shipped_stack_stops_with_one_error_naming_every_placeholder(stack: str) -> None:
    raw = load_stack_file(stack)
    with pytest.raises(ConfigError) as caught:
        load_config(raw, stack)  # the loader: nothing is declared before it returns
    message = str(caught.value)
    expected = [p for key, value in stack_document(stack).items() for p in marked_paths(value, key)]
    assert expected
    for path in expected:
        assert f"  - {path}: " in message, f"{path} is not in the error"
    assert message.count("is a placeholder; replace it with") == len(expected)
    assert f"--values examples/values/{stack}.yaml" in message
    with pytest.raises(ProgramError, match="is a placeholder"):
        run_stack(stack)


@pytest.mark.parametrize("stack", MARKED)
def test_sample_values_fill_in_exactly_the_placeholders(stack: str) -> None:
    shipped, values = stack_document(stack), values_document(stack)
    assert values, f"{values_path(stack)} is missing: the shipped stack cannot be reviewed without it"

    def compare(ours: Any, theirs: Any, path: str) -> None:
        if isinstance(ours, str) and MARKER in ours:
            assert isinstance(theirs, str) and MARKER not in theirs, f"{path}: not filled in"
        elif isinstance(ours, dict) and isinstance(theirs, dict):
            assert set(ours) == set(theirs), f"{path}: keys differ from the stack file ({sorted(set(ours) ^ set(theirs))})"
            for key in ours:
                compare(ours[key], theirs[key], f"{path}.{key}")
        elif isinstance(ours, list) and isinstance(theirs, list):
            assert len(ours) == len(theirs), f"{path}: length differs from the stack file"
            for index, (a, b) in enumerate(zip(ours, theirs)):
                compare(a, b, f"{path}[{index}]")
        else:
            assert ours == theirs, f"{path}: {theirs!r} differs from the stack file's {ours!r}, which is no placeholder"

    for key, value in values.items():
        assert key in shipped, f"{key} is not a key of Pulumi.{stack}.yaml"
        compare(shipped[key], value, key)
    left = [p for key, value in shipped.items() if key not in values for p in marked_paths(value, key)]
    assert not left, f"placeholders with no sample value: {left}"


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_with_its_sample_values_declares_no_placeholder(stack: str) -> None:
    run = run_with_values(stack)
    assert run.resources
    for resource in run.resources:
        assert MARKER not in json.dumps(resource.inputs), resource.name


def test_mvp_ships_working_values_and_reviews_as_is() -> None:
    assert "mvp" not in MARKED and not example_values("mvp")
    assert run_stack("mvp").resources


@pytest.mark.parametrize(
    ("stack", "key", "value", "named", "hint"),
    [
        # the same convention anywhere, in any stage, also in prod's keys
        ("prod", "stagewise:budget", {"monthlyUsd": 800, "billingAccount": MARKER}, "stagewise:budget.billingAccount",
         "gcloud billing accounts list"),
        ("prod", "stagewise:edge", {"domains": ["chat.REPLACE-ME"], "tracks": {"stable": {"weight": 100}}},
         "stagewise:edge.domains[0]", "DNS A record"),
        ("prod", "stagewise:alerting", {"emails": [f"{MARKER}@example.com"]}, "stagewise:alerting.emails[0]", "receive the alerts"),
        ("mvp", "stagewise:service", {"image": {"mode": "external", "ref": f"us-docker.pkg.dev/p/r/chat@sha256:{MARKER}"}},
         "stagewise:service.image.ref", "@sha256:<64 hex>"),
        # a key with no hint of its own falls back to the field's description
        ("mvp", "stagewise:buckets", {"data": {"class": "data", "kmsKey": MARKER}}, "stagewise:buckets.data.kmsKey", "a real value ("),
    ],
)
def test_a_placeholder_anywhere_is_refused_with_what_belongs_there(
    stack: str, key: str, value: object, named: str, hint: str
) -> None:
    raw = {**load_stack_file(stack), **example_values(stack), key: json.dumps(value)}
    with pytest.raises(ConfigError) as caught:
        load_config(raw, stack)
    line = next(line for line in str(caught.value).splitlines() if line.startswith(f"  - {named}: "))
    assert hint in line


def test_the_marker_is_only_found_in_strings_and_kept_as_written() -> None:
    found = find_placeholders({"gcp:project": MARKER, "stagewise:x": {"a": [1, True, None, "ok", f"p-{MARKER}"]}})
    assert [(p.key, p.value) for p in found] == [("gcp:project", MARKER), ("stagewise:x.a[4]", f"p-{MARKER}")]
    assert yaml.safe_load(f"k: {MARKER}\nl: [group:a@{MARKER}]") == {"k": MARKER, "l": [f"group:a@{MARKER}"]}
