"""Messages of the contract: event envelopes and their batches, acks, edge status, commands.

Every message is a JSON object with ``v`` = ``CONTRACT_VERSION``. Events travel
in batches (several envelopes per MQTT message): the Python MQTT client, not the
broker or SQLite, bounds a one-message-per-event design.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, NamedTuple, Union
from uuid import UUID

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)

from protocols.contract.errors import ContractError
from protocols.contract.events import (
    EVENT_KINDS,
    Code,
    Day,
    Payload,
    PositiveQuantity,
    Timestamp,
)

CONTRACT_VERSION = 1

EdgeId = Annotated[str, Field(min_length=7, max_length=260, pattern=r"^[^/#+]+(/[^/#+]+){3}$")]
Seq = Annotated[int, Field(ge=1, lt=2**63, strict=True)]
PROBE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ProbeId = Annotated[str, Field(pattern=PROBE_PATTERN)]
_PROBE = re.compile(PROBE_PATTERN)


def _exact_version(value: object) -> object:
    # Literal[1] alone would take true and 1.0 for 1.
    if type(value) is not int:
        raise ValueError(f"Input should be {CONTRACT_VERSION}")
    return value


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Annotated[Literal[1], BeforeValidator(_exact_version)] = 1


class Envelope(Message):
    """One event recorded at a station, as the edge committed it."""

    event_id: UUID
    edge_id: EdgeId = Field(description="site/area/line/edge of the edge node that recorded it")
    seq: Seq = Field(description="per-edge sequence number, 1, 2, 3, ... without gaps")
    ts: Timestamp = Field(description="source timestamp: when it happened at the station (UTC)")
    kind: str = Field(description="one of the event kinds; says which payload schema applies")
    station: Code
    payload: dict[str, Any]

    def parsed_payload(self) -> Payload:
        return EVENT_KINDS[self.kind].model_validate(self.payload)


class Ack(Message):
    """Central's end-to-end acknowledgement: every event up to ``acked_seq`` is committed.

    The answer to a probe batch echoes its ``probe`` id; no other ack carries one.
    """

    edge_id: EdgeId
    acked_seq: Annotated[int, Field(ge=0, lt=2**63, strict=True)]
    ts: Timestamp
    probe: ProbeId | None = Field(
        None, description="the probe id of the batch this answers; only on a probe's answer"
    )


class EdgeStatus(Message):
    """Birth (``online``) and death (``offline``, also the MQTT last will) of an edge."""

    edge_id: EdgeId
    state: Literal["online", "offline"]
    ts: Timestamp
    reason: Literal["connected", "shutdown", "connection_lost"]
    software: str = ""


class DispatchOperation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    operation: Code
    work_center: Code
    stations: list[Code] = Field(default_factory=list)
    planned_start: Timestamp | None = None
    planned_end: Timestamp | None = None
    quantity: PositiveQuantity
    status: Literal["pending", "running", "done"] = Field(
        "pending", description="as central knew it when it sent this version"
    )
    good: Annotated[int, Field(ge=0, strict=True)] = Field(
        0, description="good pieces reported so far, as central knew it then"
    )


class DispatchOrder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    work_order: Code
    item: Code
    quantity: PositiveQuantity
    due: Day | None = None
    sequence: Annotated[int, Field(ge=1, strict=True)]
    operations: list[DispatchOperation]


class DispatchList(BaseModel):
    """Released production orders for the edge's line, in planned sequence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    orders: list[DispatchOrder]


