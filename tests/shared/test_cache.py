"""The S3 build cache: bucket settings, the rendered [runners.cache] in both modes, and IAM
that lets only the runner managers touch the bucket."""

from __future__ import annotations

import json
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from components.ecs.manager_files import CONFIG_PATH
from components.offline.mocks import MOCK_ACCOUNT, Plan
from components.shared.cache import bucket_prefix
from tests.harness import ROOT, dev_config, run_program

BUCKET = "aws:s3/bucket:Bucket"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
BUCKET_NAME = "gitlab-runners-dev-cache-mock"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET_NAME}"
UPSTREAM = ROOT / "tests" / "upstream" / "gitlab-runner-config.json"
EKS_RUNNERS = [
    {"name": "fargate", "tags": ["eks-fargate"]},
    {"name": "spot", "lane": "spot", "tags": ["eks-spot"]},
]


@cache
def eks_plan() -> Plan:
    return run_program(
        dev_config(mode="eks", ecs=None, runners=EKS_RUNNERS, cache={"expirationDays": 3})
    )


@cache
def no_cache_plan() -> Plan:
    return run_program(dev_config(cache={"enabled": False}))


def upstream_keys(section: str) -> set[str]:
    return set(json.loads(Path(UPSTREAM).read_text())["sections"][section]["keys"])


def only(plan: Plan, type_: str) -> dict[str, Any]:
    return plan.one(type_).inputs


