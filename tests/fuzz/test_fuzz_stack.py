"""Property-based fuzzing of the example stack, in both modes, through the offline plan.

Each example mutates Pulumi.dev.yaml's config (type swaps, boundary and out-of-range numbers,
random and unicode strings, deleted and duplicated keys and items, lists where scalars go and
back), writes it as a stack file and runs `python -m components.plan` on it. It must end in
exit 2 with messages that name a key (no traceback), or in a plan whose invariants hold
(tests/fuzz/invariants.py). Reproducible: the "ci" profile is derandomized (a fixed seed per
test) with a bounded deadline and example count (25 per mode): tests/fuzz takes about 9 s of
CPU, 14 s on a busy 2-core machine; HYPOTHESIS_PROFILE=long explores further with random seeds.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.config import schema
from components.config.keys import Key, Section
from components.config.misplaced import AWS_PROVIDER_KEYS
from components.naming import PROJECT
from components.offline import plan as plan_command
from components.offline.mocks import Plan
from components.offline.plan import STAND_IN_PREFIX
from components.offline.stack_file import read_stack_file
from components.preflight import QuotaError
from tests.fuzz.invariants import violations
from tests.harness import DEV_STACK

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=25,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("long", settings.get_profile("ci"), derandomize=False, max_examples=500)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Bounds the schema uses and the integer limits around them (2**31, int64, uint64, beyond).
NUMBERS = [
    *(0, -1, 1, 2, 3, 7, 255, 256, 512, 1023, 1024, 2000, 2001, 3653, 3654, 4096, 30720, 65535),
    *(2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**64, 10**30),
]
FLOATS = [0.5, 1.3, -0.0, 1e21, 1e-7, 2048.0, 18.1]
# Text that YAML, AWS or the program treat specially.
SPECIAL = [
    "",
    " ",
    "yes",
    "no",
    "on",
    "off",
    "010",
    "0x1F",
    "1.30",
    "2024-01-01",
    "null",
    "~",
    "true",
    "glrt-",
    "*",
    "-",
    "a" * 64,
    "A",
    "0.0.0.0/0",
    "10.42.0.0/16",
    "10.0.0.0/8",
    "10.42.0.1/16",
    "subnet-1",
    "subnet-XYZ!",
    "vpc-1",
    "https://gitlab.com",
    "https://u:p@gitlab.example.com",
    "http://gitlab.com",
    "eks",
    "ecs",
    "spot",
    "privileged",
    "fargate",
    "perAz",
    "debian",
    "node",
    "v0.5.1",
    "18.9.0",
    "ñoño",
    "日本語",
    "emoji-😀",
    "name with spaces",
    "UPPER",
    "x" * 33,
    "a.b",
    "a/b",
    "$(id)",
    "arn:aws:iam::123456789012:role/x",
    "2024-05-01 00:00:00 +0000 UTC",
    # Issue 23: credentials in plain values, a public VPC block, a pasted gitlab.com project URL.
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "glpat-SENTINEL-not-a-real-token",
    "https://deploy:hunter2@git.example.com/repo.git",
    "8.8.0.0/16",
    "https://gitlab.com/group/project",
    "Körper",
]
SCALARS = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from(FLOATS),
    st.booleans(),
    st.none(),
    st.sampled_from(SPECIAL),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?", fullmatch=True),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=24),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(["name", "x", "concurrency", "lane"]), SCALARS, max_size=2),
)
OPERATIONS = (
    "replace",
    "delete",
    "wrap",
    "unwrap",
    "swap",
    "boundary",
    "duplicate",
    "unknown",
    "misplace",
)
# Where each section's keys live; "valid" mutations set one of them to a value its schema allows
# (bounds, choices, patterns), so that many examples get as far as a plan.
SECTIONS: dict[tuple[str, ...], Section] = {
    (): schema.TOP,
    ("network",): schema.NETWORK,
    ("ecs",): schema.ECS_SECTION,
    ("eks",): schema.EKS_SECTION,
    ("gitlab",): schema.GITLAB_SECTION,
    ("cache",): schema.CACHE_SECTION,
    ("images",): schema.IMAGES,
    ("preflight",): schema.PREFLIGHT,
    ("observability",): schema.OBSERVABILITY,
    ("alerts",): schema.ALERTS,
    ("runners", "*"): schema.RUNNER,
    ("ecs", "taskDefinitions", "*"): schema.TASK_DEFINITION,
}


def names_a_key(problem: str, written: list[str]) -> bool:
    """The problem starts with a key path the user wrote or the schema knows, or with the
    quoted key it is about (a misspelt namespace)."""
    head = problem.split(": ", 1)[0]
    known = [*written, *schema.TOP.names, *AWS_PROVIDER_KEYS, "aws:region"]
    return head.startswith("'") or any(head.startswith(k) for k in known if k)


def base_config(mode: str) -> dict[str, Any]:
    config = copy.deepcopy(read_stack_file(DEV_STACK).project_config)
    config["mode"] = mode
    return config


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the config: the key of each object entry and list item."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _places(item, (*path, index))
    return found


def _swap(value: Any) -> Any:
    """The same value as another JSON type."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return int(value) if value.isdigit() else [value]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return 0


