"""Stack configuration: read once, validated as a whole, turned into frozen dataclasses.

Every problem is collected before anything is raised, so `pulumi preview` shows the user the
complete list (key, bad value, fix) instead of the first error or a provider traceback. The
keys, their types and defaults come from components/config/schema.py; this module adds the
checks that span several keys.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pulumi

from components.config import schema
from components.config.architecture import check_architectures
from components.config.commands import HIDDEN
from components.config.credentials import credential_warnings, unkept_secret_problems
from components.config.ecs_section import parse_ecs, read_name
from components.config.egress import check_proxy_settings
from components.config.eks_checks import (
    check_admin_principals,
    check_eks_pod_room,
    check_eks_poll_timeout,
    check_existing_cluster_network,
    check_karpenter_mode,
    check_private_endpoint,
    warn_cluster_keys_ignored,
)
from components.config.feasibility import check_all, deployment_region
from components.config.gitlab import parse_cache, parse_gitlab
from components.config.leftovers import check_leftovers
from components.config.misplaced import namespace_key_problem, project_key_problem
from components.config.model import (
    ConfigError,
    EksSpec,
    ImagesSpec,
    NetworkSpec,
    PreflightSpec,
    RunnerSpec,
    RunnerToken,
    StackConfig,
)
from components.config.observability import parse_observability
from components.config.reader import Reader, namespace_problem, shown
from components.config.registries import check_registries
from components.config.switch import retiring_raw
from components.config.tokens import parse_tokens
from components.domain.fleet_rules import (
    duplicate_problems,
    ecs_lane_problem,
    fargate_size_problem,
    task_definition_problem,
)
from components.domain.section_rules import endpoint_cidrs_problem
from components.domain.subnets import (
    SubnetLayout,
    capacity_shortfall,
    ecs_placement_fixes,
    fixed_layout,
    jobs_per_subnet,
    vpc_prefix_problem,
)
from components.naming import PROJECT


def _parse_runner(r: Reader, index: int, raw: Any, mode: str) -> RunnerSpec | None:
    label = f"runners[{index}]"
    if not isinstance(raw, dict):
        r.problem(f"{label}: expected an object, got {shown(raw)}")
        return None
    name = read_name(r, label, raw.get("name"), "fargate")
    if name is not None:
        label = f"runners[{index}] ({name})"
    values = schema.RUNNER.read(r, label, {k: v for k, v in raw.items() if k != "name"}, mode)
    values["name"] = name or f"runner-{index}"
    values["tags"] = values["tags"] or (values["name"],)
    r.report(ecs_lane_problem(label, values["lane"]) if mode == "ecs" else None)
    if mode == "eks" and values["lane"] == "fargate":  # EC2 lanes: eks_checks.py
        r.report(fargate_size_problem(label, values["cpu"], values["memory"]))
    runner = RunnerSpec(**values)
    return replace(runner, request_concurrency=runner.request_concurrency_in(mode))


OPEN_TO_ALL = "0.0.0.0/0"


def _parse_eks(r: Reader, raw: Any, mode: str) -> EksSpec:
    values = schema.EKS_SECTION.read(r, "eks", raw, mode)
    if mode == "eks":
        check_karpenter_mode(r, values["existing_cluster"], values["karpenter"])
    if values["existing_cluster"] is not None and mode == "eks":
        # Someone else's cluster: its endpoint, versions and access are not this stack's.
        warn_cluster_keys_ignored(r, values["existing_cluster"], raw)
        return EksSpec(**values)
    values["public_access_cidrs"] = public_access_cidrs(r, EksSpec(**values), mode == "eks")
    return EksSpec(**values)


def public_access_cidrs(r: Reader, eks: EksSpec, report: bool = True) -> tuple[str, ...]:
    """Who may reach the public endpoint: none without one (set ones are refused:
    section_rules.py `endpoint_cidrs_problem`), the whole internet (warned) when a public
    endpoint names nobody. `report`: in eks mode only."""
    if eks.endpoint_access == "private":
        if report:
            r.report(endpoint_cidrs_problem(eks))
        return ()
    cidrs = tuple(eks.public_access_cidrs)
    if not cidrs:
        cidrs = (OPEN_TO_ALL,)
    if OPEN_TO_ALL in cidrs and report:
        r.warn(
            "eks.publicAccessCidrs: the Kubernetes API endpoint is open to the whole internet "
            "(0.0.0.0/0); narrow it with `pulumi config set --path 'eks.publicAccessCidrs[0]' "
            "<your CIDR>` or use `eks.endpointAccess: private` from inside the VPC "
            "(docs/eks-operations.md)"
        )
    return cidrs


def _parse_network(
    r: Reader, raw: Any, mode: str, concurrencies: list[int], cap: int
) -> NetworkSpec:
    values = schema.NETWORK.read(r, "network", raw, mode)
    data = raw if isinstance(raw, dict) else {}
    layout = None
    if values["vpc_id"] is not None:
        needed = 2 if mode == "eks" else 1
        if len(values["private_subnet_ids"]) < needed:
            r.problem(
                f"network.privateSubnetIds: an existing VPC needs at least {needed} private "
                f"subnet id(s) in {mode} mode{' (EKS needs two AZs)' * (mode == 'eks')}; got "
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
        layout = _plan_layout(r, values, mode, concurrencies, cap)
    network = NetworkSpec(**values, layout=layout)
    check_proxy_settings(r, network)
    return network


def _plan_layout(
    r: Reader, values: dict[str, Any], mode: str, concurrencies: list[int], cap: int
) -> SubnetLayout | None:
    """The fixed layout of a new VPC, checked against the runners' concurrency."""
    cidr, zones = values["vpc_cidr"], values["availability_zones"]
    problem = vpc_prefix_problem(cidr)  # the schema checked it is a CIDR
    if problem:
        r.problem(f"network.vpcCidr: {cidr} {problem}")
        return None
    layout = fixed_layout(cidr, zones)
    subnets = layout.private
    per = [jobs_per_subnet(c) for c in subnets]
    shortfall = capacity_shortfall(mode, concurrencies, per, cap)
    if not shortfall:
        return layout
    needed, fits = shortfall
    size = f"private /{subnets[0].split('/')[1]} subnets of {cidr} hold {fits}"
    per16 = jobs_per_subnet(fixed_layout("10.0.0.0/16", 1).private[0])
    larger = f"a larger network.vpcCidr (a /16 holds {per16} "
    if mode == "eks":
        r.problem(
            f"runners: {needed} concurrent jobs must fit in the {zones} private subnets "
            f"together, but the {size} (one IP per pod, with headroom); use {larger}"
            "jobs per private subnet), more availabilityZones or fewer jobs per runner"
        )
        return layout
    more_zones, lower_cap = ecs_placement_fixes(concurrencies, per[0], zones, cap)
    fixes = [f"{larger}jobs per private subnet)"]
    if more_zones:
        fixes.append(f"network.availabilityZones: {more_zones}")
    if lower_cap:
        fixes.append(f"ecs.maxJobsPerManager: {lower_cap} (more managers, spread over the zones)")
    r.problem(
        f"runners: {needed} concurrent jobs land in one private subnet (one manager: runner r "
        f"in subnet r mod {zones}; several: manager i in subnet i mod {zones}; "
        f"ecs.maxJobsPerManager {cap}), but the {size} (one "
        f"IP per task, with headroom); use {', or '.join(fixes)}, or fewer jobs per runner"
    )
    return layout


