"""The stack config that points a stack at the image CI built, as `pulumi config set --path` pairs.

Every `stagewise:*` block of Pulumi.<stack>.yaml that has an `image` gets `image.mode external`,
`image.ref IMAGE` and `image.ignoreChanges false`, printed one `KEY=VALUE` a line. The deploy job
feeds each pair to `pulumi config set --path KEY VALUE` and the offline review to
`stagewise review --config KEY=VALUE`, so both see the same config and no YAML is rewritten here.
`ignoreChanges false` is what makes the deploy roll the new digest out: with it true the program
leaves an existing service's image alone (stagewise/stacks/config/service.py). `--keep-deployed` prints
`ignoreChanges true` instead, for previews: the image a stack runs stays as deployed, and the build
resources of build mode (which CI never deploys) do not show up as changes.

    python .github/scripts/image_config.py [--keep-deployed] STACK REGION-docker.pkg.dev/PROJECT/REPO/chat@sha256:<64 hex>
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

DIGEST_REF = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$")


def image_config(stack_file: Path, image: str, keep_deployed: bool = False) -> list[tuple[str, str]]:
    if not DIGEST_REF.match(image):
        raise SystemExit(f"image {image!r} is not a reference by digest (HOST/PATH@sha256:<64 hex>)")
    try:
        document: Any = yaml.safe_load(stack_file.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise SystemExit(f"{stack_file.name}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    config = document.get("config") if isinstance(document, dict) else None
    pairs: list[tuple[str, str]] = []
    for key, value in (config or {}).items():
        if str(key).startswith("stagewise:") and isinstance(value, dict) and isinstance(value.get("image"), dict):
            pairs += [(f"{key}.image.mode", "external"), (f"{key}.image.ref", image),
                      (f"{key}.image.ignoreChanges", "true" if keep_deployed else "false")]
    if not pairs:
        raise SystemExit(f"{stack_file.name}: no stagewise:* block with an image to set")
    return pairs


def main(argv: list[str]) -> int:
    keep_deployed = "--keep-deployed" in argv
    args = [a for a in argv if a != "--keep-deployed"]
    if len(args) != 2:
        raise SystemExit("usage: image_config.py [--keep-deployed] STACK IMAGE_BY_DIGEST")
    stack, image = args
    stack_file = Path(f"Pulumi.{stack}.yaml")
    if not stack_file.is_file():
        raise SystemExit(f"no {stack_file} here; run from the repository root")
    for key, value in image_config(stack_file, image, keep_deployed):
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
