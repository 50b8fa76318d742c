"""The contract's reference page, generated from the code (``floorsync contract docs``).

Everything on the page comes from the models, the topic layout and the examples, so
a change to the contract shows up as a change to ``docs/contract.md``. The output is
deterministic: same code, same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel

from protocols.contract.errors import ContractError
from protocols.contract.events import EVENT_KINDS
from protocols.contract.examples import (
    BATCH_KINDS,
    EDGE,
    ENVELOPES,
    EXAMPLES,
)
from protocols.contract.messages import (
    COMMAND_BODIES,
    CONTRACT_VERSION,
    PROBE_PATTERN,
    Ack,
    Command,
    EdgeStatus,
    Envelope,
    decode_ack,
    decode_batch,
    decode_command,
    decode_status,
    validate_envelope,
)
from protocols.contract.topics import Channel, TopicLayout

__all__ = ["BATCH_SCHEMA", "CHANNELS", "ChannelRule", "render"]


@dataclass(frozen=True)
class ChannelRule:
    """How one channel is published: who sends, QoS, retain, what it carries."""

    channel: Channel
    direction: str
    qos: int
    retained: bool
    carries: str


CHANNELS: tuple[ChannelRule, ...] = (
    ChannelRule(Channel.EVENTS, "edge → central", 1, False, "[Batch](#batch) of envelopes"),
    ChannelRule(Channel.ACK, "central → edge", 1, False, "[Ack](#ack)"),
    ChannelRule(Channel.STATUS, "edge → central, anyone", 1, True, "[EdgeStatus](#edgestatus)"),
    ChannelRule(Channel.CMD, "central → edge", 1, True, "[Command](#command)"),
)


RULES = {
    "production_report": (
        "Beyond the schema: `period_end` is not before `period_start`, and when `crew` is"
        " given its `good` and its `scrap` add up to the report's."
    ),
    "machine_state": "Beyond the schema: the state `down` needs a `reason`.",
}
"""Checks a JSON Schema cannot say; the models' validators make them."""

BODY_NOTES = {
    "master_data": (
        "In v1 the rows of each list are objects whose keys edge and central agree on"
        " outside the schema; the example shows the keys in use."
    ),
}


def _batch_schema() -> dict[str, Any]:
    envelope = Envelope.model_json_schema()
    defs = envelope.pop("$defs", {})
    return {
        "$defs": {**defs, "Envelope": envelope},
        "additionalProperties": False,
        "description": (
            "Several event envelopes of one edge in one MQTT message. Only the frame is "
            "checked as a whole; each event is validated on its own (see Envelope)."
        ),
        "properties": {
            "edge_id": {
                **Envelope.model_json_schema()["properties"]["edge_id"],
                "description": "site/area/line/edge of the sender; must match the topic",
                "title": "Edge Id",
            },
            "events": {
                "items": {"$ref": "#/$defs/Envelope"},
                "title": "Events",
                "type": "array",
            },
            "probe": {
                "description": (
                    "only on a probe, whose events are empty: an id the Ack that answers it"
                    " echoes; a new one for every probe"
                ),
                "pattern": PROBE_PATTERN,
                "title": "Probe",
                "type": "string",
            },
            "v": {"const": CONTRACT_VERSION, "title": "V", "type": "integer"},
        },
        "required": ["v", "edge_id", "events"],
        "if": {"required": ["probe"]},
        "then": {"properties": {"events": {"maxItems": 0}}},
        "title": "Batch",
        "type": "object",
    }


BATCH_SCHEMA: dict[str, Any] = _batch_schema()
"""The batch has no model (``encode_batch`` joins encoded envelopes), so its schema is here."""


def _json(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False)


def _block(value: Any, *, sort_keys: bool = False) -> list[str]:
    return ["```json", _json(value, sort_keys=sort_keys), "```", ""]


def _schema(title: str, schema: dict[str, Any]) -> list[str]:
    return [
        "<details>",
        f"<summary>JSON Schema of {title}</summary>",
        "",
        *_block(schema, sort_keys=True),
        "</details>",
        "",
    ]


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def _raw(value: Any) -> bytes:
    return orjson.dumps(value)


