"""The edge <-> central contract: golden messages pin it, topics, and its generated reference."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.contract import (
    EVENT_KINDS,
    Ack,
    Channel,
    Command,
    ContractError,
    DispatchList,
    EdgeAddress,
    EdgeStatus,
    Envelope,
    MasterData,
    TopicLayout,
    decode_ack,
    decode_batch,
    decode_command,
    decode_status,
    encode,
    encode_batch,
    validate_envelope,
)
from protocols.contract.examples import EXAMPLES
from protocols.contract.reference import BATCH_SCHEMA, render

GOLDEN = Path(__file__).parent / "golden"
INVALID = GOLDEN / "invalid"
DOC = Path(__file__).parents[2] / "docs" / "contract.md"

EDGE = EdgeAddress("plant1", "assembly", "line1", "edge1")
LAYOUT = TopicLayout()
KINDS = list(EVENT_KINDS)


def raw(name: str) -> bytes:
    return (GOLDEN / f"{name}.json").read_bytes()


def golden(name: str) -> Any:
    return orjson.loads(raw(name))


def canonical(value: Any) -> bytes:
    """JSON text that tells 1 from 1.0 and "1" but not one key order from another."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


# -- golden messages -------------------------------------------------------------------------


def test_every_message_has_a_golden_file() -> None:
    expected = {f"envelope_{kind}" for kind in EVENT_KINDS} | {
        "batch",
        "ack",
        "probe",
        "probe_ack",
        "status_online",
        "status_offline",
        "command_dispatch_list",
        "command_master_data",
    }
    assert {p.stem for p in GOLDEN.glob("*.json")} == expected


@pytest.mark.parametrize("kind", KINDS)
def test_golden_envelope_validates_and_round_trips(kind: str) -> None:
    data = golden(f"envelope_{kind}")

    envelope = validate_envelope(data)

    assert (envelope.kind, envelope.edge_id) == (kind, EDGE.path)
    assert canonical(envelope.model_dump(mode="json", exclude_none=True)) == canonical(data)
    assert canonical(orjson.loads(encode(envelope))) == canonical(data)
    # The payload is in the form the edge's outbox writes: its model's dump, defaults included.
    payload = envelope.parsed_payload()
    assert type(payload) is EVENT_KINDS[kind]
    assert canonical(payload.model_dump(mode="json", exclude_none=True)) == canonical(
        data["payload"]
    )


def test_golden_production_report_reads_as_the_shop_floor_means_it() -> None:
    report = validate_envelope(golden("envelope_production_report")).parsed_payload()
    assert report.model_dump(include={"work_order", "good", "scrap"}) == {
        "work_order": "WO-2026-000123",
        "good": 118,
        "scrap": 2,
    }
    assert report.yield_ratio == pytest.approx(118 / 120)  # type: ignore[attr-defined]


def test_golden_batch_decodes_to_golden_envelopes_and_round_trips() -> None:
    edge_id, items, probe = decode_batch(raw("batch"))

    assert probe is None
    envelopes = [validate_envelope(item) for item in items]

    assert edge_id == EDGE.path
    seqs = [e.seq for e in envelopes]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # in order, without gaps
    assert [canonical(i) for i in items] == [
        canonical(golden(f"envelope_{e.kind}")) for e in envelopes
    ]
    rebuilt = encode_batch(edge_id, [encode(e) for e in envelopes])
    assert canonical(orjson.loads(rebuilt)) == canonical(golden("batch"))


@pytest.mark.parametrize(
    ("name", "decode", "model"),
    [
        ("ack", decode_ack, Ack),
        ("probe_ack", decode_ack, Ack),
        ("status_online", decode_status, EdgeStatus),
        ("status_offline", decode_status, EdgeStatus),
    ],
)
def test_golden_message_round_trips(
    name: str, decode: Callable[[bytes], Any], model: type[Any]
) -> None:
    message = decode(raw(name))

    assert type(message) is model
    assert message.edge_id == EDGE.path
    assert canonical(orjson.loads(encode(message))) == canonical(golden(name))


