"""What makes a review fast must not change what it finds: the slim pulumi_gcp imports and the policy
properties decoded once give the same documents and verdicts as without; a review is the same bytes
in every process."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stagewise.policy import analyzer as policy_engine
from stagewise.engine.record import load_values
from stagewise.engine.record import run_stack

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_policy_properties_decoded_once_give_the_servicers_own_verdicts(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_stack(stack, overrides=load_values([ROOT / "examples" / "values"], stack))
    assert run.spec is not None
    for checked in (run, run.spec.run(preview=True)):  # the preview has unknowns: the proxy's errors too
        shared = policy_engine.evaluate_stage(checked)
        with monkeypatch.context() as patch:
            patch.setattr(policy_engine, "_properties_decoded_once", contextlib.nullcontext)
            per_policy = policy_engine.evaluate_stage(checked)
        assert shared.verdicts == per_policy.verdicts and shared.not_applicable == per_policy.not_applicable
        assert shared.verdicts  # prod and staging have findings on both: the comparison compares something


def test_the_servicer_is_left_as_it_was() -> None:
    import pulumi_policy.policy as sdk
    from google.protobuf import json_format

    policy_engine.evaluate_stage(run_stack("mvp"))
    assert sdk.json_format is json_format and sdk.deserialize_properties.__module__ == "pulumi_policy.deserialize"


def _review_json(stack: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "stagewise.cli", "review", stack, "--values", "examples/values", "--format", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1, 3), done.stderr
    return done.stdout


def test_slim_imports_declare_what_the_full_provider_import_declares() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GOOGLE_", "STAGEWISE_"))}
    slim = _review_json("prod", env)
    full = _review_json("prod", {**env, "STAGEWISE_FULL_IMPORTS": "1"})
    assert slim == full
    assert len(json.loads(slim)["resources"]) > 100


def test_a_prod_run_loads_only_the_compute_modules_it_uses() -> None:
    code = ("import sys; from stagewise.engine.record import run_stack; from stagewise.engine.record import load_values; from pathlib import Path; "
            "run_stack('prod', overrides=load_values([Path('examples/values')], 'prod')); "
            "print(sum(1 for m in sys.modules if m.startswith('pulumi_gcp.compute.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert 0 < int(done.stdout) < 40  # of ~290: what prod declares, and the package's shared types


def test_reviews_are_the_same_from_one_process_to_the_next() -> None:
    # Registration order follows the SDK's worker threads and the string hash seed of each process.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GOOGLE_"))}
    first = _review_json("staging", {**env, "PYTHONHASHSEED": "1"})
    second = _review_json("staging", {**env, "PYTHONHASHSEED": "2"})
    assert first == second
