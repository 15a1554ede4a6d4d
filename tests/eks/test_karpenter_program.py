"""EKS mode, whole program: Karpenter's release, IAM, interruption handling and pools."""

from __future__ import annotations

import json

from components.offline.mocks import Plan
from tests.eks.support import (
    NODE_CLASS,
    NODE_POOL,
    RELEASE,
    deps,
    role_arn,
    role_named,
)


def test_karpenter_release(plan: Plan) -> None:
    karpenter = plan.one(RELEASE, "eks-karpenter-release")
    inputs = karpenter.inputs
    assert inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert inputs["version"] == "1.14.1"
    assert inputs["namespace"] == "karpenter" and inputs["name"] == "karpenter"
    values = inputs["values"]
    assert values["settings"] == {
        "clusterName": "gitlab-runners-dev",
        "interruptionQueue": "gitlab-runners-dev-karpenter",
    }
    assert values["serviceAccount"]["name"] == "karpenter"
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == role_arn(
        "eks-karpenter-controller"
    )
    assert values["dnsPolicy"] == "Default"
    resources = values["controller"]["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert values["replicas"] == 1
    # It starts only once its Fargate profile, the log config and its IAM policies exist.
    assert {
        "eks-cluster-fargate-karpenter",
        "eks-cluster-aws-logging",
        "eks-karpenter-controller-node-lifecycle-attachment",
    } <= deps(plan, karpenter)


def test_karpenter_controller_uses_irsa_with_its_policies(plan: Plan) -> None:
    trust = json.loads(role_named(plan, "eks-karpenter-controller").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/MOCK0000000000000000000000000000"
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:karpenter:karpenter",
        f"{issuer}:aud": "sts.amazonaws.com",
    }
    attachments = [
        a
        for a in plan.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("eks-karpenter-controller-")
    ]
    assert len(attachments) == 4
    assert all(a.inputs["role"] == "eks-karpenter-controller" for a in attachments)
    policies = {
        p.name: json.loads(p.inputs["policy"])
        for p in plan.all("aws:iam/policy:Policy")
        if p.name.startswith("eks-karpenter-controller-")
    }
    actions = {
        action
        for doc in policies.values()
        for statement in doc["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {"ec2:RunInstances", "ec2:TerminateInstances", "iam:PassRole"} <= actions
    assert {"sqs:ReceiveMessage", "eks:DescribeCluster", "ec2:DescribeSubnets"} <= actions
    pass_role = next(
        s for doc in policies.values() for s in doc["Statement"] if s["Action"] == "iam:PassRole"
    )
    assert pass_role["Resource"] == [role_arn("eks-karpenter-node")]


def test_karpenter_node_role(plan: Plan) -> None:
    trust = json.loads(role_named(plan, "eks-karpenter-node").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in plan.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == "eks-karpenter-node"
    }
    assert attached == {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    }


def test_interruption_queue_and_rules(plan: Plan) -> None:
    queue = plan.one("aws:sqs/queue:Queue").inputs
    assert queue["messageRetentionSeconds"] == 300 and queue["sqsManagedSseEnabled"] is True
    queue_arn = "arn:aws:sqs:eu-west-1:123456789012:gitlab-runners-dev-karpenter"
    policy = json.loads(plan.one("aws:sqs/queuePolicy:QueuePolicy").inputs["policy"])
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "AllowEventBridgeDelivery",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        }
    ]
    rules = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in plan.all("aws:cloudwatch/eventRule:EventRule")
    }
    detail_types = {d for pattern in rules.values() for d in pattern["detail-type"]}
    assert {
        "AWS Health Event",
        "EC2 Spot Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
    } <= detail_types
    targets = plan.all("aws:cloudwatch/eventTarget:EventTarget")
    assert {t.inputs["rule"] for t in targets} == set(rules)
    assert all(t.inputs["arn"] == queue_arn for t in targets)


def test_node_pools_exist_only_for_configured_lanes(plan: Plan, full_plan: Plan) -> None:
    assert [p.inputs["metadata"]["name"] for p in plan.all(NODE_POOL)] == ["spot"]
    pools = {p.inputs["metadata"]["name"]: p for p in full_plan.all(NODE_POOL)}
    assert set(pools) == {"spot", "privileged", "system"}
    limits = {name: p.inputs["spec"]["limits"]["cpu"] for name, p in pools.items()}
    assert limits == {"spot": "64", "privileged": "32", "system": "4"}
    for name, pool in pools.items():
        assert pool.inputs["apiVersion"] == "karpenter.sh/v1"
        spec = pool.inputs["spec"]["template"]["spec"]
        assert spec["nodeClassRef"] == {
            "group": "karpenter.k8s.aws",
            "kind": "EC2NodeClass",
            "name": "privileged" if name == "privileged" else "default",
        }
        assert spec["taints"] == [
            {"key": "gitlab-fargate-runners/pool", "value": name, "effect": "NoSchedule"}
        ]
        # The CRDs come with the karpenter-crd chart: pools wait for it and the controller.
        node_class = "eks-karpenter-node-class" + ("-privileged" if name == "privileged" else "")
        assert {"eks-karpenter-release", "eks-karpenter-crds", node_class} <= deps(full_plan, pool)


def test_ec2_node_class(plan: Plan) -> None:
    node_class = plan.one(NODE_CLASS)
    assert node_class.inputs["apiVersion"] == "karpenter.k8s.aws/v1"
    spec = node_class.inputs["spec"]
    assert spec["role"] == "eks-karpenter-node"
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260930"}]
    # Selected by id: nothing is tagged for discovery.
    subnets = [{"id": subnet} for subnet in plan.outputs["privateSubnetIds"]]
    assert spec["subnetSelectorTerms"] == subnets
    assert spec["securityGroupSelectorTerms"] == [{"id": "sg-0mockeksclustersg"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert "eks-karpenter-release" in deps(plan, node_class)


def test_interruption_queue_refuses_plain_http(plan: Plan) -> None:
    """The queue policy denies every SQS action to everyone when the request is not over TLS:
    `aws:SecureTransport` is "false" exactly for plain-HTTP requests (IAM User Guide, "AWS
    global condition context keys", aws:SecureTransport), and an explicit Deny overrides the
    Allow for EventBridge (IAM User Guide, "Policy evaluation logic"). Inverting the Effect
    or the condition value leaves HTTP open (or blocks EventBridge's HTTPS delivery)."""
    queue_arn = "arn:aws:sqs:eu-west-1:123456789012:gitlab-runners-dev-karpenter"
    policy = json.loads(plan.one("aws:sqs/queuePolicy:QueuePolicy").inputs["policy"])
    deny = [s for s in policy["Statement"] if s["Sid"] == "DenyHTTP"]
    assert deny == [
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
