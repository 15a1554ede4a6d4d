"""Generates the args reference of docs/package.md from the components' dataclasses, and the
inputs and outputs of docs/multi-language.md from provider/schema.json.

    venv/bin/python -m components.package_docs          # rewrite both references
    venv/bin/python -m components.package_docs --check  # exit 1 when either is out of date

Each field's description is what its source says: the comment on its line or the comment
lines right above it (or a docstring below it). A settings field without one falls back to the
stack config key it mirrors (components/config/schema*.py), so both doors read the same text.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import json
import re
import sys
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path

from components.config import schema
from components.config.keys import Section
from components.domain import specs
from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs
from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs
from components.gitlab.runners import GitLabRunners, GitLabRunnersArgs
from components.observability.monitoring import (
    FleetMonitoring,
    FleetMonitoringArgs,
    MonitoringTargets,
)
from components.shared.cache import BuildCache, BuildCacheArgs, CacheBucket
from components.shared.images import ImageCache, ImageCacheArgs, ImageCacheInfo
from components.shared.network import Network, NetworkArgs, VpcRefs

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "package.md"
LANGUAGES_PAGE = ROOT / "docs" / "multi-language.md"
SCHEMA = ROOT / "provider" / "schema.json"
COMMAND = "venv/bin/python -m components.package_docs"
BEGIN = "<!-- BEGIN GENERATED ARGS (python -m components.package_docs) -->"
END = "<!-- END GENERATED ARGS -->"
SCHEMA_BEGIN = "<!-- BEGIN GENERATED SCHEMA (python -m components.package_docs) -->"
SCHEMA_END = "<!-- END GENERATED SCHEMA -->"

# The public components, each with its args class, in the order a program builds them.
COMPONENTS: tuple[tuple[type, type], ...] = (
    (EcsFargateRunner, EcsFargateRunnerArgs),
    (EksFargateRunner, EksFargateRunnerArgs),
    (Network, NetworkArgs),
    (BuildCache, BuildCacheArgs),
    (ImageCache, ImageCacheArgs),
    (GitLabRunners, GitLabRunnersArgs),
    (FleetMonitoring, FleetMonitoringArgs),
)
# The value types those args hold, by the part of the page that lists them.
SETTINGS: tuple[tuple[str, tuple[type, ...]], ...] = (
    (
        "Fleet settings (`components/domain/specs.py`)",
        (
            specs.EcsFleetSpec,
            specs.EksFleetSpec,
            specs.RunnerSpec,
            specs.EcsSpec,
            specs.TaskDefinitionSpec,
            specs.EksSpec,
            specs.ExistingCluster,
            specs.ObservabilitySpec,
        ),
    ),
    (
        "What the shared components take and give",
        (
            VpcRefs,
            specs.NetworkSpec,
            CacheBucket,
            specs.ImagesSpec,
            ImageCacheInfo,
            specs.GitLabSpec,
            specs.AlertsSpec,
            MonitoringTargets,
        ),
    ),
)


def _section(path: str) -> Section:
    return next(s for s in schema.SECTIONS if s.path == path)


# The stack config section each settings class mirrors (field = snake_case of the key).
STACK_SECTIONS: dict[type, Section] = {
    specs.EcsFleetSpec: schema.TOP,
    specs.EksFleetSpec: schema.TOP,
    specs.RunnerSpec: schema.RUNNER,
    specs.EcsSpec: _section("ecs"),
    specs.TaskDefinitionSpec: schema.TASK_DEFINITION,
    specs.EksSpec: _section("eks"),
    specs.ObservabilitySpec: _section("observability"),
    specs.NetworkSpec: _section("network"),
    specs.ImagesSpec: _section("images"),
    specs.GitLabSpec: _section("gitlab"),
    specs.AlertsSpec: _section("alerts"),
}


# What an empty container's factory gives, as it is written.
EMPTY = {"dict": "{}", "tuple": "()", "list": "[]"}


@dataclass(frozen=True)
class FieldDoc:
    name: str
    type: str
    default: str  # "required" when the field has none
    description: str


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("gi_b", "gib")


def _stack_key_doc(cls: type, field_name: str) -> str:
    """The stack config key a settings field mirrors, with its documentation."""
    section = STACK_SECTIONS.get(cls)
    if section is None:
        return ""
    for key in section.keys:
        if (key.attr_name or _snake(key.name)) == field_name:
            path = f"{section.path}.{key.name}" if section.path else key.name
            return f"{key.doc} (stack key `{path}`)"
    return ""


def _comments_by_line(source: str) -> dict[int, str]:
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    return comments


def _described(lines: list[str], comments: dict[int, str], node: ast.AnnAssign) -> list[str]:
    """The comment lines right above a field and those within its own lines."""
    above: list[str] = []
    line = node.lineno - 1
    while line >= 1 and lines[line - 1].strip().startswith("#"):
        above.insert(0, comments[line])
        line -= 1
    end = node.end_lineno or node.lineno
    return above + [comments[n] for n in range(node.lineno, end + 1) if n in comments]


def _default(node: ast.AnnAssign, module: object) -> str:
    """The default as written; a module constant as its value."""
    value = node.value
    if value is None:
        return "required"
    if isinstance(value, ast.Name) and isinstance(getattr(module, value.id, None), str | int):
        return repr(getattr(module, value.id))
    if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "field":
        keywords = {k.arg: k.value for k in value.keywords}
        if "default" in keywords:
            return ast.unparse(keywords["default"])
        if "default_factory" in keywords:
            factory = ast.unparse(keywords["default_factory"])
            return EMPTY.get(factory, f"{factory}()")
        return "required"
    return ast.unparse(value)


def field_docs(cls: type) -> list[FieldDoc]:
    """Every dataclass field of `cls` as its source declares it."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    comments = _comments_by_line(source)
    (class_node,) = ast.parse(source).body
    assert isinstance(class_node, ast.ClassDef)
    names = {f.name for f in dataclasses.fields(cls)}
    docs: list[FieldDoc] = []
    body = class_node.body
    for index, node in enumerate(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if node.target.id not in names:
            continue
        text = " ".join(_described(lines, comments, node))
        following = body[index + 1] if index + 1 < len(body) else None
        if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            text = " ".join([text, inspect.cleandoc(str(following.value.value))]).strip()
        text = text or _stack_key_doc(cls, node.target.id)
        docs.append(
            FieldDoc(
                node.target.id,
                ast.unparse(node.annotation),
                _default(node, inspect.getmodule(cls)),
                text,
            )
        )
    return docs


def _anchor(cls: type) -> str:
    return cls.__name__.lower()


def _see(type_text: str, documented: set[str]) -> str:
    """Links to the tables of the documented classes a type names."""
    named = [n for n in re.findall(r"\b[A-Z][A-Za-z]+\b", type_text) if n in documented]
    return ", ".join(f"[{n}](#{n.lower()})" for n in dict.fromkeys(named))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(cls: type) -> str:
    """The first paragraph of the class's own docstring (not dataclass's signature)."""
    (node,) = ast.parse(textwrap.dedent(inspect.getsource(cls))).body
    doc = ast.get_docstring(node) if isinstance(node, ast.ClassDef) else None
    return " ".join((doc or "").split("\n\n")[0].split())


def _table(cls: type, documented: set[str], component: type | None = None) -> list[str]:
    """One class's fields; the args of a component say what the component builds."""
    module = cls.__module__.replace(".", "/") + ".py"
    summary = _summary(component or cls)
    if component is not None:
        summary = f"The args of `{component.__name__}`: {summary}"
    lines = [f"#### {cls.__name__}", "", f"`{module}`. {summary}".rstrip(), ""]
    lines += ["| Field | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for doc in field_docs(cls):
        see = _see(doc.type, documented)
        kind = f"`{doc.type}`" + (f" ({see})" if see else "")
        default = "required" if doc.default == "required" else f"`{doc.default}`"
        description = doc.description or (f"See {see}." if see else "")
        cells = [f"`{doc.name}`", kind, default, description]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def _type_token(component: type) -> str:
    return inspect.getmodule(component).TYPE_TOKEN  # type: ignore[union-attr]


def documented_names() -> set[str]:
    """The classes the reference has a table of."""
    names = {args.__name__ for _, args in COMPONENTS}
    return names | {cls.__name__ for _, group in SETTINGS for cls in group}


def render_reference() -> str:
    documented = documented_names()
    lines = [
        "### The components",
        "",
        "| Component | Import | Args | Type token |",
        "| --- | --- | --- | --- |",
    ]
    for component, args in COMPONENTS:
        lines.append(
            f"| {component.__name__} | `from {component.__module__} import "
            f"{component.__name__}, {args.__name__}` | [{args.__name__}](#{_anchor(args)}) "
            f"| `{_type_token(component)}` |"
        )
    lines += ["", "### Component args", ""]
    for component, args in COMPONENTS:
        lines += _table(args, documented, component)
    for title, group in SETTINGS:
        lines += [f"### {title}", ""]
        for cls in group:
            lines += _table(cls, documented)
    return "\n".join(lines).rstrip()


def _schema_type(prop: dict[str, object]) -> str:
    """A schema property's type as a reader says it: `list of RunnerArgs`, `map of string`."""
    if "$ref" in prop:
        name = str(prop["$ref"]).rsplit(":", 1)[-1]
        return f"[{name}](#{name.lower()})"
    kind = str(prop.get("type", ""))
    if kind == "array":
        return f"list of {_schema_type(prop['items'])}"  # type: ignore[arg-type]
    if kind == "object" and "additionalProperties" in prop:
        return f"map of {_schema_type(prop['additionalProperties'])}"  # type: ignore[arg-type]
    return kind


def _schema_table(properties: dict, required: list[str], inputs: bool) -> list[str]:
    head = (
        "| Input | Type | Required | Description |" if inputs else "| Output | Type | Description |"
    )
    lines = [head, "| --- | --- | --- | --- |" if inputs else "| --- | --- | --- |"]
    for name, prop in sorted(properties.items()):
        kind = _schema_type(prop) + ("" if prop.get("plain") or not inputs else " (Input)")
        description = _cell(" ".join(str(prop.get("description", "")).split()))
        cells = [f"`{name}`", kind, "yes" if name in required else "", description]
        lines.append("| " + " | ".join(cells if inputs else [cells[0], kind, description]) + " |")
    return [*lines, ""]


def render_schema_reference() -> str:
    """The components, their inputs and outputs as provider/schema.json declares them."""
    document = json.loads(SCHEMA.read_text())
    lines: list[str] = []
    for token, resource in sorted(document["resources"].items()):
        lines += [f"### {token.rsplit(':', 1)[-1]}", "", f"`{token}`", ""]
        lines += [" ".join(resource.get("description", "").split()), ""]
        lines += _schema_table(
            resource["inputProperties"], resource.get("requiredInputs", []), inputs=True
        )
        lines += _schema_table(resource["properties"], [], inputs=False)
    for token, kind in sorted(document["types"].items()):
        lines += [f"### {token.rsplit(':', 1)[-1]}", "", f"`{token}`", ""]
        lines += _schema_table(kind["properties"], kind.get("required", []), inputs=True)
    return "\n".join(lines).rstrip()


def _with_block(page: Path, begin: str, end: str, generated: str) -> str:
    head, found, rest = page.read_text().partition(begin + "\n")
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        raise SystemExit(f"{page.name}: missing marker line '{begin}' or '{end}'")
    return f"{head}{begin}\n{generated}\n{end}{tail}"


def expected_pages() -> dict[Path, str]:
    return {
        PAGE: _with_block(PAGE, BEGIN, END, render_reference()),
        LANGUAGES_PAGE: _with_block(
            LANGUAGES_PAGE, SCHEMA_BEGIN, SCHEMA_END, render_schema_reference()
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.package_docs", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = parser.parse_args(argv)
    stale = {path: text for path, text in expected_pages().items() if path.read_text() != text}
    if args.check:
        for path in stale:
            print(f"{path.name} is out of date: run {COMMAND}")
        return 1 if stale else 0
    for path, text in stale.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
