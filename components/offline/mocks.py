"""Evaluate the whole program offline, under Pulumi mocks, and record every resource.

Used by the test suite and by the `components.plan` command: no Pulumi CLI, no provider
plugins, no cloud credentials. Ids and ARNs it invents are obvious placeholders
(account 123456789012, ids ending in "-mock-id").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.naming import PROJECT

if TYPE_CHECKING:
    from components.topology import StackResult

from components.offline.mock_answers import (  # noqa: F401  (re-exported for the tests)
    CREATED_TOKEN_PREFIX,
    INVOKES_BY_TOKEN,
    MOCK_ACCOUNT,
    SECRET_SIG,
    SECRET_SIG_KEY,
    created_token,
    get_kubeconfig_result,
    invoke_result,
    state_for,
)
from components.offline.stand_ins import StandIn, stand_ins_of

# The region of a config that names none (the tests); the plan command passes the stack's own.
DEFAULT_REGION = "eu-west-1"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
REDACTED = "[secret]"
SECRET_KEYS = ("runnerTokens", "gitlabToken")


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    parent: str | None
    inputs: dict[str, Any]  # plain values, secrets unwrapped: for assertions only
    redacted_inputs: dict[str, Any]  # secrets replaced by "[secret]": safe to print or export
    custom: bool
    # What the engine receives besides the inputs: it decides the order of creates, deletes and
    # replacements (see components/offline/order.py).
    dependencies: list[str] = field(default_factory=list)  # every URN it waits for
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)  # input -> URNs
    replace_on_changes: list[str] = field(default_factory=list)  # input paths that replace it
    ignore_changes: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)  # create/update/delete
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    protect: bool = False
    deleted_with: str = ""
    import_id: str = ""
    # URN of the explicit provider it is managed by: the engine deletes it before its provider
    # (pulumi/pulumi pkg/resource/graph/dependency_graph.go, DependingOn follows Provider).
    provider: str = ""
    # The names it had before (`aliases`): a spec is {"name", "type", "parentUrn", ...} as the
    # SDK sends it (`aliasSpecs`), an old URN is {"urn": ...}. The engine adopts the resource
    # found at one of them instead of creating a new one and deleting the old.
    aliases: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Plan:
    resources: list[RecordedResource]
    outputs: dict[str, Any]  # plain values
    redacted_outputs: dict[str, Any]
    rendered_files: dict[str, str]  # runner config files (config.toml, fargate.toml, values)
    warnings: list[str] = field(default_factory=list)
    invokes: list[str] = field(default_factory=list)  # data-source tokens called, sorted
    stand_ins: list[StandIn] = field(default_factory=list)  # the mocks' answers about the account

    def all(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.all(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.all(type_)]
            raise AssertionError(f"expected one {type_} named {name!r}, found {names}")
        return found[0]

    def named(self, name: str) -> RecordedResource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name!r}, found {len(found)}")
        return found[0]

    def children_of(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]


def _redact(value: Any) -> Any:
    """Turn a raw protobuf-JSON property value into plain JSON with secrets redacted."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return REDACTED
        if value.get(SECRET_SIG_KEY) == RESOURCE_REF_SIG:
            return {"resourceRef": value.get("urn")}
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes with placeholder values in one region."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.invoked: set[str] = set()  # what the deploying identity must be allowed to read
        self.stand_ins: list[StandIn] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return f"{args.name}-mock-id", state_for(args.typ, args.name, args.inputs, self.region)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        self.invoked.add(args.token)
        result = invoke_result(args.token, args.args, self.region)
        self.stand_ins += stand_ins_of(args.token, args.args, result)
        return result


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps each registration's parent and secret markers."""

    mocks: RecordingMocks

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: the parent's whole qualified type, then this type
        (pulumi/pulumi sdk/go/common/resource/urn.go NewURN, with the parent's
        QualifiedType; the root stack adds nothing). The SDK's mock monitor keeps only the
        parent's last type (pulumi/runtime/mocks.py make_urn), so an alias written for a
        grandchild's real URN would look wrong here, and a wrong one would look right."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = json_format.MessageToDict(request.object)
            self.recorded.append(
                RecordedResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent or None,
                    inputs=_sync_await(_deserialize(request.object)),
                    redacted_inputs=_redact(raw),
                    custom=bool(request.custom),
                    dependencies=list(request.dependencies),
                    property_dependencies={
                        key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                    replace_on_changes=list(request.replaceOnChanges),
                    ignore_changes=list(request.ignoreChanges),
                    custom_timeouts={
                        kind: value
                        for kind in ("create", "update", "delete")
                        if (value := getattr(request.customTimeouts, kind))
                    },
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    retain_on_delete=bool(request.retainOnDelete),
                    protect=bool(request.protect),
                    deleted_with=request.deletedWith,
                    import_id=request.importId,
                    # A provider reference is "<urn>::<id>".
                    provider=request.provider.rsplit("::", 1)[0] if request.provider else "",
                    aliases=_aliases(request),
                )
            )
        return response

    def Call(self, request: Any) -> Any:
        """Method calls on a resource (pulumi's MockMonitor has none): the one the program
        makes is pulumi-eks' `Cluster.get_kubeconfig`, answered from that cluster's inputs."""
        from pulumi.runtime.proto import provider_pb2
        from pulumi.runtime.rpc import serialize_properties

        if request.tok != "eks:index:Cluster/getKubeconfig":
            raise NotImplementedError(f"offline evaluation has no answer for call {request.tok}")
        args = _plain_call_args(json_format.MessageToDict(request.args))
        cluster = next(r for r in self.recorded if r.urn == args["__self__"])
        result = get_kubeconfig_result(cluster.inputs, args, self.mocks.region)
        return provider_pb2.CallResponse(
            **{"return": _sync_await(serialize_properties(result, {}))}
        )


