"""Stack config that lets no mistake through (issue 16): unknown namespaces and provider keys, digests,
principals, secret ids, model names, a stage that contradicts the stack's name, duplicate YAML keys,
dotted --config paths; and every bad stack file or flag exits 2 naming the key and the fix, never a
traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from stagewise.stacks.config.loader import ConfigError, load_config, merged_config
from stagewise.cli import EXIT_INVALID, EXIT_OK, main, parse_overrides
from stagewise.engine.record import REPO_ROOT, ProgramError, read_config_file

GOOD = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}
DIGEST = "sha256:" + "3c" * 32


def error_of(extra: dict[str, object], stack: str = "mvp") -> str:
    raw = dict(GOOD)
    for key, value in extra.items():
        raw[key] = value if isinstance(value, str) else json.dumps(value)
    with pytest.raises(ConfigError) as caught:
        load_config(raw, stack)
    return str(caught.value)


# --- namespaces and provider keys ----------------------------------------------------------------------

def test_a_namespace_typo_is_refused_with_the_right_spelling() -> None:
    message = error_of({"stagwise:service": {"maxInstances": 5}})
    assert "stagwise:service: unknown namespace 'stagwise'" in message and "did you mean stagewise:service?" in message


def test_a_key_without_namespace_says_to_add_one() -> None:
    assert "write it as stagewise:service" in error_of({"service": {"maxInstances": 5}})


def test_provider_key_typos_are_refused_and_real_keys_pass() -> None:
    message = error_of({"gcp:regoin": "us-central1"})
    assert "gcp:regoin" in message and "did you mean gcp:region?" in message
    assert load_config({**GOOD, "gcp:zone": "us-central1-a", "gcp:defaultLabels": "{}", "docker:host": "unix:///x"}, "mvp").stage == "mvp"


def test_the_provider_key_list_comes_from_the_installed_provider() -> None:
    from stagewise.stacks.config.provider import provider_keys

    assert {"project", "region", "zone", "credentials", "impersonateServiceAccount", "billingProject"} <= provider_keys()
    assert "regoin" not in provider_keys() and len(provider_keys()) > 100


# --- values ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("section", "value", "needle"),
    [
        ("stagewise:service", {"image": {"mode": "external", "ref": "r-docker.pkg.dev/p/r/chat@sha256:" + "0" * 64}},
         "all-zero digest is a placeholder"),
        ("stagewise:service", {"image": {"mode": "external", "ref": "r-docker.pkg.dev/p/r/chat@sha256:abc"}}, "64 lowercase hex"),
        ("stagewise:service", {"image": {"mode": "external", "ref": "r-docker.pkg.dev/p/r/chat@sha256:" + "AB" * 32}}, "64 lowercase hex"),
        ("stagewise:service", {"image": {"mode": "external", "ref": "Not An Image"}}, "not an image reference"),
        ("stagewise:inference", {"mode": "cloudrun-gpu", "model": "google/gemma-3-4b-it", "serverImage": "docker.io/vllm/vllm-openai@sha256:" + "0" * 64},
         "stagewise:inference.serverImage"),
        ("stagewise:service", {"invokers": ["ops@example.com"]}, "is not an IAM member"),
        ("stagewise:service", {"invokers": ["allUsers"]}, "set service.public: true"),
        ("stagewise:service", {"secretEnv": {"CHAT_API_KEYS": "projects/p/secrets/keys"}}, "not a Secret Manager secret id"),
        ("stagewise:inference", {"mode": "managed", "model": "gemini-2.5-flsh"}, "did you mean 'gemini-2.5-flash'"),
        ("stagewise:inference", {"mode": "managed", "fallbackModel": "gpt-4o"}, "stagewise:inference.fallbackModel"),
        ("stagewise:inference", {"mode": "cloudrun-gpu", "model": "google/gemma-3-4b-it", "fallbackModel": "gemini-9"}, "not a model in the price table"),
        ("stagewise:budget", {"monthlyUsd": 50, "billingAccount": "000000-000000-000000"}, "placeholder billing account"),
        ("stagewise:budget", {"monthlyUsd": 50, "billingAccount": "012345-6789AB-CDEF01"}, "placeholder billing account"),
        ("stagewise:budget", {"monthlyUsd": 50, "billingAccount": "AAAAAA-AAAAAA-AAAAAA"}, "placeholder billing account"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(section: str, value: object, needle: str) -> None:
    message = error_of({section: value})
    assert needle in message and section in message, message


def test_good_values_pass() -> None:
    config = load_config({**GOOD, "stagewise:service": json.dumps({
        "invokers": ["group:ops@example.com", "serviceAccount:ci@p.iam.gserviceaccount.com"],
        "secretEnv": {"CHAT_API_KEYS": "chat-api-keys"},
        "image": {"mode": "external", "ref": f"us-central1-docker.pkg.dev/p/r/chat@{DIGEST}"},
    }), "stagewise:inference": json.dumps({"mode": "managed", "model": "gemini-2.5-pro", "fallbackModel": "gemini-3.1-flash-lite"}),
        "stagewise:budget": json.dumps({"monthlyUsd": 50, "billingAccount": "01A2B3-C4D5E6-F7A8B9"})}, "mvp")
    assert config.service.invokers[0] == "group:ops@example.com" and config.inference.model == "gemini-2.5-pro"


def test_model_names_come_from_the_price_table() -> None:
    from stagewise.stacks.config.models import PRICE_TABLE, known_models

    prices = yaml.safe_load(PRICE_TABLE.read_text())["prices"]
    assert known_models() == {key.split(".", 1)[1] for key in prices if key.startswith("tokens_in.")}
    assert {"gemini-2.5-flash", "gemini-2.5-flash-lite"} <= known_models()


# --- stage and stack name -------------------------------------------------------------------------------------

def test_a_stage_that_contradicts_the_stack_name_is_refused() -> None:
    message = error_of({"stagewise:stage": "mvp"}, stack="staging")
    assert "stagewise:stage: 'mvp' contradicts the stack's name 'staging'" in message and "allowStageMismatch" in message
    assert "contradicts" in error_of({"stagewise:stage": "mvp"}, stack="prod-eu")


def test_a_stage_mismatch_can_be_allowed_explicitly_and_unnamed_stacks_choose_freely() -> None:
    assert load_config({**GOOD, "stagewise:stage": "mvp", "stagewise:allowStageMismatch": "true"}, "staging").stage == "mvp"
    assert load_config({**GOOD, "stagewise:stage": "mvp"}, "qa").stage == "mvp"
    assert load_config({**GOOD, "stagewise:stage": "mvp"}, "mvp-eu").stage == "mvp"
    assert load_config({**GOOD, "stagewise:stage": "mvp"}, "mvp").stage == "mvp"


# --- dotted paths ------------------------------------------------------------------------------------------------

def test_dotted_keys_land_inside_their_object_whatever_the_order() -> None:
    raw = {**GOOD, "stagewise:service": json.dumps({"name": "chat", "maxInstances": 3}), "stagewise:service.maxInstances": "5",
           "stagewise:service.invokers[0]": "group:ops@example.com", "stagewise:labels.owner": "chat-team"}
    config = load_config(raw, "mvp")
    assert (config.service.name, config.service.max_instances, config.service.invokers) == ("chat", 5, ["group:ops@example.com"])
    assert config.labels.owner == "chat-team"


def test_path_values_are_typed_as_pulumi_types_them() -> None:
    config = load_config({**GOOD, "stagewise:service.public": "true", "stagewise:service.minInstances": "0"}, "mvp")
    assert config.service.public is True and config.service.min_instances == 0


def test_a_dotted_key_is_validated_at_its_path() -> None:
    assert "stagewise:service.maxInstance" in error_of({"stagewise:service.maxInstance": "5"})
    assert "stagewise:service.maxInstances" in error_of({"stagewise:service.maxInstances": "lots"})


def test_merged_config_folds_paths_for_tools_that_read_whole_objects() -> None:
    merged = merged_config({"stagewise:budget": json.dumps({"monthlyUsd": 50}), "stagewise:budget.monthlyUsd": "80", "gcp:project": "p"})
    assert json.loads(merged["stagewise:budget"]) == {"monthlyUsd": 80} and merged["gcp:project"] == "p"
    assert "stagewise:budget.monthlyUsd" not in merged


@pytest.mark.parametrize("pair", ["stagewise:service", "service.maxInstances=5", "stagewise:=1", "=1", "stagewise:service..x=1",
                                  "stagewise:service[x]=1"])
def test_malformed_config_flags_are_input_errors(pair: str) -> None:
    with pytest.raises(ProgramError, match="NAMESPACE:KEY=VALUE"):
        parse_overrides([pair])


def test_readme_config_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """README: `stagewise review mvp [--config stagewise:service.maxInstances=5]`."""
    assert main(["review", "mvp", "--format", "json", "--config", "stagewise:service.maxInstances=5"]) == EXIT_OK
    document = json.loads(capsys.readouterr().out)
    service = next(r for r in document["resources"] if r["type"] == "gcp:cloudrunv2/service:Service")
    assert service["inputs"]["template"]["scaling"]["maxInstanceCount"] == 5


def test_a_malformed_config_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "mvp", "--config", "stagewise:service"]) == EXIT_INVALID
    assert "NAMESPACE:KEY=VALUE" in capsys.readouterr().err


# --- bad stack files end to end ---------------------------------------------------------------------------------

MVP = (REPO_ROOT / "Pulumi.mvp.yaml").read_text()

BAD_FILES: list[tuple[str, str, str]] = [
    ("yaml-syntax", MVP.replace("config:", "config:\n  stagewise:service: {name: chat", 1), "not valid YAML: expected ',' or '}'"),
    ("tab-indentation", "config:\n\tgcp:project: stagewise-test\n", "not valid YAML"),
    ("duplicate-key", MVP.replace("config:", "config:\n  stagewise:budget: 10\n  stagewise:budget: 20", 1), "'stagewise:budget' appears twice"),
    ("duplicate-nested-key", "config:\n  gcp:project: stagewise-test\n  stagewise:service:\n    maxInstances: 3\n    maxInstances: 9\n",
     "'maxInstances' appears twice"),
    ("top-level-list", "- config\n", "top level must be a mapping"),
    ("config-not-mapping", "config: [1, 2]\n", "'config' must be a mapping"),
    ("non-text-key", "config:\n  1: x\n", "config key 1 is not text"),
    ("namespace-typo", MVP + "  stagwise:budget: 10\n", "unknown namespace 'stagwise'"),
    ("provider-typo", MVP + "  gcp:regoin: us-central1\n", "did you mean gcp:region?"),
    ("stage-mismatch", MVP + "  stagewise:stage: prod\n", "contradicts the stack's name 'mvp'"),
    ("null-block", "config:\n  gcp:project: stagewise-test\n  stagewise:service:\n", "stagewise:service"),
    ("wrong-type", "config:\n  gcp:project: stagewise-test\n  stagewise:service: [1]\n", "stagewise:service"),
    ("binary", "\udcff", "not a text file"),
]


@pytest.mark.parametrize(("case", "text", "needle"), BAD_FILES, ids=[case for case, _, _ in BAD_FILES])
def test_bad_stack_files_exit_2_with_the_key_and_no_traceback(case: str, text: str, needle: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(REPO_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    target = tmp_path / "Pulumi.mvp.yaml"
    if case == "binary":
        target.write_bytes(b"\xff\xfe\x00config")
    else:
        target.write_text(text)
    assert main(["review", "mvp", "--root", str(tmp_path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert needle in err, err
    assert "Traceback" not in err


def test_values_files_are_read_the_same_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("config:\n  gcp:project: a-project\n  gcp:project: b-project\n")
    with pytest.raises(ProgramError, match="appears twice"):
        read_config_file(values)
    assert main(["review", "mvp", "--values", str(values)]) == EXIT_INVALID
    assert "'gcp:project' appears twice" in capsys.readouterr().err
