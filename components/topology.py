"""Builds the topology chosen by `mode` on top of the shared network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import StackConfig
from components.naming import PROJECT, cluster_name_for
from components.shared.network import Network, NetworkArgs


@dataclass(frozen=True)
class StackResult:
    outputs: dict[str, Any]  # exported as stack outputs
    rendered_files: dict[str, pulumi.Output[str]]  # runner config files, for the offline plan


def build_stack(config: StackConfig) -> StackResult:
    """Create every resource for the stack."""
    stack = pulumi.get_stack()
    tags = {"project": PROJECT, "stack": stack, "managed-by": "pulumi"}
    cluster_name = cluster_name_for(stack)
    subnet_tags: dict[str, pulumi.Input[str]] = {}
    if config.mode == "eks":
        subnet_tags = {
            "karpenter.sh/discovery": cluster_name,
            "kubernetes.io/role/internal-elb": "1",
        }
    network = Network("network", NetworkArgs(config.network, subnet_tags, tags))
    common: dict[str, Any] = {
        "mode": config.mode,
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
    }
    if config.mode == "ecs":
        from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs

        topology: Any = EcsFargateRunner(
            "ecs", EcsFargateRunnerArgs(config=config, network=network, tags=tags)
        )
    else:
        from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs

        topology = EksFargateRunner(
            "eks",
            EksFargateRunnerArgs(
                config=config, network=network, cluster_name=cluster_name, tags=tags
            ),
        )
    return StackResult(
        outputs={**common, **topology.stack_outputs},
        rendered_files=getattr(topology, "rendered_files", {}),
    )