def _aliases(request: Any) -> list[dict[str, Any]]:
    """The registration's aliases: the monitor supports `aliasSpecs`, so the SDK sends each
    as a spec or, for an alias given as a URN string, that URN (never `aliasURNs`)."""
    found = [json_format.MessageToDict(alias) for alias in request.aliases]
    return [a["spec"] if "spec" in a else {"urn": a.get("urn", "")} for a in found]


def _plain_call_args(raw: dict[str, Any]) -> dict[str, Any]:
    """A call's arguments as plain values: output values unwrapped, `__self__` as its URN."""
    plain: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict) and value.get(SECRET_SIG_KEY) == OUTPUT_VALUE_SIG:
            value = value.get("value")
        if isinstance(value, dict) and value.get(SECRET_SIG_KEY) == RESOURCE_REF_SIG:
            value = value.get("urn")
        plain[key] = value
    return plain


def _unwrap_secrets(value: Any) -> Any:
    """Plain values for assertions: Pulumi keeps nested secrets in a signed wrapper."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return _unwrap_secrets(value["value"])
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


async def _deserialize(struct: Any) -> dict[str, Any]:
    from pulumi.runtime import rpc

    return _unwrap_secrets(rpc.deserialize_properties(struct))


def _config_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@contextmanager
def _no_stack_traces() -> Iterator[None]:
    """Registrations without the caller's stack: the SDK walks the whole Python stack for each
    one (traceback.extract_stack, a stat and a file URI per frame) so that the engine can name
    the source line in its messages (pulumi/runtime/resource.py `_get_stack_trace`, 3.272.0).
    The mocks record no source position, and under pytest that walk was a fifth of an
    evaluation's time."""
    original = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original


class DuplicateUrnError(RuntimeError):
    """Two registrations of one URN: the engine fails the whole preview on the second."""


def record(
    build: Callable[[Callable[[str], None]], StackResult],
    config: Mapping[str, Any],
    stack: str = "dev",
    secret_keys: tuple[str, ...] = SECRET_KEYS,
    extra_config: Mapping[str, str] | None = None,
    preview: bool = False,
) -> Plan:
    """Run `build(warn)` under fresh mocks with the given project config and record it all.

    `extra_config` holds other namespaces' keys; its `aws:region` (default DEFAULT_REGION) is
    the region every invented ARN, zone and endpoint uses. `preview` runs it as `pulumi
    preview` would (unknown values stay unknown)."""
    all_config = {f"{PROJECT}:{k}": _config_value(v) for k, v in config.items()}
    all_config["aws:region"] = DEFAULT_REGION
    all_config.update(extra_config or {})
    mocks = RecordingMocks(all_config["aws:region"])
    monitor = RecordingMonitor(mocks)
    with _no_stack_traces():  # the root stack registers here
        pulumi.runtime.set_mocks(
            mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor
        )
    pulumi.runtime.set_all_config(
        all_config, secret_keys=[f"{PROJECT}:{k}" for k in secret_keys if k in config]
    )
    plain: dict[str, Any] = {}
    redacted: dict[str, Any] = {}
    files: dict[str, str] = {}
    warnings: list[str] = []

    def program() -> None:
        result = build(warnings.append)
        outputs = {k: pulumi.Output.from_input(v) for k, v in result.outputs.items()}
        rendered = dict(result.rendered_files)

        async def resolve_all() -> None:
            # One wait for everything: pumping the event loop once per value is what made an
            # evaluation slow.
            every = [*outputs.values(), *rendered.values()]
            values = await asyncio.gather(*(o.future() for o in every))
            secret = await asyncio.gather(*(o.is_secret() for o in every))
            for key, value, hidden in zip(outputs, values, secret, strict=False):
                plain[key] = value
                redacted[key] = REDACTED if hidden else value
            tail = zip(rendered, values[len(outputs) :], secret[len(outputs) :], strict=True)
            for path, value, hidden in tail:
                files[path] = REDACTED if hidden else value

        _sync_await(resolve_all())

    with _no_stack_traces():
        _sync_await(run_pulumi_func(program))
    urns = [r.urn for r in monitor.recorded]
    if len(set(urns)) != len(urns):
        twice = sorted({u for u in urns if urns.count(u) > 1})
        raise DuplicateUrnError(
            f"the program registers {', '.join(twice)} more than once: pulumi preview refuses "
            "it (Duplicate resource URN); give each resource a unique name"
        )
    return Plan(
        resources=list(monitor.recorded),
        outputs=plain,
        redacted_outputs=redacted,
        rendered_files=files,
        warnings=warnings,
        invokes=sorted(mocks.invoked),
        stand_ins=list(dict.fromkeys(mocks.stand_ins)),
    )


def evaluate(
    config: Mapping[str, Any],
    stack: str = "dev",
    secret_keys: tuple[str, ...] = SECRET_KEYS,
    extra_config: Mapping[str, str] | None = None,
) -> Plan:
    """Run the whole program for a config dict (project keys without prefix) and record it."""
    from components.config import load_stack_config
    from components.topology import build_stack

    return record(
        lambda warn: build_stack(load_stack_config(warn=warn), warn=warn),
        config,
        stack=stack,
        secret_keys=secret_keys,
        extra_config=extra_config,
    )
