"""EKS job start latency (issue 26 item 4): the start-wait sampler turns the job pods' own
timestamps into JobStartWaitSeconds per runner, which the dashboard and alarms read.

A job pod's wait is metadata.creationTimestamp to its Ready condition's lastTransitionTime
(status True). The sampler runs every minute and counts the pods that became Ready within
that minute, so each is counted once; its lines are embedded metric format (CloudWatch user
guide, "Specification: Embedded metric format": up to 100 values in one metric's array)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from components.config import parse_config
from components.domain.start_latency import (
    EC2_START_SECONDS,
    FARGATE_START_SECONDS,
    start_wait_alarm_seconds,
)
from components.eks import start_wait_sampler
from components.eks.placement import runner_namespace
from components.observability.catalogue import RUNNER, START_WAIT
from components.observability.dashboard import START_WAIT_TITLES
from components.offline.mock_answers import mock_kubeconfig
from components.offline.mocks import Plan
from components.offline.order import Order
from components.preflight_cluster import cluster_problems
from components.topology import eks_fleet_spec
from tests.eks.test_existing_cluster import FARGATE_ONLY, cluster_facts, joining
from tests.harness import dev_config, run_program
from tests.observability.support import alarms, dashboard, start_wait_metric

FUNCTION = "aws:lambda/function:Function"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
CLUSTER_SG = "sg-0mockeksclustersg"  # the mocks' cluster security group


# --- the recorded plan -----------------------------------------------------------------------


def _sampler(plan: Plan) -> dict[str, Any]:
    (function,) = [f for f in plan.all(FUNCTION) if f.name == "eks-start-wait-fn"]
    return function.inputs


def test_the_function_gets_the_cluster_runners_and_selector_and_runs_in_the_vpc(
    eks_dev_plan: Plan,
) -> None:
    inputs = _sampler(eks_dev_plan)
    variables = inputs["environment"]["variables"]
    runners = {r["name"]: r for r in eks_dev_plan.outputs["runners"]}
    (schedule,) = [
        s
        for s in eks_dev_plan.all("aws:scheduler/schedule:Schedule")
        if s.name.startswith("eks-start-wait")
    ]
    assert json.loads(schedule.inputs["target"]["input"]) == {
        "runners": {runner_namespace(n): n for n in runners},
        "scheduledTime": "<aws.scheduler.scheduled-time>",
    }
    assert schedule.inputs["scheduleExpression"] == "rate(1 minute)"
    assert "SAMPLER_RUNNERS" not in variables  # Lambda's 4 KB: test_its_environment_...
    assert variables["SAMPLER_CLUSTER"] == eks_dev_plan.outputs["clusterName"]
    # pulumi-eks' kubeconfig as the mocks answer it (the cluster's API and CA)
    kubeconfig = mock_kubeconfig("gitlab-runners-dev", "eu-west-1")
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert variables["SAMPLER_ENDPOINT"] == cluster["server"]
    assert variables["SAMPLER_CA"] == cluster["certificate-authority-data"]
    assert variables["SAMPLER_POD_SELECTOR"] == (
        "job.runner.gitlab.com/pod,!runner.gitlab.com/pause-pod"  # chart 0.92.0: runner 19.3
    )
    assert variables["SAMPLER_METRICS_NAMESPACE"] == "gitlab-fargate-runners/dev"
    assert variables["SAMPLER_INTERVAL_SECONDS"] == "60"
    assert variables["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
    assert inputs["handler"] == "start_wait.handler.handler" and inputs["runtime"] == "python3.12"
    assert inputs["timeout"] < 60  # runs never overlap
    profile = eks_dev_plan.one(
        "aws:eks/fargateProfile:FargateProfile", "eks-cluster-fargate-gitlab-runners"
    )
    (group,) = [g for g in eks_dev_plan.all(GROUP) if g.name == "eks-start-wait-sg"]
    assert inputs["vpcConfig"] == {
        "subnetIds": profile.inputs["subnetIds"],  # the fleet's private subnets
        "securityGroupIds": [f"{group.name}-mock-id"],
    }
    assert inputs["loggingConfig"]["logGroup"] == "/gitlab-runners-dev/start-wait-sampler"
    (logs,) = [
        g
        for g in eks_dev_plan.all("aws:cloudwatch/logGroup:LogGroup")
        if g.name == "eks-start-wait-logs"
    ]
    assert logs.inputs["retentionInDays"] == 30
    schedule = eks_dev_plan.one("aws:scheduler/schedule:Schedule").inputs
    assert schedule["scheduleExpression"] == "rate(1 minute)"
    assert schedule["target"]["arn"].endswith(":function:gitlab-runners-dev-start-wait-sampler")


def test_its_only_network_path_is_https_to_the_cluster_security_group(eks_dev_plan: Plan) -> None:
    (group,) = [g for g in eks_dev_plan.all(GROUP) if g.name == "eks-start-wait-sg"]
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    sampler_sg = f"{group.name}-mock-id"
    egress = [
        r.inputs for r in eks_dev_plan.all(EGRESS) if r.inputs["securityGroupId"] == sampler_sg
    ]
    assert egress == [
        {
            "securityGroupId": sampler_sg,
            "referencedSecurityGroupId": CLUSTER_SG,
            "ipProtocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "description": "Kubernetes API (the cluster security group)",
        }
    ]
    admitting = [
        r.inputs
        for r in eks_dev_plan.all(INGRESS)
        if r.inputs.get("referencedSecurityGroupId") == sampler_sg
    ]
    assert [
        (r["securityGroupId"], r["ipProtocol"], r["fromPort"], r["toPort"]) for r in admitting
    ] == [(CLUSTER_SG, "tcp", 443, 443)]


def test_it_may_only_view_the_runner_namespaces(eks_dev_plan: Plan) -> None:
    """AmazonEKSViewPolicy, scoped to namespaces (EKS user guide, access policies: view lists
    pods; a namespace scope grants it in those namespaces only)."""
    role_arn = _sampler(eks_dev_plan)["role"]
    (entry,) = [
        e.inputs for e in eks_dev_plan.all(ACCESS_ENTRY) if e.inputs["principalArn"] == role_arn
    ]
    assert entry["type"] == "STANDARD" and entry["clusterName"] == "gitlab-runners-dev"
    (association,) = [
        a.inputs for a in eks_dev_plan.all(ASSOCIATION) if a.inputs["principalArn"] == role_arn
    ]
    releases = {r.inputs["namespace"] for r in eks_dev_plan.all("kubernetes:helm.sh/v3:Release")}
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
    assert association["accessScope"] == {
        "type": "namespace",
        "namespaces": sorted(n for n in releases if n.startswith("gitlab-runner-")),
    }


def test_a_runner_change_does_not_disassociate_its_view_policy(eks_dev_plan: Plan) -> None:
    """terraform-provider-aws internal/service/eks/access_policy_association.go: access_scope
    (and its namespaces) is ForceNew, the id is cluster#principal#policy, Create calls
    AssociateAccessPolicy (which overwrites that triple's scope) and Delete calls
    DisassociateAccessPolicy on the same triple. A runner added, removed or renamed changes
    the namespaces: replaced create-then-delete (Pulumi's default), the delete removes the
    one association there is and the sampler gets 403. The access entry (access_entry.go: id
    cluster:principal, replaced only when one of them changes) may keep the default."""
    (association,) = [a for a in eks_dev_plan.all(ASSOCIATION) if a.name == "eks-start-wait-view"]
    assert association.delete_before_replace
    (entry,) = [e for e in eks_dev_plan.all(ACCESS_ENTRY) if e.name == "eks-start-wait-access"]
    assert not entry.delete_before_replace


def test_its_role_writes_its_own_log_group_and_creates_enis_only_in_fleet_subnets(
    eks_dev_plan: Plan,
) -> None:
    """ENIs in the fleet's subnets, with any group of the fleet's VPC, not only the sampler's:
    on destroy terraform-provider-aws (internal/service/lambda/function.go
    replaceSecurityGroupsOnDestroy, no replacement_security_group_ids) moves the function to
    the VPC's `default` group and waitFunctionUpdated wants LastUpdateStatus Successful;
    Lambda creates that ENI with the execution role ("Giving Lambda functions access to
    resources in an Amazon VPC"), and ec2:CreateNetworkInterface authorizes the security
    group too, with condition key ec2:Vpc on it (Service Authorization Reference, Amazon
    EC2, CreateNetworkInterface and the security-group resource type; parliament 1.6.4's
    iam_definition.json copy of it lists ec2:Vpc there, and tests/eks/test_documents.py runs
    parliament, which flags a condition key the action does not support). With the sampler's
    group alone, the update fails (InsufficientRolePermissions) and the destroy stops."""
    (policy,) = [
        p
        for p in eks_dev_plan.all("aws:iam/rolePolicy:RolePolicy")
        if p.name == "eks-start-wait-policy"
    ]
    by_sid = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    arn = "arn:aws:ec2:eu-west-1:123456789012"
    subnets = _sampler(eks_dev_plan)["vpcConfig"]["subnetIds"]
    assert by_sid["CreateEnisInFleetSubnets"]["Resource"] == [
        f"{arn}:network-interface/*",
        *(f"{arn}:subnet/{s}" for s in subnets),
    ]
    (group,) = [g for g in eks_dev_plan.all(GROUP) if g.name == "eks-start-wait-sg"]
    assert by_sid["CreateEnisWithFleetVpcGroups"] == {
        "Sid": "CreateEnisWithFleetVpcGroups",
        "Effect": "Allow",
        "Action": "ec2:CreateNetworkInterface",
        "Resource": f"{arn}:security-group/*",  # the default group's id is not known
        "Condition": {"ArnEquals": {"ec2:Vpc": f"{arn}:vpc/{group.inputs['vpcId']}"}},
    }
    assert by_sid["ManageLambdaEnis"]["Resource"] == f"{arn}:network-interface/*"
    assert by_sid["DescribeVpcForLambda"] == {
        "Sid": "DescribeVpcForLambda",
        "Effect": "Allow",
        "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        "Resource": "*",
    }
    group = "arn:aws:logs:eu-west-1:123456789012:log-group:/gitlab-runners-dev/start-wait-sampler"
    assert by_sid["WriteOwnLogs"]["Resource"] == [group, f"{group}:*"]
    assert set(by_sid) == {
        "CreateEnisInFleetSubnets",
        "CreateEnisWithFleetVpcGroups",
        "ManageLambdaEnis",
        "DescribeVpcForLambda",
        "WriteOwnLogs",
    }


def test_destroy_frees_its_security_group_and_deletes_it_before_what_it_needs(
    eks_dev_plan: Plan,
) -> None:
    """Lambda's VPC ENIs outlive a deleted function by up to ~35 minutes and hold its security
    group and subnets. terraform-provider-aws (internal/service/lambda/function.go,
    resourceFunctionDelete -> replaceSecurityGroupsOnDestroy, PR #37624) swaps the function's
    groups for the VPC's default group and waits before DeleteFunction, when
    replace_security_groups_on_destroy is set; the security group and subnet deletes then
    remove any Lambda ENI still there (vpc_security_group.go resourceSecurityGroupDelete and
    vpc_subnet.go resourceSubnetDelete call deleteLingeringENIs; vpc_network_interface.go
    deleteLingeringLambdaENI waits at least 45 minutes). So the function must go first."""
    inputs = _sampler(eks_dev_plan)
    assert inputs["replaceSecurityGroupsOnDestroy"] is True
    assert "replacementSecurityGroupIds" not in inputs  # the VPC's default group
    order = Order(eks_dev_plan)
    function = "eks-start-wait-fn"
    outliving = [
        "eks-start-wait-sg",
        "eks-start-wait-to-api",
        "eks-start-wait-api-from-sampler",
        "eks-start-wait-access",
        "eks-start-wait-view",
        "eks-start-wait-policy",
        "eks-start-wait-logs",
        "eks-cluster-eks",
    ]
    for name in outliving:
        assert order.deleted_before(function, name), name
    for subnet in eks_dev_plan.all("aws:ec2/subnet:Subnet"):
        assert order.deleted_before(function, subnet), subnet.name
    for nat in eks_dev_plan.all("aws:ec2/natGateway:NatGateway"):
        assert order.deleted_before(function, nat), nat.name
    # The access entry and its association go while the cluster is there.
    assert order.deleted_before("eks-start-wait-access", "eks-cluster-eks")


def test_each_runner_alarms_at_three_times_its_lanes_estimated_start(eks_dev_plan: Plan) -> None:
    """Fargate lane: 45 s (a Fargate pod); EC2 lanes: 90 s (a new Karpenter node), both
    components/domain/start_latency.py, times START_WAIT_ALARM_FACTOR."""
    lanes = {r["name"]: r["lane"] for r in eks_dev_plan.outputs["runners"]}
    by_runner = {
        a["name"].removeprefix("gitlab-runners-dev-runner-").removesuffix("-start-wait"): a
        for a in alarms(eks_dev_plan)
        if a["name"].endswith("-start-wait")
    }
    assert set(by_runner) == set(lanes)
    for runner, alarm in by_runner.items():
        estimate = FARGATE_START_SECONDS if lanes[runner] == "fargate" else EC2_START_SECONDS
        assert alarm["threshold"] == start_wait_alarm_seconds(estimate) == estimate * 3
        metric = start_wait_metric(alarm)
        assert metric["dimensions"] == {RUNNER: runner}
        assert f"{estimate * 3:.0f} s" in alarm["alarmDescription"]
    assert {lanes[r] for r in by_runner} == {"fargate", "spot"}  # both estimates are checked


def test_the_eks_dashboard_shows_p50_and_p90_per_runner(eks_dev_plan: Plan) -> None:
    (widget,) = [
        w
        for w in dashboard(eks_dev_plan)["widgets"]
        if w["properties"].get("title") == START_WAIT_TITLES["eks"]
    ]
    expressions = [m[0]["expression"] for m in widget["properties"]["metrics"]]
    assert expressions == [
        'SEARCH(\'{"gitlab-fargate-runners/dev",runner_name} '
        f"MetricName=\"{START_WAIT}\"', '{stat}', 300)"
        for stat in ("p50", "p90")
    ]


def test_the_component_matches_the_estimates_the_capacity_model_uses() -> None:
    """The alarm thresholds come from the runner's lane the way the capacity estimate prices
    it (components/capacity/inputs.py: the fargate lane on Fargate, the others on EC2)."""
    config, _ = parse_config(dev_config(mode="eks"))
    estimates = start_wait_sampler.start_estimates(eks_fleet_spec(config))
    assert estimates == {
        r.name: FARGATE_START_SECONDS if r.lane == "fargate" else EC2_START_SECONDS
        for r in config.runners
    }


def test_a_cluster_without_a_private_endpoint_warns_that_start_waits_stay_empty() -> None:
    """The sampler reaches the API from the fleet's subnets through the cluster security
    group, which only the private endpoint's ENIs carry."""
    config = parse_config(joining(runners=FARGATE_ONLY))[0]
    facts = cluster_facts(private_endpoint=False)
    problems, warnings = cluster_problems(config, facts, dt.date(2026, 12, 6))
    assert problems == []
    assert [w for w in warnings if "start-wait sampler" in w and "endpointPrivateAccess" in w]
    private = cluster_problems(config, replace(facts, private_endpoint=True), dt.date(2026, 12, 6))
    assert not [w for w in private[1] if "start-wait" in w]


# Lambda quotas ("Lambda quotas", Function configuration): environment variables, 4 KB in all.
LAMBDA_ENVIRONMENT_BYTES = 4096
# An EKS cluster's certificate-authority-data is ~1.4-1.5 kB of base64; the mocks' is shorter.
EKS_CA_DATA_CHARS = 1480


def test_its_environment_stays_well_under_lambdas_4_kb_for_any_fleet_the_config_accepts() -> None:
    """The runners used to ride in SAMPLER_RUNNERS beside the CA: 30 runners with 32-character
    names (which the config accepted) went over Lambda's 4 KB and CreateFunction failed at
    `pulumi up`, after the plan passed. They are the schedule's input now (8192 characters,
    refused at config load beyond: tests/package/test_three_doors_eks.py sampler-input), and
    the environment does not grow with them."""
    # 30 such runners broke the old layout; the most the input takes (94 of them) is checked
    # on the input itself in tests/package/test_three_doors_eks.py.
    runners = [{"name": f"r{i:03d}-" + "x" * 27, "lane": "spot"} for i in range(30)]
    plan = run_program(dev_config(mode="eks", runners=runners))
    variables = dict(_sampler(plan)["environment"]["variables"])
    variables["SAMPLER_CA"] = "L" * EKS_CA_DATA_CHARS
    assert len(json.dumps(variables)) <= LAMBDA_ENVIRONMENT_BYTES // 2
    (schedule,) = [
        s
        for s in plan.all("aws:scheduler/schedule:Schedule")
        if s.name == "eks-start-wait-schedule"
    ]
    assert len(json.loads(schedule.inputs["target"]["input"])["runners"]) == 30
    assert len(schedule.inputs["target"]["input"]) <= 8192
