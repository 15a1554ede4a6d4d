"""One command language for the offline tools: `python -m components plan|capacity` and the
module commands read the same stack file, take the same `--set`, and refuse bad input the
same way (exit 2, a message naming the file or key and the fix, never a traceback)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from components import cli, package_docs
from components.capacity import cli as capacity
from components.config import docs as config_docs
from components.offline import permissions, plan
from components.preflight import FARGATE_ON_DEMAND
from tests.harness import DEV_STACK

TOOLS = {
    "plan": ["plan", "--stand-in-tokens", "--out", "-"],
    "capacity": ["capacity", "--jobs", "10", "--json"],
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`python -m components ARGV` in process: exit status, standard output and error."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def help_text(main: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str]) -> str:
    """What a command prints for --help (argparse exits after printing it)."""
    with pytest.raises(SystemExit):
        main(["--help"])
    return capsys.readouterr().out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(DEV_STACK, tmp_path / "Pulumi.dev.yaml")
    return tmp_path


@pytest.mark.parametrize("tool", TOOLS)
def test_a_missing_stack_file_gets_the_same_message_from_both_tools(
    tool: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, *TOOLS[tool], "--stack", "nope", "--project-dir", str(project))
    assert (status, out) == (2, "")
    assert err == (
        f"{project / 'Pulumi.nope.yaml'}: no such stack file; create the stack with `pulumi "
        "stack init nope` or pass --stack/--project-dir\n"
    )


@pytest.mark.parametrize("tool", TOOLS)
def test_a_broken_set_and_an_invalid_value_are_refused_alike(
    tool: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--project-dir", str(project))
    status, _, err = run(capsys, *TOOLS[tool], *where, "--set", "runners[5].name=x")
    assert status == 2 and err.startswith("--set 'runners[5].name=x': index 5 is past the end")
    status, _, err = run(capsys, *TOOLS[tool], *where, "--set", "mode=ecz")
    assert status == 2 and "mode: 'ecz' is not a topology" in err
    status, _, err = run(capsys, *TOOLS[tool], *where, "--set", "aws:region=moon")
    assert status == 2 and "aws:region: 'moon' is not an AWS region name" in err


@pytest.mark.parametrize(
    "setting", ['eks.publicAccessCidrs=["1.2.3.4/32"]', "eks.publicAccessCidrs[0]=1.2.3.4/32"]
)
def test_both_tools_take_a_list_by_path_or_as_json(
    setting: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--project-dir", str(project), "--set", "mode=eks", "--set", setting)
    status, out, _ = run(capsys, *TOOLS["plan"], *where)
    assert status == 0
    (cluster,) = [r for r in json.loads(out)["resources"] if r["type"] == "eks:index:Cluster"]
    assert cluster["inputs"]["publicAccessCidrs"] == ["1.2.3.4/32"]
    status, out, _ = run(capsys, *TOOLS["capacity"], *where)
    assert status == 0 and json.loads(out)["mode"] == "eks"


@pytest.mark.parametrize(
    ("key", "value", "mode"),
    [("eks.publicAccessCidrs", "1.2.3.4/32", "eks"), ("runners[0].tags", "docker", "ecs")],
)
def test_a_list_key_given_text_shows_the_fix_in_both_tools_forms_and_they_work(
    key: str, value: str, mode: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--project-dir", str(project), "--set", f"mode={mode}")
    status, out, err = run(capsys, *TOOLS["plan"], *where, "--set", f"{key}={value}")
    assert (status, out) == (2, "")
    assert f"expected a list of strings, got '{value}'" in err
    assert f"pulumi config set --path '{key}[0]' {value}," in err
    offline = re.findall(r"--set '([^']*)'", err)
    assert offline == [f"{key}[0]={value}", f'{key}=["{value}"]']
    # What the message offers is what the plan takes (for eks.publicAccessCidrs, with this
    # very value: test_both_tools_take_a_list_by_path_or_as_json).
    for fix in offline if key == "runners[0].tags" else ():
        status, out, err = run(capsys, *TOOLS["plan"], *where, "--set", fix)
        assert status == 0, err
        assert json.loads(out)["settings"][-1] == fix


def test_capacity_needs_no_tokens_and_plan_says_which_flag_does(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "plan", "--project-dir", str(project), "--out", "-")
    assert status == 2 and "runnerTokens" in err
    status, out, _ = run(capsys, *TOOLS["capacity"], "--project-dir", str(project))
    assert status == 0 and json.loads(out)["jobs"] == 10


def test_fail_on_quota_with_the_default_quota_exits_2_naming_the_quota(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys, *TOOLS["plan"], "--project-dir", str(project), "--set", "preflight.failOnQuota=true"
    )
    assert (status, out) == (2, "")
    assert err.startswith(
        "preflight: quotas too low (set preflight.failOnQuota false to deploy with warnings "
        "instead):\n  - preflight.failOnQuota: quota "
        f"{FARGATE_ON_DEMAND} (fargate: Fargate On-Demand vCPU resource count) is 6 vCPU"
    )


@pytest.mark.parametrize(
    ("main", "prog"),
    [
        (lambda argv: cli.main(["plan", *argv]), "python -m components plan"),
        (lambda argv: cli.main(["capacity", *argv]), "python -m components capacity"),
        (plan.main, "python -m components.plan"),
        (capacity.main, "python -m components.capacity"),
    ],
)
def test_usage_lines_name_the_module_command(
    main: Callable[[list[str]], int], prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = help_text(main, capsys)
    assert out.startswith(f"usage: {prog} [-h] [--stack STACK]")
    assert "--set KEY=VALUE" in out and "__main__" not in out and "plan.py" not in out


def test_the_module_commands_and_the_subcommands_give_the_same_answer(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--project-dir", str(project), "--jobs", "40", "--json", "--set", "mode=eks"]
    assert capacity.main(argv) == 0
    direct = capsys.readouterr().out
    assert run(capsys, "capacity", *argv)[1] == direct


@pytest.mark.parametrize("tool", TOOLS)
def test_a_plain_text_token_is_refused_by_both_tools_as_by_preview(
    tool: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setting = ("--set", "runnerTokens.fargate=glrt-abc")
    status, out, err = run(capsys, *TOOLS[tool], "--project-dir", str(project), *setting)
    assert (status, out) == (2, "")
    assert "runnerTokens: stored in plain text in the stack file" in err


@pytest.mark.parametrize(
    ("main", "prog"),
    [
        (config_docs.main, "python -m components.config.docs"),
        (permissions.main, "python -m components.offline.permissions"),
        (package_docs.main, "python -m components.package_docs"),
    ],
)
def test_the_generators_name_their_module_command_too(
    main: Callable[[list[str]], int], prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert help_text(main, capsys).startswith(f"usage: {prog} [-h] [--check]")
