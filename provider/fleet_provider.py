"""The component provider: Pulumi's ComponentProvider, checking args before construct.

`ComponentProvider.construct` wraps any exception from a component's `__init__` in
ComponentInitError, which the provider server reports as a traceback
(pulumi/provider/experimental/component.py, pulumi/provider/server.py `Construct`). The server
reports an `InputPropertiesError` instead as per-property errors, so this provider runs the
package's own value rules (components/domain/fleet_rules.py: the texts a stack file gets)
before it constructs anything. It leans on ComponentProvider's `map_inputs`, an experimental
API: requirements.txt pins the SDK, and the construct-path tests are the alarm.
"""

import re
from typing import Any

from fleet_components import EcsRunnerFleet, EksRunnerFleet, ecs_fleet_spec, eks_fleet_spec
from pulumi import ResourceOptions
from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails
from pulumi.provider import ConstructResult
from pulumi.provider.experimental.component import ComponentProvider

from components import __version__
from components.domain.fleet_rules import ecs_fleet_problems, eks_fleet_problems

PACKAGE = "gitlab-fargate-runners"
COMPONENTS = [EcsRunnerFleet, EksRunnerFleet]
# What each fleet's value rules check, by component class name.
CHECKS = {
    "EcsRunnerFleet": lambda args: ecs_fleet_problems(ecs_fleet_spec(args)),
    "EksRunnerFleet": lambda args: eks_fleet_problems(eks_fleet_spec(args)),
}
# A rule's message starts with its key path, e.g. `runners[0] (build).lane: ...`.
PROBLEM_PATH = re.compile(r"^(?P<path>[A-Za-z0-9_.\[\]]+(?: \([^)]*\))?[A-Za-z0-9_.\[\]]*): ")


def property_path(problem: str) -> str:
    """The schema property a rule's message names: `runners[0].lane`, `taskDefinitions[1]`."""
    match = PROBLEM_PATH.match(problem)
    if match is None:
        return ""
    path = re.sub(r" \([^)]*\)", "", match.group("path"))
    return path.removeprefix("ecs.").removeprefix("eks.")


def property_errors(component: str, inputs: dict[str, Any]) -> list[InputPropertyErrorDetails]:
    """The value rules' problems for one component's mapped (Python-named) inputs."""
    try:
        problems = CHECKS[component](inputs)
    except (TypeError, ValueError, KeyError) as error:  # a number that is not whole, ...
        problems = [f": {error}"]
    return [{"property_path": property_path(p), "reason": p} for p in problems]


class FleetProvider(ComponentProvider):
    """Refuses bad args with per-property errors before any resource registers."""

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: dict[str, Any],
        options: ResourceOptions | None = None,
    ) -> ConstructResult:
        self.validate_resource_type(self._name, resource_type)
        component = resource_type.rsplit(":", maxsplit=1)[-1]
        mapped = self.map_inputs(inputs, self._component_defs[component])
        errors = property_errors(component, dict(mapped))
        if errors:
            raise InputPropertiesError(
                f"{component} {name!r}: {len(errors)} invalid input(s)", errors
            )
        return super().construct(name, resource_type, inputs, options)


def fleet_provider() -> FleetProvider:
    return FleetProvider(COMPONENTS, PACKAGE, None, __version__)
