"""The keys read in eks mode: cluster, Karpenter, the runner chart and job pod sizes."""

from __future__ import annotations

from components.config.grammar import check_cidr, check_image, check_role_arn, ec2_id_check
from components.config.keys import EKS, VERSION, Key, Section, one_of
from components.domain import fleet_rules
from components.domain.lane_rules import (
    INSTANCE_CATEGORIES_RULE,
    MAX_POOL_VCPU,
    check_instance_category,
)
from components.domain.specs import KARPENTER_MODES

CLUSTER_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


EKS_SECTION = Section(
    "eks",
    "Settings read in eks mode.",
    (
        Key(
            "kubernetesVersion",
            "string",
            # In EKS standard support until 2027-03 (docs/eks-operations.md: upgrades).
            "1.35",
            "EKS Kubernetes minor version (upgrade one minor version at a time).",
            pattern=fleet_rules.KUBERNETES_VERSION,
            hint=fleet_rules.KUBERNETES_VERSION_HINT,
            rule="one EKS offers (release calendar; extended support warns); tested: 1.35",
        ),
        Key(
            "karpenterVersion",
            "string",
            "1.14.1",
            "Karpenter chart version.",
            pattern=VERSION,
            hint="use a chart version without 'v', such as 1.14.1",
            rule="1.0.0 or later (the v1 APIs); tested: 1.14.x",
        ),
        Key(
            "runnerChartVersion",
            "string",
            "0.92.0",
            "gitlab-runner Helm chart version.",
            pattern=VERSION,
            hint="use a gitlab-runner chart version such as 0.92.0",
            rule="a released 0.N.P chart (0.N ships runner 18.(N-77)); tested: 0.92.0",
        ),
        Key(
            "clusterLogTypes",
            "strings",
            ("api", "audit", "authenticator"),
            "Control plane log types sent to CloudWatch.",
            check=one_of(CLUSTER_LOG_TYPES),
        ),
        Key(
            "adminRoleArns",
            "strings",
            (),
            "IAM roles given cluster-admin access entries (a role, not an STS session ARN; "
            "each once, and not the role that runs pulumi up, which has one already).",
            check=check_role_arn,
            unique=True,
            rule="distinct arn:<partition>:iam::<account>:role/... ARNs",
        ),
        Key(
            "pollTimeoutSeconds",
            "integer",
            600,
            "How long a job waits for its pod to start (`poll_timeout`).",
            minimum=180,
            maximum=3600,
        ),
        Key(
            "checkInterval",
            "integer",
            3,
            "Seconds between each manager's job requests to GitLab.",
            minimum=1,
            maximum=3600,
        ),
        Key(
            "managerPlacement",
            "choice",
            "fargate",
            "Where runner managers run: fargate or ec2 (the Karpenter system pool).",
            choices=("fargate", "ec2"),
        ),
        Key("helperCpu", "integer", 128, "Helper container CPU units.", minimum=64, maximum=1024),
        Key(
            "helperMemory",
            "integer",
            256,
            "Helper container memory in MiB.",
            minimum=128,
            maximum=2048,
        ),
        Key(
            "spotCpuLimit",
            "integer",
            64,
            "vCPU limit of the spot NodePool (the brake on its EC2 bill).",
            minimum=1,
            maximum=MAX_POOL_VCPU,
        ),
        Key(
            "privilegedCpuLimit",
            "integer",
            32,
            "vCPU limit of the privileged NodePool.",
            minimum=1,
            maximum=MAX_POOL_VCPU,
        ),
        Key(
            "systemCpuLimit",
            "integer",
            8,
            "vCPU limit of the system NodePool (runner managers with managerPlacement ec2).",
            minimum=1,
            maximum=MAX_POOL_VCPU,
        ),
        Key(
            "instanceCategories",
            "strings",
            ("c", "m", "r"),
            "EC2 instance categories Karpenter may launch.",
            check=check_instance_category,
            min_items=1,  # lane_rules.py: Karpenter refuses an empty `In` requirement
            rule=INSTANCE_CATEGORIES_RULE,
        ),
        Key(
            "serviceCpu",
            "integer",
            256,
            "CPU units of each `services:` container (fargate and spot lanes).",
            minimum=64,
            maximum=4096,
        ),
        Key(
            "serviceMemory",
            "integer",
            512,
            "MiB of each `services:` container (fargate and spot lanes).",
            minimum=128,
            maximum=8192,
        ),
        Key(
            "defaultJobImage",
            "string",
            # ECR Public avoids Docker Hub's anonymous pull limit that every pod behind one NAT
            # gateway shares.
            "public.ecr.aws/docker/library/debian:bookworm-slim",
            "Image of jobs that set no `image:`.",
            check=check_image,
            rule="an image reference (distribution/reference grammar)",
        ),
        Key(
            "endpointAccess",
            "choice",
            "public",
            "Kubernetes API endpoint: public (plus private inside the VPC) or private only "
            "(deploy from inside the VPC, from eks.privateAccessCidrs or "
            "eks.privateAccessSecurityGroupIds).",
            choices=("public", "private"),
        ),
        Key(
            "publicAccessCidrs",
            "strings",
            (),
            "Who may reach the public Kubernetes API endpoint (endpointAccess public only).",
            check=check_cidr,
            unique=True,
            rule="distinct IPv4 blocks with prefix length and no host bits",
            default_doc="0.0.0.0/0, warned at preview",
        ),
        Key(
            "privateAccessCidrs",
            "strings",
            (),
            "Networks (VPN, bastion, CI) allowed HTTPS to the Kubernetes API through the "
            "cluster security group; needed to deploy with endpointAccess private.",
            check=check_cidr,
            # One ingress rule per source, named after it (components/eks/cluster_access.py).
            unique=True,
            rule="distinct IPv4 blocks with prefix length and no host bits",
        ),
        Key(
            "privateAccessSecurityGroupIds",
            "strings",
            (),
            "Security groups (a bastion's, a CI runner's) allowed HTTPS to the Kubernetes API "
            "through the cluster security group.",
            check=ec2_id_check("sg", "a security group", "security-groups"),
            unique=True,
            rule="distinct sg- ids, each 8 or 17 lowercase hex digits",
        ),
        Key(
            "nodeAmiAlias",
            "string",
            # A pinned AL2023 EKS AMI release: nodes change only when this is raised on purpose.
            "al2023@v20260930",
            "AMI alias of Karpenter nodes (al2023@vYYYYMMDD, or al2023@latest to follow "
            "every release).",
            pattern=r"al2023@(v\d{8}|latest)",
            hint="use an AL2023 EKS AMI release such as al2023@v20260930",
        ),
        Key(
            "jobTimeoutSeconds",
            "integer",
            3600,
            "Longest job a stopping manager or draining node waits for (keep the runners' "
            "maximum job timeout in GitLab at or below it).",
            minimum=fleet_rules.EKS_JOB_TIMEOUT[0],
            maximum=fleet_rules.EKS_JOB_TIMEOUT[1],
        ),
        Key(
            "existingCluster",
            "string",
            None,
            "An EKS cluster you already run: the fleet adds its Fargate profiles, runners and "
            "Karpenter lanes to it instead of creating a cluster; needs network.vpcId (the "
            "cluster's VPC) and network.privateSubnetIds (docs/bring-your-own.md).",
            pattern=r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}",
            hint="use the cluster's name as `aws eks list-clusters` shows it",
            rule="an EKS cluster name in this account and region",
        ),
        Key(
            "karpenter",
            "choice",
            "install",
            "With existingCluster: install Karpenter for the EC2 lanes, or use the cluster's "
            "own Karpenter v1 (existing: only NodePools, EC2NodeClasses and node roles are "
            "added).",
            choices=KARPENTER_MODES,
        ),
    ),
    modes=EKS,
)
