"""The fleets' args as the package's own settings (components/domain/specs.py): pure functions,
run by the provider's checks before construct and by the components themselves.

Most inputs are stack config keys under the same name (`runners[].warmJobs`,
`ecs.driverVersion`, `eks.endpointAccess`...): those are listed here by their stack key and
mapped by that key's own attribute (components/config/schema*.py `Key.attr`), so the input, the
spec field and the rule that checks it cannot drift apart. Integers arrive as floats over the
wire (pulumi/provider/experimental/component.py passes the decoded struct values on as they
are), so every int is converted; lists become the specs' tuples.
"""

from typing import Any

from fleet_args import EcsRunnerFleetArgs, EksRunnerFleetArgs, RunnerArgs, TaskDefinitionArgs

from components.config.egress import bypass_list, proxy_variables
from components.config.keys import Key, Section
from components.config.schema import RUNNER
from components.config.schema_ecs import ECS_SECTION, TASK_DEFINITION
from components.config.schema_eks import EKS_SECTION
from components.domain.specs import (
    KARPENTER_INSTALL,
    EcsFleetSpec,
    EcsSpec,
    EksFleetSpec,
    EksSpec,
    ExistingCluster,
    ObservabilitySpec,
    RunnerSpec,
    TaskDefinitionSpec,
)

# The inputs that are stack keys of a section, by fleet: what a consumer sets and the rule
# that reads it (the provider reads each with its key). The runners' and catalogue entries'
# `name` is read by the fleets' own rule, `environment` by the catalogue's (ecs_section.py).
RUNNER_INPUTS = tuple(k for k in RUNNER.names if k != "name")
TASK_DEFINITION_INPUTS = tuple(k for k in TASK_DEFINITION.names if k not in ("name", "environment"))
ECS_INPUTS = tuple(k for k in ECS_SECTION.names if k != "taskDefinitions")
# existingCluster and karpenter are the ExistingClusterArgs type (a cluster name and its mode).
EKS_INPUTS = tuple(k for k in EKS_SECTION.names if k not in ("existingCluster", "karpenter"))


def _int(value: object) -> int:
    """Numbers arrive as floats over the wire; an int-valued float is that int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected a whole number, got {value!r}")


def _value(key: Key, value: Any) -> Any:
    if key.kind == "integer":
        return _int(value)
    if key.kind == "strings":
        return tuple(value)
    return value


def section_values(raw: Any, section: Section, names: tuple[str, ...]) -> dict[str, Any]:
    """{spec attribute: value} of the inputs given among `names`, each a key of `section`."""
    return {
        section.key(name).attr: _value(section.key(name), raw[name])
        for name in names
        if raw.get(name) is not None
    }


def runner_spec(raw: RunnerArgs) -> RunnerSpec:
    return RunnerSpec(name=raw["name"], **section_values(raw, RUNNER, RUNNER_INPUTS))


def task_definition_spec(raw: TaskDefinitionArgs) -> TaskDefinitionSpec:
    environment = tuple(sorted((raw.get("environment") or {}).items()))
    return TaskDefinitionSpec(
        name=raw["name"],
        environment=environment,
        **section_values(raw, TASK_DEFINITION, TASK_DEFINITION_INPUTS),
    )


FleetArgs = EcsRunnerFleetArgs | EksRunnerFleetArgs


def proxy_environment(
    proxy: str | None, no_proxy: list[str] | None, eks: bool
) -> tuple[tuple[str, str], ...]:
    """HTTP(S)_PROXY and NO_PROXY as the stack program sets them for an existing VPC (its CIDR
    is not known here: put it in `noProxy`)."""
    return proxy_variables(proxy or None, bypass_list(eks, no_proxy or ()))


def _common(args: FleetArgs, eks: bool) -> dict:
    return {
        "gitlab_url": args.get("gitlabUrl") or "https://gitlab.com",
        "runners": tuple(runner_spec(r) for r in args["runners"]),
        "log_retention_days": _int(args.get("logRetentionDays", 30)),
        "observability": ObservabilitySpec(enabled=bool(args.get("observability", True))),
        "ca_bundle": args.get("caBundle") or None,
        "proxy_environment": proxy_environment(args.get("httpProxy"), args.get("noProxy"), eks=eks),
    }


def ecs_fleet_spec(args: EcsRunnerFleetArgs) -> EcsFleetSpec:
    """The package's ECS fleet settings for these args (pure: validated before construct)."""
    overrides = section_values(args, ECS_SECTION, ECS_INPUTS)
    catalogue = tuple(task_definition_spec(t) for t in args.get("taskDefinitions") or ())
    if catalogue:
        overrides["task_definitions"] = catalogue
    return EcsFleetSpec(ecs=EcsSpec(**overrides), **_common(args, eks=False))


def eks_fleet_spec(args: EksRunnerFleetArgs) -> EksFleetSpec:
    """The package's EKS fleet settings for these args (pure: validated before construct)."""
    return EksFleetSpec(
        eks=EksSpec(**section_values(args, EKS_SECTION, EKS_INPUTS)),
        helper_image=args.get("helperImage") or None,
        **_common(args, eks=True),
    )


def existing_cluster(args: EksRunnerFleetArgs) -> ExistingCluster | None:
    """The cluster the fleet joins, or None for a cluster of its own."""
    raw = args.get("existingCluster")
    if raw is None:
        return None
    return ExistingCluster(name=raw["name"], karpenter=raw.get("karpenter") or KARPENTER_INSTALL)


def cache_expiration_days(args: FleetArgs) -> int:
    """Days the fleet's own cache bucket keeps an archive (cache.expirationDays)."""
    return _int(args.get("buildCacheExpirationDays", 14))


def kubeconfig_credentials(args: EksRunnerFleetArgs) -> tuple[str | None, str | None]:
    """The profile and role of the Kubernetes provider's `aws eks get-token` (the stack
    program passes aws:profile and the last aws:assumeRoles role, components/topology.py)."""
    return args.get("kubeconfigProfile") or None, args.get("kubeconfigRoleArn") or None
