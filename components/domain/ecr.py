"""Which ECR repository an image reference names, as an IAM resource ARN.

Private ECR registries are `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]` (ECR user
guide, "Amazon ECR private registry"); a repository's ARN is
`arn:<partition>:ecr:<region>:<account>:repository/<name>` (Service Authorization Reference,
Amazon ECR resource types). A pull needs the puller's IAM policy on that ARN and, when the
registry is another account's, the repository's own policy allowing the puller's account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.domain.oci_reference import ReferenceError, parse_reference

_ECR_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
    r"\.amazonaws\.com(?P<cn>\.cn)?"
)


@dataclass(frozen=True)
class EcrRepository:
    account: str
    region: str
    name: str
    partition: str

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{self.name}"


def ecr_repository(image: str) -> EcrRepository | None:
    """The private ECR repository an image is pulled from, or None (another registry)."""
    try:
        reference = parse_reference(image)
    except ReferenceError:
        return None
    match = _ECR_HOST.fullmatch(reference.domain)
    if match is None:
        return None
    region = match["region"]
    partition = "aws-cn" if match["cn"] else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return EcrRepository(match["account"], region, reference.path, partition)
