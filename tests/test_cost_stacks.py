"""The estimate of the real stacks: nothing unpriced, totals that add up, usage that moves them."""

from __future__ import annotations

import json
from functools import lru_cache

import pytest

from stagewise.components.edge import EdgeBackend, EdgeLoadBalancer, EdgeLoadBalancerArgs, ServerlessTarget
from stagewise.components.vpc import SubnetSpec, VpcNetwork, VpcNetworkArgs
from stagewise.cost.estimate import estimate_run
from stagewise.cost.model import Estimate
from stack_values import run_with_values

from stagewise.engine.record import REPO_ROOT, ProgramError, ProgramRun, run_program, run_stack

STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml"))


@lru_cache(maxsize=None)
def stack_run(stack: str) -> ProgramRun:
    # staging and prod mark what only the user knows REPLACE-ME; the sample values fill them in
    return run_with_values(stack)


def test_the_mvp_stack_exists() -> None:
    assert "mvp" in STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_of_every_stack_is_priced_or_free_with_a_reason(stack: str) -> None:
    result = estimate_run(stack_run(stack))
    assert [(l.type, l.name, l.reason) for l in result.unpriced] == []
    assert all(l.reason for l in result.by_status("free"))
    priced_types = {r.type for r in stack_run(stack).resources if r.custom}
    assert priced_types <= {l.type for l in result.lines}  # every declared type got a line


@pytest.mark.parametrize("stack", STACKS)
def test_totals_are_recomputed_from_line_items_and_charges(stack: str) -> None:
    result = estimate_run(stack_run(stack))
    for item in result.lines:
        for charge in item.charges:
            assert charge.cost == pytest.approx(max(charge.quantity - charge.free_quantity, 0) * charge.unit_price)
            assert 0 <= charge.free_quantity <= charge.quantity
        assert item.monthly == pytest.approx(sum(c.cost for c in item.charges))
        assert item.monthly == pytest.approx(item.fixed + item.usage)
    assert result.total == pytest.approx(sum(l.monthly for l in result.lines))
    document = result.to_document()
    assert document["monthlyUsd"] == pytest.approx(sum(l["monthlyUsd"] for l in document["lines"]))
    assert document["counts"]["unpriced"] == 0 and result.total > 0


def test_doubling_requests_doubles_the_token_bill_and_raises_the_total() -> None:
    run = stack_run("mvp")
    base = estimate_run(run, {"requests_per_month": 100_000})
    double = estimate_run(run, {"requests_per_month": 200_000})
    tokens = [l.name for l in base.lines if l.type == "vertex:gemini:Tokens"]
    assert tokens
    for name in tokens:
        before = next(l for l in base.lines if l.name == name).monthly
        after = next(l for l in double.lines if l.name == name).monthly
        assert after == pytest.approx(2 * before)  # tokens have no free tier: exactly linear
    assert double.total > base.total


def test_more_tokens_per_request_move_only_the_token_lines() -> None:
    run = stack_run("mvp")
    base = estimate_run(run, {"output_tokens_per_request": 300})
    more = estimate_run(run, {"output_tokens_per_request": 600})
    changed = {l.name for l, m in zip(base.lines, more.lines) if abs(l.monthly - m.monthly) > 1e-9}
    assert changed and all("→" in name for name in changed)
    # 10,000 requests × 300 extra output tokens × $1.50 per million (gemini-3.1-flash-lite, the MVP's model)
    assert more.total - base.total == pytest.approx(10_000 * 300 * 1.50 / 1e6, abs=0.01)


def test_usage_from_stack_config_overrides_stage_defaults() -> None:
    run = run_stack("mvp", overrides={"stagewise:usage": json.dumps({"requestsPerMonth": 0, "logGb": 0, "egressGb": 0})})
    result = estimate_run(run)
    assert result.usage.requests_per_month == 0
    assert not [l for l in result.lines if l.type == "vertex:gemini:Tokens"]


def test_bad_usage_config_fails_naming_the_key() -> None:
    with pytest.raises(ProgramError, match="requestsPerMonth"):
        run_stack("mvp", overrides={"stagewise:usage": json.dumps({"requestsPerMonth": -5})})
    with pytest.raises(ProgramError, match="requestsPerMonht"):
        run_stack("mvp", overrides={"stagewise:usage": json.dumps({"requestsPerMonht": 5})})


def test_network_and_edge_components_are_fully_priced() -> None:
    """What the staging and prod compositions add: VPC, NAT, flow logs, HTTPS load balancer, Cloud Armor."""

    def program() -> None:
        VpcNetwork("vpc", VpcNetworkArgs(project="cost-test-project", subnets=[SubnetSpec(region="us-central1", cidr="10.10.0.0/24")]))
        EdgeLoadBalancer("edge", EdgeLoadBalancerArgs(
            project="cost-test-project", domains=["chat.example.com"],
            backends=[EdgeBackend(key="chat", targets=[ServerlessTarget(region="us-central1", service="chat")])]))

    run = run_program(program, project="stagewise", stack="prod",
                      config={"gcp:project": "cost-test-project", "gcp:region": "us-central1", "stagewise:stage": "prod"})
    result: Estimate = estimate_run(run)
    assert result.unpriced == []
    by_type = {l.type for l in result.by_status("priced")}
    assert {"gcp:compute/globalForwardingRule:GlobalForwardingRule", "gcp:compute/securityPolicy:SecurityPolicy",
            "gcp:compute/routerNat:RouterNat", "gcp:compute/uRLMap:URLMap"} <= by_type


def test_the_mvp_in_an_eu_region_is_fully_priced_at_eu_rows() -> None:
    run = run_stack("mvp", overrides={"gcp:region": "europe-west1", "stagewise:firestore": json.dumps({"locationId": "eur3"})})
    result = estimate_run(run)
    assert result.unpriced == [] and result.region == "europe-west1"
    refs = {c.price_ref for l in result.lines for c in l.charges}
    assert "cloud_run.cpu_request@europe-west1" in refs and "firestore.reads@eur3" in refs
