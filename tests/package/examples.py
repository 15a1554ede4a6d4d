"""Evaluates the programs under examples/ with the recording mocks, as `pulumi preview` would
run them: the Pulumi CLI's Python host runs a program's __main__.py with
`runpy.run_path(args.PROGRAM, run_name='__main__')` (pulumi-language-python-exec), so each
example builds its resources in `build()` and exports them under `if __name__ == "__main__"`;
here `build()` runs inside the mocks."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from components.offline.mocks import Plan, record
from components.topology import StackResult
from tests.harness import ROOT

EXAMPLES = ROOT / "examples"


def example_config(example: str) -> dict[str, Any]:
    """The example's Pulumi.dev.yaml project keys, without their namespace."""
    folder = EXAMPLES / example
    project = yaml.safe_load((folder / "Pulumi.yaml").read_text())["name"]
    stack = yaml.safe_load((folder / "Pulumi.dev.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in stack.items() if k.startswith(f"{project}:")}


def load_build(example: str) -> Callable[[], Mapping[str, Any]]:
    path = EXAMPLES / example / "__main__.py"
    spec = importlib.util.spec_from_file_location(f"example_{example.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not as __main__: nothing is exported yet
    return module.build


def plan_example(example: str, secrets: Mapping[str, str], **overrides: Any) -> Plan:
    """The example's plan with its stack file, the secrets set as secrets, and overrides."""
    build = load_build(example)
    config = {**example_config(example), **secrets, **overrides}
    return record(
        lambda _warn: StackResult(outputs=dict(build()), rendered_files={}),
        config,
        secret_keys=tuple(secrets),
    )
