"""The args of the package's fleets: what Pulumi's component analyzer
(pulumi/provider/experimental/analyzer.py) turns into the schema's inputs and types.

Fields are plain (they decide how many resources exist and what they are called) or
`pulumi.Input[...]` (ids and secrets that may be unknown at preview); a string right after a
field is its description. This module must not use `from __future__ import annotations` (the
analyzer reads real types), and uses no tuple, Union, Literal or bare list (unsupported there).
"""

from typing import NotRequired, TypedDict

import pulumi


class CacheBucketArgs(TypedDict):
    name: pulumi.Input[str]
    """The bucket's name."""
    arn: pulumi.Input[str]
    """The bucket's ARN (arn:aws:s3:::<name>): the managers' roles get object access to it."""
    region: pulumi.Input[str]
    """The bucket's region: the runners' cache configuration names it."""


class RunnerArgs(TypedDict):
    name: str
    """The runner's name: 1-32 lowercase letters, digits or '-'. It names namespaces, log
    groups and resources, and keys `runnerTokens`."""
    tags: NotRequired[list[str]]
    """Job tags the runner is meant for (set on the runner in GitLab). Default: [name]."""
    concurrency: NotRequired[int]
    """Jobs this runner runs at once (1-2000). Default: 10."""
    lane: NotRequired[str]
    """Where its jobs run: "fargate" (on-demand, the default) or "spot" (ECS: Fargate Spot; EKS:
    EC2 Spot nodes from Karpenter); EKS only: "privileged" (Docker-in-Docker on EC2 nodes)."""
    requestConcurrency: NotRequired[int]
    """Concurrent job requests to GitLab (gitlab-runner `request_concurrency`). Default:
    ECS 1; EKS 1 per 25 of concurrency, at most 20 (as in the stack file)."""
    taskDefinition: NotRequired[str]
    """ECS: the catalogue entry a job without FARGATE_TASK_DEFINITION uses. Default: the
    first entry of `taskDefinitions`."""
    architecture: NotRequired[str]
    """EKS: "amd64" (the default) or "arm64" (Graviton nodes; EC2 lanes only)."""
    cpu: NotRequired[int]
    """EKS: the job pod's CPU units (1024 = 1 vCPU); on the fargate lane with `memory` a
    Fargate size. Default: 1024."""
    memory: NotRequired[int]
    """EKS: the job pod's memory in MiB. Default: 2048."""
    warmJobs: NotRequired[int]
    """EKS, spot and privileged lanes: jobs whose room is kept on running EC2 nodes
    (gitlab-runner pause pods, runner 18.11 or later), at most `concurrency`. Default: 0."""
    warmPeriods: NotRequired[list[str]]
    """EKS: when the warm room is kept, as five-field cron expressions (minute hour day month
    weekday), e.g. "* 8-17 * * mon-fri"; outside them none is kept. Default: always."""
    warmTimezone: NotRequired[str]
    """EKS: the IANA time zone `warmPeriods` are read in, e.g. "Europe/Berlin". Default: UTC."""


class TaskDefinitionArgs(TypedDict):
    name: str
    """The entry's name (1-32 lowercase letters, digits or '-'): jobs pick the task family
    `<namePrefix>-<name>` with FARGATE_TASK_DEFINITION."""
    image: str
    """The job image: it must run sshd and hold gitlab-runner in a container named
    `ci-coordinator` (GitLab's Fargate driver)."""
    cpu: NotRequired[int]
    """Fargate CPU units (with `memory` a valid Fargate size). Default: 1024."""
    memory: NotRequired[int]
    """Fargate memory in MiB. Default: 2048."""
    architecture: NotRequired[str]
    """"x86_64" (the default) or "arm64"."""
    ephemeralStorageGiB: NotRequired[int]
    """Task storage in GiB, 20-200. Default: 20."""
    environment: NotRequired[dict[str, str]]
    """Extra environment variables of the job container (name -> text). Plain text that
    anyone who may describe the task definition reads: no credentials (a secret is refused);
    jobs read those from Secrets Manager with `taskRolePolicyArns`."""
    taskRolePolicyArns: NotRequired[list[str]]
    """Managed IAM policies (distinct ARNs, at most 10) attached to this entry's own task
    role: what its jobs may do in AWS. ARNs known when the program runs (they name the
    attachments). Default: no task role."""
    repositoryCredentialsArn: NotRequired[str]
    """A Secrets Manager secret ({"username": ..., "password": ...}) ECS logs in to the
    image's private registry (not ECR) with (repositoryCredentials); the execution role may
    read exactly this secret."""


