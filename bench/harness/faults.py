"""Seeded fault plan for the fake upstream: which request gets which misbehaviour.

The plan is a pure function of (seed, rates, request number), so a run can be
replayed and the ratios checked without any server.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

OK = "ok"
ERROR_500 = "error500"
TIMEOUT = "timeout"
CUT = "cut"
KINDS = (ERROR_500, TIMEOUT, CUT)


@dataclass(frozen=True)
class FaultRates:
    error500: float = 0.0
    timeout: float = 0.0
    cut: float = 0.0

    def __post_init__(self) -> None:
        for name in KINDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {name}={value} must be within [0, 1]")
        if self.total > 1.0:
            raise ValueError(f"fault rates add up to {self.total:.3f}; they must add up to at most 1")

    @property
    def total(self) -> float:
        return self.error500 + self.timeout + self.cut

    @classmethod
    def parse(cls, spec: str) -> "FaultRates":
        """Parse "error500=0.1,timeout=0.05,cut=0.05" (empty string: no faults)."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, raw = part.partition("=")
            if not sep or name not in KINDS:
                raise ValueError(f"bad fault spec {part!r}: use NAME=RATE with NAME one of {', '.join(KINDS)}")
            values[name] = float(raw)
        return cls(**values)


STANDARD_FAULTS = FaultRates(error500=0.10, timeout=0.05, cut=0.05)


class FaultPlan:
    """Draws one fault kind per request from a seeded generator, in request order."""

    def __init__(self, rates: FaultRates, seed: int) -> None:
        self.rates = rates
        self._rng = random.Random(seed)
        self.served: dict[str, int] = {OK: 0, ERROR_500: 0, TIMEOUT: 0, CUT: 0}

    def next(self) -> str:
        draw = self._rng.random()
        edge = 0.0
        kind = OK
        for name in KINDS:
            edge += getattr(self.rates, name)
            if draw < edge:
                kind = name
                break
        self.served[kind] += 1
        return kind
