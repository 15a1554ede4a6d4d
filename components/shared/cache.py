"""The distributed build cache: one private S3 bucket per stack behind `cache:` in pipelines.

Jobs run in throw-away Fargate tasks and pods, so a local `cache_dir` never hits. The runner
manager presigns the cache URLs with its own credentials (`AuthenticationType = "iam"`), so
only the managers' roles get object access (statements below); jobs get none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.naming import resource_prefix, type_token
from components.shared.aws import AwsContext, child

TYPE_TOKEN = type_token("shared", "BuildCache")
# Bucket prefixes may be at most 37 characters; AWS appends a 26-character unique suffix.
BUCKET_PREFIX_BASE_LIMIT = 30
# Uploads a job abandons half-way are removed after a day instead of being billed forever.
ABORT_INCOMPLETE_UPLOAD_DAYS = 1


@dataclass(frozen=True)
class CacheSettings:
    """Where the runners' cache lives, as plain values for the TOML renderers."""

    bucket: str
    region: str


def cache_section(settings: CacheSettings) -> dict[str, Any]:
    """The `[runners.cache]` table of one runner (gitlab-runner CacheConfig/CacheS3Config).

    Shared: every runner of the stack reads the same archives, so a job's cache hits
    whichever runner (lane) ran the previous job."""
    return {
        "Type": "s3",
        "Shared": True,
        "s3": {
            "BucketName": settings.bucket,
            "BucketLocation": settings.region,
            "AuthenticationType": "iam",
        },
    }


def cache_access_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """What a runner manager needs to presign cache downloads and uploads in this bucket.

    ListBucket makes a missing archive a 404 (a plain cache miss) instead of a 403."""
    return [
        {
            "Sid": "BuildCacheObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{bucket_arn}/*",
        },
        {
            "Sid": "BuildCacheList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
        },
    ]


def tls_only_policy(bucket_arn: str) -> dict[str, Any]:
    """Refuse every request to the bucket that does not use TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyPlainHttp",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def bucket_prefix(stack: str) -> str:
    """`gitlab-runners-<stack>-cache-`: the stack program's cache bucket prefix."""
    return bucket_prefix_for(resource_prefix(stack))


def bucket_prefix_for(name_prefix: str) -> str:
    """`<name prefix>-cache-`: bucket names allow lowercase letters, digits and '-'."""
    base = re.sub(r"[^a-z0-9-]", "-", name_prefix.lower())
    return f"{base[:BUCKET_PREFIX_BASE_LIMIT].strip('-')}-cache-"


@dataclass(frozen=True)
class BuildCacheArgs:
    expiration_days: int  # cache archives expire this many days after their last write
    tags: Mapping[str, str]  # AWS tags on the bucket
    # The bucket name's prefix (S3 adds a unique suffix): lowercase letters, digits and '-'.
    bucket_prefix: str


@dataclass(frozen=True)
class CacheBucket:
    """The S3 bucket the runners share as their build cache: a BuildCache's, or one of yours
    (the managers' roles get object access to it, nothing else)."""

    bucket_name: pulumi.Input[str]  # the runners' [runners.cache.s3] BucketName
    bucket_arn: pulumi.Input[str]  # what the roles' object access is scoped to
    region: pulumi.Input[str]  # the bucket's region (BucketLocation)

    def settings(self) -> pulumi.Output[CacheSettings]:
        return pulumi.Output.all(self.bucket_name, self.region).apply(
            lambda v: CacheSettings(bucket=v[0], region=v[1])
        )


class BuildCache(pulumi.ComponentResource):
    """The cache bucket with public access blocked, owner-enforced objects, encryption, a
    TLS-only policy and expiry. `pulumi destroy` empties and deletes it (force_destroy)."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    region: pulumi.Output[str]

    def __init__(
        self, name: str, args: BuildCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        tags = dict(args.tags)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=args.bucket_prefix,
            # Only cache archives live here: nothing to keep once the stack is gone.
            force_destroy=True,
            tags=tags,
            opts=child(self),
        )
        blocked = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child(self),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child(self),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-expiry",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-cache-archives",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.expiration_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABORT_INCOMPLETE_UPLOAD_DAYS
                    ),
                )
            ],
            opts=child(self),
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
            # S3 rejects a bucket policy while the public access block is being written.
            opts=child(self, depends_on=[blocked]),
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.region = AwsContext.lookup(self).region
        self.register_outputs({"bucketName": self.bucket_name})

    def bucket(self) -> CacheBucket:
        return CacheBucket(self.bucket_name, self.bucket_arn, self.region)
