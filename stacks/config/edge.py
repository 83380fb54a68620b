"""`stagewise:edge` — the global external Application Load Balancer in front of the chat service.

Example (Pulumi.prod.yaml)::

    stagewise:edge:
      domains: [chat.example.com]
      sslProfile: MODERN
      armor:
        rateLimit: {action: throttle, requests: 120, intervalSec: 60}
      tracks:                    # canary: 90/10 between the stable and the canary revision tag
        stable: {weight: 90}
        canary: {weight: 10, tag: canary}

Blue/green is the same with two tracks and the weight moved from one to the other (100/0 → 0/100).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stagewise.components.limits import FREE_TEXT_PATHS
from stagewise.components.limits import DEFAULT_WAF_RULES, RATE_INTERVALS, WAF_FAMILIES, is_waf_rule
from stagewise.stacks.config.base import Section

# Google-managed certificates cover exact names only (no wildcards), up to 100 per certificate.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_TRACK = re.compile(r"^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$")
_TAG = re.compile(r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$")


class RateLimitConfig(Section):
    """Per-client rate limiting: over the threshold a client is throttled (429) or banned for a while."""

    action: Literal["throttle", "ban"] = Field("throttle", description="throttle: excess requests get 429; ban: the client is blocked for banDurationSec")
    requests: int = Field(300, ge=1, le=1_000_000, description="requests a client may send per interval")
    interval_sec: int = Field(60, description="counting window in seconds (10, 30, 60, 120, … 3600)")
    ban_duration_sec: int = Field(600, ge=60, le=86_400, description="ban action: how long a client stays blocked")
    enforce_on_key: Literal["IP", "XFF_IP", "USER_IP", "HTTP_HEADER"] = Field(
        "IP", description="what identifies a client: IP, XFF_IP, USER_IP or HTTP_HEADER (with enforceOnKeyName)"
    )
    enforce_on_key_name: str | None = Field(None, description="HTTP_HEADER: the header naming the client, e.g. x-api-key")

    @field_validator("interval_sec")
    @classmethod
    def _interval(cls, value: int) -> int:
        if value not in RATE_INTERVALS:
            raise ValueError(f"intervalSec {value} is not allowed by Cloud Armor; use one of {', '.join(map(str, RATE_INTERVALS))}")
        return value

    @model_validator(mode="after")
    def _key_name(self) -> "RateLimitConfig":
        if self.enforce_on_key == "HTTP_HEADER" and not self.enforce_on_key_name:
            raise ValueError("enforceOnKey HTTP_HEADER needs enforceOnKeyName (the header that identifies a client)")
        if self.enforce_on_key != "HTTP_HEADER" and self.enforce_on_key_name:
            raise ValueError("enforceOnKeyName is only used with enforceOnKey: HTTP_HEADER; remove it or change enforceOnKey")
        if self.action == "throttle" and "ban_duration_sec" in self.model_fields_set:
            raise ValueError("banDurationSec applies to action: ban only; remove it or set action: ban")
        return self


class ArmorConfig(Section):
    """Cloud Armor security policy attached to the load balancer's backends."""

    waf_rules: list[str] = Field(
        default_factory=lambda: list(DEFAULT_WAF_RULES),
        description="preconfigured OWASP WAF rules that deny with 403 (e.g. sqli-v33-stable, xss-v33-stable)",
    )
    waf_sensitivity: int = Field(1, ge=1, le=4, description="WAF sensitivity 1..4 (higher: more signatures, more false positives)")
    waf_preview: bool = Field(False, description="log WAF matches without blocking (for tuning)")
    rate_limit: RateLimitConfig | None = Field(
        default_factory=lambda: RateLimitConfig(), description="per-client rate limit; null disables it"
    )
    adaptive_protection: bool = Field(True, description="Adaptive Protection: ML detection of L7 DDoS attacks")
    denied_ranges: list[str] = Field(default_factory=list, description="source IP ranges always denied (CIDR)")
    free_text_paths: list[str] = Field(
        default_factory=lambda: list(FREE_TEXT_PATHS),
        description="path prefixes whose bodies are free text (default: the app's chat completions path): the WAF rules "
        "that read request bodies skip them; header and protocol rules and rate limits still apply ([] turns this off)",
    )

    @field_validator("free_text_paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for path in value:
            if not re.match(r"^/[-/_.a-zA-Z0-9]*$", path):
                raise ValueError(f"freeTextPaths: {path!r} is not a URL path prefix; write it like /v1/chat")
        return value

    @field_validator("waf_rules")
    @classmethod
    def _waf_rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            if not is_waf_rule(rule):
                raise ValueError(
                    f"wafRules: {rule!r} is not a Cloud Armor preconfigured WAF rule; "
                    f"use names like sqli-v33-stable (families: {', '.join(sorted(WAF_FAMILIES))})"
                )
        if len(set(value)) != len(value):
            raise ValueError("wafRules lists a rule twice; list each rule once")
        return value

    @field_validator("denied_ranges")
    @classmethod
    def _ranges(cls, value: list[str]) -> list[str]:
        import ipaddress

        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"deniedRanges: {cidr!r} is not an IP range; write it like 198.51.100.0/24") from None
        return value


