"""The command language both offline tools share (`python -m components plan|capacity`).

The same `--stack`, `--project-dir` and `--set` arguments, the same stack-file reading
(components/offline/stack_input.py) and one way to report bad input: exit status 2 and a
message naming the file or the key and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from components.config import ConfigError
from components.offline.config_path import SettingError
from components.offline.stack_file import StackFileError

BAD_INPUT = 2  # like argparse's own usage errors
SET_HELP = (
    "override a config value (repeatable), key as in `pulumi config set --path`: mode=eks, "
    "'runners[0].concurrency=50', 'eks.publicAccessCidrs[0]=1.2.3.4/32' (or the whole list "
    """as JSON: 'eks.publicAccessCidrs=["1.2.3.4/32"]'), aws:region=us-east-1"""
)


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that pick the stack file and change it, identical in both tools."""
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument(
        "--project-dir", default=Path("."), type=Path, help="folder with Pulumi.yaml"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)


def report_bad_input(run: Callable[[], int]) -> int:
    """Run a command; a broken stack file, a bad `--set` or an invalid configuration becomes
    its message on standard error and exit status 2."""
    try:
        return run()
    except (ConfigError, StackFileError) as error:
        print(error, file=sys.stderr)
    except SettingError as error:
        print(f"--set {error}", file=sys.stderr)
    return BAD_INPUT


def print_warnings(warnings: Iterable[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
