"""Structural guarantees of the CI workflows that actionlint doesn't check: least-privilege
tokens, pinned actions, Workload Identity Federation only, nothing secret echoed, and the
pipeline the docs promise (PR: offline review + sticky comment; main: one image, staged deploys)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
SHA_COMMENT = re.compile(r"uses: ([\w.-]+/[\w./-]+@[0-9a-f]{40}) # v\d+(\.\d+)*\s*$")
ALLOWED_WRITE = {"id-token", "pull-requests"}


def _load(name: str) -> dict[str, Any]:
    raw: dict[Any, Any] = yaml.safe_load((WORKFLOW_DIR / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    document: dict[str, Any] = {str(key): value for key, value in raw.items() if key is not True}
    document["on"] = raw.get(True, raw.get("on"))
    return document


WORKFLOWS = {path.name: _load(path.name) for path in sorted(WORKFLOW_DIR.glob("*.yml"))}


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def _all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, job_id, job) for name, wf in WORKFLOWS.items() for job_id, job in wf["jobs"].items()]


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_default_token_is_read_only(name: str) -> None:
    assert WORKFLOWS[name]["permissions"] == {"contents": "read"}


@pytest.mark.parametrize(("name", "job_id", "job"), _all_jobs())
def test_jobs_grant_only_what_they_use(name: str, job_id: str, job: dict[str, Any]) -> None:
    permissions = job.get("permissions", {})
    assert permissions != "write-all" and isinstance(permissions, dict)
    writes = {scope for scope, level in permissions.items() if level == "write"}
    assert writes <= ALLOWED_WRITE, f"{name}:{job_id} writes {writes - ALLOWED_WRITE}"
    uses = [str(step.get("uses", "")) for step in _steps(job)]
    authenticates = any(u.startswith("google-github-actions/auth@") for u in uses) or "uses" in job
    assert ("id-token" in writes) == authenticates, f"{name}:{job_id}: id-token: write exactly when it authenticates to Google"
    if "pull-requests" in writes:
        commenting = any(u.startswith("pulumi/actions@") for u in uses) or any("sticky_comment.sh" in str(s.get("run", "")) for s in _steps(job))
        assert commenting, f"{name}:{job_id} asks for pull-requests: write without commenting"
    if "uses" not in job:
        assert isinstance(job.get("timeout-minutes"), int), f"{name}:{job_id} needs timeout-minutes"


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_remote_actions_are_pinned_to_full_commit_shas(name: str) -> None:
    text = (WORKFLOW_DIR / name).read_text()
    for line in text.splitlines():
        if "uses:" not in line or "uses: ./" in line:
            continue
        assert SHA_COMMENT.search(line), f"{name}: not pinned to a commit SHA with its version: {line.strip()}"
    for _, _, job in [j for j in _all_jobs() if j[0] == name]:
        for step in _steps(job):
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_google_auth_is_workload_identity_federation_only(name: str) -> None:
    text = (WORKFLOW_DIR / name).read_text()
    assert "credentials_json" not in text and "GOOGLE_APPLICATION_CREDENTIALS" not in text
    assert not re.search(r"secrets\.\w*(KEY|JSON|CREDENTIAL)", text, re.IGNORECASE)
    for _, _, job in [j for j in _all_jobs() if j[0] == name]:
        for step in _steps(job):
            if str(step.get("uses", "")).startswith("google-github-actions/auth@"):
                assert step["with"]["workload_identity_provider"] == "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}"
                assert step["with"]["service_account"].startswith("${{ vars.GCP_")


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_no_secret_or_token_is_expanded_into_a_script(name: str) -> None:
    for _, job_id, job in [j for j in _all_jobs() if j[0] == name]:
        for step in _steps(job):
            script = str(step.get("run", ""))
            # Values reach scripts through env:, never ${{ }} inside the script (injection, log leaks).
            assert "${{" not in script, f"{name}:{job_id}: expression expanded inside run: {script[:80]}"
            assert "set -x" not in script
            assert not re.search(r"echo\s+[^|]*\$\{?(ACCESS_TOKEN|GH_TOKEN)", script), f"{name}:{job_id} echoes a token"
    assert "pull_request_target" not in WORKFLOWS[name]["on"]


def test_pr_preview_offline_job_has_no_credentials_and_builds_the_comment() -> None:
    pr = WORKFLOWS["pr-preview.yml"]
    assert set(pr["on"]) == {"pull_request"}
    offline = pr["jobs"]["offline"]
    assert "id-token" not in offline["permissions"]
    text = yaml.safe_dump(offline)
    assert "secrets." not in text and "google-github-actions/auth" not in text
    runs = "\n".join(str(s.get("run", "")) for s in _steps(offline))
    assert "bash scripts/test.sh" in runs
    assert "review_stacks.sh" in runs and "git worktree add" in runs
    assert "stagewise compare" in runs and "sticky_comment.sh" in runs
    assert runs.count("mvp staging prod") == 1 and '--base "$RUNNER_TEMP/base"' in runs  # head and base, every stage, one process
    assert pr["concurrency"]["cancel-in-progress"] is True


def test_pr_cloud_preview_runs_the_policy_pack_per_stack_only_when_bootstrapped() -> None:
    job = WORKFLOWS["pr-preview.yml"]["jobs"]["cloud-preview"]
    assert "vars.GCP_WORKLOAD_IDENTITY_PROVIDER != ''" in job["if"]
    assert "head.repo.full_name == github.repository" in job["if"]
    assert job["strategy"]["matrix"]["stack"] == ["mvp", "staging", "prod"]
    [pulumi] = [s for s in _steps(job) if str(s.get("uses", "")).startswith("pulumi/actions@") and "with" in s]
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    auth_index = next(i for i, s in enumerate(_steps(job)) if "google-github-actions/auth" in str(s.get("uses", "")))
    assert _steps(job)[auth_index]["with"]["service_account"] == "${{ vars.GCP_PREVIEW_SERVICE_ACCOUNT }}"


def test_main_builds_once_and_promotes_the_same_digest_through_environments() -> None:
    deploy = WORKFLOWS["deploy.yml"]
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert jobs["image"]["needs"] == "test"
    for stage in ("mvp", "staging", "prod"):
        job = jobs[f"deploy-{stage}"]
        assert job["uses"] == "./.github/workflows/pulumi-up.yml"
        assert job["with"] == {"stack": stage, "image": "${{ needs.image.outputs.ref }}"}
    assert "deploy-staging" in jobs["deploy-prod"]["needs"]
    up = WORKFLOWS["pulumi-up.yml"]["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"  # prod's environment carries the required reviewers
    assert up["concurrency"] == {"group": "pulumi-up-${{ inputs.stack }}", "cancel-in-progress": False}
    [pulumi] = [s for s in _steps(up) if str(s.get("uses", "")).startswith("pulumi/actions@") and "with" in s]
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["policyPackConfigs"] == "policies/config/${{ inputs.stack }}.json"
    assert pulumi["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    runs = "\n".join(str(s.get("run", "")) for s in _steps(up))
    assert "image_config.py" in runs and "pulumi config set --path" in runs
    assert "set_image.py" not in runs  # the stack file is not rewritten by hand


def test_prod_waiting_for_approval_holds_no_group_that_mvp_or_staging_need() -> None:
    # A job waits for an environment's required reviewers before it starts (up to 30 days:
    # https://docs.github.com/actions/managing-workflow-runs/reviewing-deployments); a concurrency group holds one
    # running and one pending (https://docs.github.com/en/actions/using-jobs/using-concurrency). So no group may
    # span the run, and each stack's `pulumi up` has its own.
    deploy = WORKFLOWS["deploy.yml"]
    assert "concurrency" not in deploy
    for job_id, job in deploy["jobs"].items():
        assert "concurrency" not in job, f"deploy.yml:{job_id}: per-stack groups live in pulumi-up.yml"
    up = WORKFLOWS["pulumi-up.yml"]
    assert "concurrency" not in up
    group = up["jobs"]["up"]["concurrency"]["group"]
    assert "${{ inputs.stack }}" in group and "github.run" not in group
    stacks = {job["with"]["stack"] for job in deploy["jobs"].values() if "uses" in job}
    assert len({group.replace("${{ inputs.stack }}", stack) for stack in stacks}) == len(stacks) == 3


def test_the_deploy_and_both_previews_use_the_mode_ci_deploys() -> None:
    up_runs = "\n".join(str(s.get("run", "")) for s in _steps(WORKFLOWS["pulumi-up.yml"]["jobs"]["up"]))
    review_line = next(line for line in up_runs.splitlines() if "stagewise review" in line)
    assert '"${args[@]}"' in review_line  # the review gets the same pairs as `pulumi config set --path`
    pr = WORKFLOWS["pr-preview.yml"]
    assert pr["env"]["CI_IMAGE"].split("@sha256:")[1] != "0" * 64
    offline = "\n".join(str(s.get("run", "")) for s in _steps(pr["jobs"]["offline"]))
    assert offline.count('--ci-image "$CI_IMAGE"') == 1 and "--base" in offline  # head and base alike (one call)
    cloud = "\n".join(str(s.get("run", "")) for s in _steps(pr["jobs"]["cloud-preview"]))
    assert "image_config.py --keep-deployed" in cloud and "pulumi config set --path" in cloud
    steps = _steps(pr["jobs"]["cloud-preview"])
    set_index = next(i for i, s in enumerate(steps) if "pulumi config set" in str(s.get("run", "")))
    preview_index = next(i for i, s in enumerate(steps) if (s.get("with") or {}).get("command") == "preview")
    assert set_index < preview_index


def test_dependabot_keeps_every_lock_and_pin_current() -> None:
    # Ecosystem names: https://docs.github.com/en/code-security/reference/supply-chain-security/supported-ecosystems-and-repositories
    # (uv: https://docs.astral.sh/uv/guides/integration/dependabot/).
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    covered: dict[str, set[str]] = {}
    for update in config["updates"]:
        dirs = update.get("directories") or [update["directory"]]
        covered.setdefault(update["package-ecosystem"], set()).update(d.rstrip("/") or "/" for d in dirs)
        assert update["schedule"]["interval"] in ("daily", "weekly", "monthly")
    assert set(covered) == {"github-actions", "uv", "npm", "docker"}

    def where(pattern: str) -> set[str]:
        found = {("/" + str(p.parent.relative_to(ROOT))).replace("/.", "/") for p in ROOT.glob(pattern)
                 if "node_modules" not in p.parts and not any(part.startswith(".") for part in p.relative_to(ROOT).parts[:-1])}
        return {d.rstrip("/") or "/" for d in found}

    assert where("**/uv.lock") <= covered["uv"]
    assert where("**/package-lock.json") <= covered["npm"]
    assert where("**/Dockerfile") <= covered["docker"]