def test_golden_probe_is_answered_by_an_ack_that_echoes_its_id() -> None:
    edge_id, events, probe = decode_batch(raw("probe"))
    answer = decode_ack(raw("probe_ack"))

    assert (edge_id, events) == (EDGE.path, [])
    assert probe is not None and answer.probe == probe
    assert canonical(orjson.loads(encode_batch(edge_id, [], probe=probe))) == canonical(
        golden("probe")
    )
    assert decode_ack(raw("ack")).probe is None, "every other ack, old or new, has none"


def test_golden_status_is_birth_and_clean_death() -> None:
    online, offline = decode_status(raw("status_online")), decode_status(raw("status_offline"))
    assert (online.state, online.reason) == ("online", "connected")
    assert (offline.state, offline.reason) == ("offline", "shutdown")


@pytest.mark.parametrize(
    ("name", "body_model"),
    [("command_dispatch_list", DispatchList), ("command_master_data", MasterData)],
)
def test_golden_command_round_trips(name: str, body_model: type[Any]) -> None:
    data = golden(name)

    command, body = decode_command(raw(name))

    assert type(command) is Command and type(body) is body_model
    assert f"command_{command.command}" == name
    assert canonical(orjson.loads(encode(command))) == canonical(data)
    assert canonical(body.model_dump(mode="json", exclude_none=True)) == canonical(data["body"])


def test_golden_dispatch_list_is_in_planned_sequence() -> None:
    _, body = decode_command(raw("command_dispatch_list"))
    assert isinstance(body, DispatchList)
    assert [(o.sequence, o.work_order) for o in body.orders] == [
        (1, "WO-2026-000123"),
        (2, "WO-2026-000131"),
    ]


# -- invalid messages ------------------------------------------------------------------------


def _envelope_from_raw(data: bytes) -> Envelope:
    return validate_envelope(orjson.loads(data))


DECODERS: dict[str, Callable[[bytes], object]] = {
    "envelope": _envelope_from_raw,
    "batch": decode_batch,
    "ack": decode_ack,
    "status": decode_status,
    "command": decode_command,
}
INVALID_FILES = sorted(INVALID.glob("*.json"))


def test_there_are_invalid_examples_for_every_decoder() -> None:
    cases = [orjson.loads(p.read_bytes()) for p in INVALID_FILES]
    assert {case["decoder"] for case in cases} == set(DECODERS)
    for case in cases:
        assert set(case) in (
            {"about", "decoder", "reason", "message"},
            {"about", "decoder", "reason", "raw"},
        )


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.stem)
def test_invalid_golden_is_rejected_with_its_reason(path: Path) -> None:
    case = orjson.loads(path.read_bytes())
    data = case["raw"].encode() if "raw" in case else orjson.dumps(case["message"])

    with pytest.raises(ContractError) as caught:
        DECODERS[case["decoder"]](data)

    assert case["reason"] in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_invalid_envelope_holds_its_place_only_when_edge_id_and_seq_are_sound() -> None:
    """What central needs to dead-letter a bad event in its place: the envelope's own seq."""
    case = orjson.loads((INVALID / "machine_state_down_without_reason.json").read_bytes())
    message = case["message"]
    with pytest.raises(ContractError):
        validate_envelope(message)
    assert (message["edge_id"], message["seq"]) == (EDGE.path, 44)


# -- batches ---------------------------------------------------------------------------------


@given(st.lists(st.sampled_from(KINDS), max_size=8))
def test_encode_batch_decodes_to_the_same_envelopes(kinds: list[str]) -> None:
    envelopes = [golden(f"envelope_{kind}") for kind in kinds]

    edge_id, items, _ = decode_batch(encode_batch(EDGE.path, [orjson.dumps(e) for e in envelopes]))

    assert edge_id == EDGE.path
    assert items == envelopes
    assert [validate_envelope(i).model_dump(mode="json", exclude_none=True) for i in items] == (
        envelopes
    )