# The two args types spell out their shared fields: the analyzer reads a field's description
# from the source of the class that declares it, so inherited fields would lose theirs.
class EcsRunnerFleetArgs(TypedDict):
    namePrefix: str
    """Physical names (clusters, task families, log groups, roles' path) start with it: unique
    per account and region, e.g. "ci-runners"."""
    gitlabUrl: NotRequired[str]
    """HTTPS URL of the GitLab instance the runners serve. Default: https://gitlab.com."""
    runners: list[RunnerArgs]
    """The runners, each with its own GitLab runner token in `runnerTokens`."""
    runnerTokens: pulumi.Input[dict[str, str]]
    """Runner name -> glrt- authentication token (from GitLab, or a gitlab.UserRunner's
    token). Pass it as a secret: it is kept secret here either way."""
    vpcId: pulumi.Input[str]
    """The VPC the fleet runs in."""
    privateSubnetIds: pulumi.Input[list[str]]
    """Private subnets of that VPC with egress to GitLab, the registries and the AWS APIs
    (NAT or VPC endpoints), one per zone the fleet should use."""
    buildCache: NotRequired[bool]
    """Create an S3 bucket for `cache:` in pipelines (the managers presign its URLs).
    Default: true."""
    buildCacheBucket: NotRequired[CacheBucketArgs]
    """An S3 bucket of yours for `cache:` in pipelines (shared with other fleets, say): the
    fleet creates none and gives its runners object access to this one."""
    observability: NotRequired[bool]
    """Scrape the runners' metrics into CloudWatch. Default: true."""
    logRetentionDays: NotRequired[int]
    """CloudWatch Logs retention in days (0: forever). Default: 30."""
    tags: NotRequired[dict[str, str]]
    """AWS tags for every resource the fleet creates."""
    caBundle: NotRequired[str]
    """PEM certificates of the CA that signed the GitLab server's certificate (a private CA):
    the managers, helpers and jobs trust it."""
    httpProxy: NotRequired[str]
    """HTTP(S) proxy for everything that leaves the VPC (http(s)://host[:port], no user or
    password): managers, helpers and jobs get HTTP_PROXY, HTTPS_PROXY and NO_PROXY."""
    noProxy: NotRequired[list[str]]
    """More destinations that bypass `httpProxy` (host names, .domain suffixes, IPs or CIDR
    blocks). Always bypassed: localhost, 127.0.0.1, .amazonaws.com and the EC2 and ECS
    metadata addresses (EKS: also .svc, .cluster.local and the service ranges)."""
    buildCacheExpirationDays: NotRequired[int]
    """Days after which the build cache bucket's archives expire, 1-3650 (the bucket the
    fleet creates; not with `buildCacheBucket`). Default: 14."""
    taskDefinitions: NotRequired[list[TaskDefinitionArgs]]
    """The job task definitions jobs choose from. Default: one Debian entry."""
    maxJobsPerManager: NotRequired[int]
    """Jobs per runner manager (one EC2 Auto Scaling group each), 1-250. Default: 200."""
    runnerVersion: NotRequired[str]
    """gitlab-runner release on the managers, e.g. "19.3.0" (no leading "v"). Default: 19.3.0."""
    jobTimeoutSeconds: NotRequired[int]
    """The longest job: what a stopping manager waits for. Default: 3600."""
    runnerSha256: NotRequired[str]
    """SHA-256 of gitlab-runner-linux-amd64 at `runnerVersion` (64 hex digits). Default: checked
    against the release's published release.sha256."""
    driverVersion: NotRequired[str]
    """GitLab Fargate driver release, v0.5.1 or later (with the "v"). Default: v0.5.1."""
    driverSha256: NotRequired[str]
    """SHA-256 of fargate-linux-amd64 at `driverVersion`; the managers refuse any other binary.
    Default: a release.sha256 next to the binary if published, else the hash is only logged."""
    managerInstanceType: NotRequired[str]
    """x86_64 EC2 instance type of every runner manager, e.g. "t3.small" (no Graviton).
    Default: sized from each manager's job count."""
    managerAmiParameter: NotRequired[str]
    """Public SSM parameter of the managers' Amazon Linux 2023 x86_64 AMI. Default:
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64."""
    checkInterval: NotRequired[int]
    """Seconds between a manager's job requests to GitLab, 1-3600. Default: 3."""
    containerInsights: NotRequired[bool]
    """CloudWatch Container Insights on the ECS clusters. Default: false."""
    platformVersion: NotRequired[str]
    """Fargate platform version of job tasks: "1.4.0" (the default) or "LATEST"."""
    sshUsername: NotRequired[str]
    """The user the job image's sshd accepts the driver's key for. Default: root."""