def _check_examples() -> None:
    """Refuse to render an example that its own decoder would reject."""
    checks: dict[str, Callable[[Any], object]] = {
        **{f"envelope_{kind}": validate_envelope for kind in ENVELOPES},
        "batch": lambda value: [validate_envelope(e) for e in decode_batch(_raw(value))[1]],
        "ack": lambda value: decode_ack(_raw(value)),
        "probe": lambda value: decode_batch(_raw(value)),
        "probe_ack": lambda value: decode_ack(_raw(value)),
        "status_online": lambda value: decode_status(_raw(value)),
        "status_offline": lambda value: decode_status(_raw(value)),
        "command_dispatch_list": lambda value: decode_command(_raw(value)),
        "command_master_data": lambda value: decode_command(_raw(value)),
    }
    for name, value in EXAMPLES.items():
        try:
            checks[name](value)
        except ContractError as exc:
            raise ContractError(f"example {name} does not follow the contract: {exc}") from None


def _intro(layout: TopicLayout) -> list[str]:
    v = CONTRACT_VERSION
    return [
        f"# The edge ↔ central contract (v{v})",
        "",
        "<!-- Generated by `floorsync contract docs` from protocols/contract/; "
        "do not edit by hand. -->",
        "",
        "Edge nodes and the central service talk only over MQTT, in JSON, in the messages",
        "below. Both sides import the same package, `protocols.contract`; the golden files",
        "in `tests/protocols/golden/` pin every message, and this page is generated from",
        "the code.",
        "",
        "## Versioning",
        "",
        f"- Every message is a JSON object whose `v` field is `{v}` (the number `{v}`, not",
        f'  `"{v}"` or `true`), and every topic has the segment `v{v}` after the root',
        f"  (`{layout.prefix}/...`).",
        "- Within a version the messages do not change. Unknown fields are an error, not",
        "  ignored, so even adding a field makes a new version; a new version gets its own",
        f"  topics (`v{v + 1}`), so old and new edges can share a broker during a rollout.",
        "  One exception, made because both sides of it fail safe: `probe` on a batch and",
        "  on the Ack that answers it ([probes](#probes)) came within v1. Central sends it",
        "  only to an edge that asked with one, so an older edge never sees it; an older",
        "  central dead-letters a probe and answers nothing, so a restored edge waits",
        "  (recording, sending nothing) rather than guess. Upgrade central before the edges.",
        "- Types are strict: counts and sequence numbers are JSON integers, quantities",
        "  JSON numbers, flags JSON booleans; timestamps are ISO 8601 text with a UTC",
        "  offset (edges send UTC with `Z`), dates ISO 8601 `YYYY-MM-DD`. A naive",
        "  timestamp, a number in a string or a Unix time is rejected.",
        "",
    ]


def _topics(layout: TopicLayout) -> list[str]:
    lines = [
        "## Topics",
        "",
        f"`{layout.prefix}/<site>/<area>/<line>/<edge>/<channel>[/<command>]`, an",
        "ISA-95 style hierarchy: one subtree per edge node, so a broker ACL can give each",
        "edge exactly its own branch. Segments are letters, digits, `_`, `.` and `-`, up",
        "to 64 characters, starting with a letter or digit (so never `+`, `#`, `/` or",
        f"empty). The examples are for the edge `{EDGE.path}`.",
        "",
        "| channel | direction | QoS | retained | example topic | carries |",
        "|---|---|---|---|---|---|",
    ]
    for rule in CHANNELS:
        if rule.channel is Channel.CMD:
            name = "cmd/&lt;command&gt;"
            topic = "<br>".join(f"`{layout.command(EDGE, c)}`" for c in COMMAND_BODIES)
        else:
            name = rule.channel.value
            topic = f"`{layout.topic(EDGE, rule.channel)}`"
        retained = "yes" if rule.retained else "no"
        lines.append(
            f"| `{name}` | {rule.direction} | {rule.qos} | {retained} | {topic} | {rule.carries} |"
        )
    events = layout.all_edges(Channel.EVENTS)
    lines += [
        "",
        "Every channel uses QoS 1 (at least once). QoS 2 would not help: what makes",
        "delivery safe is the edge's outbox, the end-to-end [Ack](#ack) and central's",
        "once-only store, not the broker. Retained messages are the latest state (status,",
        "commands); events and acks are never retained.",
        "",
        "Subscriptions:",
        "",
        f"- central: `{events}` and `{layout.all_edges(Channel.STATUS)}`; several",
        "  central workers share the load with an MQTT 5 shared subscription,",
        f"  e.g. `{layout.shared('central', events)}`;",
        f"- an edge: `{layout.ack(EDGE)}` and `{layout.commands_filter(EDGE)}`.",
        "",
        "Access (the broker ACL that `floorsync security init` writes, see",
        "[security.md](security.md)): each edge logs in as its edge id",
        f"(`{EDGE.path}`) and may publish only its own `events` and `status` (also its last",
        "will) and read only its own `ack` and `cmd/+`; a central worker logs in as",
        f"`central` (or its own name) and may read `{events}` and",
        f"`{layout.all_edges(Channel.STATUS)}` (also shared) and publish",
        f"`{layout.all_edges(Channel.ACK)}` and `{layout.all_edges(Channel.CMD)}/+`.",
        "Anything else is denied, so an edge cannot speak for another edge.",
        "",
    ]
    return lines


