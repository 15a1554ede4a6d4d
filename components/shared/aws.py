"""What both topologies need from the AWS account they deploy into, and child options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options of a component's child resource: the one way children are parented."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


@dataclass(frozen=True)
class AwsContext:
    """Partition, region, account and DNS suffix: every ARN and service principal is built
    from these, never from a hard-coded `aws` partition."""

    partition: pulumi.Output[str]
    region: pulumi.Output[str]
    account_id: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]

    @classmethod
    def lookup(cls, parent: pulumi.Resource) -> AwsContext:
        invoke = pulumi.InvokeOutputOptions(parent=parent)
        partition = aws.get_partition_output(opts=invoke)
        return cls(
            partition=partition.partition,
            region=aws.get_region_output(opts=invoke).region,
            account_id=aws.get_caller_identity_output(opts=invoke).account_id,
            dns_suffix=partition.dns_suffix,
        )
