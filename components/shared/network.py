"""The VPC both topologies run in: new (sized from the runners' concurrency) or existing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.domain.specs import NetworkSpec
from components.naming import type_token

TYPE_TOKEN = type_token("network", "Network")

# Interface endpoints that keep image pulls, logs, secret reads and Session Manager traffic
# off the NAT gateway (ssmmessages/ec2messages carry the SSM sessions themselves).
INTERFACE_ENDPOINT_SERVICES = (
    "ecr.api",
    "ecr.dkr",
    "logs",
    "secretsmanager",
    "ssm",
    "ssmmessages",
    "ec2messages",
    "sts",
)


@dataclass(frozen=True)
class VpcRefs:
    """The network a fleet runs in, as ids: the Network component's (`Network.refs()`) or the
    VPC of your own program."""

    vpc_id: pulumi.Input[str]  # the fleet's security groups are created in it
    # Where job tasks/pods, managers and Fargate profiles go: private, with egress (NAT or
    # VPC endpoints) to GitLab, the registries and the AWS APIs.
    private_subnet_ids: pulumi.Input[Sequence[str]]
    # EKS: where Kubernetes may place internet-facing load balancers (None: none).
    public_subnet_ids: pulumi.Input[Sequence[str]] | None = None
    # What carries that egress (NAT gateways, routes, endpoints, or a component holding them):
    # the fleet depends on it, so `pulumi destroy` keeps it until draining managers and
    # Karpenter's finalizers are done with it.
    egress: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class NetworkArgs:
    spec: NetworkSpec
    # Tags for resources this component creates. Nothing is ever written onto an existing VPC
    # or its subnets: consumers (Karpenter) select those by id.
    tags: Mapping[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    """Private subnets for tasks/pods, public subnets with NAT for egress, optional endpoints."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._args = args
        spec = args.spec
        if spec.uses_existing_vpc:
            self._adopt_existing(spec)
        else:
            self._create_vpc(spec)
        if spec.vpc_endpoints:
            self._create_endpoints()
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )

    def refs(self) -> VpcRefs:
        """This network for a fleet: an existing VPC configured without public subnets gives
        none; the whole component carries the egress."""
        spec = self._args.spec
        public = (
            None
            if spec.uses_existing_vpc and not spec.public_subnet_ids
            else self.public_subnet_ids
        )
        return VpcRefs(self.vpc_id, self.private_subnet_ids, public, egress=(self,))

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _adopt_existing(self, spec: NetworkSpec) -> None:
        assert spec.vpc_id is not None
        self.vpc_id = pulumi.Output.from_input(spec.vpc_id)
        self.private_subnet_ids = pulumi.Output.from_input(list(spec.private_subnet_ids))
        self.public_subnet_ids = pulumi.Output.from_input(list(spec.public_subnet_ids))
        self._private_route_table_ids: list[pulumi.Output[str]] = []
        self.vpc_cidr = aws.ec2.get_vpc_output(id=spec.vpc_id).cidr_block

    def _create_vpc(self, spec: NetworkSpec) -> None:
        assert spec.layout is not None
        zones = aws.get_availability_zones_output(state="available").names
        vpc = aws.ec2.Vpc(
            f"{self._name}-vpc",
            cidr_block=spec.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**self._args.tags, "Name": f"{self._name}-vpc"},
            opts=self._child(),
        )
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        igw = aws.ec2.InternetGateway(
            f"{self._name}-igw", vpc_id=vpc.id, tags=self._args.tags, opts=self._child()
        )
        public_rt = aws.ec2.RouteTable(
            f"{self._name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**self._args.tags, "Name": f"{self._name}-public"},
            opts=self._child(),
        )
        public_subnets, private_subnets, nat_ids = [], [], []
        self._private_route_table_ids = []
        for index, (private_cidr, public_cidr) in enumerate(
            zip(spec.layout.private, spec.layout.public, strict=True)
        ):
            zone = zones[index]
            public = aws.ec2.Subnet(
                f"{self._name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**self._args.tags, "Name": f"{self._name}-public-{index}", "tier": "public"},
                opts=self._child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{self._name}-public-{index}-rta",
                subnet_id=public.id,
                route_table_id=public_rt.id,
                opts=self._child(),
            )
            public_subnets.append(public)
            if index == 0 or spec.nat_gateways == "perAz":
                eip = aws.ec2.Eip(
                    f"{self._name}-nat-{index}-eip",
                    domain="vpc",
                    tags=self._args.tags,
                    opts=self._child(),
                )
                nat = aws.ec2.NatGateway(
                    f"{self._name}-nat-{index}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags={**self._args.tags, "Name": f"{self._name}-nat-{index}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
                nat_ids.append(nat.id)
            private = aws.ec2.Subnet(
                f"{self._name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=private_cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={
                    **self._args.tags,
                    "Name": f"{self._name}-private-{index}",
                    "tier": "private",
                },
                opts=self._child(),
            )
            private_rt = aws.ec2.RouteTable(
                f"{self._name}-private-{index}-rt",
                vpc_id=vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_ids[-1])
                ],
                tags={**self._args.tags, "Name": f"{self._name}-private-{index}"},
                opts=self._child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{self._name}-private-{index}-rta",
                subnet_id=private.id,
                route_table_id=private_rt.id,
                opts=self._child(),
            )
            self._private_route_table_ids.append(private_rt.id)
            private_subnets.append(private)
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])

    def _create_endpoints(self) -> None:
        region = aws.get_region_output().region
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints-sg",
            vpc_id=self.vpc_id,
            description="HTTPS from inside the VPC to the AWS interface endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[self.vpc_cidr],
                    description="HTTPS from the VPC",
                )
            ],
            tags=self._args.tags,
            opts=self._child(),
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            aws.ec2.VpcEndpoint(
                f"{self._name}-endpoint-{service.replace('.', '-')}",
                vpc_id=self.vpc_id,
                service_name=region.apply(lambda r, s=service: f"com.amazonaws.{r}.{s}"),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_sg.id],
                tags=self._args.tags,
                opts=self._child(),
            )
        if self._private_route_table_ids:
            aws.ec2.VpcEndpoint(
                f"{self._name}-endpoint-s3",
                vpc_id=self.vpc_id,
                service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
                vpc_endpoint_type="Gateway",
                route_table_ids=self._private_route_table_ids,
                tags=self._args.tags,
                opts=self._child(),
            )
