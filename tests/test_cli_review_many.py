"""`stagewise review STACK...`: several stacks in one process, each reviewed as if alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VALUES = str(ROOT / "examples" / "values")


def stagewise(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GOOGLE_"))}
    return subprocess.run([sys.executable, "-m", "stagewise.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_stacks_reviewed_in_one_process_match_their_separate_reviews_byte_for_byte(tmp_path: Path) -> None:
    # prod first, then mvp: whatever prod's run leaves in the Pulumi runtime, the mocks or a
    # module-level cache (its config, its resources, its compute imports) must not reach mvp.
    out = tmp_path / "out"
    together = stagewise("review", "prod", "mvp", "--values", VALUES, "--out", str(out),
                         "--format", "json", "--format", "markdown", "--format", "text")
    alone = {(stack, fmt): stagewise("review", stack, "--values", VALUES, "--format", fmt)
             for stack, fmt in (("mvp", "json"), ("mvp", "text"), ("prod", "json"), ("prod", "markdown"))}
    codes = {stack: alone[(stack, "json")].returncode for stack in ("mvp", "prod")}
    assert set(codes.values()) <= {0, 1, 3}, {k: v.stderr for k, v in alone.items()}
    assert together.returncode == max(codes.values(), key=(0, 1, 3, 2).index), together.stderr
    assert json.loads((out / "exit-codes.json").read_text()) == codes
    suffix = {"json": "json", "markdown": "md", "text": "txt"}
    for (stack, fmt), done in alone.items():
        assert (out / f"{stack}.{suffix[fmt]}").read_text() == done.stdout, f"{stack} {fmt} differs in one process"
    assert json.loads((out / "mvp.json").read_text())["stack"] == "mvp"


def test_a_broken_stack_among_good_ones_gets_its_own_exit_code_and_the_others_still_run(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "Pulumi.mvp.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    broken = (ROOT / "Pulumi.mvp.yaml").read_text().replace("    maxInstances: 2", "    maxInstances: 2\n    maxInstancs: 3")
    broken = broken.replace("config:\n", "config:\n  stagewise:stage: mvp\n", 1)
    assert broken != (ROOT / "Pulumi.mvp.yaml").read_text()
    (tmp_path / "Pulumi.broken.yaml").write_text(broken)
    out = tmp_path / "out"
    done = stagewise("review", "broken", "mvp", "--root", str(tmp_path), "--out", str(out), "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    codes = json.loads((out / "exit-codes.json").read_text())
    assert codes["broken"] == 2 and codes["mvp"] in (0, 1, 3), codes
    assert "stagewise:service.maxInstancs" in (out / "broken.error").read_text()
    assert not (out / "broken.json").exists()
    assert json.loads((out / "mvp.json").read_text())["stack"] == "mvp"  # reviewed after the broken one
    assert "stagewise: broken: " in done.stderr and "Traceback" not in done.stderr
    assert f"broken exit 2, mvp exit {codes['mvp']}" in done.stderr


def test_several_stacks_on_stdout_are_headed_in_order() -> None:
    done = stagewise("review", "mvp", "nosuchstack", "--no-lifecycle", "--no-preview")
    assert done.returncode == 2, done.stderr
    assert done.stdout.startswith("== stagewise review mvp\n")
    assert "== stagewise review nosuchstack" not in done.stdout  # nothing to show for it...
    assert "stagewise: nosuchstack: no stack file Pulumi.nosuchstack.yaml" in done.stderr  # ...but why, on stderr


@pytest.mark.parametrize("args", [["mvp", "prod", "--format", "json"], ["mvp", "--format", "json", "--format", "text"]])
def test_documents_of_several_stacks_or_formats_need_out(args: list[str]) -> None:
    done = stagewise("review", *args)
    assert done.returncode == 2 and "--out DIR" in done.stderr and not done.stdout