@pytest.mark.parametrize("edge_id", ['odd "quoted" edge', "ünï/cödé/√/edge", ""])
def test_encode_batch_escapes_the_edge_id(edge_id: str) -> None:
    assert decode_batch(encode_batch(edge_id, [])) == (edge_id, [], None)


# -- topics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expected", "parsed"),
    [
        (LAYOUT.events, "floorsync/v1/plant1/assembly/line1/edge1/events", (Channel.EVENTS, None)),
        (LAYOUT.ack, "floorsync/v1/plant1/assembly/line1/edge1/ack", (Channel.ACK, None)),
        (LAYOUT.status, "floorsync/v1/plant1/assembly/line1/edge1/status", (Channel.STATUS, None)),
        (
            lambda e: LAYOUT.command(e, "dispatch_list"),
            "floorsync/v1/plant1/assembly/line1/edge1/cmd/dispatch_list",
            (Channel.CMD, "dispatch_list"),
        ),
        (
            lambda e: LAYOUT.command(e, "master_data"),
            "floorsync/v1/plant1/assembly/line1/edge1/cmd/master_data",
            (Channel.CMD, "master_data"),
        ),
    ],
)
def test_topic_build_and_parse_round_trip(
    build: Callable[[EdgeAddress], str], expected: str, parsed: tuple[Channel, str | None]
) -> None:
    topic = build(EDGE)
    assert topic == expected
    assert LAYOUT.parse(topic) == (EDGE, *parsed)


def test_topic_round_trip_under_a_deeper_root() -> None:
    layout = TopicLayout(root="acme/mes")
    edge = EdgeAddress("site-7", "paint.shop", "L_02", "edge-A")
    for channel in (Channel.EVENTS, Channel.ACK, Channel.STATUS):
        topic = layout.topic(edge, channel)
        assert topic.startswith("acme/mes/v1/site-7/paint.shop/L_02/edge-A/")
        assert layout.parse(topic) == (edge, channel, None)
    assert layout.parse(layout.command(edge, "master_data")) == (edge, Channel.CMD, "master_data")


def test_subscription_filters() -> None:
    assert LAYOUT.all_edges(Channel.EVENTS) == "floorsync/v1/+/+/+/+/events"
    assert LAYOUT.commands_filter(EDGE) == "floorsync/v1/plant1/assembly/line1/edge1/cmd/+"
    assert LAYOUT.shared("central", LAYOUT.all_edges(Channel.STATUS)) == (
        "$share/central/floorsync/v1/+/+/+/+/status"
    )


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("elsewhere/v1/plant1/assembly/line1/edge1/events", "is not under floorsync/v1/"),
        ("floorsync/v2/plant1/assembly/line1/edge1/events", "is not under floorsync/v1/"),
        ("floorsync/plant1/assembly/line1/edge1/events", "is not under floorsync/v1/"),
        ("floorsync/v1/plant1/assembly/line1/events", "is not under floorsync/v1/"),
        ("floorsync/v1", "is not under floorsync/v1/"),
        ("", "is not under floorsync/v1/"),
        ("floorsync/v1/plant1/assembly/line1/edge1/gossip", "has unknown channel 'gossip'"),
        ("floorsync/v1/plant1/assembly/line1/edge1/EVENTS", "has unknown channel 'EVENTS'"),
        ("floorsync/v1/plant1/assembly/line1/edge1/events/more", "extra levels after 'events'"),
        ("floorsync/v1/plant1/assembly/line1/edge1/ack/", "extra levels after 'ack'"),
        ("floorsync/v1/plant1/assembly/line1/edge1/cmd", "needs exactly one command name"),
        ("floorsync/v1/plant1/assembly/line1/edge1/cmd/a/b", "needs exactly one command name"),
        ("floorsync/v1/plant1/assembly/line1/edge1/cmd/", "command name '' is not a valid"),
        ("floorsync/v1/plant1/assembly/line1/edge1/cmd/+", "command name '+' is not a valid"),
        ("floorsync/v1/plant1/assembly/line1/edge1/cmd/#", "command name '#' is not a valid"),
        ("floorsync/v1/+/assembly/line1/edge1/events", "site '+' is not a valid topic segment"),
        ("floorsync/v1/plant1/#/line1/edge1/events", "area '#' is not a valid topic segment"),
        ("floorsync/v1/plant1/assembly//edge1/events", "line '' is not a valid topic segment"),
        ("floorsync/v1/plant1/assembly/line 1/edge1/events", "line 'line 1' is not a valid"),
        ("floorsync/v1/plant1/assembly/line1/-edge1/events", "edge '-edge1' is not a valid"),
        ("floorsync/v1/" + "p" * 65 + "/assembly/line1/edge1/events", "site 'ppp"),
    ],
)
def test_topic_outside_the_layout_is_rejected(topic: str, reason: str) -> None:
    with pytest.raises(ContractError) as caught:
        LAYOUT.parse(topic)
    assert reason in caught.value.reason


