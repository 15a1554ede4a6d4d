"""The command outputs docs/scaling.md shows are what the commands print today: each shown
line (a `...` line stands for lines left out) appears in the command's output, in order. An
output that a merged feature changed (a new always-on pod, a new total) fails here instead of
going stale in the guide."""

from __future__ import annotations

import re
import shlex

import pytest

from components import cli
from tests.harness import ROOT

SCALING = (ROOT / "docs" / "scaling.md").read_text()
BLOCK = re.compile(
    r"^```\n\$ (venv/bin/python -m components capacity [^\n]*)\n(.*?)^```", re.S | re.M
)
SHOWN = BLOCK.findall(SCALING)


def missing_lines(shown: str, printed: str) -> list[str]:
    """The runs of shown lines (between `...` lines) that the output does not print as they
    are shown: line after line, each run after the previous one."""
    lines = printed.splitlines()
    runs = [run.strip("\n").splitlines() for run in re.split(r"^\.\.\.$", shown, flags=re.M)]
    at = 0
    missing = []
    for run in filter(None, runs):
        starts = [i for i in range(at, len(lines) - len(run) + 1) if lines[i : i + len(run)] == run]
        if starts:
            at = starts[0] + len(run)
        else:
            missing.extend(run)
    return missing


def test_the_comparison_keeps_order_and_skips_only_elided_lines() -> None:
    assert missing_lines("a\n...\nc", "a\nb\nc") == []
    assert missing_lines("c\n...\na", "a\nb\nc") == ["a"]
    assert missing_lines("a\nc", "a\nb\nc") == ["a", "c"]


def test_the_guide_shows_capacity_outputs_in_both_modes() -> None:
    commands = [command for command, _ in SHOWN]
    assert len(commands) >= 2 and any("mode=eks" in c for c in commands)


@pytest.mark.parametrize(("command", "shown"), SHOWN, ids=[c for c, _ in SHOWN])
def test_each_shown_output_is_what_the_command_prints(
    command: str,
    shown: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run in process from the repository's root (tests/test_readme.py runs the README's
    capacity commands as written, in a process of their own)."""
    program, flag, module, *argv = shlex.split(command)
    assert (program, flag, module) == ("venv/bin/python", "-m", "components")
    monkeypatch.chdir(ROOT)
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert missing_lines(shown, out) == []
