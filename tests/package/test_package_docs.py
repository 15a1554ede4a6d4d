"""docs/package.md's args reference and docs/multi-language.md's inputs and outputs are
generated (venv/bin/python -m components.package_docs) and current; every field a program sets
is described, from the comment its source gives it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from components import package_docs
from components.domain.specs import EcsSpec, ExistingCluster
from components.ecs.runner import EcsFargateRunnerArgs
from components.offline.mocks import record
from components.topology import StackResult
from tests.harness import ROOT, sentinel


def test_the_generated_parts_are_current() -> None:
    stale = [p.name for p, text in package_docs.expected_pages().items() if p.read_text() != text]
    assert stale == [], f"run: {package_docs.COMMAND}"


@dataclass(frozen=True)
class _Documented:
    # the comment above a field,
    # on two lines
    above: int
    inline: str = "x"  # the comment on its line
    plain: tuple[str, ...] = ()
    documented: bool = False
    """a docstring below a field"""


def test_a_fields_description_is_the_comment_its_source_gives_it() -> None:
    docs = {d.name: d for d in package_docs.field_docs(_Documented)}
    assert docs["above"].description == "the comment above a field, on two lines"
    assert (docs["above"].type, docs["above"].default) == ("int", "required")
    assert (docs["inline"].description, docs["inline"].default) == (
        "the comment on its line",
        "'x'",
    )
    assert docs["plain"].description == ""
    assert docs["documented"].description == "a docstring below a field"


def test_a_settings_field_without_a_comment_names_the_stack_key_it_mirrors() -> None:
    docs = {d.name: d for d in package_docs.field_docs(EcsSpec)}
    assert docs["runner_version"].description.endswith("(stack key `ecs.runnerVersion`)")
    assert docs["runner_version"].default == repr(EcsSpec().runner_version)
    (karpenter,) = [d for d in package_docs.field_docs(ExistingCluster) if d.name == "karpenter"]
    assert karpenter.default == "'install'"  # the constant's value, not its name


def test_every_field_of_every_documented_class_is_described() -> None:
    classes = [args for _, args in package_docs.COMPONENTS]
    classes += [cls for _, group in package_docs.SETTINGS for cls in group]
    bare = [
        f"{cls.__name__}.{d.name}"
        for cls in classes
        for d in package_docs.field_docs(cls)
        if not d.description and d.type.split(" ")[0] not in package_docs.documented_names()
    ]
    assert bare == []


def test_the_page_shows_the_fields_as_the_source_declares_them() -> None:
    page = package_docs.PAGE.read_text()
    assert "| `name_prefix` | `str` | required | Physical names" in page
    assert "| `retired` | `bool` | `False` |" in page
    names = [d.name for d in package_docs.field_docs(EcsFargateRunnerArgs)]
    assert names == list(EcsFargateRunnerArgs.__dataclass_fields__)


def test_the_pages_python_program_builds_a_fleet_under_the_mocks() -> None:
    """The program docs/package.md shows runs as written: its fleet, in the given VPC, with
    its token kept secret."""
    (program,) = re.findall(r"```python\n(.*?)```", package_docs.PAGE.read_text(), re.S)
    token = sentinel("build")

    def build(_warn: Any) -> StackResult:
        exec(program.replace("pulumi.export(", "_exported("), {"_exported": lambda *_: None})
        return StackResult(outputs={}, rendered_files={})

    config = {"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": ["subnet-0123456789abcdef0"]}
    plan = record(build, {**config, "buildToken": token}, secret_keys=("buildToken",))
    (cluster, spot) = plan.all("aws:ecs/cluster:Cluster")
    assert {cluster.inputs["name"], spot.inputs["name"]} == {"ci-runners", "ci-runners-spot"}
    (version,) = plan.all("aws:secretsmanager/secretVersion:SecretVersion")
    assert json.loads(version.inputs["secretString"]) == {"build": token}
    assert version.redacted_inputs["secretString"] == "[secret]"


def _camel(name: str) -> str:
    head, *rest = name.split(".")[-1].split("_")
    return head + "".join(part.title() for part in rest)


def test_what_multi_language_says_the_plugin_lacks_is_not_in_its_schema() -> None:
    """The page's list of what only the Python package offers must not name an input the
    plugin's schema declares (it named `existingCluster` after the plugin gained it)."""
    schema = json.loads((ROOT / "provider" / "schema.json").read_text())
    inputs = {
        name
        for section in ("resources", "types")
        for item in schema[section].values()
        for name in item.get("inputProperties", item.get("properties", {}))
    }
    page = (ROOT / "docs" / "multi-language.md").read_text()
    match = re.search(r"Less than the Python args offer:(.*?)\n\n", page, re.S)
    assert match is not None
    named = {_camel(n) for n in re.findall(r"`([^`]+)`", match.group(1))}
    assert named and sorted(named & inputs) == []
