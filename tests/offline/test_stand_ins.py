"""Issue 23 item 13: what the offline plan takes from the mocks about the account (quotas,
an existing subnet's free IPs, an existing VPC's CIDR) is marked as a stand-in wherever a
warning, a problem or a resource uses it; the plan's note and standInAnswers say so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError
from components.offline import plan as plan_command
from components.offline.mock_answers import MOCK_QUOTAS, MOCK_SUBNET_FREE_IPS
from components.offline.mocks import Plan
from components.offline.stand_ins import StandIn, input_warnings, mark
from tests.harness import DEV_STACK, SECURE_TOKENS

STAND_IN = "[offline stand-in: "
EXISTING = ["network.vpcId=vpc-0abc1234", "network.privateSubnetIds[0]=subnet-0aaaaaaa"]


def plan(tmp_path: Path, *settings: str) -> dict[str, Any]:
    (tmp_path / "Pulumi.test.yaml").write_text(DEV_STACK.read_text() + SECURE_TOKENS)
    return plan_command.run("test", tmp_path, settings, stand_in_tokens=True)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One plan for every marking: quotas short of 100 jobs, an existing VPC with endpoints."""
    folder = tmp_path_factory.mktemp("stand-ins")
    return plan(folder, *EXISTING, "network.vpcEndpoints=true", "runners[0].concurrency=100")


def test_quota_warnings_say_the_quota_is_the_mocks_answer(document: dict[str, Any]) -> None:
    """Old code: "quota L-3032A538 (...) is 6 vCPU" read as the account's quota."""
    quota = [w for w in document["warnings"] if w.startswith("quota ")]
    assert quota and all(STAND_IN in w for w in quota)
    fargate = next(w for w in quota if w.startswith("quota L-3032A538"))
    assert fargate.endswith(
        "[offline stand-in: quota L-3032A538 = 6 (a new account's default) is the mocks' "
        "answer, not what AWS says about your account; pulumi preview reads the real value]"
    )
    assert "quota L-3032A538 = 6 (a new account's default)" in document["standInAnswers"]
    assert "stand-in answer" in document["note"]


def test_an_existing_vpcs_cidr_in_a_resource_is_marked(document: dict[str, Any]) -> None:
    """Old code: the endpoint security group took the mocks' 10.0.0.0/16 with no word."""
    found = [w for w in document["warnings"] if w.startswith("VPC vpc-0abc1234: CIDR")]
    assert len(found) == 1 and "is the mocks' stand-in answer" in found[0]
    assert "VPC vpc-0abc1234: CIDR 10.0.0.0/16" in document["standInAnswers"]
    assert f"subnet subnet-0aaaaaaa: {MOCK_SUBNET_FREE_IPS} free IPs" in " ".join(
        document["standInAnswers"]
    )


def test_a_new_vpc_has_no_stand_in_network_answers(ecs_dev_plan: Plan) -> None:
    assert ecs_dev_plan.stand_ins
    assert not any(a.text.startswith(("VPC ", "subnet ")) for a in ecs_dev_plan.stand_ins)


def test_fail_on_quota_offline_says_the_quota_is_a_stand_in(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        plan(tmp_path, "preflight.failOnQuota=true", "runners[0].concurrency=100")
    assert caught.value.problems and all(STAND_IN in p for p in caught.value.problems)
    assert str(caught.value).startswith("preflight: quotas too low")


def test_messages_about_other_things_are_left_alone() -> None:
    fact = StandIn("L-3032A538", "quota L-3032A538 = 6", "6")
    assert mark(["runners: fine", "quota L-3032A538 is 6"], [fact]) == [
        "runners: fine",
        "quota L-3032A538 is 6 [offline stand-in: quota L-3032A538 = 6 is the mocks' answer, "
        "not what AWS says about your account; pulumi preview reads the real value]",
    ]
    vpc = StandIn("vpc-1", "VPC vpc-1: CIDR 10.0.0.0/16", "10.0.0.0/16")
    inputs = [("sg", {"ingress": [{"cidrBlocks": ["10.0.0.0/16"]}]}), ("other", {"x": 1})]
    assert len(input_warnings(inputs, [vpc])) == 1
    assert input_warnings([("other", {"x": 1})], [vpc]) == []
    assert json.dumps(sorted(MOCK_QUOTAS))  # the quotas the plan can name
