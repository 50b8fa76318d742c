"""What ``bench fuzz`` feeds: the real parsers, a real edge's stations and central's real
ingest, each behind one method that says accepted (True) or rejected (False) and raises
on anything else: an undocumented exception, or state changed by rejected input.

Each target also has ``valid``, the same call on good input, for the baseline rate.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy import Engine, text

from floorsync.bench.fuzz_inputs import SEED_SCANS, Mutator
from protocols.barcode import ScanError, parse_scan
from protocols.contract import (
    ContractError,
    EdgeAddress,
    TopicLayout,
    decode_batch,
    validate_envelope,
    validate_envelopes,
)
from protocols.contract.examples import COMMAND_DISPATCH_LIST, COMMAND_MASTER_DATA
from protocols.contract.examples import EDGE as EXAMPLE_EDGE
from protocols.modbus import RegisterError, TagSpec, decode, encode

LAYOUT = TopicLayout()
# Central's bookkeeping of what it was sent: the only tables rejected input may touch.
INGEST_RECORDS = ("dead_letters", "edge_cursors", "alembic_version")


class StateChanged(AssertionError):
    """Rejected input left a trace where the design says it must not."""


class Target(Protocol):
    name: str
    last: Any  # the input of the latest example, for the failure report

    def fuzz(self, m: Mutator) -> bool: ...

    def valid(self, m: Mutator) -> bool: ...

    def close(self) -> None: ...


class ScanTarget:
    """``parse_scan``: a Scan, or ScanError with a reason; nothing else."""

    name = "scan"

    def __init__(self) -> None:
        self.last: Any = None
        self.good = [s for s in SEED_SCANS if _parses(s)]
        self._i = 0

    def fuzz(self, m: Mutator) -> bool:
        raw = self.last = m.scan()
        try:
            scan = parse_scan(raw)
        except ScanError as exc:
            if not exc.reason:
                raise AssertionError("ScanError without a reason") from None
            return False
        json.dumps(scan.to_json())
        return True

    def valid(self, m: Mutator) -> bool:
        self._i += 1
        parse_scan(self.good[self._i % len(self.good)])
        return True

    def close(self) -> None:
        pass


class ModbusTarget:
    """``decode`` of a register block: a value in the tag's range, or RegisterError."""

    name = "modbus"

    def __init__(self) -> None:
        self.last: Any = None

    def fuzz(self, m: Mutator) -> bool:
        spec = m.tag()
        words = m.words(spec)
        self.last = (spec, words)
        try:
            value = decode(spec, words)
        except RegisterError:
            return False
        _check_value(spec, value)
        return True

    def valid(self, m: Mutator) -> bool:
        spec = m.tag()
        words = [m.rng.randint(0, 1 if spec.table in ("coil", "discrete") else 0xFFFF)]
        words = (words * spec.count)[: spec.count]
        self.last = (spec, words)
        try:
            decode(spec, words)
        except RegisterError:
            return False
        return True

    def close(self) -> None:
        pass


def _check_value(spec: TagSpec, value: Any) -> None:
    if spec.data_type == "bool":
        assert isinstance(value, bool)
        return
    if spec.data_type == "string":
        assert isinstance(value, str) and value.isascii() and "\x00" not in value
        return
    assert isinstance(value, int | float) and not isinstance(value, bool)
    assert math.isfinite(value), value
    assert spec.minimum is None or value >= spec.minimum
    assert spec.maximum is None or value <= spec.maximum
    if spec.scale == 1.0 and spec.offset == 0.0:
        encode(spec, value)  # what was read can be written back


class ContractTarget:
    """A batch off the wire: ``decode_batch`` and each envelope; ContractError or valid."""

    name = "contract"

    def __init__(self) -> None:
        self.last: Any = None
        self.edge_id = EXAMPLE_EDGE.path

    def fuzz(self, m: Mutator) -> bool:
        _, raw, _ = m.batch(self.edge_id, m.rng.randint(1, 1000))
        self.last = raw
        return _decode_all(raw)

    def valid(self, m: Mutator) -> bool:
        raw = orjson.dumps(
            {
                "v": 1,
                "edge_id": self.edge_id,
                "events": [m.envelope(self.edge_id, i + 1) for i in range(m.rng.randint(1, 5))],
            }
        )
        return _decode_all(raw)

    def close(self) -> None:
        pass


