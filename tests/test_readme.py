"""The README's commands work as written: every offline command in its code blocks (plan,
capacity, the generators) runs from the root of a fresh copy of the repository with the
virtualenv `bash scripts/test` creates, and exits 0; the files the generators among them
write (the README's permissions list, the config reference) are the committed ones."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.offline import permissions
from tests.harness import ROOT

README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```", re.S | re.M)
OFFLINE = "venv/bin/python -m "
PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def code_block_commands(text: str) -> list[str]:
    """Every command line of the fenced code blocks, continuation lines joined."""
    commands: list[str] = []
    for block in FENCE.findall(text):
        pending = ""
        for raw in block.splitlines():
            line = raw.strip()
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            line = pending + line
            pending = ""
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def test_commands_are_read_from_every_fenced_block() -> None:
    text = "a\n```sh\nx \\\n  --y\n# note\n```\n  ```\n  z\n  ```\n"
    assert code_block_commands(text) == ["x --y", "z"]


OFFLINE_COMMANDS = [c for c in code_block_commands(README) if c.startswith(OFFLINE)]


def test_the_readme_shows_the_offline_commands_and_only_through_the_venv() -> None:
    modules = {c.removeprefix(OFFLINE).split()[0] for c in OFFLINE_COMMANDS}
    assert {"components", "components.config.docs", "components.offline.permissions"} <= modules
    assert any(" capacity " in c for c in OFFLINE_COMMANDS)
    prose = re.sub(r"<!--.*?-->", "", README)
    bare = re.findall(r"(?<!venv/bin/)\bpython3? -m \S+", prose)
    assert bare == [], "outside the venv these fail with ModuleNotFoundError"


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files (tracked and new, not ignored) with the test's virtualenv."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    clone = tmp_path_factory.mktemp("clone")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    (clone / "venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return clone


def test_every_offline_readme_command_exits_0_as_written(fresh_clone: Path) -> None:
    running = [
        (command, subprocess.Popen(["bash", "-c", command], cwd=fresh_clone, **PIPES))
        for command in OFFLINE_COMMANDS
    ]
    outputs = {}
    for command, process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"{command}\nexit {process.returncode}:\n{err}"
        assert "Traceback" not in err, command
        outputs[command] = out
    # The 1000-job table is what those capacity commands print.
    capacity = "\n".join(o for c, o in outputs.items() if " capacity " in c)
    for claim in ("All 1000 started after 222 s", "All 1000 started after 266 s"):
        assert claim in capacity
    assert "436 stay Pending" in capacity
    # The generators ran in the copy: what they wrote is what is committed.
    for derived in ("README.md", "docs/configuration.md", "Pulumi.yaml"):
        current = (fresh_clone / derived).read_text() == (ROOT / derived).read_text()
        assert current, f"{derived} is stale: run {permissions.COMMAND} and the config docs"


def test_a_resource_type_nobody_listed_stops_the_generator() -> None:
    with pytest.raises(permissions.UnknownResourceType, match="aws:newservice/thing:Thing"):
        permissions.service_of("aws:newservice/thing:Thing")
    with pytest.raises(permissions.UnknownResourceType, match="getThing"):
        permissions.action_of("aws:ec2/getThing:getThing")
    assert permissions.service_of("aws:ec2/vpc:Vpc") == "ec2"
    assert permissions.service_of("aws:cloudwatch/logGroup:LogGroup") == "logs"