def test_bucket_is_private_owner_enforced_encrypted_tls_only_and_expiring(
    ecs_dev_plan: Plan,
) -> None:
    plan = ecs_dev_plan
    bucket = only(plan, BUCKET)
    assert bucket["bucketPrefix"] == "gitlab-runners-dev-cache-"
    assert bucket["forceDestroy"] is True  # `pulumi destroy` empties it
    assert plan.one("gitlab-fargate-runners:shared:BuildCache").urn == plan.one(BUCKET).parent
    block = only(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(block[flag] is True for flag in flags)
    bucket_id = "cache-bucket-mock-id"  # the bucket's id (its name, in AWS)
    assert block["bucket"] == bucket_id
    ownership = only(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    sse = only(
        plan,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    (rule,) = sse["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    policy = json.loads(only(plan, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert expiry_days(plan) == 14
    assert expiry_days(eks_plan()) == 3


def expiry_days(plan: Plan) -> int:
    lifecycle = only(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (rule,) = lifecycle["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 1}
    return rule["expiration"]["days"]


def test_force_destroy_is_set_on_the_cache_bucket_only(ecs_dev_plan: Plan) -> None:
    for plan in (ecs_dev_plan, eks_plan()):
        forced = [r.name for r in plan.resources if r.inputs.get("forceDestroy") is True]
        assert forced == ["cache-bucket"]


def test_bucket_prefix_fits_s3_rules_for_any_stack_name() -> None:
    for stack in ("dev", "Team_A.prod", "x" * 80):
        prefix = bucket_prefix(stack)
        assert len(prefix) <= 37 and prefix.endswith("-cache-")
        assert prefix == prefix.lower() and "_" not in prefix and "." not in prefix


def check_cache_section(entry: dict[str, Any]) -> None:
    section = entry["cache"]
    assert section == {
        "Type": "s3",
        "Shared": True,
        "s3": {
            "BucketName": BUCKET_NAME,
            "BucketLocation": "eu-west-1",
            "AuthenticationType": "iam",
        },
    }
    # Keys gitlab-runner 18.9 reads (tests/upstream, extracted from its config structs).
    assert set(section) <= upstream_keys("runners.cache")
    assert set(section["s3"]) <= upstream_keys("runners.cache.s3")


def test_ecs_config_toml_points_every_runner_at_the_bucket(ecs_dev_plan: Plan) -> None:
    runners = tomllib.loads(ecs_dev_plan.rendered_files[CONFIG_PATH])["runners"]
    assert [r["name"] for r in runners] == ["fargate", "fargate-spot"]
    for entry in runners:
        check_cache_section(entry)


def test_eks_runners_config_points_every_runner_at_the_bucket() -> None:
    plan = eks_plan()
    for name in ("fargate", "spot"):
        release = plan.one("kubernetes:helm.sh/v3:Release", f"eks-runner-{name}-release")
        (entry,) = tomllib.loads(release.inputs["values"]["runners"]["config"])["runners"]
        check_cache_section(entry)
        shown = tomllib.loads(plan.rendered_files[f"helm/gitlab-runner-{name}/runners.config.toml"])
        assert shown["runners"][0]["cache"] == entry["cache"]


def test_cache_disabled_means_no_bucket_no_section_no_s3_grants() -> None:
    plan = no_cache_plan()
    assert plan.all(BUCKET) == []
    assert "cacheBucket" not in plan.outputs
    for entry in tomllib.loads(plan.rendered_files[CONFIG_PATH])["runners"]:
        assert "cache" not in entry
    assert "s3:" not in json.dumps([r.inputs for r in plan.all(ROLE_POLICY)])


def statements_on_bucket(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """Every IAM statement naming the bucket, by the policy resource that holds it."""
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in plan.all(ROLE_POLICY) + plan.all(POLICY):
        document = json.loads(resource.inputs["policy"])
        hits = [s for s in document["Statement"] if BUCKET_NAME in json.dumps(s)]
        if hits:
            found[resource.name] = hits
    return found


def check_manager_grants(statements: list[dict[str, Any]]) -> None:
    grants = {(json.dumps(s["Action"]), json.dumps(s["Resource"])) for s in statements}
    assert grants == {
        (json.dumps(["s3:GetObject", "s3:PutObject"]), json.dumps(f"{BUCKET_ARN}/*")),
        (json.dumps("s3:ListBucket"), json.dumps(BUCKET_ARN)),
    }
    assert all(s["Effect"] == "Allow" for s in statements)


def test_ecs_only_the_manager_role_may_use_the_bucket(ecs_dev_plan: Plan) -> None:
    found = statements_on_bucket(ecs_dev_plan)
    assert list(found) == ["ecs-manager-policy"]
    check_manager_grants(found["ecs-manager-policy"])


def test_eks_each_manager_assumes_its_own_cache_role_through_its_service_account() -> None:
    plan = eks_plan()
    found = statements_on_bucket(plan)
    assert sorted(found) == ["eks-runner-fargate-cache-policy", "eks-runner-spot-cache-policy"]
    for name in ("fargate", "spot"):
        check_manager_grants(found[f"eks-runner-{name}-cache-policy"])
        role = plan.one(ROLE, f"eks-runner-{name}-cache")
        (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        conditions = trust["Condition"]["StringEquals"]
        subject = next(v for k, v in conditions.items() if k.endswith(":sub"))
        # The chart's service account: serviceAccount.name in the runner's namespace.
        assert subject == f"system:serviceaccount:gitlab-runner-{name}:gitlab-runner-{name}"
        release = plan.one("kubernetes:helm.sh/v3:Release", f"eks-runner-{name}-release")
        account = release.inputs["values"]["serviceAccount"]
        assert account["name"] == f"gitlab-runner-{name}"
        role_arn = f"arn:aws:iam::{MOCK_ACCOUNT}:role/eks-runner-{name}-cache"
        assert account["annotations"] == {"eks.amazonaws.com/role-arn": role_arn}
    # Job pods run as the job account: no IRSA annotation (no cache access), no RBAC.
    for name in ("fargate", "spot"):
        values = plan.one("kubernetes:helm.sh/v3:Release", f"eks-runner-{name}-release").inputs
        (entry,) = tomllib.loads(values["values"]["runners"]["config"])["runners"]
        assert entry["kubernetes"]["service_account"] == f"gitlab-runner-{name}-jobs"


def test_parliament_finds_nothing_above_low_in_the_cache_policies() -> None:
    from parliament import analyze_policy_string

    severities = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
    plan = eks_plan()
    documents = [
        plan.one(ROLE_POLICY, f"eks-runner-{name}-cache-policy").inputs["policy"]
        for name in ("fargate", "spot")
    ]
    for document in documents:
        findings = analyze_policy_string(document).findings
        assert [f.issue for f in findings if severities.index(f.severity) > 2] == []
