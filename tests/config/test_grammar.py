"""AWS, registry and GitLab grammar at config time: each refusal names key, value and fix."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pulumi_aws
import pytest
from botocore.loaders import Loader

from components.config import ConfigError, parse_config, schema
from tests.harness import sentinel

TOKENS = {"runnerTokens": {"fargate": sentinel("fargate")}}
VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0aaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]


def problems(raw: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({**TOKENS, **raw}, **kwargs)
    return caught.value.problems


def accepted(raw: dict[str, Any], **kwargs: Any) -> list[str]:
    return parse_config({**TOKENS, **raw}, **kwargs)[1]


def one_problem(raw: dict[str, Any], *fragments: str, **kwargs: Any) -> str:
    found = problems(raw, **kwargs)
    matching = [p for p in found if all(f in p for f in fragments)]
    assert matching, found
    return matching[0]


def existing_vpc(vpc: str = VPC, private: list[str] | None = None) -> dict[str, Any]:
    return {"network": {"vpcId": vpc, "privateSubnetIds": private or SUBNETS}}


@pytest.mark.parametrize("vpc", ["vpc-1", "vpc-0123456", "vpc-0123456789ABCDEF0", "VPC-01234567"])
def test_vpc_ids_need_8_or_17_lowercase_hex_digits(vpc: str) -> None:
    one_problem(existing_vpc(vpc), "network.vpcId", f"'{vpc}'", "8 or 17 lowercase hex")


@pytest.mark.parametrize("subnet", ["subnet-XYZ!", "subnet-1", "subnet-0123456789abcdef"])
def test_subnet_ids_need_the_full_grammar(subnet: str) -> None:
    raw = existing_vpc(private=[subnet, SUBNETS[1]])
    one_problem(raw, "network.privateSubnetIds", f"'{subnet}'", "subnet-0123456789abcdef0")


def test_valid_ids_of_both_lengths_are_accepted() -> None:
    config, _ = parse_config({**TOKENS, **existing_vpc("vpc-01234567")})
    assert config.network.private_subnet_ids == tuple(SUBNETS)


def test_the_same_subnet_twice_is_refused() -> None:
    raw = existing_vpc(private=[SUBNETS[0], SUBNETS[0]])
    one_problem(raw, "network.privateSubnetIds", f"'{SUBNETS[0]}'", "more than once")


def test_a_subnet_both_private_and_public_is_refused() -> None:
    raw = existing_vpc()
    raw["network"]["publicSubnetIds"] = [SUBNETS[1]]
    one_problem(raw, "network.publicSubnetIds", f"'{SUBNETS[1]}'", "network.privateSubnetIds")


@pytest.mark.parametrize(
    ("key", "value", "fragments"),
    [
        ("vpcCidr", "10.42.0.0", ("no prefix length", "10.42.0.0/32")),
        ("vpcCidr", "10.42.1.0/16", ("host bits", "10.42.0.0/16")),
    ],
)
def test_vpc_cidr_needs_a_prefix_and_no_host_bits(
    key: str, value: str, fragments: tuple[str, ...]
) -> None:
    one_problem({"network": {key: value}}, f"network.{key}: '{value}'", *fragments)


@pytest.mark.parametrize(
    ("value", "fix"), [("203.0.113.7", "203.0.113.7/32"), ("203.0.113.7/24", "203.0.113.0/24")]
)
def test_cidr_lists_are_checked_item_by_item(value: str, fix: str) -> None:
    raw = {"mode": "eks", "eks": {"publicAccessCidrs": ["198.51.100.0/24", value]}}
    one_problem(raw, "eks.publicAccessCidrs", f"'{value}'", fix)


def test_a_region_that_does_not_exist_is_refused_with_its_neighbours() -> None:
    problem = one_problem({}, "aws:region: 'eu-west-9'", region="eu-west-9")
    assert "eu-west-1" in problem and "pulumi config set aws:region" in problem


def test_more_zones_than_the_region_has_are_refused() -> None:
    raw = {"network": {"availabilityZones": 3}}
    problem = one_problem(raw, "network.availabilityZones: 3", region="us-west-1")
    assert "us-west-1a, us-west-1b" in problem and "set it to 2" in problem
    assert accepted(raw, region="eu-west-1") is not None
    one_problem({"network": {"availabilityZones": 4}}, "eu-west-1 has 3", region="eu-west-1")


def test_an_sts_session_where_a_role_goes_says_the_role() -> None:
    session = "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/jane@example.com"
    problem = one_problem(
        {"mode": "eks", "eks": {"adminRoleArns": [session]}}, "eks.adminRoleArns", session
    )
    assert "arn:aws:iam::123456789012:role/PlatformAdmin" in problem


def test_the_same_admin_role_twice_is_refused() -> None:
    role = "arn:aws:iam::123456789012:role/admins"
    raw = {"mode": "eks", "eks": {"adminRoleArns": [role, role]}}
    one_problem(raw, "eks.adminRoleArns", role, "more than once")


def test_one_admin_role_under_two_paths_is_refused() -> None:
    """Same account and name, another path: one principal, so one access entry (EKS refuses a
    second) and one resource name (components/eks/cluster_access.py)."""
    first = "arn:aws:iam::123456789012:role/admins"
    again = "arn:aws:iam::123456789012:role/team/admins"
    other = "arn:aws:iam::210987654321:role/team/admins"
    raw = {"mode": "eks", "eks": {"adminRoleArns": [first, other, again]}}
    problem = one_problem(raw, "eks.adminRoleArns[2]", again, "eks.adminRoleArns[0]", first)
    assert len([p for p in problems(raw) if "adminRoleArns" in p]) == 1, problem


def test_a_role_where_a_policy_goes_is_refused() -> None:
    role = "arn:aws:iam::123456789012:role/ci"
    entry = {"name": "d", "image": "debian:12", "taskRolePolicyArns": [role]}
    raw = {"ecs": {"taskDefinitions": [entry]}}
    one_problem(raw, "taskRolePolicyArns", role, "iam role, not of a managed IAM policy")
    entry["taskRolePolicyArns"] = ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    assert accepted(raw) is not None


def test_an_arn_of_another_partition_is_refused() -> None:
    role = "arn:aws:iam::123456789012:role/admins"
    raw = {"mode": "eks", "eks": {"adminRoleArns": [role]}}
    one_problem(raw, "eks.adminRoleArns", "partition aws", "aws-cn", region="cn-north-1")


def test_a_pull_through_secret_in_another_region_is_refused() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub-AbCdEf"
    raw = {"images": {"dockerHubCredentialArn": arn}}
    problem = one_problem(raw, "images.dockerHubCredentialArn", arn, region="eu-west-1")
    assert "us-east-1" in problem and "replicate-secret-to-regions" in problem
    assert accepted(raw, region="us-east-1") is not None


@pytest.mark.parametrize(
    ("image", "fix"),
    [
        ("registry.gitlab.com/Group/Image:1", "use 'registry.gitlab.com/group/image:1'"),
        ("debian:", "tag after ':' is empty"),
        ("debian@sha256:" + "a" * 40, "64 hex digits, this one 40"),
    ],
)
def test_image_references_follow_the_distribution_grammar(image: str, fix: str) -> None:
    raw = {"ecs": {"taskDefinitions": [{"name": "d", "image": image}]}}
    one_problem(raw, "ecs.taskDefinitions[0] (d).image", f"'{image}'", fix)
    one_problem({"mode": "eks", "eks": {"defaultJobImage": image}}, "eks.defaultJobImage", fix)


def test_the_helper_image_may_use_the_runner_version_variable() -> None:
    helper = "registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper"
    helper += ":x86_64-v${CI_RUNNER_VERSION}"
    assert accepted({"mode": "eks", "images": {"helperImage": helper}}) is not None
    one_problem({"mode": "eks", "images": {"helperImage": "Helper:"}}, "images.helperImage")


@pytest.mark.parametrize(
    ("kind", "twin"),
    [
        ("a1.large", "m6i.large"),
        ("a1.medium", "t3.medium"),
        ("m7g.large", "m7i.large"),
        ("c6gn.xlarge", "c6in.xlarge"),
        ("t4g.small", "t3.small"),
        ("r8g.2xlarge", "r8i.2xlarge"),
    ],
)
def test_arm64_manager_types_are_refused_with_an_x86_twin(kind: str, twin: str) -> None:
    problem = one_problem({"ecs": {"managerInstanceType": kind}}, "ecs.managerInstanceType")
    assert f"'{kind}'" in problem and "amd64" in problem and twin in problem


def _botocore_retention_days() -> list[int]:
    shape = Loader().load_service_model("logs", "service-2")["shapes"]["Days"]
    listed = shape["documentation"].split("Possible values are:")[1].split(".")[0]
    return [int(n) for n in re.findall(r"\d+", listed)]


def _pulumi_aws_retention_days() -> set[int]:
    """pulumi-aws LogGroup documents the same list plus 0 ("never expire")."""
    source = inspect.getsource(pulumi_aws.cloudwatch.log_group)
    listed = re.search(
        r"retain log events in the specified log group\.\s+Possible values are: ([^.]+)\.", source
    )
    assert listed is not None
    return {int(n) for n in re.findall(r"\d+", listed[1])}


def test_log_retention_values_are_cloudwatch_logs_own() -> None:
    """botocore's logs model documents the values PutRetentionPolicy takes (shape Days); 0 is
    pulumi-aws LogGroup's "never expire"."""
    assert list(schema.LOG_RETENTION_DAYS) == [0, *_botocore_retention_days()]
    assert set(schema.LOG_RETENTION_DAYS) == _pulumi_aws_retention_days()
    for days in (0, 2192, 3653):
        assert parse_config({**TOKENS, "logRetentionDays": days})[0].log_retention_days == days
    one_problem({"logRetentionDays": 4000}, "logRetentionDays", "4000", "3653")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://gitlab.com?x=1", "query or fragment"),
        ("https://gitlab.com/#top", "query or fragment"),
        ("https://gitlab.com ", "whitespace"),
        (" https://gitlab.com", "whitespace"),
        ("https://gitlab.example.com:0", "port 0"),
        ("https://gitlab.example.com:99999", "not a valid URL"),
        ("https://gitlab_example.com", "invalid host"),
        ("https://gitlab.example.com/a/../b", "relative root"),
        ("http://gitlab.example.com", "https://"),
    ],
)
def test_gitlab_url_is_https_host_port_and_relative_root_only(url: str, fragment: str) -> None:
    one_problem({"gitlabUrl": url}, "gitlabUrl", fragment)


def test_a_password_in_the_gitlab_url_is_refused_and_not_echoed() -> None:
    problem = one_problem({"gitlabUrl": "https://ci:hunter2@gitlab.example.com"}, "gitlabUrl")
    assert "hunter2" not in problem and "https://ci:***@gitlab.example.com" in problem
    assert "plain text" in problem and "user data" in problem


@pytest.mark.parametrize(
    "url", ["https://gitlab.example.com:8443", "https://example.com/gitlab/", "https://10.0.0.5"]
)
def test_gitlab_urls_with_port_and_relative_root_are_accepted(url: str) -> None:
    assert parse_config({**TOKENS, "gitlabUrl": url})[0].gitlab_url == url.rstrip("/")