def _semantics() -> list[str]:
    return [
        "## Delivery",
        "",
        "### Batches",
        "",
        "Events travel in batches: one MQTT message on `events` is",
        '`{"v": 1, "edge_id": "<site/area/line/edge>", "events": [<envelope>, ...]}`',
        "with exactly those three keys (a [probe](#probes) adds a fourth), the envelopes",
        "in sequence order. The edge joins envelopes as it committed them to its outbox,",
        "without re-encoding them. A message is a batch or it is nothing: anything else",
        "on `events` is dead-lettered.",
        "",
        "### Acknowledgements",
        "",
        "Each envelope carries the edge's sequence number `seq` (1, 2, 3, ... without",
        "gaps, per edge) and a stable `event_id`. Central stores each `(edge_id, seq)`",
        "once, in the same database transaction as its effect, and after the commit",
        "publishes an [Ack](#ack) whose `acked_seq` is cumulative: the highest seq up to",
        "which every event of that edge is applied (or dead-lettered, see below). A",
        "repeated event (seq at or below the cursor) is a duplicate: it changes nothing",
        "and is acknowledged again.",
        "",
        "The edge deletes an event from its outbox only after an Ack covers its seq. The",
        "broker's PUBACK is not enough: a broker may lose what it acknowledged. Events",
        "not acknowledged within the edge's ack timeout are sent again, so delivery is",
        "at least once and the effect at central exactly once.",
        "",
        "A batch with no events changes nothing and is answered with an Ack of the",
        "edge's cursor.",
        "",
        "### Probes",
        "",
        "An edge restored from a backup asks where its sequence stands at central before",
        "it sends anything, and numbers its new events above the answer (see",
        "[operations](operations.md#backup-and-restore)). An edge whose store was not",
        "closed cleanly (SIGKILL, power loss) asks the same way: a disk that lost",
        "confirmed writes leaves the store behind central, and new events must not reuse",
        "numbers central already holds.",
        "",
        "It asks with a *probe*: a batch with no events and a `probe` id, new for every",
        "probe ([example](#probe)). Central answers it in its turn among the edge's",
        "batches, after those that reached the same central worker first, with an Ack of",
        "the edge's cursor as committed in the database (never from a worker's memory)",
        "that echoes the id. Whatever that worker held for the edge above a gap is",
        "dropped: the edge numbers its events from the answer and sends again whatever of",
        "its own is missing. The edge takes only the Ack that echoes its latest probe as",
        "the answer: acks of batches its previous run sent may still arrive first",
        "(central may be working through a backlog) and would tell it a number central",
        "is about to pass.",
        "",
        "The id is in the payload, not in MQTT 5 correlation data, so it works on MQTT",
        "3.1.1 and through bridges that speak it, is pinned by the golden files like every",
        "other field, and is checked by the same decoders on both sides.",
        "",
        "### Order and gaps",
        "",
        "Central applies each edge's events strictly in seq order. Events after a gap are",
        "held (in memory, bounded) until the gap fills, never skipped; `acked_seq` stays",
        "below the gap meanwhile, so the edge resends what is missing. Events dropped from",
        "a full hold come back the same way. A gap that persists raises an alarm.",
        "",
        "### Dead letters",
        "",
        "Central validates every event. Nothing that fails is applied; it is kept in a",
        "dead-letter table with the reason:",
        "",
        "- an event with a sound `edge_id` (the topic's) and `seq` but an invalid envelope",
        "  or payload is dead-lettered *in its place*: the sequence goes on past it and it",
        "  is acknowledged like an applied event, so one bad event never stalls an edge;",
        "  so is an event that reuses the `event_id` of a stored event;",
        "- an event whose `edge_id` is not the topic's, or without a usable `seq`, is",
        "  dead-lettered and holds no place in any sequence;",
        "- a message that is not JSON, not a batch, on a topic outside the layout, or",
        "  whose batch `edge_id` does not match its topic is dead-lettered as a whole and",
        "  acknowledges nothing.",
        "",
        "### Edge status",
        "",
        "Retained on `status`, so a new subscriber sees every edge's last state at once:",
        "",
        "- `online` / `connected`: the birth message, published on every connect;",
        "- `offline` / `connection_lost`: the MQTT last will, published by the broker when",
        "  the edge vanishes (its `ts` is when the will was set, at connect);",
        "- `offline` / `shutdown`: published by the edge on a clean stop.",
        "",
        "Central ignores a status whose `edge_id` does not match its topic.",
        "",
        "### Commands",
        "",
        "Retained on `cmd/<command>`, one topic per command, so an edge that connects",
        "later still gets the latest one. `command` must match the topic's last segment",
        "and `edge_id` the topic's edge. Each carries a `version`: an edge keeps the",
        "highest version it has seen and ignores a lower or equal one, so replays after a",
        "reconnect are harmless. The body is validated against the command's schema.",
        "",
        "### Errors",
        "",
        "Every decoder (`decode_batch`, `validate_envelope`, `decode_ack`,",
        "`decode_status`, `decode_command`) and the topic parser raise only",
        "`ContractError`; its `reason` names the field and what is wrong, e.g.",
        "`production_report payload: Value error, crew good counts do not add up to good`.",
        "",
    ]


