"""The component provider: Pulumi's ComponentProvider, checking args before construct.

`ComponentProvider.construct` wraps any exception from a component's `__init__` in
ComponentInitError, which the provider server reports as a traceback
(pulumi/provider/experimental/component.py, pulumi/provider/server.py `Construct`). The server
reports an `InputPropertiesError` instead as per-property errors, so this provider checks the
args before it constructs anything: whole numbers, the inputs that are stack keys (read by
those keys' own rules), the runners' and catalogue entries' own keys, the package's value
rules (components/domain/fleet_rules.py, the same functions the stack file's parser and the
fleets call: versions, warm jobs, what Karpenter can launch for the EC2 lanes...), a token
per runner and, once every value is valid, the stack file's checks across keys for their
warnings (fleet_checks.py: untested releases, the GPU category, an open endpoint...). It leans on
ComponentProvider's `map_inputs` and component definitions, an experimental API:
requirements.txt pins the SDK, and the construct-path tests are the alarm.
"""

import datetime as dt
import inspect
import json
import re
from typing import Any

from fleet_checks import ecs_across, eks_across, item_keys
from fleet_components import EcsRunnerFleet, EksRunnerFleet
from fleet_specs import (
    ECS_INPUTS,
    EKS_INPUTS,
    ecs_fleet_spec,
    eks_fleet_spec,
    existing_cluster,
)
from pulumi import Output, ResourceOptions, log
from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails
from pulumi.provider import ConstructResult
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.runtime.sync_await import _sync_await

from components import __version__
from components.config.eks_checks import CLUSTER_ONLY_KEYS, warn_cluster_keys_ignored
from components.config.keys import Key
from components.config.reader import Reader
from components.config.schema import NETWORK, TOP
from components.config.schema_ecs import ECS_SECTION
from components.config.schema_eks import EKS_SECTION
from components.config.schema_gitlab import CACHE_SECTION, GITLAB_SECTION
from components.config.schema_images import IMAGES
from components.domain.fleet_rules import (
    ecs_fleet_problems,
    eks_fleet_problems,
    existing_cluster_problems,
)
from components.domain.grammar import check_role_arn
from components.domain.value_rules import shown

PACKAGE = "gitlab-fargate-runners"
AWS_PROFILE = Key("kubeconfigProfile", "string", None, "AWS profile of `aws eks get-token`.")
AWS_ROLE = Key(
    "kubeconfigRoleArn",
    "string",
    None,
    "IAM role `aws eks get-token` assumes.",
    check=check_role_arn,
)
COMPONENTS = [EcsRunnerFleet, EksRunnerFleet]
# Inputs that are stack keys, with the stack key's path: read by that key's own rules (the
# reader's text checks, and noProxy, which reaches the fleets' args only as NO_PROXY).
COMMON_KEYS: dict[str, tuple[str, Key]] = {
    # A port out of range raised ValueError mid-construct (security.py's urlparse().port); a
    # user and password would be written in plain text into config.toml.
    "gitlabUrl": ("gitlabUrl", TOP.key("gitlabUrl")),
    "caBundle": ("gitlab.caBundle", GITLAB_SECTION.key("caBundle")),
    "httpProxy": ("network.httpProxy", NETWORK.key("httpProxy")),
    "noProxy": ("network.noProxy", NETWORK.key("noProxy")),
    "buildCacheExpirationDays": ("cache.expirationDays", CACHE_SECTION.key("expirationDays")),
}
KEYS: dict[str, dict[str, tuple[str, Key]]] = {
    # Every setting under its stack key's rule: e.g. a runnerVersion the managers cannot
    # download ('v19.3.0', 'latest') failed every boot, a maxJobsPerManager above 250 raised
    # mid-construct (ecs/sizing.py).
    "EcsRunnerFleet": {
        **COMMON_KEYS,
        **{name: (f"ecs.{name}", ECS_SECTION.key(name)) for name in ECS_INPUTS},
    },
    "EksRunnerFleet": {
        **COMMON_KEYS,
        **{name: (f"eks.{name}", EKS_SECTION.key(name)) for name in EKS_INPUTS},
        "helperImage": ("images.helperImage", IMAGES.key("helperImage")),
        # The AWS provider's own settings: no stack key of this program reads them.
        "kubeconfigProfile": ("kubeconfigProfile", AWS_PROFILE),
        "kubeconfigRoleArn": ("kubeconfigRoleArn", AWS_ROLE),
    },
}
# The input each stack path stands for (`cache.expirationDays`: buildCacheExpirationDays).
INPUT_OF_PATH = {path: arg for keys in KEYS.values() for arg, (path, _) in keys.items()}

