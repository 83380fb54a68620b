"""Per-key request and token limits (per instance, in memory).

Two token buckets per key: requests/min and tokens/min. A request needs one request token and a
token bucket that is not in debt; the tokens a reply actually used are charged after it, so one
large answer can push the bucket into debt and the next request waits until it has refilled.
Counters live in the instance: with N instances a key gets up to N times the limit, which is
stated in the README (Cloud Run max instances bounds it).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_TRACKED = 50_000  # keys/clients remembered; the least recently seen are forgotten first


@dataclass(slots=True)
class _Bucket:
    rpm_level: float
    tpm_level: float
    stamp: float


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0
    reason: str = ""
    limit: int = 0
    remaining: int = 0


class RateLimiter:
    def __init__(self, rpm: int, tpm: int) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _refill(self, key: str, now: float) -> _Bucket:
        b = self._buckets.get(key)
        if b is None:
            b = _Bucket(float(self.rpm), float(self.tpm), now)
            self._buckets[key] = b
            if len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
            return b
        self._buckets.move_to_end(key)
        elapsed = now - b.stamp
        if elapsed > 0:
            b.rpm_level = min(float(self.rpm), b.rpm_level + elapsed * self.rpm / 60.0)
            b.tpm_level = min(float(self.tpm), b.tpm_level + elapsed * self.tpm / 60.0)
            b.stamp = now
        return b

    def acquire(self, key: str, now: float | None = None) -> Verdict:
        now = time.monotonic() if now is None else now
        b = self._refill(key, now)
        if b.rpm_level < 1.0:
            wait = (1.0 - b.rpm_level) * 60.0 / self.rpm
            return Verdict(False, max(1, math.ceil(wait)), "requests per minute", self.rpm, 0)
        if b.tpm_level <= 0.0:
            wait = (1.0 - b.tpm_level) * 60.0 / self.tpm
            return Verdict(False, max(1, math.ceil(wait)), "tokens per minute", self.tpm, 0)
        b.rpm_level -= 1.0
        return Verdict(True, 0, "", self.rpm, int(b.rpm_level))

    def charge(self, key: str, tokens: int, now: float | None = None) -> None:
        if tokens <= 0:
            return
        now = time.monotonic() if now is None else now
        self._refill(key, now).tpm_level -= tokens
