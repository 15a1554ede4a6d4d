"""The construct path as the engine drives it: the inputs serialized into a ConstructRequest's
protobuf Struct (pulumi/runtime/rpc.py `serialize_properties`: numbers become doubles, secrets
secret-signature objects, unknowns the UNKNOWN string), sent as bytes, decoded by the provider
server's own `ProviderServicer._construct_inputs` (pulumi/provider/server.py:194-213, SDK
3.272.0), then constructed under the recording mocks; and the server's error path."""

from __future__ import annotations

import asyncio
import base64
import gzip
import sys
from typing import Any

import pulumi
import pytest
from pulumi.output import Unknown, _OutputData
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError, ProviderServicer
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import errors_pb2, provider_pb2, resource_pb2, status_pb2
from pulumi.runtime.sync_await import _sync_await

from components import __version__
from components.offline.mocks import Plan, record
from components.topology import StackResult
from tests.harness import ROOT, sentinel

sys.path.insert(0, str(ROOT / "provider"))
from fleet_provider import COMPONENTS, PACKAGE, fleet_provider

ECS = f"{PACKAGE}:index:EcsRunnerFleet"
EKS = f"{PACKAGE}:index:EksRunnerFleet"
VPC_URN = "urn:pulumi:dev::consumer::aws:ec2/vpc:Vpc::main"


def _unknown() -> pulumi.Output[str]:
    """What `vpc.id` is at preview before the VPC exists."""
    data: asyncio.Future[_OutputData[str]] = asyncio.Future()
    data.set_result(_OutputData(resources=set(), value=None, is_known=False, is_secret=False))
    return pulumi.Output._from_data(data)


def _inputs(**extra: Any) -> dict[str, Any]:
    """A consumer program's inputs (Python ints: the wire makes them doubles)."""
    return {
        "namePrefix": "ci-runners",
        "runners": [
            {"name": "build", "concurrency": 20},
            {"name": "build-spot", "lane": "spot", "concurrency": 20},
        ],
        "runnerTokens": pulumi.Output.secret(
            {"build": sentinel("build"), "build-spot": sentinel("build-spot")}
        ),
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        **extra,
    }


def _request(
    token: str, inputs: dict[str, Any], deps: dict[str, list[str]], output_values: bool = False
) -> Any:
    """The ConstructRequest the engine sends, through its bytes (needs the mocks' monitor:
    secrets are signed only when the monitor supports them, rpc.py:690-701). The engine keeps
    Outputs as output values for a provider that accepts them (sdk/go/common/resource/plugin/
    provider_plugin.go Construct: `KeepOutputValues: pcfg.acceptOutputs`; the Python server's
    Configure answers acceptOutputs=True, server.py:481-483): `output_values` sends that form
    (the mocks' monitor does not offer it, pulumi/runtime/mocks.py:357-361, so only for this)."""
    feature = resource_pb2.RESOURCE_MONITOR_FEATURE_OUTPUT_VALUES
    features = settings.SETTINGS.monitor_features
    settings.SETTINGS.monitor_features = features | {feature} if output_values else features
    try:
        struct = _sync_await(rpc.serialize_properties(inputs, {}, keep_output_values=True))
    finally:
        settings.SETTINGS.monitor_features = features
    request = provider_pb2.ConstructRequest(
        name="ci",
        type=token,
        inputs=struct,
        inputDependencies={
            k: provider_pb2.ConstructRequest.PropertyDependencies(urns=v) for k, v in deps.items()
        },
    )
    return provider_pb2.ConstructRequest.FromString(request.SerializeToString())


def _decoded(request: Any) -> dict[str, Any]:
    decoding = ProviderServicer._construct_inputs(request.inputs, request.inputDependencies)
    return _sync_await(decoding)


def _round_trip(
    token: str,
    inputs: dict[str, Any],
    deps: dict[str, list[str]] | None = None,
    seen: dict[str, Any] | None = None,
    preview: bool = False,
    output_values: bool = False,
) -> Plan:
    def build(_warn: Any) -> StackResult:
        request = _request(token, inputs, deps or {}, output_values)
        decoded = _decoded(request)
        if seen is not None:
            seen.update(request=request, decoded=decoded)
        result = fleet_provider().construct("ci", token, decoded, pulumi.ResourceOptions())
        return StackResult(outputs=dict(result.state), rendered_files={})

    return record(build, {}, preview=preview)


