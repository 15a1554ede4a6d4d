"""REVIEW3: tests that demonstrate defects found in review (they FAIL on main as of 560aa39).

Not fixes: each states what upstream does and what the code would have to do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from components.eks.start_wait.pods import start_waits
from components.offline.mocks import Plan
from tests.harness import dev_config, run_program


def _policy_statements(plan: Plan) -> dict[str, dict]:
    (policy,) = [
        p for p in plan.all("aws:iam/rolePolicy:RolePolicy") if p.name == "eks-start-wait-policy"
    ]
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_destroy_swap_group_is_one_the_role_may_create_enis_with(eks_dev_plan: Plan) -> None:
    """terraform-provider-aws internal/service/lambda/function.go replaceSecurityGroupsOnDestroy
    calls UpdateFunctionConfiguration with the VPC's `default` group (no
    replacement_security_group_ids) and then waitFunctionUpdated, which wants
    LastUpdateStatus Successful. Lambda creates the new (subnet, group) Hyperplane ENI with the
    execution role (Lambda guide, "Giving Lambda functions access to resources in an Amazon
    VPC"); ec2:CreateNetworkInterface authorizes against the security-group resource too
    (Service Authorization Reference). The role allows only the sampler's own group, so the
    update fails and `pulumi destroy` (and switchFrom step 1 from eks, observability off)
    stops at the function."""
    (function,) = [
        f for f in eks_dev_plan.all("aws:lambda/function:Function") if f.name == "eks-start-wait-fn"
    ]
    swapped_to = function.inputs.get("replacementSecurityGroupIds")
    resources = _policy_statements(eks_dev_plan)["CreateOwnEnisInFleetSubnets"]["Resource"]
    groups = [r for r in resources if ":security-group/" in r]
    if swapped_to:
        assert all(any(g.endswith(f"/{sg}") for g in groups) for sg in swapped_to)
    else:  # the VPC's default group, whose id the policy must then allow (or security-group/*)
        assert any(g.endswith(":security-group/*") for g in groups), groups


def _pod(created: datetime, ready: datetime) -> dict:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "metadata": {"labels": {}, "creationTimestamp": created.strftime(stamp)},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ready.strftime(stamp)}
            ]
        },
    }


def test_a_pod_ready_while_a_run_lists_is_counted_by_one_run_only() -> None:
    """handler.sample takes `now` before it lists the pods; a pod that turns Ready during the
    listing (ready > now) passes `now - ready <= window` in this run and again in the next,
    one minute later. Windows must tile: [now - window, now) per run (better: the schedule's
    own <aws.scheduler.scheduled-time> as `now`, so runs' jitter neither drops nor repeats)."""
    now = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    pod = _pod(now - timedelta(seconds=30), now + timedelta(seconds=1))
    runs = [now, now + timedelta(seconds=60)]
    counted = sum(len(start_waits([pod], run, 60)) for run in runs)
    assert counted == 1


def test_a_runner_change_does_not_disassociate_the_samplers_view_policy(eks_dev_plan: Plan) -> None:
    """terraform-provider-aws internal/service/eks/access_policy_association.go: access_scope
    and its namespaces are ForceNew, the id is cluster#principal#policy, Create calls
    AssociateAccessPolicy (which overwrites that triple's scope) and Delete calls
    DisassociateAccessPolicy on the same triple. Adding, removing or renaming a runner changes
    the namespaces, so Pulumi replaces the association create-then-delete (its default): the
    new scope is written, then the delete removes the one association there is, and the
    sampler gets 403 until the next replacement (its alarm reads missing data as OK). The
    association needs delete_before_replace."""
    (association,) = [
        a
        for a in eks_dev_plan.all("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a.name == "eks-start-wait-view"
    ]
    assert association.delete_before_replace


# Lambda quotas ("Lambda quotas", Function configuration): environment variables, 4 KB in all.
LAMBDA_ENVIRONMENT_BYTES = 4096
# An EKS cluster CA's certificate-authority-data is ~1.4-1.5 kB of base64; the mocks' is shorter.
EKS_CA_DATA_CHARS = 1480


def test_the_samplers_environment_fits_lambdas_4_kb_for_a_fleet_the_config_accepts() -> None:
    """SAMPLER_RUNNERS carries {namespace: name} for every runner and SAMPLER_CA the cluster's
    CA: 30 runners with 32-character names (the config accepts them: no runner count limit)
    go over Lambda's 4 KB, and CreateFunction is refused at `pulumi up` (the variables'
    JSON is what Lambda counts), after the plan passed."""
    runners = [{"name": f"team-{i:02d}-" + "x" * 24, "lane": "spot"} for i in range(30)]
    plan = run_program(dev_config(mode="eks", runners=runners))
    (function,) = [
        f for f in plan.all("aws:lambda/function:Function") if f.name == "eks-start-wait-fn"
    ]
    variables = dict(function.inputs["environment"]["variables"])
    variables["SAMPLER_CA"] = "L" * EKS_CA_DATA_CHARS
    assert len(json.dumps(variables)) <= LAMBDA_ENVIRONMENT_BYTES
