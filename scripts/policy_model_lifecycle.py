"""policies/stagewise_policies/data/model_lifecycle.json: the policy pack's copy of the Gemini model lifecycle.

The pack runs in its own environment and cannot import stagewise, so it reads this file; the facts
live in stagewise/pricing/vertex_ai.yaml (`models:`, read here through stagewise.cost.models, the
same parsing the cost estimate and the stack config use). Each source key (V1, G2, ...) is resolved
to the URL the file's header lists for it.

`uv run python scripts/policy_model_lifecycle.py` rewrites it; `--check` exits 1 when it is stale.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stagewise.cost.models import FAMILY, model_info  # noqa: E402
from stagewise.cost.prices import PRICING_DIR, default_price_book  # noqa: E402

TABLE = PRICING_DIR / f"{FAMILY}.yaml"
OUT = ROOT / "policies" / "stagewise_policies" / "data" / "model_lifecycle.json"
LEGEND = re.compile(r"^#\s+([A-Z]\d+)\s+(https://\S+)")
KEY = re.compile(r"\b([A-Z]\d+)\b")


def legend() -> dict[str, str]:
    """The header's `#   V1 https://...` lines: source key -> URL."""
    found = {}
    for line in TABLE.read_text().splitlines():
        match = LEGEND.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def sources(text: str, urls: dict[str, str]) -> list[str]:
    keys = [key for key in KEY.findall(text) if key in urls]
    if not keys:
        raise SystemExit(f"{TABLE}: source {text!r} names no key of the header's source list")
    return list(dict.fromkeys(urls[key] for key in keys))


def render() -> str:
    urls = legend()
    models: dict[str, Any] = {}
    for name in sorted(default_price_book().file(FAMILY).models):
        info = model_info(name)
        assert info is not None
        vertex = info.vertex
        models[name] = {
            "status": vertex.status,
            "retirement": vertex.retirement.isoformat() if vertex.retirement else None,
            "retirementNote": vertex.retirement_note,
            "replacement": info.replacement,
            "sources": sources(vertex.source, urls),
        }
    document = {
        "generatedFrom": f"stagewise/pricing/{FAMILY}.yaml",
        "generatedBy": "scripts/policy_model_lifecycle.py",
        "surface": "vertex_ai",
        "models": models,
    }
    return json.dumps(document, indent=2) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run `uv run python scripts/policy_model_lifecycle.py`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
