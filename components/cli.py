"""`python -m components plan|capacity`: the offline tools behind one entry point.

Both subcommands speak the same language (components/offline/command.py): `--stack`,
`--project-dir`, `--set KEY=VALUE` with the `pulumi config set --path` key syntax, and exit
status 2 with a message for bad input. `python -m components.plan` and
`python -m components.capacity` run the same code.
"""

from __future__ import annotations

import argparse

from components.capacity import cli as capacity
from components.offline import plan

PROG = "python -m components"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="plan|capacity")
    for name, tool in (("plan", plan), ("capacity", capacity)):
        summary = (tool.__doc__ or "").split("\n\n")[0]
        sub = commands.add_parser(name, help=summary, description=summary)
        tool.add_arguments(sub)
        sub.set_defaults(execute=tool.execute)
    args = parser.parse_args(argv)
    return args.execute(args)
