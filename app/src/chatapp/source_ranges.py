"""Per-partner source ranges: a partner's key works only from the partner's own addresses.

CHAT_ALLOWED_CIDRS_<TENANT>=203.0.113.0/24,2001:db8::/48 sits beside CHAT_API_KEY_<TENANT> (the
staging stack sets both for each partner with `allowedCidrs`, stacks/partner_ranges.py). A request
authenticated with that tenant's key from any other address is refused with a 403 in OpenAI's
error shape, and its access-log line carries `source_refused: true`, the partner and the address
(never the key), which the stack's log-based metric counts per partner.

Which address: the one `api.client_ip` returns, that is the X-Forwarded-For entry the proxies in
front of the app appended (CHAT_TRUSTED_PROXY_HOPS, from the right; 1 on Cloud Run, where the
front end appends the address of the client it served as the last entry), or the socket peer when
the app is run directly (hops 0). Entries to the left of the trusted ones are whatever the client
sent: Google's load balancer appends `<client-ip>,<load-balancer-ip>` to the client's own header and
verifies nothing before them (https://cloud.google.com/load-balancing/docs/https#x-forwarded-for_header,
"X-Forwarded-For header"), and an allowlist that read the first entry would let anyone in who
writes a partner's address there (https://github.com/cloudendpoints/endpoints-tools/issues/72: ESPv2
"doesn't blindly just take the first index because it can be spoofed"). When no trusted entry is
there, the key is refused: the check fails closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

RANGES_PREFIX = "CHAT_ALLOWED_CIDRS_"
KEY_PREFIX = "CHAT_API_KEY_"  # settings.PARTNER_KEY_PREFIX (not imported: settings imports this module)
REFUSED_FIELD = "source_refused"  # the access-log field the refusal metric filters on

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SourceRanges:
    """Tenant -> the networks its key is accepted from; a tenant not listed is not restricted."""

    by_tenant: Mapping[str, tuple[Network, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.by_tenant)

    def allows(self, tenant: str, address: str | None) -> bool:
        networks = self.by_tenant.get(tenant)
        if not networks:
            return True
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:203.0.113.5 is 203.0.113.5 (a dual-stack socket's view)
        return any(ip.version == net.version and ip in net for net in networks)


def tenant_of(variable: str, prefix: str) -> str:
    """CHAT_ALLOWED_CIDRS_ACME_CORP -> 'acme-corp' (as auth.partner_tenant maps CHAT_API_KEY_ACME_CORP)."""
    return variable[len(prefix):].lower().replace("_", "-")


def read_env(env: Mapping[str, str], problems: list[str]) -> SourceRanges:
    """Every CHAT_ALLOWED_CIDRS_<TENANT> variable, validated; each problem names the variable and the fix."""
    found: dict[str, tuple[Network, ...]] = {}
    for name in sorted(env):
        if not name.startswith(RANGES_PREFIX):
            continue
        suffix = name[len(RANGES_PREFIX):]
        if not suffix or not all(c.isalnum() or c == "_" for c in suffix):
            problems.append(f"{name} does not name a tenant: use CHAT_ALLOWED_CIDRS_<TENANT> as for CHAT_API_KEY_<TENANT>")
            continue
        if KEY_PREFIX + suffix not in env:
            problems.append(
                f"{name} is set but {KEY_PREFIX}{suffix} is not: source ranges restrict a partner's key, so set "
                f"that partner's key too (or drop {name})"
            )
            continue
        entries = [part.strip() for part in env[name].split(",") if part.strip()]
        if not entries:
            # An empty list must not silently mean "from anywhere".
            problems.append(f"{name} is empty: list the partner's ranges (203.0.113.0/24,2001:db8::/48) or unset it")
            continue
        networks: list[Network] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=True))
            except ValueError:
                problems.append(f"{name} entry {entry[:64]!r} is not a network in CIDR form (203.0.113.0/24, host bits zero)")
        if len(networks) == len(entries):
            found[tenant_of(name, RANGES_PREFIX)] = tuple(networks)
    return SourceRanges(found)


def enforce(ranges: SourceRanges, tenant: str, address: Callable[[], str | None], fields: dict[str, Any]) -> None:
    """Refuse `tenant`'s key from outside its ranges (403); a no-op for tenants without ranges.

    `address` is called only for a restricted tenant (api.client_ip bound to the request)."""
    if tenant not in ranges.by_tenant:
        return
    where = address()
    if ranges.allows(tenant, where):
        return
    fields[REFUSED_FIELD] = True
    fields["partner"] = tenant
    fields["client_ip"] = where
    if where is not None:
        fields["_remote_ip"] = where
    told = f"from {where}" if where is not None else "from an address the server cannot establish"
    raise ApiError(
        403,
        f"this API key is not allowed {told}: it works only from its partner's registered source ranges; "
        "ask the service operator to add your egress range",
        type="permission_error",
        code="source_ip_not_allowed",
    )
