"""Config loading: every bad input is reported with its key, its value and the fix."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import (
    ConfigError,
    EcsSpec,
    EksSpec,
    ImagesSpec,
    NetworkSpec,
    PreflightSpec,
    RunnerSpec,
    TaskDefinitionSpec,
    parse_config,
    schema,
)
from components.config import docs as config_docs
from components.config.schema_ecs import DEFAULT_JOB_IMAGE
from components.naming import PROJECT
from tests.harness import ROOT, dev_config, sentinel

TOKENS = {"runnerTokens": {"fargate": sentinel("fargate")}}

# Preview says so while the driver download cannot be verified (no published checksum).
DRIVER_UNPINNED = (
    "ecs.driverSha256 is not set: the Fargate driver v0.5.1 is checked only against a checksum "
    "file published next to it, and none is known, so managers install it UNVERIFIED and log "
    "its SHA-256 (docs/ecs-operations.md); pin it: pulumi config set --path ecs.driverSha256 "
    "<64 hex digits>"
)


def one_runner(**runner: Any) -> dict[str, Any]:
    return {"runners": [{"name": "fargate", **runner}], **TOKENS}


def problems_of(raw: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, **kwargs)
    return caught.value.problems


# (id, raw config, fragments that must all appear in one problem message)
BAD_INPUTS: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("unknown mode", {"mode": "fargate", **TOKENS}, ("mode", "'fargate'", "ecs", "eks")),
    (
        "http url",
        {"gitlabUrl": "http://gitlab.example.com", **TOKENS},
        ("gitlabUrl", "http://gitlab.example.com", "https://"),
    ),
    ("url without host", {"gitlabUrl": "gitlab.com", **TOKENS}, ("gitlabUrl", "https://")),
    (
        "invalid fargate pair",
        {
            "ecs": {
                "taskDefinitions": [{"name": "big", "image": "x:1", "cpu": 1024, "memory": 1024}]
            },
            **TOKENS,
        },
        ("ecs.taskDefinitions[0] (big)", "cpu 1024 / memory 1024", "cpu 1024 / memory 2048"),
    ),
    (
        "cpu not in table",
        {
            "ecs": {
                "taskDefinitions": [{"name": "odd", "image": "x:1", "cpu": 1000, "memory": 2048}]
            },
            **TOKENS,
        },
        ("cpu 1000", "nearest valid pair is cpu 1024"),
    ),
    (
        "eks pod size",
        {"mode": "eks", **one_runner(cpu=2048, memory=2048)},
        ("runners[0] (fargate)", "memory 2048", "cpu 2048 / memory 4096"),
    ),
    (
        "concurrency zero",
        one_runner(concurrency=0),
        ("runners[0] (fargate).concurrency", "0", "between 1 and"),
    ),
    (
        "concurrency text",
        one_runner(concurrency="many"),
        ("runners[0] (fargate).concurrency", "'many'", "whole number"),
    ),
    (
        "cidr does not parse",
        {"network": {"vpcCidr": "10.0.0.0/33"}, **TOKENS},
        ("network.vpcCidr", "10.0.0.0/33", "10.42.0.0/16"),
    ),
    (
        "cidr prefix outside the fixed layout",
        {"network": {"vpcCidr": "10.0.0.0/24"}},
        ("network.vpcCidr", "10.0.0.0/24", "/16 to /20"),
    ),
    (
        "concurrency does not fit the fixed subnets",
        {
            "network": {"vpcCidr": "10.0.0.0/20"},
            "ecs": {"maxJobsPerManager": 250},
            **one_runner(concurrency=700),
        },
        ("467 concurrent jobs", "/23 subnets of 10.0.0.0/20 hold 380", "larger network.vpcCidr"),
    ),
    (
        "four managers do not fit two zones",
        # 4 managers of 200 jobs, 2 in each of the 2 zones' subnets (sizing.shard_subnet).
        {"network": {"vpcCidr": "10.0.0.0/20"}, **one_runner(concurrency=800)},
        ("400 concurrent jobs", "/23 subnets of 10.0.0.0/20 hold 380", "larger network.vpcCidr"),
    ),
    (
        "duplicate runners",
        {"runners": [{"name": "a"}, {"name": "a"}], "runnerTokens": {"a": sentinel("a")}},
        ("runners", "'a'", "unique"),
    ),
    (
        "typo in runner",
        one_runner(concurency=5),
        ("runners[0] (fargate).concurency", "did you mean 'concurrency'"),
    ),
    (
        "typo in network",
        {"network": {"vpcCidrs": "10.0.0.0/16"}, **TOKENS},
        ("network.vpcCidrs", "'vpcCidr'"),
    ),
    (
        "typo in ecs",
        {"ecs": {"driverVerison": "v0.4.0"}, **TOKENS},
        ("ecs.driverVerison", "'driverVersion'"),
    ),
    (
        "typo at top level",
        {"gitlabURL": "https://gitlab.com", **TOKENS},
        ("gitlabURL", "did you mean 'gitlabUrl'"),
    ),
    (
        "registration token",
        {"runnerTokens": {"fargate": "GR1348941abcdefgh"}},
        ("runnerTokens.fargate", "registration token", "glrt-", "pulumi config set --secret"),
    ),
    ("missing token", {"runnerTokens": {}}, ("runnerTokens.fargate", "missing", "--secret")),
    (
        "token for unknown runner",
        {"runnerTokens": {"fargate": sentinel("fargate"), "fargat": sentinel("x")}},
        ("runnerTokens.fargat", "no runner named", "'fargate'"),
    ),
    (
        "privileged lane on ecs",
        one_runner(lane="privileged"),
        ("runners[0] (fargate).lane", "privileged", "mode eks"),
    ),
    (
        "unknown lane",
        one_runner(lane="gpu"),
        ("runners[0] (fargate).lane", "'gpu'", "fargate | spot"),
    ),
    (
        "bad runner name",
        one_runner(name="Fargate_1"),
        ("runners[0].name", "Fargate_1", "lowercase"),
    ),
    (
        "unknown task definition",
        one_runner(taskDefinition="ruby"),
        ("taskDefinition", "'ruby'", "debian"),
    ),
    (
        "reserved env var",
        {
            "ecs": {
                "taskDefinitions": [
                    {"name": "d", "image": "x:1", "environment": {"SSH_PUBLIC_KEY": "k"}}
                ]
            },
            **TOKENS,
        },
        ("SSH_PUBLIC_KEY", "reserved"),
    ),
    (
        "unpinned driver",
        {"ecs": {"driverVersion": "latest"}, **TOKENS},
        ("ecs.driverVersion", "'latest'", "pin"),
    ),
    ("log retention", {"logRetentionDays": 10, **TOKENS}, ("logRetentionDays", "10", "14")),
    (
        "nat strategy",
        {"network": {"natGateways": "many"}, **TOKENS},
        ("network.natGateways", "'many'", "single | perAz"),
    ),
    (
        "eks needs two subnets",
        {
            "mode": "eks",
            "network": {"vpcId": "vpc-01234567", "privateSubnetIds": ["subnet-01111111"]},
            **TOKENS,
        },
        ("network.privateSubnetIds", "at least 2"),
    ),
    (
        "subnets without vpc",
        {"network": {"privateSubnetIds": ["subnet-01111111"]}, **TOKENS},
        ("network.privateSubnetIds", "vpcId"),
    ),
    (
        "poll timeout too short",
        {"mode": "eks", "eks": {"pollTimeoutSeconds": 30}, **TOKENS},
        ("eks.pollTimeoutSeconds", "30", "between 180"),
    ),
    (
        "graviton manager",
        {"ecs": {"managerInstanceType": "t4g.small"}, **TOKENS},
        ("ecs.managerInstanceType", "'t4g.small'", "x86_64"),
    ),
    (
        "non-AL2023 manager AMI",
        {
            "ecs": {"managerAmiParameter": "/aws/service/canonical/ubuntu/server/24.04/stable"},
            **TOKENS,
        },
        ("ecs.managerAmiParameter", "ubuntu", "Amazon Linux 2023"),
    ),
    (
        "bad api cidr",
        {"mode": "eks", "eks": {"publicAccessCidrs": ["office"]}, **TOKENS},
        ("eks.publicAccessCidrs", "'office'", "IPv4 CIDR"),
    ),
    (
        "manager placement",
        {"mode": "eks", "eks": {"managerPlacement": "spot"}, **TOKENS},
        ("eks.managerPlacement", "'spot'", "fargate | ec2"),
    ),
]


@pytest.mark.parametrize(
    ("raw", "fragments"), [(c, f) for _, c, f in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS]
)
def test_bad_input_names_key_value_and_fix(raw: dict[str, Any], fragments: tuple[str, ...]) -> None:
    problems = problems_of(raw)
    assert any(all(f in p for f in fragments) for p in problems), problems


def test_all_problems_are_reported_at_once() -> None:
    raw = {
        "mode": "eks",
        "gitlabUrl": "http://x",
        "runners": [{"name": "a", "concurrency": 0}],
        "runnerTokens": {"a": "GR1348941zzz"},
    }
    problems = problems_of(raw)
    keys = {p.split(":")[0] for p in problems}
    assert {"gitlabUrl", "runners[0] (a).concurrency", "runnerTokens.a"} <= keys


def test_token_value_never_appears_in_messages() -> None:
    secretish = "GR1348941-very-secret-value"
    problems = problems_of({"runnerTokens": {"fargate": secretish}})
    assert all(secretish not in p and "very-secret" not in p for p in problems)
    config, _ = parse_config(TOKENS)
    assert sentinel("fargate") not in repr(config)
    assert str(config.token_for("fargate")) == "[secret]"


def test_plain_text_tokens_are_refused() -> None:
    problems = problems_of(TOKENS, tokens_are_secret=False)
    assert any("runnerTokens" in p and "plain text" in p and "--secret" in p for p in problems)


def test_mode_fargate_message_lists_both_modes() -> None:
    (problem,) = [p for p in problems_of({"mode": "fargate", **TOKENS}) if p.startswith("mode")]
    assert "ecs" in problem and "eks" in problem and "'fargate'" in problem


def test_defaults_give_a_working_ecs_config() -> None:
    config, warnings = parse_config(TOKENS)
    assert config.mode == "ecs"
    assert config.gitlab_url == "https://gitlab.com"
    (runner,) = config.runners
    assert (runner.name, runner.lane, runner.concurrency, runner.tags) == (
        "fargate",
        "fargate",
        10,
        ("fargate",),
    )
    assert runner.task_definition == "debian"
    assert config.ecs.task_definitions[0].image == DEFAULT_JOB_IMAGE
    assert warnings == [DRIVER_UNPINNED]


def test_example_stack_is_valid_in_both_modes() -> None:
    ecs, ecs_warnings = parse_config(dev_config())
    assert ecs.mode == "ecs" and ecs_warnings == [DRIVER_UNPINNED]
    assert [r.lane for r in ecs.runners] == ["fargate", "spot"]
    eks, eks_warnings = parse_config(dev_config(mode="eks"))
    assert eks.mode == "eks"
    # the ecs settings stay in the file; switching mode only warns that they are unused, and
    # that the default API endpoint is open to everyone
    open_endpoint = [w for w in eks_warnings if w.startswith("eks.publicAccessCidrs:")]
    assert len(open_endpoint) == 1
    others = [w for w in eks_warnings if w not in open_endpoint]
    assert others and all("ignored in eks mode" in w for w in others)


def test_mode_specific_keys_warn_when_the_other_mode_is_active() -> None:
    _, warnings = parse_config({**one_runner(cpu=2048, memory=4096), "eks": {"spotCpuLimit": 8}})
    assert "runners[0] (fargate).cpu is ignored in ecs mode (it is used by eks)" in warnings
    assert "eks.spotCpuLimit is set but ignored in ecs mode" in warnings
    _, warnings = parse_config({"mode": "eks", **one_runner(taskDefinition="debian")})
    assert any(
        w.startswith("runners[0] (fargate).taskDefinition is ignored in eks") for w in warnings
    )


def test_subnet_layout_ignores_concurrency() -> None:
    small, _ = parse_config(one_runner(concurrency=10))
    big, _ = parse_config(one_runner(concurrency=2000))
    assert small.network.layout == big.network.layout
    assert big.network.layout is not None
    assert big.network.layout.private == ("10.42.0.0/19", "10.42.32.0/19")
    assert big.network.layout.public == ("10.42.192.0/22", "10.42.196.0/22")


def test_existing_vpc_is_taken_as_given() -> None:
    config, warnings = parse_config(
        {
            "network": {
                "vpcId": "vpc-0abc1234",
                "privateSubnetIds": ["subnet-0aaaaaaa", "subnet-0bbbbbbb"],
                "vpcCidr": "10.9.0.0/16",
            },
            **TOKENS,
        }
    )
    assert config.network.uses_existing_vpc and config.network.layout is None
    assert config.network.private_subnet_ids == ("subnet-0aaaaaaa", "subnet-0bbbbbbb")
    assert "network.vpcCidr is ignored because network.vpcId is set" in warnings


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_public_task_ips_is_refused_with_the_reason_and_the_alternative(mode: str) -> None:
    (problem,) = problems_of({"mode": mode, "network": {"publicTaskIps": False}, **TOKENS})
    assert problem.startswith("network.publicTaskIps: no longer supported")
    for fragment in ("PUBLIC IP", "security group", "NAT", "vpcEndpoints"):
        assert fragment in problem


def test_driver_defaults_to_a_release_that_survives_jwt_job_tokens() -> None:
    config, _ = parse_config(TOKENS)
    assert config.ecs.driver_version == "v0.5.1"
    assert config.ecs.driver_sha256 is None and config.ecs.runner_sha256 is None
    newer, _ = parse_config({"ecs": {"driverVersion": "v0.6.0"}, **TOKENS})
    assert newer.ecs.driver_version == "v0.6.0"


@pytest.mark.parametrize("version", ["v0.4.0", "v0.5.0", "v0.1.9"])
def test_drivers_older_than_0_5_1_are_refused_with_why(version: str) -> None:
    (problem,) = problems_of({"ecs": {"driverVersion": version}, **TOKENS})
    assert problem.startswith(f"ecs.driverVersion: '{version}' is too old")
    assert "JWT" in problem and "255" in problem and "v0.5.1" in problem


def test_checksums_must_be_sha256_hex() -> None:
    good = "a" * 64
    config, _ = parse_config({"ecs": {"driverSha256": good, "runnerSha256": good}, **TOKENS})
    assert (config.ecs.driver_sha256, config.ecs.runner_sha256) == (good, good)
    problems = problems_of({"ecs": {"driverSha256": "abc", "runnerSha256": "Z" * 64}, **TOKENS})
    assert len(problems) == 2 and all("SHA-256" in p for p in problems)


def test_max_jobs_per_manager_is_bounded() -> None:
    (problem,) = problems_of({"ecs": {"maxJobsPerManager": 251}, **TOKENS})
    assert problem.startswith("ecs.maxJobsPerManager: 251 is out of range")


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert list(project["config"]) == list(schema.TOP.names)
    assert project["config"]["runnerTokens"]["secret"] is True
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": "venv"}
    for key in ("mode", "gitlabUrl", "logRetentionDays"):
        assert {"type", "description", "default"} <= set(project["config"][key])


def test_generated_reference_and_project_file_are_up_to_date() -> None:
    """docs/configuration.md and Pulumi.yaml are generated from the schema."""
    stale = [p.name for p, text in config_docs.expected_files().items() if p.read_text() != text]
    assert stale == [], "run: python -m components.config.docs"


def test_reference_lists_every_key_of_every_section() -> None:
    reference = (ROOT / "docs" / "configuration.md").read_text()
    for section in schema.SECTIONS:
        for key in section.keys:
            full = f"{section.path}.{key.name}" if section.path else key.name
            assert f"| `{full}` |" in reference


@pytest.mark.parametrize(
    ("section", "model"),
    [
        (schema.RUNNER, RunnerSpec),
        (schema.NETWORK, NetworkSpec),
        (schema.TASK_DEFINITION, TaskDefinitionSpec),
        (schema.ECS_SECTION, EcsSpec),
        (schema.EKS_SECTION, EksSpec),
        (schema.IMAGES, ImagesSpec),
        (schema.PREFLIGHT, PreflightSpec),
    ],
    ids=lambda v: getattr(v, "path", getattr(v, "__name__", "")),
)
def test_schema_and_typed_model_name_the_same_fields(section: schema.Section, model: type) -> None:
    derived = {"layout"}  # filled in by the parser from several keys
    assert {k.attr for k in section.keys} == {f.name for f in fields(model)} - derived


def test_example_stack_has_no_plain_text_secret() -> None:
    text = Path(ROOT / "Pulumi.dev.yaml").read_text()
    assert "glrt-" not in text.replace("glrt-...", "")
    assert "runnerTokens:" not in text


@pytest.mark.parametrize(
    "instance_type", ["t3.small", "m7i-flex.large", "c5n.xlarge", "g4dn.xlarge"]
)
def test_x86_manager_instance_types_are_accepted(instance_type: str) -> None:
    config, _ = parse_config({"ecs": {"managerInstanceType": instance_type}, **TOKENS})
    assert config.ecs.manager_instance_type == instance_type


def test_a_pinned_driver_checksum_silences_the_unverified_warning() -> None:
    _, warnings = parse_config({"ecs": {"driverSha256": "a" * 64}, **TOKENS})
    assert warnings == []
    _, eks_warnings = parse_config({"mode": "eks", **TOKENS})
    assert DRIVER_UNPINNED not in eks_warnings