FORMS = {"secret-signature": False, "output-values": True}


@pytest.fixture(scope="module", params=list(FORMS))
def wire(request: pytest.FixtureRequest) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    inputs = _inputs(maxJobsPerManager=20, logRetentionDays=7)
    plan = _round_trip(ECS, inputs, seen=seen, output_values=FORMS[request.param])
    return {**seen, "plan": plan, "form": request.param}


def _user_data(plan: Plan) -> list[str]:
    return [
        gzip.decompress(base64.b64decode(t.inputs["userData"])).decode()
        for t in plan.all("aws:ec2/launchTemplate:LaunchTemplate")
    ]


def test_numbers_cross_the_wire_as_doubles_and_the_sdk_does_not_convert_them(wire: dict) -> None:
    """map_input_properties converts an integer property with int() and then overwrites it
    with the raw value (no `continue`: pulumi/provider/experimental/component.py:276-285 at
    3.272.0), so the provider's own conversion is what makes them ints."""
    fields = wire["request"].inputs.fields
    assert fields["maxJobsPerManager"].WhichOneof("kind") == "number_value"
    decoded = wire["decoded"]
    assert type(decoded["maxJobsPerManager"]) is float
    assert type(decoded["runners"][0]["concurrency"]) is float
    provider = fleet_provider()
    mapped = provider.map_inputs(decoded, provider._component_defs["EcsRunnerFleet"])
    assert type(mapped["maxJobsPerManager"]) is float


def test_the_ecs_fleet_builds_from_the_decoded_request_with_ints(wire: dict) -> None:
    plan = wire["plan"]
    clusters = {r.inputs["name"] for r in plan.all("aws:ecs/cluster:Cluster")}
    assert clusters == {"ci-runners", "ci-runners-spot"}
    assert len(plan.all("aws:autoscaling/group:Group")) == 2  # 40 jobs at 20 per manager
    # tomli_w writes a float as 20.0: the managers' config.toml got ints.
    (first, *_) = _user_data(plan)
    assert "concurrent = 20\n" in first and "request_concurrency = 1\n" in first
    assert ".0\n" not in "".join(line + "\n" for line in first.splitlines() if " = " in line)


