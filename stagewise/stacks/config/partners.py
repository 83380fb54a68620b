"""`stagewise:partners` — the separate partner service of the staging stage (seed stage 2).

Example (Pulumi.staging.yaml)::

    stagewise:partners:
      name: chat-partners
      minInstances: 1
      maxInstances: 20
      promptVersion: v2
      # once v1 has run (a first deploy has no previous revision): its revision from `pulumi stack output revisions`
      release: {previous: v1, previousRevision: chat-partners-00001-abc, previousPercent: 50}
      partners:
        acme: {allowedCidrs: [203.0.113.0/24, "2001:db8:acme::/48"]}   # its key works only from there
        globex: {displayName: Globex Corp}                               # no ranges: key only

`allowedCidrs` limits a partner's key to the partner's egress ranges: the partner service's app
refuses the key from any other address with a 403 (stagewise/stacks/partner_ranges.py, app
chatapp/source_ranges.py; why in the app and not Cloud Armor: docs/stages.md). The ranges are
checked here, before any resource: each must parse as an IPv4 or IPv6 network with its host bits
zero, be no broader than /16 (IPv4) or /32 (IPv6), and overlap no other range of any partner.
"""

from __future__ import annotations

import ipaddress
import re
from itertools import combinations
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stagewise.stacks.config.base import Section
from stagewise.stacks.config.releases import VERSION_PATTERN, ReleaseConfig, check_release
from stagewise.stacks.config.service import _mib

