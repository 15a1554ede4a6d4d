"""Entry point of the component package plugin: serves EcsRunnerFleet and EksRunnerFleet.

The Pulumi CLI runs this folder's __main__.py with the plugin runtime `python`
(PulumiPlugin.yaml); `pulumi.provider.main` then answers the engine's GetSchema and Construct
calls (what `component_provider_host` does, with the validating provider of fleet_provider.py).
"""

import sys

from fleet_provider import fleet_provider
from pulumi.provider import main

if __name__ == "__main__":
    main(fleet_provider(), sys.argv[1:])
