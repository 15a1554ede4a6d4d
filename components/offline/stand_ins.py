"""What the offline plan only pretends to know: the mocks' answers about the user's account.

`pulumi preview` reads quotas, an existing subnet's free IPs and an existing VPC's CIDR from
AWS; offline, the mocks answer (components/offline/mock_answers.py) with a new account's
defaults and placeholders. Every message built on such an answer, and every resource input
that carries one, is marked so nobody reads it as what AWS said.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.offline.mock_answers import MOCK_QUOTAS

QUOTA = "aws:servicequotas/getServiceQuota:getServiceQuota"
SUBNET = "aws:ec2/getSubnet:getSubnet"
VPC = "aws:ec2/getVpc:getVpc"


@dataclass(frozen=True)
class StandIn:
    """One answer of the mocks about the account: `key` is how messages name what it is
    about (a quota code, a subnet or VPC id), `value` the invented value as inputs carry it."""

    key: str
    text: str
    value: str


def _quota(code: str, value: float) -> StandIn:
    return StandIn(code, f"quota {code} = {value:g} (a new account's default)", f"{value:g}")


def stand_ins_of(token: str, args: dict[str, Any], result: dict[str, Any]) -> list[StandIn]:
    """The facts about the account an invoke's mocked answer invents (none for the rest)."""
    if token == QUOTA and "value" in result:
        return [_quota(str(args.get("quotaCode")), float(result["value"]))]
    if token == SUBNET:
        subnet = str(args.get("id"))
        free, cidr = result.get("availableIpAddressCount"), result.get("cidrBlock")
        return [StandIn(subnet, f"subnet {subnet}: {free} free IPs, CIDR {cidr}", str(cidr))]
    if token == VPC:
        vpc, cidr = str(args.get("id")), result.get("cidrBlock")
        return [StandIn(vpc, f"VPC {vpc}: CIDR {cidr}", str(cidr))]
    return []


def _suffix(facts: Sequence[StandIn]) -> str:
    texts = "; ".join(dict.fromkeys(f.text for f in facts))
    return (
        f" [offline stand-in: {texts} is the mocks' answer, not what AWS says about your "
        "account; pulumi preview reads the real value]"
    )


def mark(messages: Sequence[str], facts: Sequence[StandIn]) -> list[str]:
    """Each message that names what a stand-in answer is about, with that said."""
    marked = []
    for message in messages:
        used = [f for f in facts if f.key in message]
        marked.append(message + _suffix(used) if used else message)
    return marked


def mark_quota_problems(problems: Sequence[str]) -> list[str]:
    """preflight.failOnQuota problems, raised before the plan exists: every quota offline is
    one of the mocks' answers."""
    return mark(problems, [_quota(code, value) for code, value in MOCK_QUOTAS.items()])


def input_warnings(
    resources: Sequence[tuple[str, dict[str, Any]]], facts: Sequence[StandIn]
) -> list[str]:
    """A warning for each stand-in value that resources take as an input (an existing VPC's
    CIDR in the endpoint security group), naming the resources."""
    found = []
    for fact in facts:
        if not fact.key.startswith("vpc-"):
            continue  # quotas and subnets feed messages (marked), not inputs
        users = [
            name for name, inputs in resources if fact.value in json.dumps(inputs, default=str)
        ]
        if users:
            found.append(
                f"{fact.text} is the mocks' stand-in answer, not what AWS says about your "
                f"account; offline, {', '.join(sorted(set(users)))} use(s) it, and pulumi "
                "preview uses the real value"
            )
    return found
