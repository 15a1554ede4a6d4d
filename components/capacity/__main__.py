"""`python -m components.capacity`: the capacity estimate (see components/capacity/cli.py)."""

import sys

from components.capacity.cli import main

if __name__ == "__main__":
    sys.exit(main())
