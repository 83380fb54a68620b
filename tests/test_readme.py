"""The README is part of the product: every command in it and in `stagewise --help` runs here.

A fenced block runs line by line from the checkout, each line exiting 0, unless the line before it
says why it cannot run here: `<!-- needs a cloud: WHY -->` (a project, credentials, a backend) or
`<!-- not run by the README test: WHY -->`. A `mermaid` block must be generated (see
test_diagrams_are_generated). Every `examples:` line of every command's --help runs too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```$", re.S | re.M)
SKIP = re.compile(r"<!-- (needs a cloud|not run by the README test): (?P<why>[^>]*\S) -->\s*$")


def fenced_blocks(text: str = README) -> list[tuple[str, str, str | None]]:
    """(language, body, why it is not run) for each fenced block, the body's indent removed."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        blocks.append((match["lang"], body, skip["why"] if skip else None))
    return blocks


def command_lines(body: str) -> list[str]:
    """Command lines: comments and trailing `# …` explanations dropped; `uv run [--locked]` is the
    checkout's environment, which this test already runs in."""
    lines = []
    for raw in body.splitlines():
        words = shlex.split(raw, comments=True)
        if not words:
            continue
        line = raw[: raw.index(" #")] if " #" in raw else raw
        lines.append(re.sub(r"^uv run (--locked )?", "", line.strip()))
    return lines


def runnable() -> list[str]:
    lines = []
    for lang, body, why in fenced_blocks():
        if lang == "mermaid" or why is not None:
            continue
        lines += command_lines(body)
    return lines


def run_line(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GOOGLE_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(["bash", "-c", f"set -eo pipefail; {line}"], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_readme_starts_with_the_review_command_then_the_test_command() -> None:
    first, second = [body for lang, body, _ in fenced_blocks() if lang == "bash"][:2]
    assert first.split("#")[0].split() == ["bash", "scripts/review.sh", "mvp"]
    assert second.split("#")[0].split() == ["bash", "scripts/test.sh"]
    assert README.index(first) < README.index("## ")


def test_ci_runs_the_readme_test_command_and_nothing_else() -> None:
    lines = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    assert lines == ["exec bash scripts/test.sh"]


def test_diagrams_are_generated() -> None:
    # A ```mermaid block is drawn by `python -m stagewise.render.mermaid` between its markers (and
    # tests/test_cli_review.py checks they are current); none is drawn by hand.
    generated = re.findall(r"<!-- BEGIN diagram: [\w.-]+ -->\n```mermaid\n.*?```\n<!-- END diagram -->", README, re.S)
    assert len(generated) == len([1 for lang, _, _ in fenced_blocks() if lang == "mermaid"]) >= 1


def test_every_block_is_run_or_says_why_not() -> None:
    blocks = fenced_blocks()
    assert len(blocks) >= 5
    for lang, body, why in blocks:
        assert lang in ("bash", "mermaid"), f"a ```{lang} block: say bash (it runs) or mark why it cannot: {body[:80]}"
        if why is None and lang == "bash":
            assert command_lines(body), body
    # The markers name real reasons, and the runnable part is not empty.
    assert {why for _, _, why in blocks if why} and len(runnable()) >= 5


@pytest.mark.parametrize("line", runnable())
def test_readme_command_runs(line: str) -> None:
    done = run_line(line, ROOT)
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip() and "Traceback" not in done.stderr


def _help_examples() -> dict[str, list[str]]:
    from stagewise.cli import COMMANDS, EXAMPLES, _load_commands

    _load_commands()
    return {name: list(EXAMPLES.get(name, ())) for name, *_ in COMMANDS}


@pytest.mark.parametrize("name", sorted(_help_examples()))
def test_help_examples_are_shown_and_run(name: str, tmp_path: Path) -> None:
    examples = _help_examples()[name]
    assert examples, f"`stagewise {name} --help` has no examples"
    shown = subprocess.run([sys.executable, "-m", "stagewise.cli", name, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    listed = shown.stdout.split("examples:\n", 1)[1].split("\n\n")[0].splitlines()
    assert [line.strip() for line in listed] == examples
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for line in examples:
        done = run_line(line, tmp_path)
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr


def test_the_config_example_sets_what_it_says(tmp_path: Path) -> None:
    done = run_line("stagewise review mvp --format json --config stagewise:service.maxInstances=5 --no-lifecycle --no-preview", tmp_path)
    assert done.returncode == 0, done.stderr
    service = next(r for r in json.loads(done.stdout)["resources"] if r["type"] == "gcp:cloudrunv2/service:Service")
    assert service["inputs"]["template"]["scaling"]["maxInstanceCount"] == 5


def test_the_python_versions_claimed_are_the_ones_the_project_and_its_lock_accept() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    locked = re.search(r'^requires-python = "(.*)"$', (ROOT / "uv.lock").read_text(), re.M)
    assert locked and locked[1].replace(" ", "") == requires.replace(" ", "")
    low, high = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", requires.replace(" ", "")).groups()  # type: ignore[union-attr]
    versions = [f"3.{minor}" for minor in range(int(low), int(high))]
    claimed = " or ".join(versions) if len(versions) == 2 else ", ".join(versions)
    assert f"`python3` {claimed}" in README, f"README must say which Pythons install it: {claimed}"


def test_deploying_for_real_runs_the_policy_pack_with_the_stage_config() -> None:
    pulumi_lines = [line for _, body, _ in fenced_blocks() for line in command_lines(body) if line.startswith("pulumi ")]
    deploys = [line for line in pulumi_lines if line.split()[1] in ("preview", "up")]
    assert {line.split()[1] for line in deploys} == {"preview", "up"}
    for line in deploys:
        words = line.split()
        stack = words[words.index("--stack") + 1]
        assert words[words.index("--policy-pack") + 1] == "policies", line
        config = words[words.index("--policy-pack-config") + 1]
        assert config == f"policies/config/{stack}.json" and (ROOT / config).is_file(), line


def test_generated_sections_are_in_sync() -> None:
    done = subprocess.run([sys.executable, "scripts/build_readme.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_readme_is_a_guide_and_links_the_long_documents() -> None:
    assert len(README.splitlines()) < 250
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{doc.name})" in README, f"README does not link docs/{doc.name}"


def test_relative_links_point_at_files_that_exist() -> None:
    for target in re.findall(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)", README):
        assert (ROOT / target.split("#")[0]).exists(), f"README links to missing {target}"


def test_deployer_roles_doc_matches_what_the_stacks_declare() -> None:
    done = subprocess.run([sys.executable, "scripts/deployer_roles.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
