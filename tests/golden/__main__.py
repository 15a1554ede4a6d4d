"""`python -m tests.golden [--update]`: compare (or refresh) the golden runner files."""

from __future__ import annotations

import argparse
import sys

from tests.golden import MODES, REFRESH_COMMAND, example_plan, rendered, stored, update


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    args = parser.parse_args(argv)
    stale = []
    for mode in MODES:
        plan = example_plan(mode)
        if args.update:
            for path in update(mode, plan):
                print(f"updated tests/golden/{mode}/{path}")
            continue
        fresh, old = rendered(plan), stored(mode)
        stale += [
            f"{mode}/{p}" for p in sorted(fresh.keys() | old.keys()) if fresh.get(p) != old.get(p)
        ]
    for path in stale:
        print(f"differs: tests/golden/{path}", file=sys.stderr)
    if stale:
        print(f"review the change, then run: {REFRESH_COMMAND}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
