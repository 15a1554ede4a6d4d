"""`venv/bin/python -m tests.parity [--update]`: compare (or refresh) the plan-parity baseline."""

from __future__ import annotations

import argparse
import sys

from tests.parity import (
    BASELINE_DIR,
    REFRESH_COMMAND,
    STACKS,
    difference,
    dumps,
    plan_of,
    snapshot,
    stored,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the baseline")
    args = parser.parse_args(argv)
    failed = False
    for stack in STACKS:
        fresh = snapshot(plan_of(stack))
        found = difference(stack, stored(stack), fresh)
        if found and args.update:
            BASELINE_DIR.mkdir(exist_ok=True)
            (BASELINE_DIR / f"{stack}.json").write_text(dumps(fresh))
            print(f"updated tests/parity/baseline/{stack}.json")
        elif found:
            print(found, file=sys.stderr)
            failed = True
    if failed:
        print(f"review the change, then run: {REFRESH_COMMAND}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
