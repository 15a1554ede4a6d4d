"""Builds the topology chosen by `mode` on top of the shared network.

Both topology components satisfy `Topology`: what the stack exports, and the runner files they
render (shown by the offline plan and checked by the golden-file tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import pulumi

from components.config import StackConfig
from components.naming import PROJECT, cluster_name_for
from components.shared.network import Network, NetworkArgs

StackOutputs = Mapping[str, object]


class Topology(Protocol):
    """What `mode` selects: EcsFargateRunner or EksFargateRunner."""

    @property
    def stack_outputs(self) -> StackOutputs: ...

    @property
    def rendered_files(self) -> Mapping[str, pulumi.Output[str]]: ...


@dataclass(frozen=True)
class StackResult:
    outputs: StackOutputs  # exported as stack outputs
    rendered_files: Mapping[str, pulumi.Output[str]]  # runner config files, for the plan


def stack_tags(stack: str) -> dict[str, str]:
    return {"project": PROJECT, "stack": stack, "managed-by": "pulumi"}


def _build_topology(config: StackConfig, network: Network, tags: dict[str, str]) -> Topology:
    if config.mode == "ecs":
        from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs

        return EcsFargateRunner(
            "ecs", EcsFargateRunnerArgs(config=config, network=network, tags=tags)
        )
    from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs

    return EksFargateRunner(
        "eks",
        EksFargateRunnerArgs(
            config=config,
            network=network,
            cluster_name=cluster_name_for(pulumi.get_stack()),
            tags=tags,
        ),
    )


def build_stack(config: StackConfig) -> StackResult:
    """Create every resource for the stack."""
    tags = stack_tags(pulumi.get_stack())
    network = Network("network", NetworkArgs(config.network, tags))
    topology = _build_topology(config, network, tags)
    common: dict[str, object] = {
        "mode": config.mode,
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
    }
    return StackResult(
        outputs={**common, **topology.stack_outputs},
        rendered_files=topology.rendered_files,
    )
