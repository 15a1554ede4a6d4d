"""The keys read in eks mode: cluster, Karpenter, the runner chart and job pod sizes."""

from __future__ import annotations

from components.config.keys import EKS, Key, Section
from components.domain.lane_rules import INSTANCE_CATEGORIES_RULE, check_instance_category
from components.domain.section_rules import EKS_RULES

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
            rule="one EKS offers (release calendar; extended support warns); tested: 1.35",
            **EKS_RULES["kubernetesVersion"].key_args(),
        ),
        Key(
            "karpenterVersion",
            "string",
            "1.14.1",
            "Karpenter chart version.",
            rule="1.0.0 or later (the v1 APIs); tested: 1.14.x",
            **EKS_RULES["karpenterVersion"].key_args(),
        ),
        Key(
            "runnerChartVersion",
            "string",
            "0.92.0",
            "gitlab-runner Helm chart version.",
            rule="a released 0.N.P chart (0.N ships runner 18.(N-77)); tested: 0.92.0",
            **EKS_RULES["runnerChartVersion"].key_args(),
        ),
        Key(
            "clusterLogTypes",
            "strings",
            ("api", "audit", "authenticator"),
            "Control plane log types sent to CloudWatch.",
            **EKS_RULES["clusterLogTypes"].key_args(),
        ),
        Key(
            "adminRoleArns",
            "strings",
            (),
            "IAM roles given cluster-admin access entries (a role, not an STS session ARN; "
            "each once, and not the role that runs pulumi up, which has one already).",
            rule="distinct arn:<partition>:iam::<account>:role/... ARNs",
            **EKS_RULES["adminRoleArns"].key_args(),
        ),
        Key(
            "pollTimeoutSeconds",
            "integer",
            600,
            "How long a job waits for its pod to start (`poll_timeout`).",
            **EKS_RULES["pollTimeoutSeconds"].key_args(),
        ),
        Key(
            "checkInterval",
            "integer",
            3,
            "Seconds between each manager's job requests to GitLab.",
            **EKS_RULES["checkInterval"].key_args(),
        ),
        Key(
            "managerPlacement",
            "choice",
            "fargate",
            "Where runner managers run: fargate or ec2 (the Karpenter system pool).",
            **EKS_RULES["managerPlacement"].key_args(),
        ),
        Key(
            "helperCpu",
            "integer",
            128,
            "Helper container CPU units.",
            **EKS_RULES["helperCpu"].key_args(),
        ),
        Key(
            "helperMemory",
            "integer",
            256,
            "Helper container memory in MiB.",
            **EKS_RULES["helperMemory"].key_args(),
        ),
        Key(
            "spotCpuLimit",
            "integer",
            64,
            "vCPU limit of the spot NodePool (the brake on its EC2 bill).",
            **EKS_RULES["spotCpuLimit"].key_args(),
        ),
        Key(
            "privilegedCpuLimit",
            "integer",
            32,
            "vCPU limit of the privileged NodePool.",
            **EKS_RULES["privilegedCpuLimit"].key_args(),
        ),
        Key(
            "systemCpuLimit",
            "integer",
            8,
            "vCPU limit of the system NodePool (runner managers with managerPlacement ec2).",
            **EKS_RULES["systemCpuLimit"].key_args(),
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
            **EKS_RULES["serviceCpu"].key_args(),
        ),
        Key(
            "serviceMemory",
            "integer",
            512,
            "MiB of each `services:` container (fargate and spot lanes).",
            **EKS_RULES["serviceMemory"].key_args(),
        ),
        Key(
            "defaultJobImage",
            "string",
            # ECR Public avoids Docker Hub's anonymous pull limit that every pod behind one NAT
            # gateway shares.
            "public.ecr.aws/docker/library/debian:bookworm-slim",
            "Image of jobs that set no `image:`.",
            rule="an image reference (distribution/reference grammar)",
            **EKS_RULES["defaultJobImage"].key_args(),
        ),
        Key(
            "endpointAccess",
            "choice",
            "public",
            "Kubernetes API endpoint: public (plus private inside the VPC) or private only "
            "(deploy from inside the VPC, from eks.privateAccessCidrs or "
            "eks.privateAccessSecurityGroupIds).",
            **EKS_RULES["endpointAccess"].key_args(),
        ),
        Key(
            "publicAccessCidrs",
            "strings",
            (),
            "Who may reach the public Kubernetes API endpoint (endpointAccess public only).",
            rule="distinct IPv4 blocks with prefix length and no host bits",
            default_doc="0.0.0.0/0, warned at preview",
            **EKS_RULES["publicAccessCidrs"].key_args(),
        ),
        Key(
            "privateAccessCidrs",
            "strings",
            (),
            "Networks (VPN, bastion, CI) allowed HTTPS to the Kubernetes API through the "
            "cluster security group; needed to deploy with endpointAccess private.",
            # One ingress rule per source, named after it (components/eks/cluster_access.py).
            rule="distinct IPv4 blocks with prefix length and no host bits",
            **EKS_RULES["privateAccessCidrs"].key_args(),
        ),
        Key(
            "privateAccessSecurityGroupIds",
            "strings",
            (),
            "Security groups (a bastion's, a CI runner's) allowed HTTPS to the Kubernetes API "
            "through the cluster security group.",
            rule="distinct sg- ids, each 8 or 17 lowercase hex digits",
            **EKS_RULES["privateAccessSecurityGroupIds"].key_args(),
        ),
        Key(
            "nodeAmiAlias",
            "string",
            # A pinned AL2023 EKS AMI release: nodes change only when this is raised on purpose.
            "al2023@v20260930",
            "AMI alias of Karpenter nodes (al2023@vYYYYMMDD, or al2023@latest to follow "
            "every release).",
            **EKS_RULES["nodeAmiAlias"].key_args(),
        ),
        Key(
            "jobTimeoutSeconds",
            "integer",
            3600,
            "Longest job a stopping manager or draining node waits for (keep the runners' "
            "maximum job timeout in GitLab at or below it).",
            **EKS_RULES["jobTimeoutSeconds"].key_args(),
        ),
        Key(
            "existingCluster",
            "string",
            None,
            "An EKS cluster you already run: the fleet adds its Fargate profiles, runners and "
            "Karpenter lanes to it instead of creating a cluster; needs network.vpcId (the "
            "cluster's VPC) and network.privateSubnetIds (docs/bring-your-own.md).",
            rule="an EKS cluster name in this account and region",
            **EKS_RULES["existingCluster"].key_args(),
        ),
        Key(
            "karpenter",
            "choice",
            "install",
            "With existingCluster: install Karpenter for the EC2 lanes, or use the cluster's "
            "own Karpenter v1 (existing: only NodePools, EC2NodeClasses and node roles are "
            "added).",
            **EKS_RULES["karpenter"].key_args(),
        ),
    ),
    modes=EKS,
)
