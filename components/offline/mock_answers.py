"""What the offline mocks answer: the outputs a provider would compute for each resource type and
the results of the invokes the program makes. Invented ids and ARNs are obvious placeholders
(account 123456789012, ids ending in "-mock-id")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from components.domain.aws_regions import zones
from components.eks.cluster_access import exec_kubeconfig
from components.preflight import NEW_ACCOUNT_QUOTAS

MOCK_ACCOUNT = "123456789012"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# What a created GitLab runner's token looks like offline: a sentinel the leak checks look for.
CREATED_TOKEN_PREFIX = "glrt-MOCK-CREATED-SENTINEL-"


def _arn(service: str, resource: str, region: str) -> str:
    return f"arn:aws:{service}:{region}:{MOCK_ACCOUNT}:{resource}"


def created_token(name: str) -> str:
    """The token a mocked UserRunner returns; `name` is its resource name."""
    return f"{CREATED_TOKEN_PREFIX}{name}"


def _secret(value: Any) -> dict[str, Any]:
    """A value the SDK deserialises as a secret, as a real provider marks the runner token."""
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def _bucket_state(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}mock"
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}


def state_for(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Outputs a real provider would compute, invented so the program's applies can run."""
    module = type_.split(":")[1].split("/")[0] if ":" in type_ else ""
    state = dict(inputs)
    state.setdefault("arn", _arn(module or "mock", f"{name}", region))
    state.setdefault("name", inputs.get("name", name))
    extra = STATE_BY_TYPE.get(type_)
    if extra is not None:
        state.update(extra(name, inputs, region))
    return state


# EKS: pulumi-eks' Cluster is one remote component under mocks; invent its top-level outputs.
def mock_kubeconfig(
    cluster: str, region: str, profile: str | None = None, role: str | None = None
) -> dict[str, Any]:
    """The kubeconfig pulumi-eks builds (generateKubeconfig, nodejs/eks/cluster/cluster.ts:203
    at the pinned version), as the program builds it for a cluster it joins: `aws eks
    get-token` with `--role` and `--profile` when given."""
    endpoint = f"https://MOCK.gr7.{region}.eks.amazonaws.com"
    return exec_kubeconfig(cluster, endpoint, "bW9jay1jYQ==", region, (profile, role))


def _eks_cluster_state(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # kubeconfig/kubeconfigJson carry no profile, whatever aws:profile says (cluster.ts:912).
    kubeconfig = mock_kubeconfig(inputs.get("name", name), region)
    issuer = f"oidc.eks.{region}.amazonaws.com/id/MOCK0000000000000000000000000000"
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "clusterSecurityGroupId": "sg-0mockeksclustersg",
        "oidcIssuer": issuer,
        "oidcProviderUrl": f"https://{issuer}",
        "oidcProviderArn": f"arn:aws:iam::{MOCK_ACCOUNT}:oidc-provider/{issuer}",
    }


def get_kubeconfig_result(
    cluster_inputs: dict[str, Any], args: dict[str, Any], region: str
) -> dict[str, Any]:
    """The answer to `eks:index:Cluster/getKubeconfig`: the kubeconfig as a JSON string."""
    kubeconfig = mock_kubeconfig(
        cluster_inputs["name"], region, args.get("profileName"), args.get("roleArn")
    )
    return {"result": json.dumps(kubeconfig)}


