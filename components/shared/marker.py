"""The topology marker: the deployed `mode`, written on every `pulumi up`.

How a teardown tells a switch of `mode` from `pulumi destroy` (the ECS drain reads it:
components/ecs/reaper/teardown.py). The parameter depends on the resources that read it while
they are deleted, so `pulumi destroy` deletes it before them (Pulumi deletes a resource after
everything that depends on it: components/offline/order.py) and they find no marker. A switch
declares it again, with the new value and the new topology's readers: it is updated before the
old topology's resources are removed (removals come after an update's creates and updates),
and it survives them. Its name and URN do not depend on the mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components.naming import topology_marker_name, type_token

TYPE_TOKEN = type_token("shared", "TopologyMarker")


class TopologyMarker(pulumi.ComponentResource):
    """One SSM String parameter `/<prefix>/topology` holding `mode`."""

    parameter: aws.ssm.Parameter

    def __init__(
        self,
        name: str,
        prefix: str,
        mode: str,
        tags: Mapping[str, str],
        readers: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.parameter = aws.ssm.Parameter(
            f"{name}-marker",
            name=topology_marker_name(prefix),
            description="Deployed topology of this stack: a teardown that finds it is a switch",
            type="String",
            value=mode,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(readers)),
        )
        self.register_outputs({"name": self.parameter.name})


# The metrics log group (`/<prefix>/metrics`) of each topology: (component chain, logical name).
# Both modes create the same physical group under different URNs; without an alias, a switch
# creates the new one (CreateLogGroup: ResourceAlreadyExistsException) before it deletes the
# old one, and `pulumi up` fails halfway through the switch.
METRICS_LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRICS_LOG_GROUP_URNS: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "ecs": ((("ecs", type_token("ecs", "EcsFargateRunner")),), "ecs-metrics-logs"),
    "eks": (
        (
            ("eks", type_token("eks", "EksFargateRunner")),
            ("eks-metrics", type_token("eks", "MetricsCollector")),
        ),
        "eks-metrics-logs",
    ),
}


def metrics_log_group_aliases(mode: str) -> list[pulumi.Input[str]]:
    """The other topology's metrics log group, as an alias of this one: a switch moves the
    group to its new owner (an update) instead of creating it twice."""
    aliases: list[pulumi.Input[str]] = []
    for other, (chain, name) in METRICS_LOG_GROUP_URNS.items():
        if other == mode:
            continue
        parent: pulumi.Input[str] | None = None
        for component, type_ in chain:
            parent = pulumi.resource.create_urn(component, type_, parent)
        # An alias given as the URN the resource had.
        aliases.append(pulumi.resource.create_urn(name, METRICS_LOG_GROUP, parent))
    return aliases
