"""The stage's VPC, from `stagewise:network`."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from stagewise.components.vpc import SubnetSpec, VpcNetwork, VpcNetworkArgs
from stagewise.stacks.config import StackConfig
from stagewise.stacks.config.network import NetworkConfig


def vpc_network(config: StackConfig, settings: NetworkConfig, depends_on: Sequence[pulumi.Resource] = ()) -> VpcNetwork:
    return VpcNetwork(
        "vpc",
        VpcNetworkArgs(
            project=config.gcp.project,
            subnets=[SubnetSpec(region=region, cidr=subnet.cidr) for region, subnet in settings.subnets.items()],
            network_name=settings.name,
            flow_log_sampling=settings.flow_log_sampling,
            flow_log_interval=settings.flow_log_interval,
            nat=settings.nat,
            nat_log_filter=settings.nat_log_filter,
            lb_ports=tuple(settings.lb_ports),
            iap_ssh=settings.iap_ssh,
        ),
        opts=pulumi.ResourceOptions(depends_on=list(depends_on)),
    )
