"""EKS mode with notifications: failed Fargate patch evictions of the stack's cluster reach the
alert topic through an EventBridge rule (docs/eks-operations.md#fargate-patch-notices).

EKS evicts Fargate pods to patch their OS; when an eviction fails it sends the EventBridge
event `EKS Fargate Pod Scheduled Termination` (source `aws.eks`) once, and deletes the pod at
the `scheduledTerminationTime` it gives. The EKS user guide's sample event ("Set actions for
AWS Fargate OS patching events", awsdocs fargate-pod-patching.md) carries the cluster in
`detail.clusterName`, with `podName`, `podNamespace`, `fargateProfileName`,
`evictErrorMessage` and `scheduledTerminationTime`."""

from __future__ import annotations

import fnmatch
import json

from components.naming import EVENT_RULE_NAME_LIMIT, event_rule_name, resource_prefix
from components.observability.monitoring import eviction_event_pattern
from components.offline.mocks import Plan, RecordedResource
from components.offline.order import Order
from tests.eks.test_existing_cluster import joining
from tests.harness import run_program
from tests.observability.conftest import TOPIC
from tests.observability.support import ALARM

RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC_TYPE = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
PROFILE = "aws:eks/fargateProfile:FargateProfile"
RULE_NAME = "gitlab-runners-dev-fargate-evictions"
# The EKS user guide's sample event, as EKS sends it for a pod of the stack's cluster.
SAMPLE_DETAIL = {
    "clusterName": "gitlab-runners-dev",
    "fargateProfileName": "my-fargate-profile",
    "podName": "my-pod-name",
    "podNamespace": "default",
    "evictErrorMessage": "Cannot evict pod as it would violate the pod's disruption budget",
    "scheduledTerminationTime": "2021-06-30T12:52:44.832Z[UTC]",
}


def _rule(plan: Plan) -> RecordedResource:
    return plan.one(RULE, "observability-fargate-evictions")


def _target(plan: Plan) -> RecordedResource:
    return plan.one(TARGET, "observability-fargate-evictions")


def _matches(pattern: dict, event: dict) -> bool:
    """EventBridge matching for the patterns used here: every field's value is one of the
    listed ones, nested objects recursively."""
    return all(
        _matches(want, event.get(key, {})) if isinstance(want, dict) else event.get(key) in want
        for key, want in pattern.items()
    )


def test_the_rule_matches_failed_evictions_of_this_cluster_only(eks_email_plan: Plan) -> None:
    rule = _rule(eks_email_plan).inputs
    assert rule["name"] == RULE_NAME
    pattern = json.loads(rule["eventPattern"])
    cluster = eks_email_plan.outputs["clusterName"]
    assert pattern == {
        "source": ["aws.eks"],
        "detail-type": ["EKS Fargate Pod Scheduled Termination"],
        "detail": {"clusterName": [cluster]},
    }
    event = {
        "source": "aws.eks",
        "detail-type": "EKS Fargate Pod Scheduled Termination",
        "detail": SAMPLE_DETAIL,
    }
    assert _matches(pattern, event)
    assert not _matches(pattern, {**event, "detail": {**SAMPLE_DETAIL, "clusterName": "other"}})
    assert not _matches(pattern, {**event, "detail-type": "EKS Addon Health Degraded"})
    assert pattern == eviction_event_pattern(cluster)


def test_the_rule_publishes_to_the_created_topic(eks_email_plan: Plan) -> None:
    target = _target(eks_email_plan)
    topic_arn = eks_email_plan.outputs["alertsTopicArn"]
    assert target.inputs == {"rule": RULE_NAME, "arn": topic_arn}
    assert eks_email_plan.one(TOPIC_TYPE).inputs["name"] == "gitlab-runners-dev-alerts"


