"""secrets: acceptance rules (see stagewise.readiness.rules)."""

from __future__ import annotations
