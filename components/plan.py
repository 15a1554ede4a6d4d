"""`python -m components.plan`: the offline plan command (see components/offline/plan.py)."""

import sys

from components.offline.plan import main

if __name__ == "__main__":
    sys.exit(main())
