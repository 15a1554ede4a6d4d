"""The README's commands work as written: every offline command in its code blocks (plan,
capacity, the generators) runs from the root of a fresh copy of the repository with the
virtualenv `bash scripts/test` creates, and exits 0; the files the generators among them
write (the README's permissions list, the config reference) are the committed ones."""

from __future__ import annotations

import compileall
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from components.offline import permissions
from tests.harness import ROOT

README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^[ \t]*```([a-z]*)\n(.*?)^[ \t]*```", re.S | re.M)
OFFLINE = "venv/bin/python -m "
PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def code_block_commands(text: str, language: str | None = None) -> list[str]:
    """Every command line of the fenced code blocks (of one language), continuation lines
    joined."""
    commands: list[str] = []
    for block_language, block in FENCE.findall(text):
        if language is not None and block_language != language:
            continue
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
    assert code_block_commands(text, "sh") == ["x --y"]


OFFLINE_COMMANDS = [c for c in code_block_commands(README) if c.startswith(OFFLINE)]
# What the other shell commands need instead: the repository's URL and the network (the clone),
# the setup itself, or the Pulumi CLI and an AWS account (the passphrase and state folder
# belong to `pulumi stack select`).
NOT_RUN_HERE = (
    "git clone <repository URL> ",
    "bash scripts/test",
    "pulumi ",
    "aws ",
    "mkdir -p ~/.pulumi-",
    "export PULUMI_",
)


def test_every_shell_command_is_run_here_or_needs_the_cli_or_aws() -> None:
    """A new offline command written another way (python3, a script path) is not skipped."""
    others = [c for c in code_block_commands(README, "sh") if c not in OFFLINE_COMMANDS]
    assert others and [c for c in others if not c.startswith(NOT_RUN_HERE)] == []


def test_the_readme_shows_the_offline_commands_and_only_through_the_venv() -> None:
    modules = {c.removeprefix(OFFLINE).split()[0] for c in OFFLINE_COMMANDS}
    assert {
        "components",
        "components.config.docs",
        "components.offline.permissions",
        "components.package_docs",
        "tests.golden",
    } <= modules
    assert any(" capacity " in c for c in OFFLINE_COMMANDS)
    prose = re.sub(r"<!--.*?-->", "", README)
    bare = re.findall(r"(?<!venv/bin/)\bpython3? -m \S+", prose)
    assert bare == [], "outside the venv these fail with ModuleNotFoundError"


# What the generators among the README's commands write.
DERIVED = (
    "README.md",
    "docs/configuration.md",
    "Pulumi.yaml",
    "docs/package.md",
    "docs/multi-language.md",
)


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The repository's files (tracked and new, not ignored) with the test's virtualenv. Removed
    after the module: pytest would delete its ~800 files at the end of a later session, while
    nothing else runs."""
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
    # Bytecode once for the ten commands that import the package (each compiled all of it
    # again, in parallel); Python checks it against each source's mtime and size.
    for package in ("components", "tests"):
        assert compileall.compile_dir(clone / package, quiet=1)
    yield clone
    shutil.rmtree(clone)


def run_in(clone: Path, commands: list[str]) -> dict[str, tuple[str, str, Any]]:
    """Run commands one after the other in the clone: standard output and error of each, and
    the JSON document it wrote with --out (commands sharing an output file take turns)."""
    results: dict[str, tuple[str, str, Any]] = {}
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=clone, timeout=120, **PIPES)
        assert done.returncode == 0, f"{command}\nexit {done.returncode}:\n{done.stderr}"
        assert "Traceback" not in done.stderr, command
        out = re.search(r"--out (\S+)", command)
        written = json.loads((clone / out[1]).read_text()) if out else None
        results[command] = (done.stdout, done.stderr, written)
    return results


def test_every_offline_readme_command_exits_0_as_written(fresh_clone: Path) -> None:
    by_output: dict[str, list[str]] = {}
    for command in OFFLINE_COMMANDS:
        out = re.search(r"--out (\S+)", command)
        by_output.setdefault(out[1] if out else command, []).append(command)
    with ThreadPoolExecutor(max_workers=len(by_output)) as pool:
        runs = list(pool.map(lambda chain: run_in(fresh_clone, chain), by_output.values()))
    outputs = {command: result for run in runs for command, result in run.items()}
    # The plans say what the README says: stand-in tokens (with a warning), the --set applied.
    plans = {c: r for c, r in outputs.items() if " plan " in c}
    assert len(plans) == 2
    for command, (_, err, document) in plans.items():
        assert document["standInTokens"] is True and "uses a stand-in" in err
        (cluster,) = [r for r in document["resources"] if r["type"] == "eks:index:Cluster"]
        narrowed = "203.0.113.7/32" in command
        assert (cluster["inputs"]["publicAccessCidrs"] == ["203.0.113.7/32"]) is narrowed
    # The 1000-job table is what those capacity commands print.
    capacity = "\n".join(out for c, (out, _, _) in outputs.items() if " capacity " in c)
    for claim in ("All 1000 started after 222 s", "All 1000 started after 266 s"):
        assert claim in capacity
    assert "436 stay Pending" in capacity and "5 x manager EC2 m6i.2xlarge" in capacity
    # The generators ran in the copy: what they wrote is what is committed.
    for derived in DERIVED:
        current = (fresh_clone / derived).read_text() == (ROOT / derived).read_text()
        assert current, f"{derived} is stale: run {permissions.COMMAND} and the config docs"


def test_a_resource_type_nobody_listed_stops_the_generator() -> None:
    with pytest.raises(permissions.UnknownResourceType, match="aws:newservice/thing:Thing"):
        permissions.service_of("aws:newservice/thing:Thing")
    with pytest.raises(permissions.UnknownResourceType, match="getThing"):
        permissions.actions_of("aws:ec2/getThing:getThing")
    assert permissions.service_of("aws:ec2/vpc:Vpc") == "ec2"
    assert permissions.service_of("aws:cloudwatch/logGroup:LogGroup") == "logs"
