"""Every config-validation path: a bad stack config fails before any resource, naming the key and the fix."""

from __future__ import annotations

import json

import pytest

from stagewise.stacks.config import StackConfig
from stagewise.stacks.config.loader import ConfigError, load_config

GOOD = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}


def load(extra: dict[str, object], stack: str = "mvp", base: dict[str, str] | None = None) -> StackConfig:
    raw = dict(GOOD if base is None else base)
    for key, value in extra.items():
        raw[key] = value if isinstance(value, str) else json.dumps(value)
    return load_config(raw, stack)


def error_of(extra: dict[str, object], stack: str = "mvp", base: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(extra, stack, base)
    return str(caught.value)


def test_minimal_config_gets_documented_defaults() -> None:
    config = load({})
    assert config.stage == "mvp"
    assert config.service.min_instances == 0 and config.service.max_instances >= 1
    assert config.inference.mode == "managed"
    assert config.all_labels["env"] == "mvp"


def test_every_field_has_a_description() -> None:
    from pydantic import BaseModel

    seen: set[type[BaseModel]] = set()
    missing: list[str] = []

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, field in model.model_fields.items():
            if not field.description and name != "mode":
                missing.append(f"{model.__name__}.{name}")
            for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
                for inner in (candidate, *getattr(candidate, "__args__", ())):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        walk(inner)

    walk(StackConfig)
    assert not missing, f"config keys without a one-line doc: {missing}"


def test_missing_project_says_how_to_set_it() -> None:
    message = error_of({}, base={"gcp:region": "us-central1"})
    assert "gcp:project" in message and "pulumi config set gcp:project" in message


def test_bad_project_id() -> None:
    assert "gcp:project" in error_of({"gcp:project": "Not_A_Project"})


def test_region_that_is_not_a_gcp_region() -> None:
    message = error_of({"gcp:region": "us-centrall1"})
    assert "gcp:region" in message and "not a Google Cloud region" in message


def test_unknown_stage_from_stack_name_and_from_config() -> None:
    assert "stagewise:stage" in error_of({}, stack="qa")
    message = error_of({"stagewise:stage": "production"})
    assert "stagewise:stage" in message and "mvp|staging|prod" in message


def test_stage_setting_lets_any_stack_name_use_a_composition() -> None:
    assert load({"stagewise:stage": "mvp"}, stack="mvp-eu").stage == "mvp"


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    message = error_of({"stagewise:servce": {"name": "chat"}})
    assert "stagewise:servce" in message and "did you mean 'service'" in message


def test_unknown_nested_key_names_its_full_path() -> None:
    message = error_of({"stagewise:service": {"maxInstance": 3}})
    assert "stagewise:service.maxInstance" in message and "did you mean 'maxInstances'" in message


def test_wrong_type_names_the_key() -> None:
    message = error_of({"stagewise:service": {"maxInstances": "lots"}})
    assert "stagewise:service.maxInstances" in message and "lots" in message


def test_max_below_min_says_which_to_change() -> None:
    message = error_of({"stagewise:service": {"minInstances": 3, "maxInstances": 1}})
    assert "stagewise:service" in message and "raise service.maxInstances" in message


@pytest.mark.parametrize(
    ("section", "value", "needle"),
    [
        ("stagewise:service", {"minInstances": -1}, "stagewise:service.minInstances"),
        ("stagewise:service", {"memory": "512MB"}, "512Mi or 2Gi"),
        ("stagewise:service", {"memory": "64Gi"}, "128Mi..32Gi"),
        ("stagewise:service", {"cpu": "4", "memory": "1Gi"}, "raise service.memory"),
        ("stagewise:service", {"cpu": "3"}, "stagewise:service.cpu"),
        ("stagewise:service", {"env": {"port": "1"}}, "UPPER_SNAKE_CASE"),
        ("stagewise:service", {"env": {"PORT": "1"}}, "set by Cloud Run"),
        ("stagewise:service", {"env": {"CHAT_API_KEYS": "1"}, "secretEnv": {"CHAT_API_KEYS": "s"}}, "keep each name in one"),
        # Cloud Run reads secrets at `latest` on the first revision: only variables the program can seed.
        ("stagewise:service", {"secretEnv": {"CHAT_OPENAI_API_KEY": "openai"}}, "only do for CHAT_API_KEYS"),
        ("stagewise:service", {"public": True, "invokers": ["user:a@b.c"]}, "drop one of them"),
        ("stagewise:service", {"promptVersion": "v3", "allowedPromptVersions": ["v1"]}, "allowedPromptVersions"),
        ("stagewise:service", {"ingress": "everyone"}, "stagewise:service.ingress"),
        ("stagewise:service", {"image": {"mode": "external"}}, "set image.ref"),
        ("stagewise:service", {"image": {"mode": "build", "ref": "x"}}, "image.mode: external"),
        ("stagewise:service", {"image": {"mode": "external", "ref": "r/x:latest"}}, "pin a digest"),
        ("stagewise:firestore", {"locationId": "mars1"}, "not a Firestore location"),
        ("stagewise:firestore", {"databaseId": "Chat"}, "stagewise:firestore.databaseId"),
        ("stagewise:firestore", {"ttlDays": 0}, "stagewise:firestore.ttlDays"),
        ("stagewise:firestore", {"backupRetentionDays": 400}, "stagewise:firestore.backupRetentionDays"),
        ("stagewise:buckets", {"Data": {"class": "data"}}, "bucket key 'Data'"),
        ("stagewise:buckets", {"data": {"class": "archive"}}, "stagewise:buckets.data.class"),
        ("stagewise:buckets", {"data": {}}, "stagewise:buckets.data.class"),
        ("stagewise:buckets", {"b": {"class": "backups", "retentionDays": 30}}, "raise retentionDays to 365"),
        ("stagewise:buckets", {"l": {"class": "logs", "retentionDays": 10, "deleteAfterDays": 5}}, "raise deleteAfterDays"),
        ("stagewise:buckets", {"d": {"class": "data", "softDeleteDays": 3}}, "between 7 and 90"),
        ("stagewise:buckets", {"d": {"class": "data", "lockRetention": True}}, "set retentionDays"),
        ("stagewise:buckets", {"d": {"class": "data", "location": "moon"}}, "not a Cloud Storage location"),
        ("stagewise:buckets", {"d": {"class": "data", "deleteAfterDays": -5}}, "stagewise:buckets.d.deleteAfterDays"),
        ("stagewise:inference", {"mode": "managed", "location": "nowhere1"}, "not a Google Cloud region"),
        ("stagewise:labels", {"extra": {"Team": "x"}}, "lowercase"),
        ("stagewise:extraApis", ["translate"], "translate.googleapis.com"),
    ],
)
def test_bad_value_names_key_and_fix(section: str, value: object, needle: str) -> None:
    message = error_of({section: value})
    assert needle in message, message
    assert section.split(".")[0] in message


def test_invalid_json_value_is_reported_for_its_key() -> None:
    message = error_of({"stagewise:service": "{not json"})
    assert "stagewise:service" in message and "JSON" in message


def test_all_problems_are_reported_at_once() -> None:
    message = error_of({"stagewise:service": {"maxInstance": 3, "memory": "1GB"}, "stagewise:bogus": 1})
    assert "maxInstance" in message and "memory" in message and "stagewise:bogus" in message


def test_bad_config_declares_no_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    from stagewise.stacks.program import main
    from stagewise.engine import record as engine

    registered: list[str] = []
    original = engine._RecordingMonitor.RegisterResource

    def counting(self: engine._RecordingMonitor, request: object) -> object:
        registered.append(getattr(request, "type", "?"))
        return original(self, request)

    monkeypatch.setattr(engine._RecordingMonitor, "RegisterResource", counting)
    good = engine.run_program(main, project="stagewise", stack="mvp", config=dict(GOOD))
    assert len([t for t in registered if t != "pulumi:pulumi:Stack"]) == len(good.resources) > 0
    registered.clear()
    with pytest.raises(engine.ProgramError) as caught:
        engine.run_program(main, project="stagewise", stack="mvp",
                           config={**GOOD, "stagewise:service": json.dumps({"maxInstances": 0})})
    assert "stagewise:service.maxInstances" in str(caught.value)
    assert registered == [] or registered == ["pulumi:pulumi:Stack"]
