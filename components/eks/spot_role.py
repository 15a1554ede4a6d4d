"""The EC2 Spot service-linked role: Spot NodeClaims fail in an account that never used Spot,
and Karpenter does not create the role.

The account has at most one such role, so the program looks it up at preview and:
- creates it when it is missing (tagged with this stack's tags, so later runs know it is ours);
- keeps declaring it when it carries this stack's tags (created by an earlier `pulumi up`;
  `import_` re-adopts it after a destroy, since destroy retains it);
- leaves it alone when someone else created it (creating a second one would fail).
It is never deleted (retain_on_delete): removing the last spot runner and `pulumi destroy` only
drop it from the state, since other Spot users in the account may rely on it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

SPOT_SERVICE = "spot.amazonaws.com"
SPOT_ROLE_PATH = f"/aws-service-role/{SPOT_SERVICE}/"
SPOT_ROLE_NAME = "AWSServiceRoleForEC2Spot"


def owned_by_stack(role_tags: Mapping[str, str] | None, stack_tags: Mapping[str, str]) -> bool:
    """A role carrying every one of this stack's tags was created by this stack."""
    tags = role_tags or {}
    return all(tags.get(key) == value for key, value in stack_tags.items())


def spot_service_linked_role(
    name: str, tags: Mapping[str, str], parent: pulumi.Resource
) -> aws.iam.ServiceLinkedRole | None:
    """The stack's Spot service-linked role, or None when the account has someone else's."""
    invoke = pulumi.InvokeOptions(parent=parent)
    found = aws.iam.get_roles(path_prefix=SPOT_ROLE_PATH, opts=invoke)
    existing = next(iter(found.arns or []), None)
    if existing is not None:
        role = aws.iam.get_role(name=SPOT_ROLE_NAME, opts=invoke)
        if not owned_by_stack(role.tags, tags):
            pulumi.log.info(
                f"{SPOT_ROLE_NAME} already exists in this account and is not managed here",
                resource=parent,
            )
            return None
    return aws.iam.ServiceLinkedRole(
        name,
        aws_service_name=SPOT_SERVICE,
        description="EC2 Spot: lets Karpenter launch Spot nodes (retained on destroy)",
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True, import_=existing),
    )
