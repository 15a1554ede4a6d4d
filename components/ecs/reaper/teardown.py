"""Which teardown the drain Invocation's delete is: `pulumi destroy`, or a topology switch.

Zipped with handler.py into the Lambda package `reaper`: standard library and botocore (the
SSM client is passed in).

Every `pulumi up` writes the deployed `mode` into an SSM parameter (the topology marker,
`components/topology.py`) that depends on this drain. Pulumi deletes a resource only after
everything that depends on it (components/offline/order.py), so:

* `pulumi destroy` deletes the marker first: the drain finds no marker and cancels every job
  (retire the managers, stop every task), so the clusters and the network can go at once;
* a switch to `mode: eks` still declares the marker, now with value `eks` and no dependency
  on this drain, so it survives the update in which the ECS resources are removed: the drain
  finds `eks` and only retires the managers (scaled to zero: no new job), stopping no task.
  Their groups' deletes come next and wait for each manager's termination hook, i.e. for its
  running jobs (up to the job timeout); the EKS runners already took over the new jobs.
* a marker that still says `ecs` is a `pulumi up` that keeps the ECS topology (a drain
  Invocation replaced or renamed): nothing to drain, its managers stay.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

OWN_MODE = "ecs"
DESTROY = "destroy"  # no marker: cancel every job
SWITCH = "switch"  # another mode is deployed: retire the managers, let their jobs finish
STAYS = "stays"  # this mode is still deployed: leave the managers alone


def teardown_kind(ssm: Any, parameter: str | None) -> str:
    """DESTROY, SWITCH or STAYS from the marker. Without a marker name (a function deployed
    before the marker existed) it is a destroy, as it always was; an error other than a
    missing parameter propagates, so an unreadable marker never cancels jobs."""
    if not parameter:
        return DESTROY
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return DESTROY
        raise
    return STAYS if value == OWN_MODE else SWITCH