def test_the_created_topic_lets_that_rule_and_the_stacks_alarms_publish(
    eks_email_plan: Plan,
) -> None:
    """EventBridge publishes to an SNS topic only where the topic's policy allows
    events.amazonaws.com (EventBridge user guide, "Using resource-based policies", Amazon SNS
    permissions), scoped here to the rule's ARN. The policy replaces SNS's default one, which
    is what let CloudWatch publish the alarms: it must name them too (AWS re:Post,
    "cloudwatch-receive-sns-for-alarm-trigger")."""
    plan = eks_email_plan
    topic_arn = plan.outputs["alertsTopicArn"]
    policy_resource = plan.one(TOPIC_POLICY)
    assert policy_resource.inputs["arn"] == topic_arn
    policy = json.loads(policy_resource.inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"AlarmsOfThisStack", "FargateEvictionsRule"}
    events = by_sid["FargateEvictionsRule"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert (events["Effect"], events["Action"], events["Resource"]) == (
        "Allow",
        "sns:Publish",
        topic_arn,
    )
    rule_arn = f"arn:aws:events:eu-west-1:123456789012:rule/{RULE_NAME}"
    assert events["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}
    alarms = by_sid["AlarmsOfThisStack"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (alarms["Action"], alarms["Resource"]) == ("sns:Publish", topic_arn)
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    pattern = alarms["Condition"]["ArnLike"]["aws:SourceArn"]
    names = [a.inputs["name"] for a in plan.all(ALARM)]
    assert names and all(
        fnmatch.fnmatchcase(f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{n}", pattern)
        for n in names
    )
    assert not fnmatch.fnmatchcase(
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:gitlab-runners-prod-x", pattern
    )
    # The target is added once the topic lets the rule publish, so no event is refused.
    assert policy_resource.urn in _target(plan).dependencies


def test_a_topic_you_bring_gets_the_rule_and_keeps_its_own_policy(eks_topic_plan: Plan) -> None:
    """Its policy is yours (a TopicPolicy would replace it whole): the docs say which
    statement it needs."""
    assert _target(eks_topic_plan).inputs == {"rule": RULE_NAME, "arn": TOPIC}
    assert not eks_topic_plan.all(TOPIC_POLICY)


def test_no_rule_without_notifications_without_observability_or_in_ecs_mode(
    eks_dev_plan: Plan, ecs_email_plan: Plan, disabled_plan: Plan
) -> None:
    for plan in (eks_dev_plan, ecs_email_plan, disabled_plan):
        assert not [r for r in plan.all(RULE) if "fargate-evictions" in r.name]
        assert not [t for t in plan.all(TARGET) if "fargate-evictions" in t.name]
        assert not plan.all(TOPIC_POLICY)


def test_a_destroy_removes_the_target_before_the_rule_the_policy_and_the_topic(
    eks_email_plan: Plan,
) -> None:
    """EventBridge refuses to delete a rule that still has targets (DeleteRule: "remove all
    targets first"); the engine deletes a resource after its dependents (components/offline/
    order.py), and the target names the rule, the topic and the policy."""
    order = Order(eks_email_plan)
    target = _target(eks_email_plan)
    for then in (_rule(eks_email_plan), eks_email_plan.one(TOPIC_POLICY)):
        assert order.deleted_before(target, then)
    assert order.deleted_before(eks_email_plan.one(TOPIC_POLICY), eks_email_plan.one(TOPIC_TYPE))


def test_two_stacks_in_one_account_get_their_own_rule() -> None:
    """Rule names are unique per account and region: one per stack, within 64 characters
    even for long stack names, which keep apart by a hash of the whole prefix."""
    assert event_rule_name(resource_prefix("dev"), "fargate-evictions") == RULE_NAME
    assert event_rule_name(resource_prefix("prod"), "fargate-evictions") != RULE_NAME
    one = event_rule_name(resource_prefix("a" * 80 + "-one"), "fargate-evictions")
    two = event_rule_name(resource_prefix("a" * 80 + "-two"), "fargate-evictions")
    assert len(one) == len(two) == EVENT_RULE_NAME_LIMIT
    assert one != two and one.endswith("-fargate-evictions")


def test_on_a_joined_cluster_only_the_fleets_own_fargate_pods_notify() -> None:
    """On `eks.existingCluster` other teams run Fargate pods too: the event's
    `fargateProfileName` (the EKS user guide's sample event) narrows the rule to the profiles
    the fleet added, so their failed evictions do not page this stack's topic."""
    plan = run_program({**joining(), "alerts": {"email": "ops@example.com"}})
    pattern = json.loads(_rule(plan).inputs["eventPattern"])
    profiles = sorted(p.inputs["fargateProfileName"] for p in plan.all(PROFILE))
    assert profiles and pattern["detail"]["fargateProfileName"] == profiles
    ours = {**SAMPLE_DETAIL, "clusterName": pattern["detail"]["clusterName"][0]}
    event = {"source": "aws.eks", "detail-type": "EKS Fargate Pod Scheduled Termination"}
    assert _matches(pattern, {**event, "detail": {**ours, "fargateProfileName": profiles[0]}})
    assert not _matches(pattern, {**event, "detail": ours})  # another team's profile


def test_the_stack_exports_the_rule_arn_a_topic_you_bring_must_allow(
    eks_topic_plan: Plan,
) -> None:
    """The rule's name is cut and hashed for stack names of 32 characters or more
    (naming.event_rule_name), so the docs point at this output, not at a name pattern."""
    rule = _rule(eks_topic_plan)
    assert eks_topic_plan.outputs["fargateEvictionRuleArn"].endswith(f":rule/{rule.inputs['name']}")
    long_stack = "platform-ci-production-eu-west-1"
    assert event_rule_name(resource_prefix(long_stack), "fargate-evictions") != (
        f"gitlab-runners-{long_stack}-fargate-evictions"
    )
