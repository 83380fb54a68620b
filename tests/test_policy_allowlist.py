"""The per-stage type allowlist: derived from what each stage's composition declares, kept in sync with
policies/config/<stage>.json, and a type outside it (a service the stage never needed) fails review."""

from __future__ import annotations

import json

import policy_fixtures as f
import pulumi_gcp as gcp
import pytest

from stagewise.policy.allowlist import PROJECT_LISTS, RULE, STAGES, configured, derive, write
from stagewise.policy.config import parse_config
from stagewise.policy.analyzer import Analyzer, stage_config_path


@pytest.mark.parametrize("stage", STAGES)
def test_config_lists_exactly_the_types_the_composition_declares(stage: str) -> None:
    assert json.loads(stage_config_path(stage).read_text())[RULE]["enforcementLevel"] == "mandatory"
    assert configured(stage) == derive(stage), "run: uv run python -m stagewise.policy.allowlist --write"


def test_the_bootstrap_gets_its_own_list_inside_prods_config() -> None:
    """bootstrap.json is prod.json plus exceptions; the rule picks the bootstrap project's list by URN."""
    target, project = PROJECT_LISTS["bootstrap"]
    bootstrap = json.loads(stage_config_path("bootstrap").read_text())[RULE]
    assert target == "prod" and bootstrap["projectTypes"][project] == configured("bootstrap")
    assert "gcp:kms/cryptoKey:CryptoKey" in configured("bootstrap") and "gcp:kms/cryptoKey:CryptoKey" not in configured("prod")


def unneeded_services() -> None:
    """What issue 16 saw a stack declare although no stage needs it."""
    gcp.cloudfunctionsv2.Function("fn", project=f.PROJECT, location=f.REGION, name="fn")
    gcp.container.Cluster("gke", project=f.PROJECT, location=f.REGION, name="gke", initial_node_count=1)
    gcp.sql.DatabaseInstance("sql", project=f.PROJECT, region=f.REGION, database_version="POSTGRES_16",
                             settings=gcp.sql.DatabaseInstanceSettingsArgs(tier="db-f1-micro"))
    gcp.bigquery.Dataset("bq", project=f.PROJECT, dataset_id="chat", location="US")


UNNEEDED = {"fn", "gke", "sql", "bq"}


def allowlist_verdicts(stage: str, document: dict[str, object] | None = None) -> set[tuple[str, str]]:
    analyzer = Analyzer.for_stage(stage) if document is None else _with(stage, document)
    return {(v.policy, v.resource_name) for v in analyzer.evaluate(f.run(unneeded_services, stage)).verdicts
            if v.policy == RULE and v.level == "mandatory" and v.resource_name in UNNEEDED}


def _with(stage: str, document: dict[str, object]) -> Analyzer:
    from stagewise.policy.config import load_config_file

    settings = load_config_file(stage_config_path(stage))
    settings.update(parse_config(document))
    return Analyzer(settings, source=f"{stage}+test")


@pytest.mark.parametrize("stage", ["mvp", "staging", "prod"])
def test_services_no_stage_declares_fail_every_stage(stage: str) -> None:
    assert allowlist_verdicts(stage) == {(RULE, "fn"), (RULE, "gke"), (RULE, "sql"), (RULE, "bq")}


def test_extra_types_are_the_deliberate_override() -> None:
    prod_entry = json.loads(stage_config_path("prod").read_text())[RULE]
    document = {RULE: {**prod_entry, "extraTypes": ["gcp:bigquery/*", "gcp:sql/databaseInstance:DatabaseInstance"]}}
    assert allowlist_verdicts("prod", document) == {(RULE, "fn"), (RULE, "gke")}


def test_an_empty_allowlist_turns_the_rule_off() -> None:
    assert allowlist_verdicts("prod", {RULE: {"enforcementLevel": "mandatory", "allowedTypes": []}}) == set()


def test_mvp_refuses_a_vm_by_allowlist_and_denylist() -> None:
    run = f.run(lambda: (f.frame("mvp"), f.vm(stage="mvp")), "mvp")
    verdicts = {(v.policy, v.resource_name) for v in Analyzer.for_stage("mvp").evaluate(run).verdicts if v.level == "mandatory"}
    assert {(RULE, "vm"), ("cost-resource-type-denylist", "vm")} <= verdicts


def test_providers_and_components_are_not_resources_to_allow() -> None:
    from stagewise.components.chat_service import ChatService, ChatServiceArgs

    def program() -> None:
        provider = gcp.Provider("billing", project=f.PROJECT)
        ChatService("chat", ChatServiceArgs(project=f.PROJECT, region=f.REGION, image=f.IMAGE, labels=f.labels("mvp")))
        gcp.storage.Bucket("other", location="US", labels=f.labels("mvp"), opts=__import__("pulumi").ResourceOptions(provider=provider))

    run = f.run(program, "mvp")
    assert not [v for v in Analyzer.for_stage("mvp").evaluate(run).verdicts if v.policy == RULE]


def test_write_keeps_the_level_and_the_extras(tmp_path: pytest.TempPathFactory) -> None:
    import shutil
    from pathlib import Path

    from stagewise.policy.analyzer import POLICIES_DIR

    pack = Path(str(tmp_path)) / "policies"
    shutil.copytree(POLICIES_DIR / "config", pack / "config")
    path = stage_config_path("mvp", pack)
    document = json.loads(path.read_text())
    document[RULE] = {"enforcementLevel": "advisory", "allowedTypes": ["x"], "extraTypes": ["gcp:bigquery/*"]}
    path.write_text(json.dumps(document))
    assert write("mvp", ["gcp:storage/bucket:Bucket"], pack) is True
    entry = json.loads(path.read_text())[RULE]
    assert entry == {"enforcementLevel": "advisory", "allowedTypes": ["gcp:storage/bucket:Bucket"], "extraTypes": ["gcp:bigquery/*"]}
    assert write("mvp", ["gcp:storage/bucket:Bucket"], pack) is False