_PARTNER_KEY = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The broadest range one partner (one company's egress) may name: /16 is 65,536 IPv4 addresses and
# /32 a whole IPv6 provider allocation. Broader ranges are shared address space (a cloud region, a
# carrier) and would let strangers use a leaked key; 0.0.0.0/0 and ::/0 restrict nothing at all.
# Our choice, not a GCP limit: raise it only for a partner you can name a reason for.
MIN_PREFIX = {4: 16, 6: 32}
MAX_RANGES = 64  # per partner: more is a sign of listing addresses instead of the egress ranges


def parse_range(text: str) -> Network:
    """One allowedCidrs entry as a network; ValueError says why it is refused."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            loose = ipaddress.ip_network(text.strip(), strict=False)
            raise ValueError(f"{text!r} has host bits set: write the network, {loose}") from None
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 network (e.g. 203.0.113.0/24, 2001:db8::/48)") from None
    limit = MIN_PREFIX[network.version]
    if network.prefixlen < limit:
        what = "every address" if network.prefixlen == 0 else f"{network.num_addresses:,} addresses"
        raise ValueError(
            f"{network} is too broad ({what}): a partner's egress range is at most /{limit} for IPv{network.version}; "
            "list the partner's own ranges"
        )
    return network


def overlap(a: Network, b: Network) -> bool:
    return a.version == b.version and a.overlaps(b)


class PartnerConfig(Section):
    """One partner: its own API key in its own Secret Manager secret (rotate or revoke one partner alone)."""

    display_name: str | None = Field(None, max_length=100, description="human name, for docs and labels")
    secret_id: str | None = Field(
        None, pattern=r"^[a-z][-a-z0-9_]{0,254}$", description="secret holding the partner's API key (default partner-<key>-api-key)"
    )
    allowed_cidrs: list[str] = Field(
        default_factory=list, max_length=MAX_RANGES,
        description="source ranges (IPv4/IPv6 CIDR) the partner's key works from; empty: any address (key only)",
    )

    @field_validator("allowed_cidrs")
    @classmethod
    def _ranges(cls, value: list[str]) -> list[str]:
        networks = [parse_range(text) for text in value]
        for a, b in combinations(networks, 2):
            if overlap(a, b):
                # Overlapping entries of one partner are a typo or a leftover: one of them is redundant
                # and the list no longer says what the partner asked for.
                raise ValueError(f"{a} and {b} overlap: keep one range per block of addresses")
        return [str(network) for network in networks]

    @property
    def networks(self) -> list[Network]:
        return [ipaddress.ip_network(text) for text in self.allowed_cidrs]


class PartnerServiceConfig(Section):
    """A separate Cloud Run service only partners reach: own account, own config version, own scaling."""

    name: str = Field("chat-partners", pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", description="Cloud Run service name")
    min_instances: int = Field(1, ge=0, le=1000, description="instances kept warm (partners should not wait on cold starts)")
    max_instances: int = Field(20, ge=1, le=1000, description="upper bound on instances (higher than the MVP's)")
    concurrency: int = Field(20, ge=1, le=1000, description="requests per instance (lower: scale out sooner)")
    cpu: Literal["1", "2", "4", "6", "8"] = Field("1", description="vCPUs per instance")
    memory: str = Field("1Gi", pattern=r"^\d+(Mi|Gi)$", description="memory per instance")
    prompt_version: str = Field("v2", pattern=VERSION_PATTERN, description="the prompt/model config version partners test")
    release: ReleaseConfig = Field(default_factory=lambda: ReleaseConfig(), description="previous version kept side by side")
    partners: dict[str, PartnerConfig] = Field(description="partners by key; each gets an API-key secret")
    use_test_inference: bool = Field(
        False, description="send this service's requests to the test-inference VM first (Gemini stays the fallback)"
    )

    @field_validator("partners")
    @classmethod
    def _partners(cls, value: dict[str, PartnerConfig]) -> dict[str, PartnerConfig]:
        if not value:
            raise ValueError("no partners; add at least one, e.g. partners: {acme: {}}")
        for key in value:
            if not _PARTNER_KEY.match(key):
                raise ValueError(f"partner key {key!r}: use up to 30 lowercase letters, digits and dashes, starting with a letter")
        secrets = [cls.secret_of(key, partner) for key, partner in value.items()]
        if len(set(secrets)) != len(secrets):
            raise ValueError("two partners share a secretId; give each partner its own secret")
        check_cross_partner(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "PartnerServiceConfig":
        if self.max_instances < self.min_instances:
            raise ValueError(f"maxInstances ({self.max_instances}) is below minInstances ({self.min_instances}); raise maxInstances")
        if int(self.cpu) >= 4 and _mib(self.memory) < 2048:
            raise ValueError(f"cpu {self.cpu} needs at least 2Gi of memory on Cloud Run; raise memory")
        check_release(self.release, self.prompt_version, self.name)
        return self

    @staticmethod
    def secret_of(key: str, partner: PartnerConfig) -> str:
        return partner.secret_id or f"partner-{key}-api-key"

    @staticmethod
    def env_of(key: str) -> str:
        """The variable the partner's key is injected as (tenant = partner key)."""
        return "CHAT_API_KEY_" + key.upper().replace("-", "_")

    @staticmethod
    def ranges_env_of(key: str) -> str:
        """The variable the partner's allowed source ranges are passed as (beside its key's variable)."""
        return "CHAT_ALLOWED_CIDRS_" + key.upper().replace("-", "_")

    @property
    def source_ranges(self) -> dict[str, list[str]]:
        """Partner key -> its allowed source ranges, for the partners that have any."""
        return {key: partner.allowed_cidrs for key, partner in self.partners.items() if partner.allowed_cidrs}

    @property
    def secrets(self) -> dict[str, str]:
        """Environment variable -> secret id, one per partner."""
        return {self.env_of(key): self.secret_of(key, partner) for key, partner in self.partners.items()}


def check_cross_partner(partners: dict[str, PartnerConfig]) -> None:
    """No address may belong to two partners' ranges.

    A shared range would let a leaked key of one partner work from the other's network, which is the
    cross-partner use the ranges exist to stop, and a refusal or request from that address could no
    longer be told apart by partner. Partners that really share egress (one vendor's proxy) gain
    nothing from ranges between them: give one of them none, and rely on its key.
    """
    owned = [(key, network) for key, partner in partners.items() for network in partner.networks]
    for (key_a, a), (key_b, b) in combinations(owned, 2):
        if key_a != key_b and overlap(a, b):
            raise ValueError(
                f"partners {key_a!r} ({a}) and {key_b!r} ({b}) have overlapping allowedCidrs: "
                "an address must identify one partner; remove the shared range from one of them"
            )