class ExistingClusterArgs(TypedDict):
    name: str
    """The EKS cluster the fleet joins, as `aws eks list-clusters` shows it (`clusterName`
    must be the same): the fleet adds its Fargate profiles, runners and Karpenter lanes to it
    and creates no cluster (docs/bring-your-own.md)."""
    karpenter: NotRequired[str]
    """"install" (the default: the fleet installs Karpenter for its EC2 lanes) or "existing"
    (the cluster runs Karpenter v1: only NodePools, EC2NodeClasses and node roles are added)."""


class EksRunnerFleetArgs(TypedDict):
    namePrefix: str
    """Physical names (clusters, task families, log groups, roles' path) start with it: unique
    per account and region, e.g. "ci-runners"."""
    gitlabUrl: NotRequired[str]
    """HTTPS URL of the GitLab instance the runners serve. Default: https://gitlab.com."""
    runners: list[RunnerArgs]
    """The runners, each with its own GitLab runner token in `runnerTokens`."""
    runnerTokens: pulumi.Input[dict[str, str]]
    """Runner name -> glrt- authentication token (from GitLab, or a gitlab.UserRunner's
    token). Pass it as a secret: it is kept secret here either way."""
    vpcId: pulumi.Input[str]
    """The VPC the fleet runs in."""
    privateSubnetIds: pulumi.Input[list[str]]
    """Private subnets of that VPC with egress to GitLab, the registries and the AWS APIs
    (NAT or VPC endpoints), one per zone the fleet should use."""
    buildCache: NotRequired[bool]
    """Create an S3 bucket for `cache:` in pipelines (the managers presign its URLs).
    Default: true."""
    buildCacheBucket: NotRequired[CacheBucketArgs]
    """An S3 bucket of yours for `cache:` in pipelines (shared with other fleets, say): the
    fleet creates none and gives its runners object access to this one."""
    observability: NotRequired[bool]
    """Scrape the runners' metrics into CloudWatch. Default: true."""
    logRetentionDays: NotRequired[int]
    """CloudWatch Logs retention in days (0: forever). Default: 30."""
    tags: NotRequired[dict[str, str]]
    """AWS tags for every resource the fleet creates."""
    caBundle: NotRequired[str]
    """PEM certificates of the CA that signed the GitLab server's certificate (a private CA):
    the managers, helpers and jobs trust it."""
    httpProxy: NotRequired[str]
    """HTTP(S) proxy for everything that leaves the VPC (http(s)://host[:port], no user or
    password): managers, helpers and jobs get HTTP_PROXY, HTTPS_PROXY and NO_PROXY."""
    noProxy: NotRequired[list[str]]
    """More destinations that bypass `httpProxy` (host names, .domain suffixes, IPs or CIDR
    blocks). Always bypassed: localhost, 127.0.0.1, .amazonaws.com and the EC2 and ECS
    metadata addresses (EKS: also .svc, .cluster.local and the service ranges)."""
    buildCacheExpirationDays: NotRequired[int]
    """Days after which the build cache bucket's archives expire, 1-3650 (the bucket the
    fleet creates; not with `buildCacheBucket`). Default: 14."""
    clusterName: str
    """The EKS cluster's name (also Karpenter's discovery tag)."""
    kubernetesVersion: NotRequired[str]
    """EKS Kubernetes version, e.g. "1.35"."""
    adminRoleArns: NotRequired[list[str]]
    """IAM roles given cluster-admin access entries (besides the deployer)."""
    jobTimeoutSeconds: NotRequired[int]
    """The longest job: what a stopping manager or draining node waits for. Default: 3600."""
    existingCluster: NotRequired[ExistingClusterArgs]
    """An EKS cluster you already run, to join instead of creating one; `vpcId` and
    `privateSubnetIds` are then its VPC and subnets."""
    instanceCategories: NotRequired[list[str]]
    """EC2 instance categories Karpenter may launch for the spot and privileged lanes: one
    or more single lowercase letters. Default: ["c", "m", "r"]."""
    spotCpuLimit: NotRequired[int]
    """vCPU limit of the spot lane's NodePool (the brake on its EC2 bill). Default: 64."""
    privilegedCpuLimit: NotRequired[int]
    """vCPU limit of the privileged lane's NodePool. Default: 32."""
    systemCpuLimit: NotRequired[int]
    """vCPU limit of the system NodePool, where the runner managers run with
    `managerPlacement` "ec2". Default: 8."""
    managerPlacement: NotRequired[str]
    """Where the runner managers run: "fargate" (the default) or "ec2" (the Karpenter system
    pool)."""
    karpenterVersion: NotRequired[str]
    """Karpenter chart version the fleet installs, 1.0.0 or later (no "v"). Default: 1.14.1."""
    runnerChartVersion: NotRequired[str]
    """gitlab-runner Helm chart version, e.g. "0.92.0" (0.N ships runner 18.(N-77); warm jobs
    need 0.88.0 or later). Default: 0.92.0."""
    clusterLogTypes: NotRequired[list[str]]
    """Control plane log types sent to CloudWatch: api, audit, authenticator,
    controllerManager, scheduler. Default: ["api", "audit", "authenticator"]."""
    pollTimeoutSeconds: NotRequired[int]
    """How long a job waits for its pod to start (`poll_timeout`), 180-3600. Default: 600."""
    checkInterval: NotRequired[int]
    """Seconds between each manager's job requests to GitLab, 1-3600. Default: 3."""
    helperCpu: NotRequired[int]
    """CPU units of the job pods' helper container, 64-1024. Default: 128."""
    helperMemory: NotRequired[int]
    """MiB of the job pods' helper container, 128-2048. Default: 256."""
    serviceCpu: NotRequired[int]
    """CPU units of each `services:` container (fargate and spot lanes), 64-4096. Default: 256."""
    serviceMemory: NotRequired[int]
    """MiB of each `services:` container (fargate and spot lanes), 128-8192. Default: 512."""
    defaultJobImage: NotRequired[str]
    """Image of jobs that set no `image:`. Default:
    public.ecr.aws/docker/library/debian:bookworm-slim."""
    helperImage: NotRequired[str]
    """gitlab-runner helper image of job pods (`helper_image`; may use ${CI_RUNNER_VERSION}).
    A tag in the helper's `<arch>-v<version>` scheme gets each runner's architecture; any
    other image must be multi-arch for arm64 runners. Default: gitlab-runner's own."""
    endpointAccess: NotRequired[str]
    """The Kubernetes API endpoint: "public" (the default; plus a private one in the VPC) or
    "private" (deploy from inside the VPC, `privateAccessCidrs` or
    `privateAccessSecurityGroupIds`)."""
    publicAccessCidrs: NotRequired[list[str]]
    """Who may reach the public endpoint (IPv4 blocks; not with endpointAccess "private").
    Default: 0.0.0.0/0, with a warning."""
    privateAccessCidrs: NotRequired[list[str]]
    """Networks (VPN, bastion, CI) allowed HTTPS to the Kubernetes API through the cluster
    security group; needed to deploy with endpointAccess "private" from outside the VPC."""
    privateAccessSecurityGroupIds: NotRequired[list[str]]
    """Security groups (a bastion's, a CI runner's) allowed HTTPS to the Kubernetes API
    through the cluster security group."""
    nodeAmiAlias: NotRequired[str]
    """AMI alias of the Karpenter nodes: al2023@vYYYYMMDD, or al2023@latest to follow every
    release. Default: al2023@v20260930."""
    kubeconfigProfile: NotRequired[str]
    """The AWS profile the fleet's Kubernetes provider runs `aws eks get-token` with: your AWS
    provider's profile (aws:profile) when the environment does not name it (AWS_PROFILE).
    Default: the default credential chain."""
    kubeconfigRoleArn: NotRequired[str]
    """The IAM role the fleet's Kubernetes provider assumes for `aws eks get-token`: the role
    your AWS provider assumes (aws:assumeRoles), so both act as the principal EKS admits.
    Default: none."""
    publicSubnetIds: NotRequired[pulumi.Input[list[str]]]
    """Public subnets of the VPC, where Kubernetes may place internet-facing load balancers
    (a cluster the fleet creates). Default: none."""
