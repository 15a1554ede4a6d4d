"""`python -m components plan|capacity`: the offline tools (see components/cli.py)."""

import sys

from components.cli import main

if __name__ == "__main__":
    sys.exit(main())