class TrackConfig(Section):
    """A backend the load balancer sends a share of traffic to (stable, canary, blue, green…)."""

    weight: int = Field(ge=0, le=100, description="percent of requests this track receives (tracks add up to 100)")
    tag: str | None = Field(None, description="Cloud Run revision tag serving this track (none: the service's own traffic split)")
    service: str | None = Field(None, description="Cloud Run service serving this track (none: the chat service)")

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is not None and not _TAG.match(value):
            raise ValueError(f"tag {value!r}: a revision tag is lowercase letters, digits and dashes, starting with a letter")
        return value


class EdgeConfig(Section):
    """HTTPS entry point: managed certificate, TLS policy, WAF and rate limits, canary weights."""

    domains: list[str] = Field(description="domain names served (each gets a Google-managed certificate)")
    ssl_profile: Literal["MODERN", "RESTRICTED"] = Field("MODERN", description="SSL policy profile (TLS 1.2 minimum either way)")
    min_tls_version: Literal["TLS_1_2"] = Field("TLS_1_2", description="lowest TLS version accepted")
    http_redirect: bool = Field(True, description="serve port 80 only to redirect to HTTPS")
    log_sample_rate: float = Field(1.0, ge=0, le=1, description="share of requests logged by the backend service")
    armor: ArmorConfig = Field(default_factory=lambda: ArmorConfig(), description="Cloud Armor policy")
    tracks: dict[str, TrackConfig] = Field(
        default_factory=lambda: {"stable": TrackConfig(weight=100)},
        description="traffic tracks by name with their weights (canary / blue-green)",
    )

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("no domains; list at least one, e.g. domains: [chat.example.com]")
        for domain in value:
            if domain.startswith("*."):
                raise ValueError(f"domains: {domain!r} is a wildcard, which Google-managed certificates don't cover; list each name")
            if not _DOMAIN.match(domain):
                raise ValueError(f"domains: {domain!r} is not a lowercase DNS name; write it like chat.example.com")
        if len(set(value)) != len(value):
            raise ValueError("domains lists a name twice; list each name once")
        if len(value) > 100:
            raise ValueError("a managed certificate covers at most 100 domains; split them")
        return value

    @field_validator("tracks")
    @classmethod
    def _tracks(cls, value: dict[str, TrackConfig]) -> dict[str, TrackConfig]:
        if not value:
            raise ValueError("no tracks; define at least one, e.g. tracks: {stable: {weight: 100}}")
        for name in value:
            if not _TRACK.match(name):
                raise ValueError(f"track name {name!r}: use up to 20 lowercase letters, digits and dashes")
        total = sum(track.weight for track in value.values())
        if total != 100:
            weights = ", ".join(f"{name}={track.weight}" for name, track in value.items())
            raise ValueError(f"track weights add up to {total} ({weights}); make them add up to 100")
        if len(value) > 1 and len({(t.service, t.tag) for t in value.values()}) != len(value):
            raise ValueError("two tracks point at the same service and tag; give each track its own tag or service")
        return value
