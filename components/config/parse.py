"""Stack configuration: read once, validated as a whole, turned into frozen dataclasses.

Every problem is collected before anything is raised, so `pulumi preview` shows the user the
complete list (key, bad value, fix) instead of the first error or a provider traceback. The
keys, their types and defaults come from components/config/schema.py; this module adds the
checks that span several keys.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pulumi

from components.config import schema
from components.config.architecture import check_architectures
from components.config.eks_checks import (
    check_admin_principals,
    check_eks_pod_room,
    check_eks_poll_timeout,
    check_private_endpoint,
)
from components.config.feasibility import check_all, deployment_region
from components.config.gitlab import parse_cache, parse_gitlab
from components.config.model import (
    ConfigError,
    EcsSpec,
    EksSpec,
    ImagesSpec,
    NetworkSpec,
    PreflightSpec,
    RunnerSpec,
    RunnerToken,
    StackConfig,
    TaskDefinitionSpec,
)
from components.config.observability import parse_observability
from components.config.reader import Reader, namespace_problem, shown
from components.config.schema_ecs import DEFAULT_JOB_IMAGE
from components.config.tokens import parse_tokens
from components.domain.eks_sizing import request_concurrency_for
from components.domain.fargate_sizes import (
    is_valid_fargate_size,
    nearest_fargate_size,
)
from components.domain.subnets import (
    SubnetLayout,
    capacity_shortfall,
    fixed_layout,
    jobs_per_subnet,
    vpc_prefix_problem,
)
from components.naming import PROJECT

ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_TASK_DEFINITIONS = [{"name": "debian", "image": DEFAULT_JOB_IMAGE}]


def _name(r: Reader, path: str, value: Any, example: str) -> str | None:
    """A runner or catalogue name: it becomes part of namespaces, families and resources."""
    if isinstance(value, str) and re.fullmatch(schema.NAME_PATTERN, value):
        return value
    r.problem(
        f"{path}.name: {json.dumps(value)} is not a valid name; use 1-32 lowercase letters, "
        f"digits or '-', e.g. \"{example}\" (it names namespaces and resources)"
    )
    return None


def _check_fargate_size(r: Reader, path: str, cpu: int, memory: int) -> None:
    if not is_valid_fargate_size(cpu, memory):
        near_cpu, near_memory = nearest_fargate_size(cpu, memory)
        r.problem(
            f"{path}: cpu {cpu} / memory {memory} is not a valid Fargate size; the nearest valid "
            f"pair is cpu {near_cpu} / memory {near_memory} (see docs/configuration.md)"
        )


def _parse_runner(r: Reader, index: int, raw: Any, mode: str) -> RunnerSpec | None:
    label = f"runners[{index}]"
    if not isinstance(raw, dict):
        r.problem(f"{label}: expected an object, got {json.dumps(raw)}")
        return None
    name = _name(r, label, raw.get("name"), "fargate")
    if name is not None:
        label = f"runners[{index}] ({name})"
    values = schema.RUNNER.read(r, label, {k: v for k, v in raw.items() if k != "name"}, mode)
    values["name"] = name or f"runner-{index}"
    values["tags"] = values["tags"] or (values["name"],)
    if mode == "ecs" and values["lane"] not in schema.ECS_LANES:
        r.problem(
            f"{label}.lane: '{values['lane']}' is not available in ecs mode: Fargate cannot run "
            "privileged containers (Docker-in-Docker); use lane fargate or spot, or set mode eks"
        )
    if mode == "eks":
        _check_fargate_size(r, label, values["cpu"], values["memory"])
    if values["request_concurrency"] is None:
        values["request_concurrency"] = (
            request_concurrency_for(values["concurrency"]) if mode == "eks" else 1
        )
    return RunnerSpec(**values)


def _parse_task_definition(r: Reader, index: int, raw: Any) -> TaskDefinitionSpec | None:
    label = f"ecs.taskDefinitions[{index}]"
    if not isinstance(raw, dict):
        r.problem(f"{label}: expected an object, got {json.dumps(raw)}")
        return None
    name = _name(r, label, raw.get("name"), "debian") or f"task-{index}"
    label = f"ecs.taskDefinitions[{index}] ({name})"
    values = schema.TASK_DEFINITION.read(
        r, label, {k: v for k, v in raw.items() if k != "name"}, "ecs"
    )
    values["name"] = name
    if values["image"] is None and raw.get("image") is None:  # a bad one is reported
        r.problem(f'{label}.image: required; set the job image, e.g. "{DEFAULT_JOB_IMAGE}"')
    values["image"] = values["image"] or ""
    _check_fargate_size(r, label, values["cpu"], values["memory"])
    environment = r.string_map(f"{label}.environment", values["environment"], '{"TZ": "UTC"}')
    for key in environment:
        if not ENV_NAME_PATTERN.fullmatch(key):
            r.problem(f"{label}.environment.{key}: not a valid variable name; use A-Z, 0-9 and _")
        if key == "SSH_PUBLIC_KEY":
            r.problem(
                f"{label}.environment.SSH_PUBLIC_KEY: reserved; the Fargate driver injects it "
                "for every job, remove it"
            )
    values["environment"] = tuple(sorted(environment.items()))
    return TaskDefinitionSpec(**values)


def _report_duplicates(r: Reader, path: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            r.problem(f"{path}: the name '{name}' is used more than once; names must be unique")
        seen.add(name)


def _parse_ecs(r: Reader, raw: Any, mode: str) -> EcsSpec:
    values = schema.ECS_SECTION.read(r, "ecs", raw, mode)
    raw_defs = values["task_definitions"]
    if raw_defs is None:
        raw_defs = DEFAULT_TASK_DEFINITIONS
    if not isinstance(raw_defs, list) or not raw_defs:
        r.problem(
            f"ecs.taskDefinitions: expected a non-empty list of {{name, image, cpu, memory}}, "
            f"got {shown(raw_defs)}; the first entry is every runner's default (delete the key "
            "for the default catalogue)"
        )
        raw_defs = DEFAULT_TASK_DEFINITIONS
    parsed = [_parse_task_definition(r, i, d) for i, d in enumerate(raw_defs)]
    values["task_definitions"] = tuple(t for t in parsed if t is not None)
    _report_duplicates(r, "ecs.taskDefinitions", [t.name for t in values["task_definitions"]])
    if mode == "ecs" and values["driver_sha256"] is None:
        r.warn(
            f"ecs.driverSha256 is not set: the Fargate driver {values['driver_version']} is "
            "checked only against a checksum file published next to it, and none is known, so "
            "managers install it UNVERIFIED and log its SHA-256 (docs/ecs-operations.md); pin "
            "it: pulumi config set --path ecs.driverSha256 <64 hex digits>"
        )
    return EcsSpec(**values)


OPEN_TO_ALL = "0.0.0.0/0"


def _parse_eks(r: Reader, raw: Any, mode: str) -> EksSpec:
    values = schema.EKS_SECTION.read(r, "eks", raw, mode)
    cidrs = tuple(values["public_access_cidrs"])
    if values["endpoint_access"] == "private":
        if cidrs and mode == "eks":
            r.problem(
                f"eks.publicAccessCidrs: {list(cidrs)} cannot be used with eks.endpointAccess "
                "private (there is no public endpoint); remove eks.publicAccessCidrs or set "
                "eks.endpointAccess public"
            )
        values["public_access_cidrs"] = ()
        return EksSpec(**values)
    if not cidrs:
        cidrs = (OPEN_TO_ALL,)
    if OPEN_TO_ALL in cidrs and mode == "eks":
        r.warn(
            "eks.publicAccessCidrs: the Kubernetes API endpoint is open to the whole internet "
            "(0.0.0.0/0); narrow it with `pulumi config set --path 'eks.publicAccessCidrs[0]' "
            "<your CIDR>` or use `eks.endpointAccess: private` from inside the VPC "
            "(docs/eks-operations.md)"
        )
    values["public_access_cidrs"] = cidrs
    return EksSpec(**values)


def _parse_network(
    r: Reader, raw: Any, mode: str, concurrencies: list[int], max_jobs_per_manager: int
) -> NetworkSpec:
    values = schema.NETWORK.read(r, "network", raw, mode)
    data = raw if isinstance(raw, dict) else {}
    layout = None
    if values["vpc_id"] is not None:
        needed = 2 if mode == "eks" else 1
        if len(values["private_subnet_ids"]) < needed:
            r.problem(
                f"network.privateSubnetIds: an existing VPC needs at least {needed} private "
                f"subnet id(s) in {mode} mode (EKS needs two AZs); got "
                f"{len(values['private_subnet_ids'])}"
            )
        for key in ("vpcCidr", "availabilityZones", "natGateways"):
            if key in data:
                r.warn(f"network.{key} is ignored because network.vpcId is set")
        if values["vpc_endpoints"]:
            r.warn(
                "network.vpcEndpoints with an existing VPC creates the interface endpoints only; "
                "add the S3 gateway endpoint to your own route tables"
            )
    elif "vpcId" in data:
        pass  # a malformed vpcId was reported by the schema
    else:
        if values["private_subnet_ids"] or values["public_subnet_ids"]:
            r.problem(
                "network.privateSubnetIds/publicSubnetIds: subnet ids need network.vpcId; set "
                "vpcId to use an existing VPC, or remove them to create a new one"
            )
        layout = _plan_layout(r, values, mode, concurrencies, max_jobs_per_manager)
    return NetworkSpec(**values, layout=layout)


def _plan_layout(
    r: Reader,
    values: dict[str, Any],
    mode: str,
    concurrencies: list[int],
    max_jobs_per_manager: int,
) -> SubnetLayout | None:
    """The fixed layout of a new VPC, checked against the runners' concurrency."""
    cidr, zones = values["vpc_cidr"], values["availability_zones"]
    problem = vpc_prefix_problem(cidr)  # the schema checked it is a CIDR
    if problem:
        r.problem(f"network.vpcCidr: {cidr} {problem}")
        return None
    layout = fixed_layout(cidr, zones)
    subnets = layout.private
    shortfall = capacity_shortfall(
        mode, concurrencies, [jobs_per_subnet(c) for c in subnets], max_jobs_per_manager
    )
    if shortfall:
        needed, fits = shortfall
        where = (
            "one subnet (ECS: each manager starts a runner's tasks in one subnet)"
            if mode == "ecs"
            else (f"the {zones} private subnets together")
        )
        r.problem(
            f"runners: {needed} concurrent jobs must fit in {where}, but the private "
            f"/{subnets[0].split('/')[1]} subnets of {cidr} hold {fits} (one IP per task/pod, "
            "with headroom); use a larger network.vpcCidr (a /16 holds "
            f"{jobs_per_subnet(fixed_layout('10.0.0.0/16', 1).private[0])} jobs per private "
            "subnet), more availabilityZones or fewer jobs per runner"
        )
    return layout


