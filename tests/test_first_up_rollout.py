"""Issue 14, items 2, 3, 4, 9, 14, 15, 18: the shipped stacks on a first deploy into an empty
project and on the deploys after it — traffic only to revisions that exist, no fixed revision
names, a new image always rolls out (CI and build mode), every grant before the service that
needs it, a readiness probe for service health, developers who can deploy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from stack_values import example_values, run_with_values

from stagewise.components.registry import BuildFromSource, build_tag
from stagewise.stacks import releases
from stagewise.stacks.config import ConfigError, load_config
from stagewise.stacks.config.releases import ReleaseConfig, check_release
from stagewise.engine.record import REPO_ROOT, DeclaredResource, ProgramRun, load_stack_file

SERVICE = "gcp:cloudrunv2/service:Service"
STACKS = [s for s in ("mvp", "staging", "prod") if (REPO_ROOT / f"Pulumi.{s}.yaml").is_file()]
IMAGE_CONFIG = REPO_ROOT / ".github" / "scripts" / "image_config.py"
DIGEST_1 = "us-central1-docker.pkg.dev/acme-ci/stagewise/chat@sha256:" + "ab" * 32
DIGEST_2 = "us-central1-docker.pkg.dev/acme-ci/stagewise/chat@sha256:" + "cd" * 32


@pytest.fixture(scope="module", params=STACKS)
def first_deploy(request: pytest.FixtureRequest) -> ProgramRun:
    return run_with_values(request.param)


def chat_services(run: ProgramRun) -> list[DeclaredResource]:
    """The stack's own chat services (not a model server it also runs on Cloud Run)."""
    return [s for s in run.of_type(SERVICE) if s.parent.endswith(f"ChatService::{s.name}")]


# --- items 2 and 3: traffic and revision names -----------------------------------------------
def test_no_fixed_revision_names_and_no_traffic_to_a_revision_a_new_project_lacks(first_deploy: ProgramRun) -> None:
    services = first_deploy.of_type(SERVICE)
    assert services
    for service in services:
        assert "revision" not in service.inputs["template"], f"{service.name}: a fixed name is reused by the next change (409)"
        for target in service.inputs.get("traffics", []):
            assert target["type"] == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", f"{service.name} routes to {target}"


def test_a_previous_version_is_routed_by_the_revision_the_last_deploy_reported() -> None:
    release = ReleaseConfig.model_validate({"previous": "v1", "previousRevision": "chat-00007-xyz", "previousPercent": 20})
    current, previous = releases.release_traffic("chat", release, "v2", "us-central1")
    assert (current.revision, current.tag, current.percent) == (None, "v2", 80)
    assert (previous.revision, previous.tag, previous.percent) == ("chat-00007-xyz", "v1", 20)
    per_region = ReleaseConfig.model_validate(
        {"previous": "v1", "previousRevision": {"us-central1": "chat-00004-abc", "europe-west1": "chat-00004-def"}}
    )
    assert releases.release_traffic("chat", per_region, "v2", "europe-west1")[1].revision == "chat-00004-def"
    check_release(per_region, "v2", "chat", ["us-central1", "europe-west1"])
    with pytest.raises(ValueError, match="missing europe-west1"):
        check_release(ReleaseConfig.model_validate({"previous": "v1", "previousRevision": {"us-central1": "chat-1"}}),
                      "v2", "chat", ["us-central1", "europe-west1"])


@pytest.mark.parametrize(
    ("release", "phrase"),
    [
        ({"previous": "v1"}, "needs previousRevision"),
        ({"previousRevision": "chat-partners-00001-abc"}, "previousRevision needs previous"),
        ({"previous": "v1", "previousRevision": "projects/p/locations/l/services/chat-partners/revisions/x"}, "not a revision name"),
        ({"previous": "v1", "previousRevision": "other-00001-abc"}, "is not a revision of service 'chat-partners'"),
    ],
)
def test_a_release_that_would_route_to_nothing_fails_before_any_resource(release: dict[str, object], phrase: str) -> None:
    raw = {**load_stack_file("staging"), **example_values("staging")}
    partners = json.loads(raw["stagewise:partners"])
    partners["release"] = release
    with pytest.raises(ConfigError, match=phrase):
        load_config({**raw, "stagewise:partners": json.dumps(partners)}, "staging")


