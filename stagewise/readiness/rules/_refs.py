"""Shared look-ups for the network, edge, compute, monitoring and vertex families.

Programs reference other resources in many ways: an Output of ``.id`` / ``.self_link`` / ``.name``,
a literal self link (``projects/p/global/networks/main``), or a bare name. :func:`resolve` finds the
declared resource behind any of them, falling back to the engine's property dependencies when the
value is unknown (a preview run).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from typing import Any

from stagewise.readiness.inventory import Inventory, Resource, as_list, is_unknown, number

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Compute Engine resource names: 1-63 characters, RFC 1035
# (https://cloud.google.com/compute/docs/naming-resources#resource-name-format).
GCE_NAME = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")


def text(value: Any) -> str:
    """A known, non-empty string, else ``""``."""
    return value if isinstance(value, str) and value and not is_unknown(value) else ""


def last_segment(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1]


def name_of(resource: Resource) -> str:
    return text(resource.get("name")) or text(resource.out("name"))


def identities(resource: Resource) -> set[str]:
    """Every string a program could hold for this resource (its id, self link, name)."""
    found = {f"{resource.name}-id"}  # the resource id the offline engine hands out
    for value in (resource.out("id"), resource.out("selfLink"), resource.out("name"), resource.get("name")):
        if text(value):
            found.add(value)
    return found


def resolve(inventory: Inventory, owner: Resource, prop: str, value: Any, types: Iterable[str]) -> Resource | None:
    """The declared resource of ``types`` that ``value`` (read from ``owner``'s ``prop``) points at."""
    wanted = frozenset(types)
    candidates = [r for r in inventory.resources if r.type in wanted and r.urn != owner.urn]
    ref = text(value)
    if ref:
        exact = [r for r in candidates if ref in identities(r)]
        if len(exact) == 1:
            return exact[0]
        segment = last_segment(ref)
        named = [r for r in candidates if segment and segment == name_of(r)]
        if len(named) == 1:
            return named[0]
        if exact or named:
            return None
    top = re.split(r"[.\[]", prop, maxsplit=1)[0]
    deps = owner.declared.property_dependencies.get(top, ())
    typed = [inventory.by_urn[u] for u in deps if u in inventory.by_urn and inventory.by_urn[u].type in wanted]
    if len(typed) == 1 and (not ref or is_unknown(value)):
        return typed[0]
    return None


def derived(resource: Resource, prop: str) -> bool:
    """True when the engine says ``prop`` is computed from another resource's outputs."""
    top = re.split(r"[.\[]", prop, maxsplit=1)[0]
    return bool(resource.declared.property_dependencies.get(top))


def region_of(resource: Resource, inventory: Inventory, key: str = "region") -> str:
    value = text(resource.get(key))
    return last_segment(value) if value else inventory.region


def network(value: Any) -> IPNetwork | None:
    """A CIDR range, or None when it does not parse (host bits may be set, as the provider allows)."""
    if not text(value):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def integer(value: Any) -> int | None:
    found = number(value)
    if found is None or found != int(found):
        return None
    return int(found)


def seconds(value: Any) -> float | None:
    """A protobuf Duration string (``"300s"``, ``"1.5s"``) in seconds; None when not of that form."""
    if not text(value):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d{1,9})?)s", value.strip())
    return float(match.group(1)) if match else None


def enumerate_list(resource: Resource, path: str) -> Iterator[tuple[int, Any]]:
    yield from enumerate(as_list(resource.get(path)))


def machine_type_name(value: Any) -> str:
    """``zones/us-central1-a/machineTypes/g2-standard-4`` -> ``g2-standard-4``."""
    return last_segment(text(value)).lower() if text(value) else ""


def machine_family(machine_type: str) -> str:
    return machine_type.split("-", 1)[0] if machine_type else ""