def parse_config(
    raw: Mapping[str, Any],
    tokens_are_secret: bool = True,
    gitlab_token_is_secret: bool = True,
    region: str | None = None,
    today: dt.date | None = None,
) -> tuple[StackConfig, list[str]]:
    """Validate raw (JSON-decoded) project config; returns the typed config and warnings.

    `region` is aws:region (None: unknown, not checked); `today` dates the version checks.
    Raises ConfigError listing every problem. Never echoes a token value.
    """
    r = Reader()
    mode = raw.get("mode", "ecs")
    if mode not in schema.MODES:
        r.problem(
            f"mode: {shown(mode)} is not a topology this program builds; set "
            "`pulumi config set mode ecs` (ECS Fargate driver) or `pulumi config set mode eks` "
            "(EKS on Fargate with Karpenter)"
        )
        mode = "ecs"
    top = schema.TOP.read(r, "", {k: v for k, v in raw.items() if k != "mode"}, mode)
    for section in (schema.ECS_SECTION, schema.EKS_SECTION):
        value = raw.get(section.path)
        if value and mode not in section.modes and isinstance(value, dict):
            for sub in value:
                r.warn(f"{section.path}.{sub} is set but ignored in {mode} mode")

    raw_runners = top["runners"]
    if raw_runners is None:
        raw_runners = list(schema.TOP.default("runners"))
    if not isinstance(raw_runners, list) or not raw_runners:
        r.problem(
            f"runners: expected a non-empty list of runners, got {shown(raw_runners)}; e.g. "
            "[{name: fargate, concurrency: 10}], or delete the key for one default runner"
        )
        raw_runners = []
    parsed_runners = [_parse_runner(r, i, item, mode) for i, item in enumerate(raw_runners)]
    runners = [x for x in parsed_runners if x is not None]
    _report_duplicates(r, "runners", [x.name for x in runners])

    ecs = _parse_ecs(r, top["ecs"], mode)
    catalogue = [t.name for t in ecs.task_definitions]
    resolved = []
    for i, runner in enumerate(runners):
        if mode == "ecs" and runner.task_definition and runner.task_definition not in catalogue:
            r.problem(
                f"runners[{i}] ({runner.name}).taskDefinition: '{runner.task_definition}' is "
                f"not in ecs.taskDefinitions; use one of {', '.join(catalogue)}"
            )
        default_td = runner.task_definition or (catalogue[0] if catalogue else "")
        resolved.append(replace(runner, task_definition=default_td))
    eks = _parse_eks(r, top["eks"], mode)
    check_architectures(r, mode, resolved, ecs)
    if mode == "eks":
        check_admin_principals(r, eks)
        check_eks_pod_room(r, resolved, eks)
        check_eks_poll_timeout(r, resolved, eks)
    network = _parse_network(
        r, top["network"], mode, [x.concurrency for x in resolved], ecs.max_jobs_per_manager
    )
    if mode == "eks":
        check_private_endpoint(r, eks, network)
    gitlab, gitlab_token = parse_gitlab(
        r,
        top["gitlab"],
        top["gitlab_token"],
        gitlab_token_is_secret,
        top["runner_tokens"] is not None,
        mode,
        ecs,
    )
    tokens: tuple[tuple[str, RunnerToken], ...] = ()
    if not gitlab.create_runners:
        names = [x.name for x in resolved]
        tokens = parse_tokens(r, top["runner_tokens"], names, tokens_are_secret)
    cache = parse_cache(r, top["cache"], mode)
    images = ImagesSpec(**schema.IMAGES.read(r, "images", top["images"], mode))
    preflight = PreflightSpec(**schema.PREFLIGHT.read(r, "preflight", top["preflight"], mode))
    observability, alerts = parse_observability(r, top["observability"], top["alerts"], mode)
    config = StackConfig(
        mode=mode,
        gitlab_url=top["gitlab_url"].rstrip("/"),
        log_retention_days=top["log_retention_days"],
        runners=tuple(resolved),
        runner_tokens=tokens,
        network=network,
        ecs=ecs,
        eks=eks,
        gitlab=gitlab,
        gitlab_token=gitlab_token,
        cache=cache,
        images=images,
        preflight=preflight,
        observability=observability,
        alerts=alerts,
    )
    check_all(r, config, region, today or dt.date.today())  # bad values hold their defaults
    if r.problems:
        raise ConfigError(r.problems)
    return config, r.warnings


