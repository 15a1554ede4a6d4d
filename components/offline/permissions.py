"""What the identity that runs `pulumi up` must be allowed to do, derived from the plan.

    venv/bin/python -m components.offline.permissions [--check]

Evaluates the committed example stack in both modes, and on a cluster you bring
(eks.existingCluster, which needs an existing VPC), under the recording mocks and writes, into
README.md's "What `pulumi up` needs", every AWS service with the resource types the stack
creates there and the data sources it reads. A resource type whose service is not known here
stops the generator, so a new kind of resource cannot reach the README unlisted; the test suite
fails while the README block is out of date.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from components.offline.mock_answers import MOCK_CLUSTER_SUBNETS, MOCK_CLUSTER_VPC
from components.offline.mocks import Plan, evaluate
from components.offline.stack_input import read_stack_input

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
COMMAND = "venv/bin/python -m components.offline.permissions"
EXAMPLE_STACK = "dev"
# The VPC and cluster the mocks answer for (components/offline/mock_answers.py).
EXISTING_VPC = (
    f"network.vpcId={MOCK_CLUSTER_VPC}",
    *(f"network.privateSubnetIds[{i}]={s}" for i, s in enumerate(MOCK_CLUSTER_SUBNETS)),
)
EXISTING_CLUSTER_LABEL = "eks mode on an existing cluster"
# With alert notifications on (alerts.email): the topic, its subscription and, in eks mode,
# its policy and the failed-eviction rule are created only then, and must be listed too.
ALERTS = ("alerts.email=platform-team@example.com",)
# Column label -> the example stack's settings: each mode, and eks on a cluster you bring,
# which needs an existing VPC: its plan reads what one in ecs mode reads too (the VPC, the
# subnets' free IPs).
PLANS: dict[str, tuple[str, ...]] = {
    "ecs mode": ("mode=ecs", *ALERTS),
    "eks mode": ("mode=eks", *ALERTS),
    EXISTING_CLUSTER_LABEL: ("mode=eks", *EXISTING_VPC, "eks.existingCluster=platform", *ALERTS),
}
BEGIN = "<!-- BEGIN GENERATED PERMISSIONS (python -m components.offline.permissions) -->"
END = "<!-- END GENERATED PERMISSIONS -->"
# Provider module (the type token's middle part, before "/") -> IAM service prefix.
MODULES = {
    "autoscaling": "autoscaling",
    "ec2": "ec2",
    "ecr": "ecr",
    "ecs": "ecs",
    "eks": "eks",
    "iam": "iam",
    "lambda": "lambda",
    "s3": "s3",
    "scheduler": "scheduler",
    "secretsmanager": "secretsmanager",
    "servicequotas": "servicequotas",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
    "vpc": "ec2",  # aws.vpc.SecurityGroupIngressRule/EgressRule: EC2's security group rules
}
# Resource types whose module does not name their service.
TOKENS = {
    "aws:cloudwatch/logGroup:LogGroup": "logs",
    "aws:cloudwatch/eventRule:EventRule": "events",
    "aws:cloudwatch/eventTarget:EventTarget": "events",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "cloudwatch",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "logs",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": "logs",
    "aws:cloudwatch/dashboard:Dashboard": "cloudwatch",
    "eks:index:Cluster": "eks",
}
LABELS = {  # how a type is shown when its short name would mislead
    # Opaque under the mocks; pulumi-eks creates these inside it (FACTS.md section 9).
    "eks:index:Cluster": "Cluster (pulumi-eks: also its IAM role, OIDC provider, access entries "
    "and managed addons)",
}
# Data sources -> the API calls they make (none: the provider answers without one).
READS: dict[str, tuple[str, ...]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": ("ec2:DescribeAvailabilityZones",),
    "aws:index/getCallerIdentity:getCallerIdentity": ("sts:GetCallerIdentity",),
    "aws:index/getPartition:getPartition": (),
    "aws:index/getRegion:getRegion": (),
    "aws:iam/getRoles:getRoles": ("iam:ListRoles",),
    "aws:eks/getAddonVersion:getAddonVersion": ("eks:DescribeAddonVersions",),
    "aws:eks/getCluster:getCluster": ("eks:DescribeCluster",),
    # By URL, the provider lists the account's OIDC providers and reads each until one
    # matches (terraform-provider-aws internal/service/iam, findOpenIDConnectProviderByURL).
    "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": (
        "iam:ListOpenIDConnectProviders",
        "iam:GetOpenIDConnectProvider",
    ),
    "aws:servicequotas/getServiceQuota:getServiceQuota": ("servicequotas:GetServiceQuota",),
    "aws:ec2/getSubnet:getSubnet": ("ec2:DescribeSubnets",),
    "aws:ec2/getVpc:getVpc": ("ec2:DescribeVpcs",),
    "aws:ssm/getParameter:getParameter": ("ssm:GetParameter",),
    "aws:ec2/getRouteTable:getRouteTable": ("ec2:DescribeRouteTables",),
}
# Not AWS: Pulumi's own providers and this project's components need no permission.
NO_PERMISSION = ("pulumi:", "gitlab-fargate-runners:")
ELSEWHERE = {  # provider package -> what it needs instead of AWS permissions
    "kubernetes": (
        "the Kubernetes API: of a new cluster as its creator (cluster admin), of an existing "
        "one through an access entry ([docs/bring-your-own.md](docs/bring-your-own.md))"
    ),
    "gitlab": "the GitLab API, with `gitlabToken` (`create_runner` scope)",
}


class UnknownResourceType(ValueError):
    """A resource type or data source this module cannot attribute to a service."""


def service_of(token: str) -> str:
    """The IAM service prefix of the API that creates a resource type."""
    if token in TOKENS:
        return TOKENS[token]
    package, _, rest = token.partition(":")
    module = rest.split(":")[0].split("/")[0]
    if package == "aws" and module in MODULES:
        return MODULES[module]
    raise UnknownResourceType(
        f"{token}: which AWS service creates it? Add its module to MODULES or the type to "
        f"TOKENS in components/offline/permissions.py, then run {COMMAND}"
    )


def actions_of(token: str) -> tuple[str, ...]:
    """The API calls a data source makes (none: the provider answers by itself)."""
    if token in READS:
        return READS[token]
    raise UnknownResourceType(
        f"{token}: which API call does this data source make? Add it to READS in "
        f"components/offline/permissions.py, then run {COMMAND}"
    )


def example_plan(settings: Iterable[str], project_dir: Path = ROOT) -> Plan:
    """The committed example stack with `settings` (`--set` syntax), tokens stood in for."""
    stack_input = read_stack_input(EXAMPLE_STACK, project_dir, list(settings), stand_in_tokens=True)
    return evaluate(
        stack_input.config,
        stack=EXAMPLE_STACK,
        secret_keys=stack_input.secret_keys,
        extra_config=stack_input.other_config,
    )


def _label(token: str) -> str:
    return LABELS.get(token, token.rsplit(":", 1)[-1])


def render(plans: dict[str, Plan]) -> str:
    """The README block: per service, the types each plan creates (a column per plan), then
    what they read."""
    creates: dict[str, dict[str, set[str]]] = {}
    reads: set[str] = set()
    elsewhere: dict[str, set[str]] = {}
    for mode, plan in plans.items():
        for token in sorted({r.type for r in plan.resources}):
            package = token.split(":")[0]
            if token.startswith(NO_PERMISSION):
                continue
            if package in ELSEWHERE:
                elsewhere.setdefault(package, set()).add(mode)
                continue
            creates.setdefault(service_of(token), {}).setdefault(mode, set()).add(_label(token))
        reads.update(action for token in plan.invokes for action in actions_of(token))
    columns = ["Service (IAM prefix)", *(f"Creates in {m}" for m in plans)]
    header = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    rows = [
        f"| `{service}` | "
        + " | ".join(", ".join(sorted(creates[service].get(m, ()))) for m in plans)
        + " |"
        for service in sorted(creates)
    ]
    read_line = ", ".join(f"`{action}`" for action in sorted(reads))
    lines = [*header, *rows, "", f"- Reads at preview and up: {read_line}."]
    for package, modes in sorted(elsewhere.items()):
        lines.append(
            f"- Not AWS: `{package}` resources ({', '.join(m for m in plans if m in modes)}) "
            f"need {ELSEWHERE[package]}."
        )
    return "\n".join(lines)


def replace_block(text: str, generated: str) -> str:
    head, found, rest = text.partition(BEGIN + "\n")
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise SystemExit(f"README.md: missing the marker lines '{BEGIN}' and '{END}'")
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


def expected_readme() -> str:
    generated = render({label: example_plan(settings) for label, settings in PLANS.items()})
    return replace_block(README.read_text(), generated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.offline.permissions", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    args = parser.parse_args(argv)
    try:
        text = expected_readme()
    except UnknownResourceType as error:
        print(error, file=sys.stderr)
        return 1
    if args.check:
        if README.read_text() != text:
            print("README.md is out of date: run venv/bin/python -m components.offline.permissions")
            return 1
        return 0
    README.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
