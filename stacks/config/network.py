"""`stagewise:network` — the VPC that production's services and inference live in.

Example (Pulumi.prod.yaml)::

    stagewise:network:
      name: chat-vpc
      subnets:
        us-central1: {cidr: 10.10.0.0/24}
        europe-west1: {cidr: 10.20.0.0/24}
      lbPorts: [8000]
      iapSsh: false
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stagewise.components.limits import MAX_EGRESS_PREFIX
from stagewise.stacks.config.base import Section
from stagewise.stacks.config.regions import check_region

PRIVATE_RANGES = tuple(ipaddress.IPv4Network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
FlowLogInterval = Literal["INTERVAL_5_SEC", "INTERVAL_30_SEC", "INTERVAL_1_MIN", "INTERVAL_5_MIN", "INTERVAL_10_MIN", "INTERVAL_15_MIN"]
NatLogFilter = Literal["ERRORS_ONLY", "TRANSLATIONS_ONLY", "ALL"]


class SubnetConfig(Section):
    """One regional subnet (the map key is its region)."""

    cidr: str = Field(description="primary IPv4 range, a private /26 or larger, e.g. 10.10.0.0/24")

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"cidr {value!r} is not an IPv4 network ({exc}); write it like 10.10.0.0/24") from None
        if not isinstance(network, ipaddress.IPv4Network):
            raise ValueError(f"cidr {value!r} is IPv6; give the primary range as IPv4, e.g. 10.10.0.0/24")
        if not any(network.subnet_of(private) for private in PRIVATE_RANGES):
            raise ValueError(f"cidr {value!r} is not private (RFC 1918); use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        if network.prefixlen > MAX_EGRESS_PREFIX:
            raise ValueError(
                f"cidr {value!r} is smaller than /{MAX_EGRESS_PREFIX}, too small for Cloud Run direct VPC egress; "
                f"use a /{MAX_EGRESS_PREFIX} or larger (e.g. /24)"
            )
        return value


class NetworkConfig(Section):
    """Custom-mode VPC: regional subnets, Cloud NAT, and a deny-by-default firewall."""

    name: str = Field("chat-vpc", pattern=r"^[a-z]([-a-z0-9]{0,50}[a-z0-9])?$", description="VPC network name")
    subnets: dict[str, SubnetConfig] = Field(description="subnets by region: {us-central1: {cidr: 10.10.0.0/24}}")
    flow_log_sampling: float = Field(0.5, gt=0, le=1, description="share of flows recorded in VPC flow logs (0 < x <= 1)")
    flow_log_interval: FlowLogInterval = Field("INTERVAL_5_SEC", description="flow log aggregation interval")
    nat: bool = Field(True, description="Cloud Router + Cloud NAT per region so private workloads reach the internet")
    nat_log_filter: NatLogFilter = Field("ERRORS_ONLY", description="which NAT events are logged: ERRORS_ONLY, TRANSLATIONS_ONLY or ALL")
    lb_ports: list[int] = Field(
        default_factory=lambda: [8000],
        description="TCP ports Google's load balancers and health checks may reach on VMs tagged lb-backend",
    )
    iap_ssh: bool = Field(False, description="allow SSH (tcp:22) from Identity-Aware Proxy to VMs tagged iap-ssh")

    @field_validator("subnets")
    @classmethod
    def _subnets(cls, value: dict[str, SubnetConfig]) -> dict[str, SubnetConfig]:
        if not value:
            raise ValueError("no subnets; add one per region, e.g. subnets: {us-central1: {cidr: 10.10.0.0/24}}")
        for region in value:
            try:
                check_region(region)
            except ValueError as exc:
                raise ValueError(f"subnet key {exc}") from None
        networks = [(region, ipaddress.ip_network(subnet.cidr)) for region, subnet in value.items()]
        for index, (region, network) in enumerate(networks):
            for other_region, other in networks[index + 1 :]:
                if network.overlaps(other):
                    raise ValueError(
                        f"subnets {region} ({network}) and {other_region} ({other}) overlap; give each region its own range"
                    )
        return value

    @field_validator("lb_ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"lbPorts: {port} is not a TCP port; use 1..65535")
            if port == 22:
                raise ValueError("lbPorts: 22 would open SSH to load-balancer ranges; remove it and set iapSsh: true instead")
        if len(set(value)) != len(value):
            raise ValueError("lbPorts lists a port twice; list each port once")
        return value

    @model_validator(mode="after")
    def _nat_logging(self) -> "NetworkConfig":
        if not self.nat and "nat_log_filter" in self.model_fields_set:
            raise ValueError("natLogFilter is set but nat is false; remove natLogFilter or set nat: true")
        return self