class MasterData(BaseModel):
    """What stations check against offline: items, BOMs, routings, defect codes, operators."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[dict[str, Any]] = Field(default_factory=list)
    bom: list[dict[str, Any]] = Field(default_factory=list)
    routings: list[dict[str, Any]] = Field(default_factory=list)
    defect_codes: list[dict[str, Any]] = Field(default_factory=list)
    operators: list[dict[str, Any]] = Field(default_factory=list)


COMMAND_BODIES: dict[str, type[BaseModel]] = {
    "dispatch_list": DispatchList,
    "master_data": MasterData,
}


class Command(Message):
    """A downlink command, retained on ``cmd/<command>``; a higher ``version`` replaces a lower."""

    command: Literal["dispatch_list", "master_data"]
    edge_id: EdgeId
    version: Annotated[int, Field(ge=1, strict=True)]
    issued_at: Timestamp
    body: dict[str, Any]


def encode(message: BaseModel) -> bytes:
    return orjson.dumps(message.model_dump(mode="json", exclude_none=True))


class Batch(NamedTuple):
    """A batch off the wire: the edge id it claims, its events still unvalidated (see
    ``validate_envelope``) and, on a probe, the probe id its Ack must echo."""

    edge_id: str
    events: list[Any]
    probe: str | None = None


def encode_batch(edge_id: str, envelopes: list[bytes], *, probe: str | None = None) -> bytes:
    """Join already-encoded envelopes into one batch message without re-encoding them.

    With ``probe`` (and no envelopes) it is a probe: central answers it with an Ack of
    the edge's cursor that echoes the id.
    """
    head: dict[str, Any] = {"v": CONTRACT_VERSION, "edge_id": edge_id}
    if probe is not None:
        head["probe"] = probe
    return orjson.dumps(head)[:-1] + b',"events":[' + b",".join(envelopes) + b"]}"


def _reason(what: str, error: ValidationError) -> str:
    """``<what> <field>: <problem>``, or ``<what>: <problem>`` for the message as a whole."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    more = f" (+{error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{what} {where}: {first['msg']}{more}" if where else f"{what}: {first['msg']}{more}"


def _load(raw: bytes | str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ContractError(f"not JSON: {exc}") from None


def decode_batch(raw: bytes | str) -> Batch:
    """The edge id a batch claims, its events (unvalidated) and its probe id, if any."""
    data = _load(raw)
    if not isinstance(data, dict):
        raise ContractError("batch is not a JSON object")
    version = data.get("v")
    if type(version) is not int or version != CONTRACT_VERSION:
        raise ContractError(f"unsupported contract version {version!r}")
    edge_id, events, probe = data.get("edge_id"), data.get("events"), data.get("probe")
    if (
        not isinstance(edge_id, str)
        or not isinstance(events, list)
        or set(data) - {"probe"} != {"v", "edge_id", "events"}
    ):
        raise ContractError("batch must be {v, edge_id, events: [...]}")
    if "probe" in data:
        if not isinstance(probe, str) or not _PROBE.fullmatch(probe):
            raise ContractError("batch probe must be 1 to 64 letters, digits, '_' or '-'")
        if events:
            raise ContractError("a probe batch has no events")
    return Batch(edge_id, events, probe)


def validate_envelope(data: Any) -> Envelope:
    """A valid envelope whose payload matches its kind's schema, or ContractError."""
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        raise ContractError(_reason("envelope", exc)) from None
    model = EVENT_KINDS.get(envelope.kind)
    if model is None:
        raise ContractError(f"unknown event kind {envelope.kind!r}")
    try:
        model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise ContractError(_reason(f"{envelope.kind} payload", exc)) from None
    return envelope


def _typed_envelope(kind: str, payload: type[Payload]) -> type[Envelope]:
    model: type[Envelope] = create_model(
        f"{payload.__name__}Envelope",
        __base__=Envelope,
        kind=(Literal[kind], ...),  # type: ignore[arg-type]
        payload=(payload, ...),
    )
    return model


# Every kind's envelope in one discriminated union: a whole batch validates in one call
# into pydantic-core instead of two calls per event.
_ONE_OF_EVERY_KIND: Any = Union[tuple(_typed_envelope(k, m) for k, m in EVENT_KINDS.items())]  # noqa: UP007
_ALL_VALID: TypeAdapter[list[Envelope]] = TypeAdapter(
    list[Annotated[_ONE_OF_EVERY_KIND, Field(discriminator="kind")]]
)


def validate_envelopes(items: list[Any]) -> list[Envelope] | None:
    """All of a batch's envelopes, validated in one pass; None if any is invalid.

    On None, ``validate_envelope`` one by one tells which and why. The envelopes
    returned are of a subclass per kind whose ``payload`` is the parsed payload model.
    """
    try:
        return _ALL_VALID.validate_python(items)
    except ValidationError:
        return None


def _decode(model: type[Message], raw: bytes | str) -> Any:
    try:
        return model.model_validate(_load(raw))
    except ValidationError as exc:
        raise ContractError(_reason(model.__name__, exc)) from None


def decode_ack(raw: bytes | str) -> Ack:
    result: Ack = _decode(Ack, raw)
    return result


def decode_status(raw: bytes | str) -> EdgeStatus:
    result: EdgeStatus = _decode(EdgeStatus, raw)
    return result


def decode_command(raw: bytes | str) -> tuple[Command, BaseModel]:
    """A command and its validated body."""
    command: Command = _decode(Command, raw)
    try:
        body = COMMAND_BODIES[command.command].model_validate(command.body)
    except ValidationError as exc:
        raise ContractError(_reason(f"{command.command} body", exc)) from None
    return command, body