def parse_config(
    raw: Mapping[str, Any],
    tokens_are_secret: bool = True,
    gitlab_token_is_secret: bool = True,
    region: str | None = None,
    today: dt.date | None = None,
    secret_keys: frozenset[str] = frozenset(),
) -> tuple[StackConfig, list[str]]:
    """Validate raw (JSON-decoded) project config; returns the typed config and warnings.

    `region` is aws:region (None: unknown, not checked); `today` dates the version checks;
    `secret_keys` are the top-level keys stored with --secret (not searched for credentials).
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
    misplaced = {k: p for k, v in raw.items() if (p := project_key_problem(k, v))}
    r.problems += misplaced.values()
    given = {k: v for k, v in raw.items() if k != "mode" and k not in misplaced}
    top = schema.TOP.read(r, "", given, mode)
    secret_kinds = frozenset(k.name for k in schema.TOP.keys if k.kind == "secret")
    r.problems += unkept_secret_problems(secret_keys, secret_kinds)
    r.warnings += credential_warnings(given, secret_keys | secret_kinds)
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
    r.report(*duplicate_problems("runners", [x.name for x in runners]))

    ecs = parse_ecs(r, top["ecs"], mode)
    catalogue = [t.name for t in ecs.task_definitions]
    resolved = []
    for i, runner in enumerate(runners):
        wrong = task_definition_problem(
            f"runners[{i}] ({runner.name})", runner.task_definition, catalogue
        )
        if mode == "ecs" and wrong is not None:
            r.problem(wrong)
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
    if mode == "eks" and eks.existing_cluster is None:
        check_private_endpoint(r, eks, network)
    if mode == "eks" and eks.existing_cluster is not None:
        check_existing_cluster_network(r, eks.existing_cluster, network, top["network"])
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
        # A runner whose name was refused has no name to look its token up by: its one
        # problem is the name, not an invented missing token.
        written = [str(x.get("name")) for x in raw_runners if isinstance(x, dict)]
        names = [x.name for x in resolved if x.name in written]
        refused = tuple(n for n in written if n not in names)
        tokens = parse_tokens(r, top["runner_tokens"], names, tokens_are_secret, refused)
    cache = parse_cache(r, top["cache"], mode)
    images = ImagesSpec(**schema.IMAGES.read(r, "images", top["images"], mode))
    preflight = PreflightSpec(**schema.PREFLIGHT.read(r, "preflight", top["preflight"], mode))
    interval = (eks if mode == "eks" else ecs).check_interval
    observability, alerts = parse_observability(
        r, top["observability"], top["alerts"], mode, interval
    )
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
    check_registries(r, config)
    check_all(r, config, region, today or dt.date.today())  # bad values hold their defaults
    check_leftovers(r, config)
    if r.problems:
        raise ConfigError(r.problems)
    if top["switch_from"] is not None:
        config = replace(
            config,
            retiring=_retiring(
                raw,
                top["switch_from"],
                mode,
                (tokens_are_secret, gitlab_token_is_secret),
                region,
                today,
            ),
        )
    return config, r.warnings


def _retiring(
    raw: Mapping[str, Any],
    leaving: str,
    mode: str,
    secret: tuple[bool, bool],  # tokens_are_secret, gitlab_token_is_secret
    region: str | None,
    today: dt.date | None,
) -> StackConfig:
    """The config of the topology `switchFrom` names, read in its own mode."""
    try:
        retiring, _ = parse_config(retiring_raw(raw, leaving, mode), *secret, region, today)
    except ConfigError as error:
        raise ConfigError(
            [f"switchFrom: the {leaving} topology being left: {p}" for p in error.problems]
        ) from None
    return retiring


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
    misspelt += [
        p
        for k, v in every_key.items()
        if (p := namespace_key_problem(k, HIDDEN if runtime_config.is_config_secret(k) else v))
    ]

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
            secret_keys=frozenset(k for k in raw if is_secret(k)),
        )
    except ConfigError as error:
        raise ConfigError(misspelt + error.problems) from None
    if misspelt:
        raise ConfigError(misspelt)
    for warning in warnings:
        (warn or pulumi.log.warn)(warning)
    return config