def read_raw_config(get: Callable[[str], str | None]) -> dict[str, Any]:
    """Turn Pulumi's string config values into JSON values for parse_config."""
    raw: dict[str, Any] = {}
    for key in schema.TOP.keys:
        value = get(key.name)
        if value is None:
            continue
        if key.kind in ("list", "object", "secret", "map"):
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                decoded = None
            # Only an object or a list is JSON here; "null", "7" or "" stay the text they are,
            # for the parser to refuse by name instead of taking null for "not set".
            raw[key.name] = decoded if isinstance(decoded, dict | list) else value
        else:
            raw[key.name] = value
    return raw


def load_stack_config(warn: Callable[[str], None] | None = None) -> StackConfig:
    """Read this stack's config through the Pulumi runtime, warn, and validate."""
    from pulumi.runtime import config as runtime_config

    cfg = pulumi.Config()
    raw = read_raw_config(cfg.get)
    prefix = f"{PROJECT}:"
    # The language host loads PULUMI_CONFIG into the runtime; read both in case it did not.
    every_key = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    for full_key, value in every_key.items():
        if full_key.startswith(prefix) and full_key[len(prefix) :] not in schema.TOP.names:
            raw[full_key[len(prefix) :]] = value
    misspelt = [p for k in every_key if (p := namespace_problem(k, PROJECT))]

    def is_secret(key: str) -> bool:
        full_key = f"{prefix}{key}"
        return (
            runtime_config.is_config_secret(full_key)
            or full_key in runtime_config.get_config_secret_keys_env()
        )

    try:
        config, warnings = parse_config(
            raw,
            tokens_are_secret=is_secret("runnerTokens"),
            gitlab_token_is_secret=is_secret("gitlabToken"),
            region=deployment_region(),
        )
    except ConfigError as error:
        raise ConfigError(misspelt + error.problems) from None
    if misspelt:
        raise ConfigError(misspelt)
    for warning in warnings:
        (warn or pulumi.log.warn)(warning)
    return config