def _decode_all(raw: bytes) -> bool:
    try:
        items = decode_batch(raw).events
    except ContractError:
        return False
    together = validate_envelopes(items)
    good = 0
    for item in items:
        try:
            validate_envelope(item)
            good += 1
        except ContractError as exc:
            assert exc.reason
    if (together is not None) != (good == len(items)):
        raise AssertionError("validate_envelopes disagrees with validate_envelope")
    return good == len(items)


class StationTarget:
    """Scans at a real edge's station terminal (SQLite store, cached dispatch list):
    a refusal records no event and leaves the station as it was, apart from the message
    shown (and an over-issue held for approval)."""

    name = "station"

    def __init__(self, work_dir: Path) -> None:
        from edge.node import EdgeNode
        from edge.settings import EdgeSettings
        from edge.stations import Refused
        from edge.workstations import NoSuchStation

        self.refusals = (Refused, NoSuchStation)
        settings = EdgeSettings.model_validate(
            {
                "node": {
                    "site": EXAMPLE_EDGE.site,
                    "area": EXAMPLE_EDGE.area,
                    "line": EXAMPLE_EDGE.line,
                    "name": EXAMPLE_EDGE.edge,
                    "data_dir": str(work_dir / "edge"),
                },
                "stations": [{"name": "ST-10"}, {"name": "ST-30"}],
            }
        )
        self.node = EdgeNode(settings)
        for name, body in (
            ("dispatch_list", COMMAND_DISPATCH_LIST),
            ("master_data", COMMAND_MASTER_DATA),
        ):
            self.node.downlink.handle(LAYOUT.command(EXAMPLE_EDGE, name), orjson.dumps(body))
        self.stations = self.node.workstations
        self.last: Any = None
        self._i = 0

    def fuzz(self, m: Mutator) -> bool:
        name = m.rng.choice(("ST-10", "ST-10", "ST-30", "ST-99"))
        # some good scans as well, so the refusals come in every state of the workflow
        raw = self.last = m.rng.choice(SEED_SCANS) if m.rng.random() < 0.2 else m.scan()
        return self._step(name, raw)

    def valid(self, m: Mutator) -> bool:
        self._i += 1
        badge = f"EMP-{self._i % 50:04d}"
        return self._step("ST-30", badge)

    def _step(self, name: str, raw: str) -> bool:
        st = self.stations.stations.get(name)
        before = st.state if st else None
        last_seq = self.node.outbox.last_seq
        try:
            self.stations.scan(name, raw)
        except self.refusals:
            if self.node.outbox.last_seq != last_seq:
                raise StateChanged(f"refused scan recorded events after seq {last_seq}") from None
            if st is not None and before is not None:
                after = st.state
                if replace(after, message=None, pending=None) != replace(
                    before, message=None, pending=None
                ):
                    raise StateChanged("refused scan changed the station's state") from None
            return False
        return True

    def close(self) -> None:
        self.node.workstations.stop()
        self.node.outbox.close()
        self.node.writer.close()