def _boundary(value: Any, pick: int) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value + 1, value - 1, 0, -value, value * 1000, 2**63][pick % 6]
    return NUMBERS[pick % len(NUMBERS)]


# preflight.failOnQuota's refusal: a header of its own, then problems that name the key.
QUOTAS_TOO_LOW = str(QuotaError([])).splitlines()[0]
PLAIN_KINDS = ("string", "integer", "boolean", "choice", "strings")


def valid_values(key: Key) -> st.SearchStrategy[Any]:
    """Values the key's schema accepts: its bounds and choices, text matching its pattern."""
    if key.kind == "integer":
        low = min(key.choices) if key.choices else key.minimum or 0
        high = max(key.choices) if key.choices else key.maximum or max(low * 64, 64)
        return st.sampled_from([low, high, low + 1, key.default or low, (low + high) // 2])
    if key.kind == "boolean":
        return st.booleans()
    if key.kind == "choice":
        return st.sampled_from(key.choices)
    if key.kind == "strings":
        return st.lists(st.from_regex(schema.NAME_PATTERN, fullmatch=True), min_size=1, max_size=3)
    if key.kind == "string" and key.pattern:
        return st.from_regex(key.pattern, fullmatch=True)
    return st.just(key.default)


def _set_valid(draw: st.DrawFn, config: dict[str, Any]) -> None:
    where = draw(st.sampled_from(sorted(SECTIONS)))
    containers: list[dict[str, Any]] = [config]
    for step in where:
        nested = []
        for container in containers:
            if step == "*":
                nested += [c for c in container if isinstance(c, dict)]
            elif isinstance(container, dict):
                if not isinstance(container.get(step), dict | list):
                    container[step] = {}
                nested.append(container[step])
        containers = nested
    key = draw(st.sampled_from([k for k in SECTIONS[where].keys if k.name != "mode"]))
    dicts = [c for c in containers if isinstance(c, dict)]
    if dicts and key.kind in PLAIN_KINDS:
        draw(st.sampled_from(dicts))[key.name] = draw(valid_values(key))


def _grow(draw: st.DrawFn, config: dict[str, Any]) -> None:
    """Another runner or catalogue entry, every key drawn from what its schema allows: more
    names, roles and policies than the example has."""
    runner = draw(st.booleans())
    section = schema.RUNNER if runner else schema.TASK_DEFINITION
    item = {"name": draw(st.from_regex(schema.NAME_PATTERN, fullmatch=True))}
    for key in draw(st.lists(st.sampled_from(section.keys), max_size=4, unique_by=id)):
        if key.name not in ("name", "taskDefinition") and key.kind in PLAIN_KINDS:
            item[key.name] = draw(valid_values(key))
    if runner:
        runners = config.get("runners")
        config["runners"] = [*runners, item] if isinstance(runners, list) else [item]
    elif isinstance(config.get("ecs"), dict):
        entries = config["ecs"].get("taskDefinitions")
        image = {"image": "public.ecr.aws/docker/library/debian:12"}
        config["ecs"]["taskDefinitions"] = (
            [*entries, {**image, **item}] if isinstance(entries, list) else [{**image, **item}]
        )


@st.composite
def stack_texts(draw: st.DrawFn, mode: str) -> tuple[str, bool]:
    """A stack file (JSON, which is YAML) and whether it repeats a key on purpose."""
    config = base_config(mode)
    loose: dict[str, Any] = {}  # keys outside the project's namespace
    for _ in range(draw(st.integers(1, 3))):
        valid = draw(st.integers(0, 5))
        if valid < 2:
            (_set_valid if valid == 0 else _grow)(draw, config)
            continue
        places = _places(config)
        if not places:
            break
        *parent_path, key = draw(st.sampled_from(places))
        parent: Any = config
        for step in parent_path:
            parent = parent[step]
        operation = draw(st.sampled_from(OPERATIONS))
        current = parent[key]
        if operation == "delete":
            del parent[key]
        elif operation == "wrap":
            parent[key] = [current]
        elif operation == "unwrap":
            items = list(current.values()) if isinstance(current, dict) else current
            parent[key] = items[0] if isinstance(items, list) and items else ""
        elif operation == "swap":
            parent[key] = _swap(current)
        elif operation == "boundary":
            parent[key] = _boundary(current, draw(st.integers(0, 50)))
        elif operation == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(current))
        elif operation == "unknown" and isinstance(parent, dict):
            parent[f"{key}x"] = draw(SCALARS)
        elif operation == "misplace" and parent is config and isinstance(current, dict):
            # A nested key written with a colon or a dot instead of --path (issue 23 item 7),
            # in the project's namespace or as a namespace of its own, or an AWS provider key.
            sub = draw(st.sampled_from(sorted(current) or ["x"]))
            form = draw(st.sampled_from([":", ".", "own", "aws"]))
            name = {"own": f"{key}:{sub}", "aws": "region"}.get(form, f"{key}{form}{sub}")
            (loose if form == "own" else config)[name] = draw(SCALARS)
        else:
            parent[key] = draw(VALUES)
    entries = {f"{PROJECT}:{k}": v for k, v in config.items()}
    entries.update(loose)
    entries["aws:region"] = "eu-west-1"
    text = json.dumps({"config": entries}, ensure_ascii=False, indent=1)
    repeat = draw(st.booleans()) and draw(st.integers(0, 9)) == 0
    if repeat:  # the same key twice: the CLI refuses it, so must the plan
        first = next(iter(entries))
        again = json.dumps(draw(SCALARS), ensure_ascii=False)
        text = text.replace('"config": {', f'"config": {{\n  "{first}": {again},', 1)
    return text, repeat


def check_exit_2(err: str, repeat: bool, written: list[str]) -> None:
    """A clean refusal: every problem names a key (or the file and line), no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "exit 2 without a message"
    file_error = re.match(r"\S*Pulumi\.fuzz\.yaml( line \d+)?: ", lines[0])
    if repeat:  # refused for the repeated key, or for something the reader meets first
        assert file_error, err
        return
    if lines[0].startswith(("invalid stack configuration", QUOTAS_TOO_LOW)):
        problems = lines[1 : lines.index("warnings:")] if "warnings:" in lines else lines[1:]
        for line in problems:
            assert line.startswith("  - ") and names_a_key(line[4:], written), line
    else:
        assert file_error, lines[0]


def run_example(
    folder: Path, text: str, repeat: bool, capsys: Any, written: list[str] | None = None
) -> str:
    """Plan the stack text (JSON, unless the keys it writes are given); returns what the plan
    printed on standard error."""
    (folder / "Pulumi.fuzz.yaml").write_text(text, encoding="utf-8")
    captured: list[Plan] = []
    evaluate = plan_command.evaluate

    def recording(*args: Any, **kwargs: Any) -> Plan:
        captured.append(evaluate(*args, **kwargs))
        return captured[-1]

    argv = ["--stack", "fuzz", "--project-dir", str(folder), "--stand-in-tokens"]
    with mock.patch.object(plan_command, "evaluate", recording):
        status = plan_command.main([*argv, "--out", str(folder / "plan.json")])
    err = capsys.readouterr().err
    assert status in (0, 2), err
    if status == 2:
        if written is None:
            entries = json.loads(text)["config"] if not repeat else {}
            written = [k.split(":", 1)[-1] for k in entries]
        check_exit_2(err, repeat, written)
        return err
    assert not repeat, "a repeated key was accepted"
    (plan,) = captured
    assert violations(plan, STAND_IN_PREFIX) == []
    return err


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_every_mutation_is_refused_cleanly_or_plans_soundly(
    mode: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    @settings(PROFILE)
    @given(stack_texts(mode))
    def example(case: tuple[str, bool]) -> None:
        run_example(folder, *case, capsys)

    example()


@pytest.mark.parametrize(
    ("tag", "first_line"),
    [("fargate", QUOTAS_TOO_LOW), ("on", "invalid stack configuration (2 problem(s)):")],
    ids=["alone", "among-warnings"],
)
def test_fail_on_quota_passes_the_fuzz_check_alone_and_among_warnings(
    tag: str, first_line: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example's 40 jobs need more than the default 6 vCPU quota: refused with the quota
    named. A stack file with a warning (the tag `on`, text in YAML 1.2) gets the quota listed
    among the file's problems instead; check_exit_2 accepts both forms."""
    text = DEV_STACK.read_text().replace("tags: [fargate]", f"tags: [fargate, {tag}]")
    text += f"  {PROJECT}:preflight:\n    failOnQuota: true\n"
    err = run_example(folder, text, False, capsys, written=["preflight"])
    assert err.splitlines()[0] == first_line
    assert "  - preflight.failOnQuota: quota L-3032A538 (fargate: " in err
    with pytest.raises(AssertionError):  # a quota line that does not name the key is refused
        check_exit_2(err.replace("preflight.failOnQuota: quota", "quota"), False, [])


# Versions around every boundary the checks know (issue 23 item 3): Kubernetes minors EKS dropped,
# offers and has not released, Karpenter releases around each minor's entry in its compatibility
# matrix, AMI releases around each minor's EKS release date (components/domain/versions.py).
KUBERNETES_VERSIONS = st.one_of(
    st.builds("1.{}".format, st.integers(27, 40)), st.sampled_from(["1.35.1", "2.0", "1"])
)
KARPENTER_VERSIONS = st.one_of(
    st.sampled_from(["0.37.0", "1.0.5", "1.5.4", "1.6.0", "1.8.2", "1.9.0", "1.14.1", "9.0.0"]),
    st.builds("1.{}.{}".format, st.integers(0, 20), st.integers(0, 5)),
)
AMI_ALIASES = st.one_of(
    st.sampled_from(["al2023@latest", "al2023@v20260128", "al2023@v20260127", "al2023@v20261340"]),
    st.dates(dt.date(2023, 1, 1), dt.date(2027, 12, 31)).map(lambda d: f"al2023@v{d:%Y%m%d}"),
)


@st.composite
def version_texts(draw: st.DrawFn) -> tuple[str, bool]:
    config = base_config("eks")
    eks = config.setdefault("eks", {})
    eks["kubernetesVersion"] = draw(KUBERNETES_VERSIONS)
    if draw(st.booleans()):
        eks["karpenterVersion"] = draw(KARPENTER_VERSIONS)
    if draw(st.booleans()):
        eks["nodeAmiAlias"] = draw(AMI_ALIASES)
    entries = {f"{PROJECT}:{k}": v for k, v in config.items()}
    entries["aws:region"] = "eu-west-1"
    return json.dumps({"config": entries}, ensure_ascii=False, indent=1), False


def test_every_version_combination_is_refused_cleanly_or_plans(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every version the config check lets through plans offline: 1.37 (newer than the program
    knows, a warning) once ended in the mocks' ValueError for its addon version."""

    @settings(PROFILE, max_examples=30)
    @given(version_texts())
    def example(case: tuple[str, bool]) -> None:
        run_example(folder, *case, capsys)

    example()
