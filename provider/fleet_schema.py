"""Writes schema.json: the schema the Pulumi CLI gets from the plugin (GetSchema), generated
offline from the components' annotations. `venv/bin/python provider/fleet_schema.py` refreshes
it; tests/package/test_provider.py fails when it is stale."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA_FILE = HERE / "schema.json"


def rendered_schema() -> str:
    from fleet_provider import fleet_provider

    return json.dumps(json.loads(fleet_provider().schema), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.path[:0] = [str(HERE.parent)]  # the package one folder up, as requirements.txt installs
    SCHEMA_FILE.write_text(rendered_schema())
    print(f"wrote {SCHEMA_FILE.relative_to(HERE.parent)}")