class IngestTarget:
    """MQTT messages into central's real ``Ingestor`` on a real SQLite file.

    Triggers count every insert, update and delete on central's business tables. A
    message that applies nothing must change none of them; what it did is recorded only
    in ``dead_letters`` (one row per dead letter the outcome reports) and, for a broken
    event that holds its place in the sequence, by the edge's cursor moving past it.
    """

    name = "ingest"
    EDGES = (
        "plant1/assembly/line1/edge1",
        "plant1/assembly/line2/edge2",
        "plant2/paint/line9/edge-9",
    )
    BASELINE_EDGE = "plant9/bench/line1/baseline"

    def __init__(self, work_dir: Path) -> None:
        from central.db import make_engine, migrate
        from central.ingest import Ingestor

        path = work_dir / "central.db"
        self.engine: Engine = make_engine(f"sqlite:///{path}")
        migrate(self.engine)
        self._count_changes(self.engine)
        self.ingestor = Ingestor(self.engine)
        self.probe = sqlite3.connect(path, isolation_level=None)
        self.next_seq = dict.fromkeys((*self.EDGES, self.BASELINE_EDGE), 1)
        self.last: Any = None

    @staticmethod
    def _count_changes(engine: Engine) -> None:
        with engine.begin() as conn:
            tables = [
                name
                for (name,) in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%'"
                )
                if name not in INGEST_RECORDS
            ]
            conn.exec_driver_sql("CREATE TABLE fuzz_changes (tbl TEXT PRIMARY KEY, n INTEGER)")
            for table in tables:
                conn.execute(text("INSERT INTO fuzz_changes VALUES (:t, 0)"), {"t": table})
                for op in ("INSERT", "UPDATE", "DELETE"):
                    conn.exec_driver_sql(
                        f'CREATE TRIGGER "fuzz_{table}_{op}" AFTER {op} ON "{table}" BEGIN'
                        f" UPDATE fuzz_changes SET n = n + 1 WHERE tbl = '{table}'; END"
                    )

    def _snapshot(self) -> tuple[dict[str, int], int, dict[str, int]]:
        changes = dict(self.probe.execute("SELECT tbl, n FROM fuzz_changes").fetchall())
        dead = self.probe.execute("SELECT coalesce(max(id), 0) FROM dead_letters").fetchone()[0]
        cursors = dict(self.probe.execute("SELECT edge_id, applied_seq FROM edge_cursors"))
        return changes, dead, cursors

    def fuzz(self, m: Mutator) -> bool:
        edge_id = m.rng.choice(self.EDGES)
        good_topic = LAYOUT.events(EdgeAddress(*edge_id.split("/")))
        _, raw, spoiled = m.batch(edge_id, self.next_seq[edge_id])
        topic = m.topic(good_topic)
        self.last = (topic, raw)
        reach = 0
        if not spoiled and topic == good_topic:
            reach = max(e["seq"] for e in orjson.loads(raw)["events"])
        return self._handle(topic, raw, must_reach=reach)

    def valid(self, m: Mutator) -> bool:
        edge_id = self.BASELINE_EDGE
        seq = self.next_seq[edge_id]
        envelopes = [m.envelope(edge_id, seq + i) for i in range(m.rng.randint(1, 5))]
        raw = orjson.dumps({"v": 1, "edge_id": edge_id, "events": envelopes})
        topic = LAYOUT.events(EdgeAddress(*edge_id.split("/")))
        return self._handle(topic, raw, must_reach=seq + len(envelopes) - 1)

    def _handle(self, topic: str, raw: bytes, *, must_reach: int) -> bool:
        """Ingest one message and check what it changed; a valid one must take the edge's
        cursor to ``must_reach`` (an event held earlier at the same seq wins: first come)."""
        changes, dead, cursors = self._snapshot()
        outcome = self.ingestor.handle(topic, raw)
        changes_after, dead_after, cursors_after = self._snapshot()
        if outcome.ack is not None and outcome.edge_id is not None:
            self.next_seq[outcome.edge_id] = outcome.ack.acked_seq + 1
        inserted = changes_after.get("events", 0) - changes.get("events", 0)
        if inserted != outcome.applied:
            raise StateChanged(f"{inserted} events stored, the outcome says {outcome.applied}")
        if outcome.applied == 0 and changes_after != changes:
            moved = sorted(t for t in changes if changes_after[t] != changes[t])
            raise StateChanged(f"a message that applied nothing changed {', '.join(moved)}")
        if dead_after - dead != outcome.dead_lettered:
            raise StateChanged(
                f"{dead_after - dead} dead letters stored, the outcome says {outcome.dead_lettered}"
            )
        sequenced = self.probe.execute(
            "SELECT count(*) FROM dead_letters WHERE id > ? AND seq IS NOT NULL", (dead,)
        ).fetchone()[0]
        for edge_id in set(cursors) | set(cursors_after):
            moved_by = cursors_after.get(edge_id, 0) - cursors.get(edge_id, 0)
            expected = outcome.applied + sequenced if edge_id == outcome.edge_id else 0
            if moved_by != expected:
                raise StateChanged(f"cursor of {edge_id} moved by {moved_by}, not {expected}")
        if must_reach and (outcome.ack is None or outcome.ack.acked_seq < must_reach):
            raise AssertionError(f"a valid batch was not applied up to {must_reach}: {outcome}")
        return outcome.applied > 0

    def close(self) -> None:
        self.probe.close()
        self.engine.dispose()


def _parses(raw: str) -> bool:
    try:
        parse_scan(raw)
    except ScanError:
        return False
    return True