# What each fleet's value rules check, by component class name.
CHECKS = {
    "EcsRunnerFleet": lambda args: ecs_fleet_problems(ecs_fleet_spec(args)),
    "EksRunnerFleet": lambda args: [
        *eks_fleet_problems(spec := eks_fleet_spec(args), joined := existing_cluster(args)),
        *existing_cluster_problems(joined, args["clusterName"], spec),
    ],
}
# The stack file's checks across keys (fleet_checks.py), once every value is valid: their
# warnings (their problems are the value rules').
ACROSS = {"EcsRunnerFleet": ecs_across, "EksRunnerFleet": eks_across}
# A rule's message starts with its key path, e.g. `runners[0] (build).lane: ...`.
PROBLEM_PATH = re.compile(r"^(?P<path>[A-Za-z0-9_.\[\]-]+(?: \([^)]*\))?[A-Za-z0-9_.\[\]-]*): ")
STACK_SECTIONS = ("ecs.", "eks.", "gitlab.", "network.")


def property_path(problem: str) -> str:
    """The schema property a rule's message names: `runners[0].lane`, `taskDefinitions[1]`."""
    match = PROBLEM_PATH.match(problem)
    if match is None:
        return ""
    path = re.sub(r" \([^)]*\)", "", match.group("path"))
    for stack_path, arg in INPUT_OF_PATH.items():
        if path == stack_path or path.startswith((f"{stack_path}.", f"{stack_path}[")):
            return arg + path.removeprefix(stack_path)
    for section in STACK_SECTIONS:
        path = path.removeprefix(section)
    return path


def known_value(value: Any) -> Any:
    """A plain value, or an Output's value when it is known (None when not: at preview).
    Construct gets resolved Outputs (the server decoded them from the request), so this
    waits for nothing; it pumps the loop the way the SDK's synchronous invokes do."""
    if not isinstance(value, Output):
        return value
    return _sync_await(value.future())


def token_problems(runners: list[dict[str, Any]], tokens: Any) -> list[str]:
    """Every runner needs its token; an unknown map (preview) is checked at `up`."""
    known = known_value(tokens)
    if known is None:
        return []
    if not isinstance(known, dict):
        return ["runnerTokens: expected an object of runner name -> glrt- token"]
    given = ", ".join(sorted(known)) or "none"
    return [
        f"runnerTokens.{r['name']}: missing; give every runner its glrt- token under its "
        f"name (runnerTokens has: {given})"
        for r in runners
        if not known_value(known.get(r["name"]))
    ]


def ignored_cluster_inputs(args: dict[str, Any]) -> list[str]:
    """The stack file's warnings for settings of a cluster of the fleet's own, given with a
    cluster it joins (eks_checks.py `warn_cluster_keys_ignored`)."""
    joined = args.get("existingCluster")
    if not isinstance(joined, dict):
        return []
    reader = Reader()
    given = {k: args[k] for k in CLUSTER_ONLY_KEYS if args.get(k) is not None}
    warn_cluster_keys_ignored(reader, joined["name"], given)
    return reader.warnings


def cache_problems(args: dict[str, Any]) -> list[str]:
    """Your bucket and no build cache at all cannot both be meant, nor an expiry for a bucket
    the fleet does not create."""
    if args.get("buildCacheBucket") is None or args.get("buildCache", True):
        problems = []
    else:
        problems = [
            "buildCacheBucket: set, but buildCache is false; remove buildCacheBucket for no "
            "build cache, or buildCache to use your bucket"
        ]
    created = args.get("buildCacheBucket") is None and args.get("buildCache", True)
    if args.get("buildCacheExpirationDays") is not None and not created:
        problems.append(
            "buildCacheExpirationDays: set, but the fleet creates no cache bucket (buildCache "
            "is false or buildCacheBucket is yours, with its own lifecycle rules); remove "
            "buildCacheExpirationDays"
        )
    return problems