def test_stacks_report_the_revision_names_a_later_release_needs() -> None:
    assert set(run_with_values("staging").stack_outputs["revisions"]) == {"chat", "chat-partners"}


# --- item 9: CI deploys roll the new digest out ----------------------------------------------
def _image_pairs(stack: str, image: str) -> dict[str, str]:
    """What the deploy job feeds `pulumi config set --path` (.github/scripts/image_config.py)."""
    done = subprocess.run([sys.executable, str(IMAGE_CONFIG), stack, image], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if line)


def _images(run: ProgramRun) -> set[str]:
    return {c["image"] for s in chat_services(run) for c in s.inputs["template"]["containers"]}


@pytest.mark.parametrize("stack", STACKS)
def test_each_ci_deploy_rolls_its_digest_out(stack: str) -> None:
    for digest in (DIGEST_1, DIGEST_2):
        pairs = _image_pairs(stack, digest)
        assert pairs["stagewise:service.image.mode"] == "external" and pairs["stagewise:service.image.ref"] == digest
        assert pairs["stagewise:service.image.ignoreChanges"] == "false"
        # the path pairs land on top of the stack file and its sample values, as `pulumi config set --path` does
        run = run_with_values(stack, pairs)
        assert _images(run) == {digest}
        for service in chat_services(run):
            assert "template.containers[0].image" not in service.ignore_changes, "the new digest would never roll out"
        assert not run.of_type("docker:index/image:Image")


def _run(root: Path, stack: str, overrides: dict[str, str]) -> ProgramRun:
    from stagewise.engine.record import run_stack

    return run_stack(stack, root=root, overrides=overrides)


def test_external_images_roll_out_unless_another_tool_owns_them() -> None:
    def service_with(image: dict[str, object]) -> DeclaredResource:
        block = json.loads(load_stack_file("mvp")["stagewise:service"])
        block["image"] = image
        return chat_services(run_with_values("mvp", {"stagewise:service": json.dumps(block)}))[0]

    assert "template.containers[0].image" not in service_with({"mode": "external", "ref": DIGEST_1}).ignore_changes
    owned = service_with({"mode": "external", "ref": DIGEST_1, "ignoreChanges": True})
    assert "template.containers[0].image" in owned.ignore_changes  # the documented escape hatch for gcloud deploys


# --- item 4: build mode pushes a new tag for new content -------------------------------------
def _context(root: Path, files: dict[str, str]) -> BuildFromSource:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return BuildFromSource(context=str(root))


def test_build_tags_follow_the_content_docker_would_send(tmp_path: Path) -> None:
    files = {"Dockerfile": "FROM scratch\n", ".dockerignore": "tests\n**/*.pyc\n", "src/app.py": "print(1)\n"}
    base = build_tag(_context(tmp_path / "a", files))
    assert base.startswith("ctx-") and len(base) == 4 + 16
    assert build_tag(_context(tmp_path / "b", files)) == base  # same content, same tag (the rebuild reuses nothing new)
    assert build_tag(_context(tmp_path / "c", {**files, "tests/test_x.py": "x", "src/x.pyc": "y"})) == base  # ignored files
    assert build_tag(_context(tmp_path / "d", {**files, "src/app.py": "print(2)\n"})) != base
    assert build_tag(_context(tmp_path / "e", {**files, "Dockerfile": "FROM scratch\nUSER 1\n"})) != base


def test_each_build_is_pushed_under_its_content_tag_from_a_context_relative_to_the_project(first_deploy: ProgramRun) -> None:
    builds = first_deploy.of_type("docker:index/image:Image")
    if not builds:
        assert json.loads(first_deploy.config["stagewise:service"])["image"]["mode"] == "external"
        return
    (build,) = builds
    expected = build_tag(BuildFromSource(context=str(REPO_ROOT / "app")))
    assert build.inputs["imageName"].endswith(f"/chat:{expected}")
    # The same on every machine: pulumi-docker diffs the paths, so an absolute one rebuilds unchanged code.
    assert build.inputs["build"]["context"] == "app" and build.inputs["build"]["dockerfile"] == "app/Dockerfile"
    (repository,) = [r for r in first_deploy.of_type("gcp:artifactregistry/repository:Repository")
                     if r.parent == build.parent]  # the one the build pushes to (prod also has a remote repository)
    # Mutable tags: rebuilding the same content elsewhere re-pushes its tag with a new digest;
    # services pin digests, so a moved tag changes nothing deployed.
    assert repository.inputs["dockerConfig"]["immutableTags"] is False


