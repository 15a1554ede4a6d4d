"""What the provider checks beyond each top-level input's stack key: the runners' and the
catalogue entries' keys (by the fleet's mode, as the stack file reads them), and the stack
file's checks across keys (components/config/feasibility.py, eks_checks.py, leftovers.py,
parse.py), run on the fleet's specs with the stack file's texts. The rules across keys that
refuse are the fleets' own (components/domain/fleet_rules.py `ecs_fleet_problems`,
`eks_fleet_problems`, which the provider runs first); what these add is the stack file's
warnings.

Each function fills a Reader: problems refuse the fleet before anything registers, warnings
are logged by construct.
"""

import datetime as dt
from typing import Any

from fleet_specs import (
    RUNNER_INPUTS,
    TASK_DEFINITION_INPUTS,
    ecs_fleet_spec,
    eks_fleet_spec,
    existing_cluster,
)
from pulumi import Output
from pulumi.runtime import rpc

from components.config.credentials import ENVIRONMENT_FIX, credential_kind
from components.config.ecs_section import read_environment
from components.config.eks_checks import (
    check_eks_pod_room,
    check_eks_poll_timeout,
    check_existing_cluster_network,
    check_private_endpoint,
)
from components.config.feasibility import check_manager_instance_type
from components.config.leftovers import check_instance_categories
from components.config.parse import public_access_cidrs
from components.config.reader import Reader
from components.config.schema import RUNNER
from components.config.schema_ecs import TASK_DEFINITION
from components.domain import versions
from components.domain.fleet_rules import name_problem
from components.domain.specs import KARPENTER_INSTALL, NetworkSpec

MODES = {"EcsRunnerFleet": "ecs", "EksRunnerFleet": "eks"}
# Read by the fleets' own rules (components/domain/fleet_rules.py), in their own words.
OWN_RULES = ("lane",)
# The network a fleet gets is always one the consumer owns (vpcId): what the stack file's
# checks say of an existing VPC holds (the id itself is not read here).
GIVEN_VPC = NetworkSpec(vpc_id="given")


def _label(path: str, index: int, item: dict[str, Any], example: str) -> str:
    """`runners[0] (build)`: the stack file's label of a list item, named once its name is."""
    label = f"{path}[{index}]"
    return label if name_problem(label, item.get("name"), example) else f"{label} ({item['name']})"


def item_keys(reader: Reader, component: str, args: dict[str, Any]) -> None:
    """Each runner's and catalogue entry's keys, read by their stack keys; a runner key of the
    other mode gets the stack file's 'ignored' warning."""
    mode = MODES[component]
    for index, runner in enumerate(args["runners"]):
        label = _label("runners", index, runner, "fargate")
        for name in RUNNER_INPUTS:
            key, value = RUNNER.key(name), runner.get(name)
            if value is None or name in OWN_RULES:
                continue
            if mode not in key.modes:
                modes = "/".join(key.modes)
                reader.warn(f"{label}.{name} is ignored in {mode} mode (it is used by {modes})")
            else:
                key.read(reader, f"{label}.{name}", value)
    if mode != "ecs":
        return
    for index, entry in enumerate(args.get("taskDefinitions") or ()):
        label = _label("ecs.taskDefinitions", index, entry, "debian")
        for name in TASK_DEFINITION_INPUTS:
            if entry.get(name) is not None:
                TASK_DEFINITION.key(name).read(reader, f"{label}.{name}", entry[name])
        environment_problems(reader, label, entry.get("environment"))


def _is_secret(value: Any) -> bool:
    """A secret or a deploy-time value: an Output (the engine's output values) or a secret
    the server left wrapped inside a plain input (rpc.py `wrap_rpc_secret`)."""
    return isinstance(value, Output) or rpc.is_rpc_secret(value)


def environment_problems(reader: Reader, label: str, environment: Any) -> None:
    """The catalogue's rules for `environment`; a secret is refused, since the task definition
    holds its values in plain text, and a plain credential is warned about (credentials.py)."""
    if not isinstance(environment, dict):
        read_environment(reader, label, environment)
        return
    plain = {}
    for name, value in environment.items():
        if _is_secret(value):
            reader.problem(
                f"{label}.environment.{name}: a secret (or a value known only at deploy time), "
                f"but task definitions hold environment values in plain text; {ENVIRONMENT_FIX}"
            )
        else:
            plain[name] = value
    for name, value in read_environment(reader, label, plain):
        kind = credential_kind(value)
        if kind is not None:
            reader.warn(
                f"{label}.environment.{name}: the value looks like {kind} and is written in "
                f"plain text into the task definition; {ENVIRONMENT_FIX}"
            )


def ecs_across(reader: Reader, args: dict[str, Any], today: dt.date) -> None:
    """The stack file's ecs-mode checks across keys, on values the fleet's rules passed
    (ecs_fleet_problems runs their problems): the runner release's and the pinned manager
    type's warnings."""
    spec = ecs_fleet_spec(args)  # type: ignore[arg-type]
    versions.check_runner_version(reader, spec.ecs.runner_version, today)
    check_manager_instance_type(reader, spec)


def eks_across(reader: Reader, args: dict[str, Any], today: dt.date) -> None:
    """The stack file's eks-mode checks across keys, on values the fleet's rules passed
    (eks_fleet_problems runs their problems): the releases', the GPU category's, Fargate-lane
    pods', the poll timeout's and the endpoint's warnings. A joined cluster's version and
    endpoint are its owner's (the stack file skips them too)."""
    spec = eks_fleet_spec(args)  # type: ignore[arg-type]
    joined = existing_cluster(args)  # type: ignore[arg-type]
    eks, runners = spec.eks, list(spec.runners)
    karpenter = joined.karpenter if joined is not None else KARPENTER_INSTALL
    versions.check_eks_versions(reader, eks, joined is not None, karpenter, today)
    check_instance_categories(reader, runners, eks, "eks")
    check_eks_pod_room(reader, runners, eks)
    check_eks_poll_timeout(reader, runners, eks)
    if joined is None:
        public_access_cidrs(reader, eks)
        check_private_endpoint(reader, eks, GIVEN_VPC)
    elif args.get("publicSubnetIds") is not None:
        given = {"publicSubnetIds": args["publicSubnetIds"]}
        check_existing_cluster_network(reader, joined.name, GIVEN_VPC, given)