def _clean_descriptions(node: Any) -> Any:
    """Docstrings as written, without the source's indentation: the analyzer copies a field's
    docstring as it stands, continuation lines' leading blanks included."""
    if isinstance(node, dict):
        return {
            k: inspect.cleandoc(v)
            if k == "description" and isinstance(v, str)
            else _clean_descriptions(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_clean_descriptions(v) for v in node]
    return node


class FleetProvider(ComponentProvider):
    """Refuses bad args with per-property errors before any resource registers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = json.dumps(_clean_descriptions(json.loads(self.schema)))

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
        errors, warnings = self.findings(component, dict(mapped))
        if errors:
            raise InputPropertiesError(
                f"{component} {name!r}: {len(errors)} invalid input(s)", errors
            )
        for warning in warnings:
            log.warn(f"{component} {name!r}: {warning}")
        return super().construct(name, resource_type, inputs, options)

    def findings(
        self, component: str, args: dict[str, Any]
    ) -> tuple[list[InputPropertyErrorDetails], list[str]]:
        """The problems of one component's mapped args, each with the property it names, and
        the warnings of valid ones."""
        problems: list[str] = []
        whole = self.whole_numbers(args, self._component_defs[component].inputs, "", problems)
        reader = Reader()
        if not problems:
            for arg, (path, key) in KEYS[component].items():
                key.read(reader, path, whole.get(arg))
            item_keys(reader, component, whole)
            problems = [*reader.problems, *CHECKS[component](whole)]
            if not problems:  # the checks across keys read valid values only
                ACROSS[component](reader, whole, dt.date.today())
                problems = list(reader.problems)
            problems += token_problems(whole["runners"], whole["runnerTokens"])
            problems += cache_problems(whole)
        # A stack key's rule and the fleet's own may find the same problem (gitlabUrl): once.
        unique = dict.fromkeys(problems)
        errors = [{"property_path": property_path(p), "reason": p} for p in unique]
        warnings = [*ignored_cluster_inputs(whole), *dict.fromkeys(reader.warnings)]
        return errors, warnings  # type: ignore[return-value]

    def whole_numbers(
        self, value: Any, properties: dict[str, PropertyDefinition], path: str, problems: list[str]
    ) -> Any:
        """`value` with every integer property's float as an int (the wire carries doubles,
        and map_inputs passes them on unconverted: component.py `map_input_properties`);
        anything else, a fraction, text or an Output (the number decides what exists), is
        refused with the stack file's text (reader.py `Reader.integer`)."""
        if not isinstance(value, dict):
            return value
        converted = dict(value)
        for key, prop in properties.items():
            where = f"{path}.{key}" if path else key
            item = value.get(key)
            if prop.type == PropertyType.INTEGER and item is not None:
                if isinstance(item, float) and item.is_integer():
                    converted[key] = int(item)
                elif isinstance(item, bool) or not isinstance(item, int):
                    got = "a value known only at deploy time" if isinstance(item, Output) else item
                    problems.append(f"{where}: expected a whole number, got {shown(got)}")
            elif prop.ref and ":" in prop.ref:
                fields = self.get_type_definition(prop).properties  # type: ignore[union-attr]
                converted[key] = self.whole_numbers(item, fields, where, problems)
            elif prop.items and prop.items.ref and isinstance(item, list):
                fields = self.get_type_definition(prop.items).properties  # type: ignore[union-attr]
                converted[key] = [
                    self.whole_numbers(element, fields, f"{where}[{i}]", problems)
                    for i, element in enumerate(item)
                ]
        return converted


def fleet_provider() -> FleetProvider:
    return FleetProvider(COMPONENTS, PACKAGE, None, __version__)
