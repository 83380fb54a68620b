"""Splice generated documents into README.md between `<!-- BEGIN generated: PATH -->` markers.

`python scripts/build_readme.py` rewrites README.md; `--check` exits 1 when it is out of date.
A marker `PATH headline` takes only the `## Headline` section of that file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"(<!-- BEGIN generated: (?P<spec>[^>]+?) -->\n)(?P<body>.*?)(<!-- END generated -->)", re.S)


def section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return match.group(1).strip() + "\n" if match else ""


def body_for(spec: str) -> str:
    path, _, part = spec.partition(" ")
    source = ROOT / path
    if not source.is_file():
        return ""
    text = source.read_text()
    if part:
        text = section(text, part.capitalize())
    # Headings move one level down so every spliced document sits under the README's own sections.
    text = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", text, flags=re.M)
    links_fixed = re.sub(r"\]\((?!https?://|#)([^)]+)\)", lambda m: f"]({(Path(path).parent / m.group(1)).as_posix()})", text)
    return links_fixed.rstrip() + "\n" if links_fixed.strip() else ""


def render(readme: str) -> str:
    return MARKER.sub(lambda m: m.group(1) + body_for(m.group("spec")) + m.group(4), readme)


def main(argv: list[str]) -> int:
    readme_path = ROOT / "README.md"
    current = readme_path.read_text()
    rendered = render(current)
    if "--check" in argv:
        if rendered != current:
            print("README.md is out of date: run `uv run python scripts/build_readme.py`", file=sys.stderr)
            return 1
        return 0
    readme_path.write_text(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