StateFor = Callable[[str, dict[str, Any], str], dict[str, Any]]
STATE_BY_TYPE: dict[str, StateFor] = {
    "aws:iam/role:Role": lambda name, i, region: {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:role{i.get('path', '/')}{i.get('name', name)}",
        "name": i.get("name", name),
    },
    "aws:iam/policy:Policy": lambda name, i, region: {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:policy/{i.get('name', name)}"
    },
    "aws:iam/instanceProfile:InstanceProfile": lambda name, i, region: {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:instance-profile/{name}"
    },
    "aws:ecs/cluster:Cluster": lambda name, i, region: {
        "arn": _arn("ecs", f"cluster/{i.get('name', name)}", region)
    },
    "aws:ecs/taskDefinition:TaskDefinition": lambda name, i, region: {
        "arn": _arn("ecs", f"task-definition/{i.get('family', name)}:1", region),
        "revision": 1,
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda name, i, region: {
        "arn": _arn("logs", f"log-group:{i.get('name', name)}", region)
    },
    "aws:secretsmanager/secret:Secret": lambda name, i, region: {
        "arn": _arn("secretsmanager", f"secret:{i.get('name', name)}-AbCdEf", region)
    },
    # EventBridge rules on the default bus: arn:<partition>:events:<region>:<account>:rule/<name>
    "aws:cloudwatch/eventRule:EventRule": lambda name, i, region: {
        "arn": _arn("events", f"rule/{i.get('name', name)}", region)
    },
    "aws:sqs/queue:Queue": lambda name, i, region: {
        "arn": _arn("sqs", i.get("name", name), region),
        "url": f"https://sqs.{region}.amazonaws.com/{MOCK_ACCOUNT}/{i.get('name', name)}",
    },
    "aws:ec2/vpc:Vpc": lambda name, i, region: {"cidrBlock": i.get("cidrBlock", "10.0.0.0/16")},
    # EKS
    "eks:index:Cluster": _eks_cluster_state,
    "aws:eks/fargateProfile:FargateProfile": lambda name, i, region: {
        "arn": _arn(
            "eks", f"fargateprofile/{i.get('clusterName')}/{i.get('fargateProfileName')}/m", region
        )
    },
    # S3 (the build cache)
    "aws:s3/bucket:Bucket": _bucket_state,
    # GitLab: UserRunner's token is a secret output in the real provider too.
    "gitlab:index/userRunner:UserRunner": lambda name, i, region: {
        "token": _secret(created_token(name))
    },
    "aws:secretsmanager/secretVersion:SecretVersion": lambda name, i, region: {
        "versionId": f"{name}-mock-version"
    },
    # ECS
    "aws:autoscaling/group:Group": lambda name, i, region: {
        "arn": _arn(
            "autoscaling",
            f"autoScalingGroup:00000000-0000-4000-8000-000000000000:autoScalingGroupName/{name}",
            region,
        )
    },
    "aws:lambda/function:Function": lambda name, i, region: {
        "arn": _arn("lambda", f"function:{i.get('name', name)}", region)
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda name, i, region: {
        "arn": _arn("ec2", f"launch-template/lt-{name}", region),
        "latestVersion": 1,
    },
}


# AWS defaults of a new account (so preflight speaks up), as the capacity estimate assumes.
MOCK_QUOTAS = dict(NEW_ACCOUNT_QUOTAS)
MOCK_SUBNET_FREE_IPS = 251  # a /24 with nothing in it


def _service_quota(args: dict[str, Any], region: str) -> dict[str, Any]:
    code = args.get("quotaCode")
    if code not in MOCK_QUOTAS:
        raise NotImplementedError(f"offline evaluation has no value for quota {code}")
    return {
        "quotaCode": code,
        "serviceCode": args.get("serviceCode"),
        "value": MOCK_QUOTAS[code],
        "defaultValue": MOCK_QUOTAS[code],
        "adjustable": True,
        "globalQuota": False,
        "id": f"{args.get('serviceCode')}/{code}",
    }


# Offline, an existing VPC's subnets are answered as the stack file lists them and as a
# well-built VPC has them: each in network.vpcId, the i-th private (and i-th public) subnet in
# the region's i-th zone, private ones routing to a NAT gateway without public IPs, public ones
# to an internet gateway. The checks in components/existing_network.py then see a network that
# works; tests put per-subnet answers here (id -> fields) to play the networks they refuse.
MOCK_SUBNETS: dict[str, dict[str, Any]] = {}
MOCK_ROUTE_TABLES: dict[str, list[dict[str, str]]] = {}  # subnet id -> its routes


def _listed_network() -> dict[str, Any]:
    """The stack's `network` object as the program under the mocks reads it."""
    import pulumi

    from components.naming import PROJECT

    network = pulumi.Config(PROJECT).get_object("network")
    return network if isinstance(network, dict) else {}


def _subnet(args: dict[str, Any], region: str) -> dict[str, Any]:
    subnet, network = args.get("id"), _listed_network()
    private, public = network.get("privateSubnetIds") or [], network.get("publicSubnetIds") or []
    index = (private + public).index(subnet) if subnet in private + public else 0
    position = index if subnet in private else index - len(private)
    names = [name for name, _ in zones(region)] or [f"{region}a"]
    answer = {
        "id": subnet,
        "availableIpAddressCount": MOCK_SUBNET_FREE_IPS,
        "cidrBlock": f"10.0.{index}.0/24",
        "availabilityZone": names[position % len(names)],
        "vpcId": network.get("vpcId") or "vpc-0mock",
        "mapPublicIpOnLaunch": subnet not in private,
    }
    return {**answer, **MOCK_SUBNETS.get(subnet, {})}


def _route_table(args: dict[str, Any], region: str) -> dict[str, Any]:
    subnet = args.get("subnetId")
    private = _listed_network().get("privateSubnetIds") or []
    default = {"natGatewayId": "nat-0mock"} if subnet in private else {"gatewayId": "igw-0mock"}
    routes = MOCK_ROUTE_TABLES.get(subnet or "", [{"cidrBlock": "0.0.0.0/0", **default}])
    return {
        "id": f"rtb-0mock-{subnet}",
        "routeTableId": f"rtb-0mock-{subnet}",
        "subnetId": subnet,
        "vpcId": _listed_network().get("vpcId") or "vpc-0mock",
        "routes": [{"cidrBlock": "", "gatewayId": "", "natGatewayId": "", **r} for r in routes],
        "associations": [],
        "tags": {},
    }


# Managed addon versions EKS offers per Kubernetes minor (`aws eks describe-addon-versions`
# style: v<upstream>-eksbuild.<n>); the newest of each, as `most_recent=True` asks for.
MOCK_ADDON_VERSIONS: dict[str, dict[str, str]] = {
    "vpc-cni": {
        "1.32": "v1.19.6-eksbuild.1",
        "1.33": "v1.20.1-eksbuild.3",
        "1.34": "v1.20.4-eksbuild.2",
        "1.35": "v1.21.1-eksbuild.1",
        "1.36": "v1.21.1-eksbuild.1",
    },
    "coredns": {
        "1.32": "v1.11.4-eksbuild.14",
        "1.33": "v1.12.1-eksbuild.2",
        "1.34": "v1.12.3-eksbuild.1",
        "1.35": "v1.12.4-eksbuild.1",
        "1.36": "v1.13.1-eksbuild.1",
    },
    "kube-proxy": {k: f"v{k}.{p}-eksbuild.2" for k, p in (("1.32", 6), ("1.33", 3))}
    | {k: f"v{k}.1-eksbuild.1" for k in ("1.34", "1.35", "1.36")},
}


def _minor(version: str) -> int:
    head, _, minor = version.partition(".")
    return int(minor) if head == "1" and minor.isdigit() else -1


def _addon_version(args: dict[str, Any], region: str) -> dict[str, Any]:
    """The table's version, else (a minor the config check lets through but the table does
    not list, e.g. one newer than the program knows) the nearest minor's, as a stand-in: the
    offline plan cannot know what EKS offers; a real preview asks (components/preflight.py)."""
    addon, kubernetes = args.get("addonName"), str(args.get("kubernetesVersion"))
    offered = MOCK_ADDON_VERSIONS.get(addon, {})
    if not offered or _minor(kubernetes) < 0:
        # What EKS answers for an addon or version it knows nothing of.
        raise ValueError(f"no version of addon {addon} for Kubernetes {kubernetes}")
    nearest = min(offered, key=lambda k: (abs(_minor(k) - _minor(kubernetes)), -_minor(k)))
    version = offered[nearest]
    return {
        "addonName": addon,
        "kubernetesVersion": kubernetes,
        "mostRecent": args.get("mostRecent"),
        "version": version,
        "id": addon,
    }


# eks.existingCluster: the cluster someone else runs, as `aws eks describe-cluster` shows one
# (ACTIVE, access entries enabled, in the VPC the examples name). Tests swap in a cluster that
# cannot serve (CONFIG_MAP, another VPC, an old version) through INVOKES_BY_TOKEN.
MOCK_CLUSTER_VPC = "vpc-0123456789abcdef0"
MOCK_CLUSTER_SUBNETS = ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1")
MOCK_CLUSTER_VERSION = "1.35"


def existing_cluster(
    name: str,
    region: str,
    version: str = MOCK_CLUSTER_VERSION,
    authentication_mode: str = "API_AND_CONFIG_MAP",
    vpc_id: str = MOCK_CLUSTER_VPC,
    service_cidr: str = "172.20.0.0/16",
) -> dict[str, Any]:
    """The answer to aws:eks/getCluster for a running cluster named `name`."""
    issuer = f"https://oidc.eks.{region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    return {
        "id": name,
        "name": name,
        "arn": _arn("eks", f"cluster/{name}", region),
        "clusterId": "00000000-0000-4000-8000-00000000c1a5",
        "createdAt": "2026-01-30T10:00:00Z",
        "endpoint": f"https://EXAMPLED539D4633E53DE1B71EXAMPLE.gr7.{region}.eks.amazonaws.com",
        "certificateAuthorities": [{"data": "bW9jay1leGlzdGluZy1jYQ=="}],
        "identities": [{"oidcs": [{"issuer": issuer}]}],
        "accessConfigs": [
            {
                "authenticationMode": authentication_mode,
                "bootstrapClusterCreatorAdminPermissions": True,
            }
        ],
        "version": version,
        "platformVersion": "eks.5",
        "status": "ACTIVE",
        "roleArn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/{name}-cluster",
        "enabledClusterLogTypes": ["api", "audit"],
        "kubernetesNetworkConfigs": [
            {"ipFamily": "ipv4", "serviceIpv4Cidr": service_cidr, "serviceIpv6Cidr": ""}
        ],
        "vpcConfig": {
            "clusterSecurityGroupId": "sg-0existingcluster0",
            "controlPlaneEgressMode": "AWS_MANAGED",
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
            "publicAccessCidrs": [],
            "securityGroupIds": [],
            "subnetIds": list(MOCK_CLUSTER_SUBNETS),
            "vpcId": vpc_id,
        },
        "tags": {"owner": "platform"},
        "region": region,
    }


def _open_id_connect_provider(args: dict[str, Any], region: str) -> dict[str, Any]:
    """The cluster's IAM OIDC provider, found by its issuer URL (IRSA needs one)."""
    host = str(args.get("url", "")).removeprefix("https://")
    arn = f"arn:aws:iam::{MOCK_ACCOUNT}:oidc-provider/{host}"
    return {
        "arn": arn,
        "id": arn,
        "url": host,
        "clientIdLists": ["sts.amazonaws.com"],
        "thumbprintLists": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        "tags": {},
    }


# The caller `pulumi up` runs as (tests swap in an assumed-role session).
MOCK_CALLER_ARN = f"arn:aws:iam::{MOCK_ACCOUNT}:user/mock"

INVOKES_BY_TOKEN: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args, region: {
        "accountId": MOCK_ACCOUNT,
        "arn": MOCK_CALLER_ARN,
        "userId": "AIDAMOCK",
        "id": MOCK_ACCOUNT,
    },
    "aws:eks/getAddonVersion:getAddonVersion": _addon_version,
    "aws:eks/getCluster:getCluster": lambda args, region: existing_cluster(args["name"], region),
    "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": _open_id_connect_provider,
    "aws:servicequotas/getServiceQuota:getServiceQuota": _service_quota,
    "aws:ec2/getSubnet:getSubnet": _subnet,
    # Every AMI alias has its parameter offline (tests swap in a missing one).
    "aws:ssm/getParameter:getParameter": lambda args, region: {
        "name": args.get("name"),
        "value": "ami-0mock0000000000000",
        "insecureValue": "ami-0mock0000000000000",
        "type": "String",
        "version": 1,
        "arn": f"arn:aws:ssm:{region}::parameter{args.get('name')}",
        "id": args.get("name"),
    },
    "aws:ec2/getRouteTable:getRouteTable": _route_table,
    # A fresh account: no EC2 Spot service-linked role yet (tests swap in an existing one).
    "aws:iam/getRoles:getRoles": lambda args, region: {"arns": [], "names": [], "id": "mock"},
    "aws:iam/getRole:getRole": lambda args, region: {
        "name": args.get("name"),
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/{args.get('name')}",
        "tags": {},
        "id": args.get("name"),
    },
}


def _availability_zones(region: str) -> dict[str, Any]:
    """The region's real zones (components/domain/aws_regions.py), as AWS lists them."""
    known = zones(region)
    if not known:
        raise NotImplementedError(f"offline evaluation knows no zones of region {region}")
    return {
        "names": [name for name, _ in known],
        "zoneIds": [zone_id for _, zone_id in known],
        "id": region,
    }


def invoke_result(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    """The answer to one invoke, or NotImplementedError naming the token nobody modelled."""
    if token in INVOKES_BY_TOKEN:
        return INVOKES_BY_TOKEN[token](args, region)
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return _availability_zones(region)
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    if token == "aws:ssm/getParameter:getParameter":
        return {"name": args.get("name"), "value": "ami-0mock0000000000000", "type": "String"}
    if token == "aws:ec2/getVpc:getVpc":
        return {
            "id": args.get("id"),
            "cidrBlock": "10.0.0.0/16",
            "arn": _arn("ec2", "vpc/mock", region),
        }
    if token == "aws:iam/getPolicyDocument:getPolicyDocument":
        return {"json": json.dumps({"Version": "2012-10-17", "Statement": []}), "id": "mock"}
    raise NotImplementedError(f"offline evaluation has no answer for invoke {token}")