def _messages() -> list[str]:
    lines = [
        "## Messages",
        "",
        "### Envelope",
        "",
        _doc(Envelope),
        "`kind` is one of "
        + ", ".join(f"[`{kind}`](#{kind})" for kind in EVENT_KINDS)
        + "; `payload` follows that kind's schema.",
        "",
        *_schema("Envelope", Envelope.model_json_schema()),
        "Example:",
        "",
        *_block(ENVELOPES["material_issue"]),
        "### Batch",
        "",
        "Several envelopes of one edge in one MQTT message on `events`, in sequence order.",
        "",
        *_schema("Batch", BATCH_SCHEMA),
        f"Example (seq {ENVELOPES[BATCH_KINDS[0]]['seq']} to {ENVELOPES[BATCH_KINDS[-1]]['seq']}):",
        "",
        *_block(EXAMPLES["batch"]),
        "### Event payloads",
        "",
    ]
    for kind, model in EVENT_KINDS.items():
        lines += [
            f"#### {kind}",
            "",
            f"`{model.__name__}`: {_doc(model)}",
            "",
            *_schema(f"the {kind} payload", model.model_json_schema()),
            *([RULES[kind], ""] if kind in RULES else []),
            "Example envelope:",
            "",
            *_block(ENVELOPES[kind]),
        ]
    lines += [
        "### Ack",
        "",
        _doc(Ack),
        "",
        *_schema("Ack", Ack.model_json_schema()),
        "Example:",
        "",
        *_block(EXAMPLES["ack"]),
        "### Probe",
        "",
        "A [Batch](#batch) with no events and a `probe` id, and the [Ack](#ack) that",
        "answers it (see [probes](#probes)):",
        "",
        *_block(EXAMPLES["probe"]),
        *_block(EXAMPLES["probe_ack"]),
        "### EdgeStatus",
        "",
        _doc(EdgeStatus),
        "",
        *_schema("EdgeStatus", EdgeStatus.model_json_schema()),
        "Examples:",
        "",
        *_block(EXAMPLES["status_online"]),
        *_block(EXAMPLES["status_offline"]),
        "### Command",
        "",
        _doc(Command),
        "`body` follows the schema of its command:",
        ", ".join(f"[`{name}`](#{name})" for name in COMMAND_BODIES) + ".",
        "",
        *_schema("Command", Command.model_json_schema()),
    ]
    for name, body in COMMAND_BODIES.items():
        lines += [
            f"#### {name}",
            "",
            f"`{body.__name__}`: {_doc(body)}",
            "",
            *_schema(f"the {name} body", body.model_json_schema()),
            *([BODY_NOTES[name], ""] if name in BODY_NOTES else []),
            "Example command:",
            "",
            *_block(EXAMPLES[f"command_{name}"]),
        ]
    return lines


def render() -> str:
    """The Markdown reference page of the contract."""
    _check_examples()
    layout = TopicLayout()
    lines = [*_intro(layout), *_topics(layout), *_semantics(), *_messages()]
    return "\n".join(lines).rstrip("\n") + "\n"
