"""`stagewise review` as a user runs it: a real subprocess, no cloud, no Pulumi CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def review(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GOOGLE_"))}
    return subprocess.run([sys.executable, "-m", "stagewise.cli", "review", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def mvp_json() -> dict:  # type: ignore[type-arg]
    done = review("mvp", "--format", "json")
    assert done.returncode in (0, 1, 3), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_text_review_prints_the_tree_and_a_count() -> None:
    done = review("mvp")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gcp:cloudrunv2/service:Service" in done.stdout and "ChatService" in done.stdout
    assert "resources" in done.stdout.lower()


def test_json_has_what_the_acceptance_names(mvp_json: dict) -> None:  # type: ignore[type-arg]
    resources = mvp_json["resources"]
    by_type: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for resource in resources:
        by_type.setdefault(resource["type"], []).append(resource)
        assert {"type", "name", "parent", "inputs"} <= set(resource)
    assert by_type["gcp:cloudrunv2/service:Service"][0]["inputs"]["scaling"]["minInstanceCount"] == 0
    assert by_type["gcp:serviceaccount/account:Account"]
    assert by_type["gcp:firestore/database:Database"]
    assert any(b["inputs"]["publicAccessPrevention"] == "enforced" for b in by_type["gcp:storage/bucket:Bucket"])
    assert len(by_type["gcp:projects/service:Service"]) >= 5


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("stagewise:service={\"maxInstancez\": 2}", "stagewise:service.maxInstancez"),
        ("stagewise:service={\"maxInstances\": \"many\"}", "stagewise:service.maxInstances"),
        ("stagewise:bogus=1", "stagewise:bogus"),
        ("gcp:region=us-nowhere9", "gcp:region"),
    ],
)
def test_bad_config_exits_non_zero_naming_the_key(override: str, key: str) -> None:
    done = review("mvp", "--config", override)
    assert done.returncode == 2
    assert key in done.stderr and "Traceback" not in done.stderr


def test_unknown_key_in_a_stack_file_is_reported(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml",):
        (tmp_path / name).write_text((ROOT / name).read_text())
    stack = (ROOT / "Pulumi.mvp.yaml").read_text().replace("    maxInstances: 2", "    maxInstances: 2\n    maxInstancs: 3")
    (tmp_path / "Pulumi.mvp.yaml").write_text(stack)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    code = f"import sys; from pathlib import Path; from stagewise import cli; sys.exit(cli.main(['review', 'mvp', '--root', {str(tmp_path)!r}]))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "stagewise:service.maxInstancs" in done.stderr and "did you mean 'maxInstances'" in done.stderr


def test_unknown_stack_lists_the_available_ones() -> None:
    done = review("nope")
    assert done.returncode == 2 and "Pulumi.nope.yaml" in done.stderr and "mvp" in done.stderr


def test_secret_inputs_never_reach_the_review_document() -> None:
    import pulumi
    import pulumi_gcp as gcp

    from stagewise.engine.record import SECRET_PLACEHOLDER, run_program

    def program() -> None:
        gcp.secretmanager.SecretVersion("v", secret="s", secret_data=pulumi.Output.secret("hunter2"))
        pulumi.export("token", pulumi.Output.secret("hunter3"))
        pulumi.export("plain", "visible")

    run = run_program(program, project="stagewise", stack="mvp", config={"gcp:project": "stagewise-test"})
    (resource,) = run.resources
    assert resource.inputs["secretData"]["value"] == "hunter2"  # rules and prices still see it
    document = resource.to_document()
    assert document["inputs"]["secretData"] == SECRET_PLACEHOLDER and "hunter2" not in json.dumps(document)
    assert run.stack_outputs == {"token": SECRET_PLACEHOLDER, "plain": "visible"}


def test_a_stage_imports_only_the_resource_families_it_declares() -> None:
    # pulumi_gcp.compute alone is about half of an MVP review's start-up; the MVP declares no
    # compute resource, so loading its config or composition must not import it.
    code = ("import sys; from stagewise.engine.record import run_stack; run_stack('mvp'); "
            "print('pulumi_gcp.compute.instance_template' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def _cli(*args: str, code: str = "", **kwargs: object) -> subprocess.CompletedProcess[str]:
    script = "import sys\nfrom stagewise.cli import main\ntry:\n    sys.exit(main(sys.argv[1:]))\nfinally:\n" + (code or "    pass")
    return subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, timeout=180, **kwargs)  # type: ignore[call-overload,no-any-return]


def test_version_is_the_distributions() -> None:
    import tomllib

    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = subprocess.run([sys.executable, "-m", "stagewise.cli", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.split() == ["stagewise", expected], done.stdout + done.stderr


@pytest.mark.parametrize("args", [["--help"], ["review", "--help"], ["--version"], ["compare", "--help"], []])
def test_help_and_version_answer_before_the_pulumi_sdk_is_imported(args: list[str]) -> None:
    # The SDK and pulumi_gcp are most of a second of imports: `--help` must not wait for them.
    done = _cli(*args, code="    print('imported:', sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_gcp', 'stacks', 'components')), file=sys.stderr)")
    assert done.returncode in (0, 2), done.stderr
    assert "usage: stagewise" in done.stdout + done.stderr or done.stdout.startswith("stagewise 0")
    assert done.stderr.strip().splitlines()[-1] == "imported: []"


def test_python_m_sees_every_command_and_its_arguments() -> None:
    done = subprocess.run([sys.executable, "-m", "stagewise.cli", "cost", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--requests" in done.stdout and "--fail-over-budget" in done.stdout, done.stderr


def test_a_reader_that_goes_away_ends_the_review_quietly() -> None:
    # `stagewise review mvp --format json | head -1`, made deterministic: the read end is closed
    # before the review writes a byte, so its first write meets a broken pipe.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "stagewise.cli", "review", "mvp", "--format", "json", "--no-lifecycle", "--no-preview"],
                              cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=180)
    finally:
        os.close(write_end)
    assert done.stderr == "" and done.returncode == 141, done.stderr


def test_head_after_the_review_prints_one_line_and_no_traceback() -> None:
    done = subprocess.run(f"{sys.executable} -m stagewise.cli review mvp --no-lifecycle --no-preview | head -1", shell=True,
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.stdout == "stagewise/mvp (pulumi:pulumi:Stack)\n" and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("file", "broken", "line"),
    [
        ("Pulumi.yaml", "name: stagewise\nruntime: [python\n", 3),
        ("Pulumi.mvp.yaml", "config:\n  stagewise:stage: mvp\n   gcp:region: x\n", 3),
        ("values.yaml", "config:\n  gcp:project: [\n", 3),
    ],
)
def test_a_yaml_error_anywhere_names_the_file_and_line(tmp_path: Path, file: str, broken: str, line: int) -> None:
    for name in ("Pulumi.yaml", "Pulumi.mvp.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / file).write_text(broken)
    done = review("mvp", "--root", str(tmp_path), "--values", str(tmp_path / "values.yaml")) if file == "values.yaml" \
        else review("mvp", "--root", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{file} line {line}" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_missing_project_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.mvp.yaml").write_text((ROOT / "Pulumi.mvp.yaml").read_text())
    done = review("mvp", "--root", str(tmp_path))
    assert done.returncode == 2 and "Pulumi.yaml" in done.stderr and "Traceback" not in done.stderr, done.stderr


# --- the architecture diagram -----------------------------------------------------------------------------------


def test_mermaid_draws_what_prod_declares() -> None:
    from stagewise.render.mermaid import architecture
    from stagewise.engine.record import run_stack

    done = review("prod", "--values", "examples/values", "--format", "mermaid")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    # The load balancer fronts both regional services, which read the data and call the model.
    for edge in ("c_edge --> c_chat_us_central1", "c_edge --> c_chat_europe_west1", "c_chat_us_central1 --> c_buckets",
                 "c_chat_us_central1 --> c_firestore", "c_chat_us_central1 <--> c_inference", "c_firestore_export --> c_buckets"):
        assert f"  {edge}" in lines, edge
    assert not [line for line in lines if "--> c_apis" in line]  # every component needs the APIs: not drawn
    # One node per top-level component the program declares, each with its kind's class.
    from stagewise.engine.record import load_values

    run = run_stack("prod", overrides=load_values([ROOT / "examples" / "values"], "prod"))
    top = {r.name for r in run.resources if not r.custom and r.parent == run.stack_urn}
    nodes = {line.split('"')[1].split("</b>")[0].removeprefix("<b>") for line in lines if '["' in line}
    assert nodes == top == {c.name for c in architecture(run).components}
    assert 'c_edge["<b>edge</b><br/>EdgeLoadBalancer<br/>global forwarding rule ×2' in done.stdout


def test_mvp_has_no_edge_and_its_service_uses_the_data() -> None:
    done = review("mvp", "--format", "mermaid")
    assert done.returncode == 0, done.stderr
    assert "c_edge" not in done.stdout and "  c_chat --> c_buckets" in done.stdout.splitlines()


def test_markdown_review_carries_the_diagram() -> None:
    done = review("mvp", "--format", "markdown", "--no-lifecycle", "--no-preview")
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("#### Architecture\n\n", 1)[1]
    assert section.startswith("```mermaid\nflowchart LR\n") and "c_chat --> c_buckets" in section.split("\n```\n", 1)[0]


def test_the_diagrams_in_the_docs_are_current() -> None:
    done = subprocess.run([sys.executable, "-m", "stagewise.render.mermaid", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def test_a_stale_diagram_is_redrawn() -> None:
    from stagewise.render.mermaid import render_documents

    def draw(stack: str) -> str:
        return f"flowchart LR\n  %% {stack}\n"

    current = "x\n<!-- BEGIN diagram: mvp -->\n```mermaid\nflowchart LR\n  %% mvp\n```\n<!-- END diagram -->\n"
    stale = current.replace("%% mvp", "old[hand drawn]")
    assert render_documents({"d": current}, draw) == {"d": current}
    assert render_documents({"d": stale}, draw) == {"d": current}