@pytest.mark.parametrize("segment", ["+", "#", "a/b", "", " plant1", "plant 1", "p" * 65, "$SYS"])
def test_edge_address_rejects_a_bad_segment(segment: str) -> None:
    with pytest.raises(ContractError, match="is not a valid topic segment"):
        EdgeAddress("plant1", segment, "line1", "edge1")


@pytest.mark.parametrize("name", [None, "", "+", "#", "a/b", "dispatch list"])
def test_command_topic_needs_a_valid_name(name: str | None) -> None:
    with pytest.raises(ContractError, match="command name"):
        LAYOUT.topic(EDGE, Channel.CMD, name)


# -- the reference page ----------------------------------------------------------------------


def test_docs_are_up_to_date() -> None:
    current = DOC.read_text() if DOC.exists() else ""
    if current != render():
        pytest.fail("docs/contract.md is out of date: run `floorsync contract docs`")


def test_render_is_deterministic() -> None:
    assert render() == render()


def _schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("kind", KINDS)
def test_doc_has_the_json_schema_and_example_of_every_event_kind(kind: str) -> None:
    doc = render()
    assert f"\n#### {kind}\n" in doc
    assert _schema_text(EVENT_KINDS[kind].model_json_schema()) in doc
    assert json.dumps(golden(f"envelope_{kind}"), indent=2, ensure_ascii=False) in doc


@pytest.mark.parametrize(
    "schema",
    [
        Envelope.model_json_schema(),
        BATCH_SCHEMA,
        Ack.model_json_schema(),
        EdgeStatus.model_json_schema(),
        Command.model_json_schema(),
        DispatchList.model_json_schema(),
        MasterData.model_json_schema(),
    ],
    ids=lambda s: s["title"],
)
def test_doc_has_the_json_schema_of_every_message(schema: dict[str, Any]) -> None:
    assert _schema_text(schema) in render()


def test_doc_topics_table_has_every_channel() -> None:
    doc = render()
    for channel in (Channel.EVENTS, Channel.ACK, Channel.STATUS):
        assert f"| `{channel.value}` |" in doc
        assert f"`{LAYOUT.topic(EDGE, channel)}`" in doc
    assert "| `cmd/&lt;command&gt;` |" in doc
    assert f"`{LAYOUT.command(EDGE, 'dispatch_list')}`" in doc


def test_doc_examples_are_the_golden_files() -> None:
    assert set(EXAMPLES) == {p.stem for p in GOLDEN.glob("*.json")}
    for name, example in EXAMPLES.items():
        assert canonical(example) == canonical(golden(name)), name


