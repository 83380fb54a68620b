"""Point a stack at the image CI built: every `stagewise:*` block with an `image` becomes
`{mode: external, ref: IMAGE, ignoreChanges: false}` in Pulumi.<stack>.yaml (the runner's copy;
nothing is committed). `ignoreChanges: false` is what makes the deploy roll the new digest out:
with it true the program leaves an existing service's image alone, so every CI deploy after the
first would keep running the first image (stagewise/stacks/config/service.py).

    python .github/scripts/set_image.py STACK REGION-docker.pkg.dev/PROJECT/REPO/chat@sha256:<64 hex>
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

DIGEST_REF = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$")


def set_image(stack_file: Path, image: str) -> list[str]:
    if not DIGEST_REF.match(image):
        raise SystemExit(f"image {image!r} is not a reference by digest (HOST/PATH@sha256:<64 hex>)")
    document: dict[str, Any] = yaml.safe_load(stack_file.read_text()) or {}
    config = document.get("config") or {}
    changed = []
    for key, value in config.items():
        if key.startswith("stagewise:") and isinstance(value, dict) and isinstance(value.get("image"), dict):
            value["image"] = {"mode": "external", "ref": image, "ignoreChanges": False}
            changed.append(key)
    if not changed:
        raise SystemExit(f"{stack_file.name}: no stagewise:* block with an image to set")
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise SystemExit("usage: set_image.py STACK IMAGE_BY_DIGEST")
    stack, image = argv
    stack_file = Path(f"Pulumi.{stack}.yaml")
    if not stack_file.is_file():
        raise SystemExit(f"no {stack_file} here; run from the repository root")
    for key in set_image(stack_file, image):
        print(f"{stack_file}: {key}.image = {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
