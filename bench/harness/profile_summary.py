"""Summarise py-spy's collapsed stacks ("frame;frame;... count" per line): where the samples go.

Inclusive share per function (each function counted once per stack) and per package/file
area, plus the leaf functions with the most samples (own time).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME_RE = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def parse(lines: list[str]) -> list[tuple[list[str], int]]:
    stacks = []
    for line in lines:
        line = line.rstrip()
        if not line:
            continue
        frames, _, count = line.rpartition(" ")
        try:
            stacks.append((frames.split(";"), int(count)))
        except ValueError:
            continue
    return stacks


def area(file: str) -> str:
    """A coarse owner for a file: the top-level package under site-packages, or the stdlib module."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    parts = file.split("/")
    return parts[0] if len(parts) > 1 else file


def summarize(stacks: list[tuple[list[str], int]], top: int = 15) -> str:
    total = sum(c for _, c in stacks) or 1
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for frames, count in stacks:
        seen: set[str] = set()
        seen_areas: set[str] = set()
        for frame in frames:
            if frame.startswith("process ") or frame.startswith("thread "):
                continue
            if frame not in seen:
                seen.add(frame)
                inclusive[frame] += count
            m = FRAME_RE.match(frame)
            if m:
                a = area(m.group("file"))
                if a not in seen_areas:
                    seen_areas.add(a)
                    areas[a] += count
        if frames:
            leaves[frames[-1]] += count
    out = [f"{total} samples"]
    out.append("\nInclusive, by package / stdlib module:")
    out += [f"  {100 * c / total:5.1f}%  {name}" for name, c in areas.most_common(top)]
    out.append("\nInclusive, by function (deepest interesting frames first are the ones to read):")
    out += [f"  {100 * c / total:5.1f}%  {name}" for name, c in inclusive.most_common(top * 2)]
    out.append("\nOwn time (leaf frames):")
    out += [f"  {100 * c / total:5.1f}%  {name}" for name, c in leaves.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("collapsed", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    print(summarize(parse(args.collapsed.read_text().splitlines()), args.top))


if __name__ == "__main__":
    sys.exit(main())