def test_batch_schema_accepts_the_golden_batch_shape() -> None:
    batch, probe = golden("batch"), golden("probe")
    assert set(batch) == set(BATCH_SCHEMA["required"])
    assert set(probe) == set(BATCH_SCHEMA["properties"]) == set(batch) | {"probe"}
    assert BATCH_SCHEMA["additionalProperties"] is False


def test_cli_writes_and_checks_the_docs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from floorsync.cli import main as cli

    out = tmp_path / "docs" / "contract.md"
    assert cli(["contract", "docs", "--check", "--output", str(out)]) == 1
    assert cli(["contract", "docs", "--output", str(out)]) == 0
    assert out.read_text() == render()
    assert cli(["contract", "docs", "--check", "--output", str(out)]) == 0
    out.write_text(render().replace("QoS 1", "QoS 2"))
    assert cli(["contract", "docs", "--check", "--output", str(out)]) == 1
    assert "run `floorsync contract docs`" in capsys.readouterr().err


# -- robustness: anything in, ContractError or a valid message out ----------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

GOLDEN_ENVELOPES = {kind: golden(f"envelope_{kind}") for kind in KINDS}
FIELD_VALUES = JSON_VALUES | st.sampled_from(
    ["", "+", "#", "2026-03-02T07:00:00", "2026-03-02T07:00:00Z", "1772431212", "1", "down"]
)


@st.composite
def spoiled_envelopes(draw: st.DrawFn) -> Any:
    """A golden envelope with one field, or one payload field, replaced by anything."""
    envelope = copy.deepcopy(GOLDEN_ENVELOPES[draw(st.sampled_from(KINDS))])
    target = envelope["payload"] if draw(st.booleans()) else envelope
    key = draw(st.sampled_from([*target, "extra"]))
    if draw(st.booleans()):
        target[key] = draw(FIELD_VALUES)
    else:
        target.pop(key, None)
    return envelope


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES | spoiled_envelopes())
def test_decoders_raise_only_contract_error(value: Any) -> None:
    text = json.dumps(value).encode()
    with contextlib.suppress(ContractError):
        validate_envelope(value)
    for decode in (decode_batch, decode_ack, decode_status, decode_command):
        with contextlib.suppress(ContractError):
            decode(text)
    _, [item], _ = decode_batch(json.dumps({"v": 1, "edge_id": EDGE.path, "events": [value]}))
    with contextlib.suppress(ContractError):
        validate_envelope(item)


@given(st.binary(max_size=200))
def test_decode_batch_of_arbitrary_bytes_raises_only_contract_error(data: bytes) -> None:
    with contextlib.suppress(ContractError):
        decode_batch(data)


def test_validating_a_batch_in_one_pass_agrees_with_one_by_one() -> None:
    from protocols.contract import validate_envelopes

    items = [orjson.loads(path.read_bytes()) for path in sorted(GOLDEN.glob("envelope_*.json"))]
    together = validate_envelopes(items)
    assert together is not None
    one_by_one = [validate_envelope(item) for item in items]
    for fast, slow in zip(together, one_by_one, strict=True):
        assert fast.model_dump(exclude={"payload"}) == slow.model_dump(exclude={"payload"})
        assert fast.payload == slow.parsed_payload()

    spoiled = copy.deepcopy(items)
    spoiled[-1]["payload"]["unexpected"] = 1
    assert validate_envelopes(spoiled) is None, "one bad event sends the batch the slow way"
    with pytest.raises(ContractError):
        validate_envelope(spoiled[-1])


def test_event_ids_are_time_ordered_uuid7() -> None:
    import time
    import uuid

    from protocols.contract.ids import new_event_id

    ids = []
    for _ in range(3):
        ids.append(new_event_id())
        time.sleep(0.002)
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids), "later ids sort after earlier ones"
    millis = ids[0].int >> 80
    assert abs(millis - time.time() * 1000) < 5_000
    assert len({new_event_id() for _ in range(10_000)}) == 10_000