def test_tokens_arrive_as_a_secret_and_stay_secret(wire: dict) -> None:
    tokens = wire["request"].inputs.fields["runnerTokens"].struct_value
    signature = tokens.fields[rpc._special_sig_key].string_value
    assert (
        signature
        == {
            "secret-signature": rpc._special_secret_sig,
            "output-values": rpc._special_output_value_sig,
        }[wire["form"]]
    )
    decoded = wire["decoded"]["runnerTokens"]
    assert isinstance(decoded, pulumi.Output) and _sync_await(decoded.is_secret())
    plan = wire["plan"]
    (version,) = plan.all("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.redacted_inputs["secretString"] == "[secret]"
    shown = repr([r.redacted_inputs for r in plan.resources]) + "".join(_user_data(plan))
    assert sentinel("build") not in shown and sentinel("build-spot") not in shown


@pytest.mark.parametrize(
    ("deps", "output_values"),
    [({"vpcId": [VPC_URN]}, True), ({"vpcId": [VPC_URN]}, False), ({}, False)],
    ids=["output-value", "from-a-resource", "bare"],
)
def test_an_unknown_vpc_id_at_preview_does_not_break_construction(
    deps: dict, output_values: bool
) -> None:
    """An output value decodes to an unknown Output (rpc.py `deserialize_output_value`); the
    UNKNOWN string with dependencies is wrapped in one, without them passed on as a bare
    `Unknown` (server.py `_select_value`): all must construct."""
    seen: dict[str, Any] = {}
    inputs = _inputs(vpcId=_unknown())
    plan = _round_trip(ECS, inputs, deps, seen, preview=True, output_values=output_values)
    sent = seen["request"].inputs.fields["vpcId"]
    assert (sent.WhichOneof("kind") == "struct_value") is output_values  # else UNKNOWN text
    vpc_id = seen["decoded"]["vpcId"]
    assert isinstance(vpc_id, pulumi.Output if deps else Unknown)
    groups = plan.all("aws:ec2/securityGroup:SecurityGroup")
    assert groups and all(isinstance(g.inputs["vpcId"], Unknown) for g in groups)
    assert len(plan.all("aws:autoscaling/group:Group")) == 1


def test_the_eks_fleet_builds_from_the_decoded_request() -> None:
    plan = _round_trip(EKS, _inputs(clusterName="ci-k8s", spotCpuLimit=16))
    (cluster,) = plan.all("eks:index:Cluster")
    assert cluster.inputs["name"] == "ci-k8s"
    assert plan.redacted_outputs["kubeconfig"] == "[secret]"


class Aborted(Exception):
    """What grpc.aio's abort_with_status raises to end the call."""


class Context:
    status: Any = None

    async def abort_with_status(self, status: Any) -> None:
        self.status = status
        raise Aborted


def _serve(servicer: ProviderServicer, request: Any, context: Context) -> Any:
    """Construct as the server runs it, in a task on a loop of its own: the settings and
    config it resets are context variables of that task (settings.py `configure`), and the
    test process's current loop stays set (asyncio.run would unset it)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(servicer.Construct(request, context))
    finally:
        loop.close()


def _bad_request() -> Any:
    captured: dict[str, Any] = {}

    def build(_warn: Any) -> StackResult:
        captured["request"] = _request(
            ECS,
            _inputs(
                runners=[
                    {"name": "build", "lane": "gpu"},
                    {"name": "dind", "lane": "privileged"},
                    {"name": "build"},
                ]
            ),
            {},
        )
        return StackResult(outputs={}, rendered_files={})

    record(build, {})
    return captured["request"]


def test_the_server_turns_refused_inputs_into_per_property_grpc_errors() -> None:
    """server.py Construct: an InputPropertiesError becomes INVALID_ARGUMENT with one
    PropertyError per problem in the status details (create_grpc_invalid_properties_status)."""
    servicer = ProviderServicer(fleet_provider(), [], "")
    context = Context()
    with pytest.raises(Aborted):
        _serve(servicer, _bad_request(), context)
    assert context.status.code.name == "INVALID_ARGUMENT"
    ((key, blob),) = context.status.trailing_metadata
    assert key == "grpc-status-details-bin"
    errors = errors_pb2.InputPropertiesError()
    status_pb2.Status.FromString(blob).details[0].Unpack(errors)
    paths = {e.property_path: e.reason for e in errors.errors}
    assert set(paths) == {"runners", "runners[0].lane", "runners[1].lane", "runnerTokens.dind"}
    assert paths["runners[0].lane"] == (
        "runners[0] (build).lane: 'gpu' is not one of fargate | spot | privileged; pick one of them"
    )  # the stack file's text (reader.py `choice`, through value_rules.py `choice_problem`)


def test_without_the_checks_a_bad_input_is_a_component_init_error_after_registering() -> None:
    """The SDK's own ComponentProvider runs `__init__` and wraps what it raises in
    ComponentInitError (component.py:93-100), which the server reports as a traceback
    (server.py:140-147), after the component registered: why FleetProvider checks first."""
    plain = ComponentProvider(COMPONENTS, PACKAGE, None, __version__)

    def build(_warn: Any) -> StackResult:
        inputs = _inputs(runners=[{"name": "build", "concurrency": 2.5}])
        with pytest.raises(ComponentInitError, match="whole number"):
            plain.construct("ci", ECS, inputs, pulumi.ResourceOptions())
        return StackResult(outputs={}, rendered_files={})

    assert [r.type for r in record(build, {}).resources] == [ECS]

    def init() -> None:
        raise TypeError("expected a whole number, got 2.5")

    class Failing(ComponentProvider):
        def construct(self, *_args: Any, **_kwargs: Any) -> Any:
            try:
                init()
            except TypeError as error:
                raise ComponentInitError(error) from error

    servicer = ProviderServicer(Failing(COMPONENTS, PACKAGE, None, __version__), [], "")
    context = Context()
    with pytest.raises(Exception, match="whole number") as raised:
        _serve(servicer, _bad_request(), context)
    assert context.status is None and "in init" in str(raised.value)  # the traceback