def test_a_second_deploy_with_a_new_image_and_a_changed_setting_makes_a_new_revision() -> None:
    first = chat_services(run_with_values("mvp"))[0]
    block = json.loads(load_stack_file("mvp")["stagewise:service"])
    block.update(image={"mode": "external", "ref": DIGEST_2}, env={"CHAT_RATE_RPM": "30"})
    second = chat_services(run_with_values("mvp", {"stagewise:service": json.dumps(block)}))[0]
    before, after = first.inputs["template"], second.inputs["template"]
    assert before["containers"][0]["image"] != after["containers"][0]["image"] == DIGEST_2
    assert {"name": "CHAT_RATE_RPM", "value": "30"} in after["containers"][0]["envs"]
    # the template changed and carries no name of its own: Cloud Run makes a new revision, nothing reuses a name
    assert "revision" not in before and "revision" not in after
    assert not {"template", "template.containers[0].image", "template.containers"} & set(second.ignore_changes)


# --- item 14: readiness probe for Cloud Run service health -----------------------------------
def test_every_chat_service_has_a_readiness_probe_on_a_path_that_reaches_it(first_deploy: ProgramRun) -> None:
    for service in chat_services(first_deploy):
        container = service.inputs["template"]["containers"][0]
        probes = {key: probe["httpGet"]["path"] for key, probe in container.items() if key.endswith("Probe")}
        assert probes == {"startupProbe": "/ready", "livenessProbe": "/health", "readinessProbe": "/ready"}


# --- item 18: grants before the service, everything after its API ----------------------------
def test_every_service_waits_for_all_grants_to_its_account_and_for_the_apis(first_deploy: ProgramRun) -> None:
    api_iam = first_deploy.by_name("apis-iam").urn
    for service in chat_services(first_deploy):
        member = f"serviceAccount:{service.inputs['template']['serviceAccount']}"
        grants = [r for r in first_deploy.resources if r.custom and r.inputs.get("member") == member]
        assert len(grants) >= 4
        # ...including those declared by the model endpoint (model access) rather than by the service
        assert any(not g.parent.endswith(f"ChatService::{service.name}") for g in grants), service.name
        for grant in grants:
            assert grant.urn in service.dependencies, f"{service.name} is created before {grant.name}"
            assert api_iam in grant.dependencies, f"{grant.name} does not wait for the IAM API"
        account = next(r for r in first_deploy.of_type("gcp:serviceaccount/account:Account")
                       if member.endswith(f":{r.inputs['accountId']}@{first_deploy.config['gcp:project']}.iam.gserviceaccount.com"))
        assert api_iam in account.dependencies and api_iam in service.dependencies


# --- item 15: developers can deploy ----------------------------------------------------------
def test_staging_developers_may_act_as_the_runtime_accounts_only() -> None:
    run = run_with_values("staging")
    developers = json.loads(example_values("staging")["stagewise:personas"])["developers"]
    act_as = [r for r in run.of_type("gcp:serviceaccount/iAMMember:IAMMember") if r.inputs["member"] in developers]
    runtime = {f"projects/stagewise-staging/serviceAccounts/{s.inputs['template']['serviceAccount']}" for s in chat_services(run)}
    assert {r.inputs["serviceAccountId"] for r in act_as} == runtime
    assert all(r.inputs["role"] == "roles/iam.serviceAccountUser" for r in act_as)
    project_roles = {r.inputs["role"] for r in run.of_type("gcp:projects/iAMMember:IAMMember") if r.inputs["member"] in developers}
    assert "roles/iam.serviceAccountUser" not in project_roles  # never project-wide
