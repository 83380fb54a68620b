"""The shipped stacks, deployed twice: nothing GCP would refuse, and a new image rolls out.

Each stack is reviewed with its sample values (examples/values/<stack>.yaml, the placeholders a user
replaces) as `stagewise review STACK --values ...` does: first deploy into an empty project, a
preview before it, and a second deploy after a new image and a changed environment value.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from stack_values import example_values, write_filled_stack_file

from stagewise.engine.record import ProgramRun, run_stack
from stagewise.readiness.inventory import Inventory
from stagewise.readiness.lifecycle import check_second_deploy, second_deploy_overrides
from stagewise.readiness.report import check_readiness

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("mvp", "staging", "prod")
SERVICE = "gcp:cloudrunv2/service:Service"
CHAT_SERVICE = "stagewise:index:ChatService"


def values(stack: str) -> dict[str, str]:
    return example_values(stack)


@pytest.fixture(scope="module", params=STACKS)
def first(request: pytest.FixtureRequest) -> ProgramRun:
    return run_stack(request.param, overrides=values(request.param))


def _chat_images(run: ProgramRun) -> dict[str, list[str]]:
    """Image of every Cloud Run service a ChatService declares, by URN."""
    parents = {r.urn for r in run.resources if r.type == CHAT_SERVICE}
    images: dict[str, list[str]] = {}
    for resource in Inventory.of(run).of_type(SERVICE):
        if resource.declared.parent in parents:
            images[resource.urn] = [c["image"] for c in resource.get("template.containers", [])]
    return images


def test_first_deploy_preview_and_second_deploy_have_nothing_blocking(first: ProgramRun) -> None:
    report = check_readiness(first)
    blocking = [f"{f.rule} {f.resource} {f.field} [{f.phase}]: {f.message}" for f in report.blocking]
    assert not blocking, "\n".join(blocking)
    assert report.preview is not None
    mandatory = [f"{v.policy} {v.resource_name}: {v.message}" for v in report.preview.mandatory]
    assert not mandatory, "mandatory at preview time:\n" + "\n".join(mandatory)


def test_a_second_deploy_rolls_the_new_image_out(first: ProgramRun) -> None:
    assert first.spec is not None
    overrides = second_deploy_overrides(first.config)
    assert "stagewise:service" in overrides  # the env value changes too
    second = first.spec.run(generation=2, overrides=overrides)
    before, after = _chat_images(first), _chat_images(second)
    assert before and set(before) == set(after)
    for urn in before:
        assert before[urn] != after[urn], f"{urn} keeps image {before[urn]} after a new build"
    findings = check_second_deploy(first, second, overrides).findings
    assert not [f for f in findings if f.rule == "deploy-image-not-rolled-out"]


def _image_config_script() -> ModuleType:
    path = ROOT / ".github" / "scripts" / "image_config.py"
    spec = importlib.util.spec_from_file_location("image_config", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stack", STACKS)
def test_the_ci_deploy_path_rolls_its_image_out(stack: str, tmp_path: Path) -> None:
    """CI builds the image, `pulumi config set --path` points the stack at its digest (the pairs
    `image_config.py` prints), then `pulumi up` runs."""
    base = run_stack(stack, overrides=values(stack))
    ref = "us-central1-docker.pkg.dev/ci-project/apps/chat@sha256:" + "c" * 64
    stack_file = write_filled_stack_file(stack, tmp_path)  # the user's stack file: placeholders replaced
    changed = dict(_image_config_script().image_config(stack_file, ref))
    assert base.spec is not None
    ci_run = base.spec.run(generation=2, overrides=changed)
    images = _chat_images(ci_run)
    assert images and all(ref in refs for refs in images.values()), images
    findings = check_second_deploy(base, ci_run, changed).findings
    blocking = [f"{f.rule} {f.resource} {f.field}: {f.message}" for f in findings if f.blocking or f.rule == "deploy-image-not-rolled-out"]
    assert not blocking, "\n".join(blocking)
