"""The grammar AWS and container registries apply to identifiers, checked at config time.

Each check returns None or the rest of a message that follows "<key>: '<value>' ": what is
wrong and the fix. EC2 ids are `<prefix>-` plus 8 or 17 lowercase hex digits (the EC2 API
reference, "Resource IDs"); ARNs are `arn:partition:service:region:account:resource` (IAM user
guide, "IAM ARNs" and "ARN format"); CIDRs go through `ipaddress` with strict=True, as EC2
refuses a block with host bits set.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from components.domain.aws_regions import PARTITIONS
from components.domain.oci_reference import ReferenceError, parse_reference

_EC2_ID = r"{prefix}-(?:[0-9a-f]{{8}}|[0-9a-f]{{17}})"
_ACCOUNT = re.compile(r"\d{12}")


def ec2_id_check(
    prefix: str, what: str, describe: str | None = None
) -> Callable[[str], str | None]:
    """A check for ids such as vpc-0abc12345678def90: the prefix and 8 or 17 lowercase hex.
    `describe` is the `aws ec2 describe-...` command that lists them (default: prefix + s)."""
    pattern = re.compile(_EC2_ID.format(prefix=prefix))

    def check(value: str) -> str | None:
        if pattern.fullmatch(value):
            return None
        return (
            f"is not {what} id; AWS writes them as {prefix}- and 8 or 17 lowercase hex digits "
            f"(e.g. {prefix}-0123456789abcdef0); copy it from the console or "
            f"`aws ec2 describe-{describe or prefix + 's'}`"
        )

    return check


check_vpc_id = ec2_id_check("vpc", "a vpc")
check_subnet_id = ec2_id_check("subnet", "a subnet")


def check_cidr(value: str) -> str | None:
    """An IPv4 block written with its prefix length and without host bits."""
    if "/" not in value:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return "is not an IPv4 CIDR block; use e.g. 10.42.0.0/16 or 203.0.113.0/24"
        return f"has no prefix length; write the block, e.g. {value}/32 for this one address"
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        try:
            nearest = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            return "is not an IPv4 CIDR block; use e.g. 10.42.0.0/16 or 203.0.113.0/24"
        return f"has host bits set (AWS refuses it); the network it lies in is {nearest}: use that"
    return None


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        return re.split(r"[/:]", self.resource, maxsplit=1)[0]


def parse_arn(value: str) -> Arn | None:
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        return None
    return Arn(*parts[1:])


def _arn_basics(value: str, example: str) -> tuple[Arn | None, str | None]:
    arn = parse_arn(value)
    if arn is None:
        return None, f"is not an ARN; use the full ARN, e.g. {example}"
    if arn.partition not in PARTITIONS:
        return None, f"has partition '{arn.partition}'; use one of {', '.join(PARTITIONS)}"
    return arn, None


def check_role_arn(value: str) -> str | None:
    """An IAM role: arn:<partition>:iam::<account>:role/[path/]name."""
    example = "arn:aws:iam::123456789012:role/platform-admins"
    arn, problem = _arn_basics(value, example)
    if arn is None:
        return problem
    if arn.service == "sts" and arn.resource_type == "assumed-role":
        role = arn.resource.split("/")[1] if arn.resource.count("/") >= 2 else "<role>"
        return (
            "is an STS assumed-role session, not a role; use the role it belongs to: "
            f"arn:{arn.partition}:iam::{arn.account}:role/{role} (add the role's path, if it "
            "has one: `aws iam get-role --role-name " + role + "`)"
        )
    if arn.service != "iam" or arn.resource_type != "role":
        kind = f"{arn.service} {arn.resource_type}".strip()
        return f"is an ARN of a {kind}, not of an IAM role; use a role ARN such as {example}"
    if arn.region or not _ACCOUNT.fullmatch(arn.account) or arn.resource == "role/":
        return f"is not a well-formed role ARN (no region, a 12-digit account); e.g. {example}"
    return None


def check_policy_arn(value: str) -> str | None:
    """A managed policy: arn:<partition>:iam::(aws|<account>):policy/[path/]name."""
    example = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    arn, problem = _arn_basics(value, example)
    if arn is None:
        return problem
    if arn.service != "iam" or arn.resource_type != "policy":
        kind = f"{arn.service} {arn.resource_type}".strip()
        return (
            f"is an ARN of a {kind}, not of a managed IAM policy; attach policies by their ARN "
            f"(arn:{arn.partition}:iam::<account or aws>:policy/<name>), e.g. {example}"
        )
    if arn.region or not (arn.account == "aws" or _ACCOUNT.fullmatch(arn.account)):
        return f"is not a well-formed policy ARN (no region, account 'aws' or 12 digits); {example}"
    return None


def secret_arn_problem(value: str, name_prefix: str) -> str | None:
    """A Secrets Manager secret named `<name_prefix>...` (its region is checked against the
    stack's in feasibility.py)."""
    example = f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{name_prefix}docker-hub-AbCdEf"
    arn, problem = _arn_basics(value, example)
    if arn is None:
        return problem
    if arn.service != "secretsmanager" or arn.resource_type != "secret":
        return f"is an ARN of a {arn.service} {arn.resource_type}, not of a Secrets Manager secret"
    if not _ACCOUNT.fullmatch(arn.account) or not arn.region:
        return f"is not a well-formed secret ARN (a region and a 12-digit account); {example}"
    if not arn.resource.startswith(f"secret:{name_prefix}"):
        return f"names a secret outside '{name_prefix}...'"
    return None


def check_image(value: str) -> str | None:
    """A container image reference as registries and runtimes parse it."""
    try:
        parse_reference(value)
    except ReferenceError as error:
        return f"is not a valid image reference: {error}"
    return None


def check_helper_image(value: str) -> str | None:
    """The helper image may use ${CI_RUNNER_VERSION}, which gitlab-runner expands."""
    return check_image(value.replace("${CI_RUNNER_VERSION}", "19.3.0"))


CRON_FIELD = re.compile(r"[0-9A-Za-z*,/-]+")


def check_cron(value: str) -> str | None:
    """A five-field cron expression, as gitlab-runner's autoscaler policy `periods` takes
    (fleeting/taskscaler/cron via executors/kubernetes/autoscaler/policy.go at v19.3.0)."""
    fields = value.split()
    if len(fields) == 5 and all(CRON_FIELD.fullmatch(f) for f in fields):
        return None
    return (
        "is not a five-field cron expression (minute hour day month weekday), "
        'e.g. "* 8-17 * * mon-fri"'
    )


def check_timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return "is not an IANA time zone name, e.g. UTC or Europe/Berlin"
    return None

    return True
