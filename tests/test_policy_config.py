"""Pack config handled as the Pulumi CLI handles --policy-pack-config, and the per-stage files."""

from __future__ import annotations

import json
from pathlib import Path

import policy_fixtures as f
import pytest

from stagewise.policy.config import SCHEMA_KEYWORDS, PolicyConfigError, parse_config
from stagewise.policy.analyzer import Analyzer, load_pack, stage_config_path


@pytest.mark.parametrize("stage", ["mvp", "staging", "prod"])
def test_stage_config_files_are_valid(stage: str) -> None:
    analyzer = Analyzer.for_stage(stage)
    assert set(analyzer.settings) == {rule.name for rule in load_pack().RULES}
    assert all(setting.level in ("advisory", "mandatory", "disabled") for setting in analyzer.settings.values())


def test_schemas_use_only_the_validated_keywords() -> None:
    for rule in load_pack().RULES:
        for key, schema in rule.params.items():
            assert set(schema) <= SCHEMA_KEYWORDS, f"{rule.name}.{key}"
            assert "default" in schema and "description" in schema, f"{rule.name}.{key}: give a default and a description"


def test_stage_levels_follow_the_stage_design() -> None:
    levels = {stage: {name: s.level for name, s in Analyzer.for_stage(stage).settings.items()} for stage in ("mvp", "staging", "prod")}
    assert levels["mvp"]["net-no-world-ingress"] == "advisory" and levels["prod"]["net-no-world-ingress"] == "mandatory"
    assert levels["mvp"]["run-ingress-restricted"] == "disabled" and levels["prod"]["run-ingress-restricted"] == "mandatory"
    assert levels["mvp"]["storage-no-force-destroy"] == "disabled" and levels["staging"]["storage-no-force-destroy"] == "mandatory"
    for stage in ("mvp", "staging", "prod"):
        assert levels[stage]["iam-no-basic-roles"] == "mandatory"
        assert levels[stage]["storage-public-access-prevention"] == "mandatory"


def test_schema_defaults_reach_the_rule_without_the_cli() -> None:
    """The SDK fills no defaults: with an empty Configure the rules' own mirrors apply the same values."""
    program = f.prod(lambda: f.cloud_run(template=f.template(scaling=f.crun.ServiceTemplateScalingArgs(min_instance_count=0, max_instance_count=25))))
    with_cli_defaults = Analyzer({}).evaluate(f.run(program)).pairs()
    servicer_only = Analyzer({})
    from pulumi.runtime.proto import analyzer_pb2

    servicer_only.servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(), None)
    without = servicer_only.evaluate(f.run(program)).pairs()
    assert ("cost-run-max-instances", "chat") in with_cli_defaults  # default cap 20 < 25
    assert without == with_cli_defaults


def test_all_sets_every_level_and_policy_entries_win() -> None:
    analyzer = Analyzer(parse_config({"all": "advisory", "iam-no-basic-roles": "mandatory"}))
    assert analyzer.settings["iam-no-basic-roles"].level == "mandatory"
    assert {s.level for name, s in analyzer.settings.items() if name != "iam-no-basic-roles"} == {"advisory"}
    verdicts = analyzer.evaluate(f.run(f.prod(lambda: f.project_member("editor", "roles/editor"),
                                                lambda: f.bucket("b", public_access_prevention="inherited")))).verdicts
    assert {(v.policy, v.level) for v in verdicts} == {("iam-no-basic-roles", "mandatory"), ("storage-public-access-prevention", "advisory")}


def test_disabled_rules_do_not_run() -> None:
    program = f.prod(lambda: f.project_member("editor", "roles/editor"))
    assert f.violations(program, overrides={"iam-no-basic-roles": "disabled"}) == set()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"iam-no-basic-roles": "strict"}, "'strict' is not an enforcement level"),
        ({"iam-no-basic-roles": {"enforcementLevel": "hard"}}, "iam-no-basic-roles.enforcementLevel"),
        ({"iam-no-basic-roles": 3}, "write a level string or an object"),
        ({"cost-run-max-instances": {"maxInstances": "ten"}}, "cost-run-max-instances.maxInstances: must be an integer"),
        ({"cost-run-max-instances": {"maxInstances": 0}}, "must be at least 1"),
        ({"storage-versioning": {"versionedClasses": ["data", 3]}}, "item 1 must be a string"),
        ({"storage-retention-minimum": {"minRetentionDays": {"logs": "a month"}}}, "minRetentionDays: logs must be an integer"),
        ({"run-invoker-not-public": {"allowPublic": "yes"}}, "must be true or false"),
        ({"iam-no-basic-role": "mandatory"}, "no policy named iam-no-basic-role"),
    ],
)
def test_bad_config_names_the_key_and_the_problem(document: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Analyzer(parse_config(document))


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    from stagewise.policy.config import load_config_file

    with pytest.raises(PolicyConfigError, match="does not exist"):
        load_config_file(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(PolicyConfigError, match="not valid JSON"):
        load_config_file(broken)


def test_config_files_are_plain_cli_json() -> None:
    for stage in ("mvp", "staging", "prod"):
        document = json.loads(stage_config_path(stage).read_text())
        assert all(isinstance(value, (str, dict)) for value in document.values())


def test_a_crashing_rule_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    import stagewise_policies.storage as storage_rules

    from stagewise.policy.analyzer import PolicyRunError

    def broken(resource: object) -> str:
        raise KeyError("bucket-class")

    monkeypatch.setattr(storage_rules, "bucket_class", broken)
    with pytest.raises(PolicyRunError, match=r"rule storage-versioning failed on frame-logs \(Bucket\): KeyError"):
        f.analyzer("prod").evaluate(f.run(f.prod()))
