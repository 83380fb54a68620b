"""`python -m stagewise.cli.batch`: reviews of two checkouts in one process, each with its own code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = "# reviewed by the base checkout's own code"


def _base_checkout(tmp_path: Path) -> Path:
    """This commit's tracked files in another directory, with a review that says it is the copy."""
    base = tmp_path / "base"
    archive = subprocess.run(["git", "archive", "HEAD", "stagewise", "policies", "Pulumi.yaml", "Pulumi.mvp.yaml", "app/Dockerfile"],
                             cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(base, filter="data")
    review = base / "stagewise" / "review" / "sections.py"
    source = review.read_text()
    assert '    return "\\n\\n".join(parts)\n' in source
    review.write_text(source.replace('    return "\\n\\n".join(parts)\n', f'    return "\\n\\n".join(parts) + "\\n{MARK}"\n'))
    return base


def test_each_checkout_is_reviewed_with_its_own_code_in_one_process(tmp_path: Path) -> None:
    base = _base_checkout(tmp_path)
    argv = ["review", "mvp", "--no-lifecycle", "--no-preview"]
    jobs = [{"checkout": str(checkout), "argv": [*argv, "--root", str(checkout)], "stdout": str(tmp_path / f"{n}.out"),
             "stderr": str(tmp_path / f"{n}.err")} for n, checkout in enumerate((ROOT, base, ROOT, base))]
    jobs.append({"checkout": str(ROOT), "argv": ["review", "nosuchstack"], "stdout": str(tmp_path / "bad.out"), "stderr": str(tmp_path / "bad.err")})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run([sys.executable, "-m", "stagewise.cli.batch", str(tmp_path / "jobs.json")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout)
    assert codes[:4] == [codes[0]] * 4 and codes[0] in (0, 1, 3) and codes[4] == 2, [(tmp_path / f"{n}.err").read_text() for n in range(4)]
    outputs = [(tmp_path / f"{n}.out").read_text() for n in range(4)]
    assert MARK not in outputs[0] and outputs[0] == outputs[2]  # the head's code, before and after the base's
    assert outputs[1].endswith(MARK + "\n") and outputs[1] == outputs[3]
    # otherwise the same review (the image digest mock hashes the build context, another directory here)
    assert len(outputs[1].splitlines()) == len(outputs[0].splitlines()) + 1
    separate = subprocess.run([sys.executable, "-m", "stagewise.cli", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert separate.stdout == outputs[0]
    assert "no stack file Pulumi.nosuchstack.yaml" in (tmp_path / "bad.err").read_text()
