"""Every stage exports one map-shaped contract (style: FAST stage interfaces), so a program that
consumes a stage (a StackReference, a CI job) reads the same keys whichever stage it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.engine.record import load_values, run_stack

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = {"services", "buckets", "firestore_database", "image", "stage"}
SERVICE_KEYS = {"url", "service_account", "member", "region"}


@pytest.mark.parametrize("stack", ["mvp", "staging", "prod"])
def test_every_stage_exports_the_same_contract(stack: str) -> None:
    run = run_stack(stack, overrides=load_values([ROOT / "examples" / "values"], stack))
    outputs = run.stack_outputs
    assert CONTRACT <= set(outputs), f"{stack} lacks {sorted(CONTRACT - set(outputs))}"
    assert outputs["stage"] == stack
    services = outputs["services"]
    assert services, f"{stack} exports no services"
    for key, entry in services.items():
        assert set(entry) == SERVICE_KEYS, f"{stack} services.{key}: {sorted(entry)}"
        assert entry["member"] == f"serviceAccount:{entry['service_account']}"
        assert entry["url"].startswith("https://")


def test_prod_services_are_reached_on_the_domain() -> None:
    run = run_stack("prod", overrides=load_values([ROOT / "examples" / "values"], "prod"))
    domains = run.stack_outputs["domains"]
    regions = run.stack_outputs["regions"]
    services = run.stack_outputs["services"]
    assert sorted(entry["region"] for entry in services.values()) == sorted(regions)
    assert {entry["url"] for entry in services.values()} == {f"https://{domains[0]}"}

