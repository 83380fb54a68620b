"""The README is part of the product: its first two commands, its generated sections, its examples."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_readme_starts_with_the_review_command_then_the_test_command() -> None:
    first, second = code_blocks("bash")[:2]
    assert first.split("#")[0].split() == ["bash", "scripts/review.sh", "mvp"]
    assert second.split("#")[0].split() == ["bash", "scripts/test.sh"]
    assert README.index(first) < README.index("## ")


def test_ci_runs_the_readme_test_command_and_nothing_else() -> None:
    lines = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    assert lines == ["exec bash scripts/test.sh"]


def test_generated_sections_are_in_sync() -> None:
    done = subprocess.run([sys.executable, "scripts/build_readme.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_relative_links_point_at_files_that_exist() -> None:
    for target in re.findall(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)", README):
        assert (ROOT / target.split("#")[0]).exists(), f"README links to missing {target}"


def test_deployer_roles_doc_matches_what_the_stacks_declare() -> None:
    done = subprocess.run([sys.executable, "scripts/deployer_roles.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
