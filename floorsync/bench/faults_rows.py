"""The rows of ``bench faults``: each breaks one thing on a fresh ``Line`` and counts.

Every row: the stations post a burst of production reports to a real edge; the
fault strikes once a third of the burst is accepted (burst rows) or once central
holds a third of a backlog built while the edge was cut off (drain rows); the
fault is cleared; then central must hold every accepted event exactly once, in
order. ``recover_s`` runs from the moment the fault is cleared (the killed process
started again, the cable back) to the moment central holds every event.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from floorsync.bench.faults_plant import (
    EDGE_ID,
    STATIONS,
    Held,
    Line,
    central_holds,
    wait_until,
)
from floorsync.bench.faults_wal import cut_wal_commits, integrity, outbox_ids, tear_wal_tail
from floorsync.bench.processes import BenchError, Processes
from protocols.contract import CONTRACT_VERSION, EdgeAddress, TopicLayout, decode_ack, encode_batch
from protocols.contract.ids import new_event_id


@dataclass(frozen=True)
class Spec:
    events: int = 3000
    outage_s: float = 120.0
    pause_s: float = 1.0  # how long a killed process stays dead
    drain_s: float = 6.0  # how long drain rows make a backlog drain last


@dataclass
class RowResult:
    row: str
    produced: int
    held: Held
    recover_s: float
    baseline: str = ""  # the row whose recover_s this one is compared with
    note: str = ""
    behind: int = 0  # accepted at the edge, not yet at central, when the fault was cleared
    lost_to_disk: int = 0  # accepted events whose only copy the simulated disk destroyed

    @property
    def passed(self) -> bool:
        h = self.held
        lost = h.lost - self.lost_to_disk
        return lost == 0 and h.duplicated == 0 and h.in_order and h.effects_ok


Say = Callable[[str], None]
Fault = Callable[[Line, Spec, Say], float]  # breaks something, clears it: the time it cleared


# -- faults ---------------------------------------------------------------------------


def kill_edge(line: Line, spec: Spec, say: Say) -> float:
    say("  SIGKILL edge")
    line.edge.kill()
    time.sleep(spec.pause_s)  # the stations keep trying meanwhile
    line.held_back()
    cleared = time.monotonic()
    line.edge.start()
    return cleared


def kill_central(line: Line, spec: Spec, say: Say) -> float:
    say("  SIGKILL central")
    line.kill_central()
    time.sleep(spec.pause_s)  # the edge keeps recording and buffering meanwhile
    line.held_back()
    cleared = time.monotonic()
    line.restart_central()
    return cleared


def kill_broker(line: Line, spec: Spec, say: Say) -> float:
    say("  SIGKILL mosquitto (no persistence: every session and queued message is gone)")
    line.broker.kill()
    time.sleep(spec.pause_s)
    line.held_back()
    cleared = time.monotonic()
    line.broker.start()
    return cleared


def restart_broker(line: Line, spec: Spec, say: Say) -> float:
    say("  mosquitto stopped cleanly and started again, without persistence")
    line.broker.stop()
    line.held_back()
    cleared = time.monotonic()
    line.broker.start()
    return cleared


def cut_network(line: Line, spec: Spec, say: Say) -> float:
    say(f"  network between edge and broker cut for {spec.outage_s:g} s")
    line.proxy.cut()
    time.sleep(spec.outage_s)
    line.held_back()
    cleared = time.monotonic()
    line.proxy.restore()
    say("  network back")
    return cleared


def jump_clock(line: Line, spec: Spec, say: Say) -> float:
    say("  edge restarted with its wall clock 2 h behind (events' ts jump back)")
    line.edge.stop()
    line.edge.clock_offset_s = -7200.0
    line.held_back()
    cleared = time.monotonic()
    line.edge.start()
    return cleared


def tear_wal(line: Line, spec: Spec, say: Say) -> float:
    """SIGKILL the edge, then tear the WAL as a power cut mid-write would; restart it."""
    line.edge.kill()
    wal = Path(f"{line.edge.db}-wal")
    torn = tear_wal_tail(wal)
    line.notes.append(torn)
    say(f"  SIGKILL edge; {torn}")
    time.sleep(spec.pause_s)
    line.held_back()
    cleared = time.monotonic()
    line.edge.start()
    return cleared


def lose_wal_commits(line: Line, spec: Spec, say: Say) -> float:
    """SIGKILL the edge, then destroy its newest acknowledged commits; restart it."""
    line.edge.kill()
    before = outbox_ids(line.edge.db)
    what = cut_wal_commits(Path(f"{line.edge.db}-wal"))
    line.destroyed = before - outbox_ids(line.edge.db)
    line.notes.append(f"{what}: {len(line.destroyed)} outbox events destroyed")
    say(f"  SIGKILL edge; {line.notes[-1]}")
    time.sleep(spec.pause_s)
    line.held_back()
    cleared = time.monotonic()
    line.edge.start()
    return cleared


# -- the rows -------------------------------------------------------------------------


def burst_row(
    name: str, fault: Fault | None, give_up_s: float | None = None
) -> Callable[[Line, Spec, Say], RowResult]:
    """A burst broken by ``fault``; ``give_up_s``: a row that may never recover stops
    waiting after this long and shows what is missing."""

    def run(line: Line, spec: Spec, say: Say) -> RowResult:
        line.start_edge()
        line.stations.produce(spec.events)
        third = spec.events // 3
        wait_until("a third of the burst", lambda: line.stations.count() >= third, 300)
        cleared = fault(line, spec, say) if fault else time.monotonic()
        line.stations.join(600 + spec.outage_s)
        done = line.wait_all_at_central(give_up_s or 300, give_up=give_up_s is not None)
        return _result(name, line, done - cleared, "baseline_burst")

    return run


def drain_row(name: str, fault: Fault | None) -> Callable[[Line, Spec, Say], RowResult]:
    def run(line: Line, spec: Spec, say: Say) -> RowResult:
        # Unpaced, a backlog of a few thousand drains in a fraction of a second: pace the
        # uplink (uplink.max_rate) so the drain lasts about drain_s and the fault lands in it.
        line.edge.max_rate = max(50.0, spec.events / spec.drain_s)
        line.start_edge()
        line.proxy.cut()
        line.stations.produce(spec.events)
        line.stations.join(600)
        backlog = line.stations.count()
        say(f"  backlog of {backlog:,} events built while cut off; network back, draining")
        line.proxy.restore()
        restored = time.monotonic()
        reached = wait_until(
            "a third of the backlog at central",
            lambda: line.at_central() >= backlog // 3,
            120,
            poll=0.005,
        )
        at_fault = line.at_central()
        cleared = fault(line, spec, say) if fault else reached
        done = line.wait_all_at_central(300)
        note = f"struck with {at_fault:,}/{backlog:,} at central"
        if fault is None:
            note = f"whole drain {done - restored:.1f} s"
        return _result(name, line, done - cleared, "baseline_drain", note)

    return run


def _result(name: str, line: Line, recover: float, baseline: str, note: str = "") -> RowResult:
    held = central_holds(line.central.db, EDGE_ID, set(line.stations.accepted))
    note = "; ".join([*line.notes, note]).strip("; ")
    if line.stations.refused:
        note = f"{note}; refused: {line.stations.refused[0]}".lstrip("; ")
    return RowResult(name, line.stations.count(), held, recover, baseline, note, line.behind)


def wal_row(line: Line, spec: Spec, say: Say) -> RowResult:
    result = burst_row("wal_torn", tear_wal)(line, spec, say)
    result.note += f"; edge store integrity_check after reopen: {integrity(line.edge.db)}"
    return result


def wal_lost_row(line: Line, spec: Spec, say: Say) -> RowResult:
    result = burst_row("wal_lost_commits", lose_wal_commits, give_up_s=60)(line, spec, say)
    conn = sqlite3.connect(f"file:{line.central.db}?mode=ro", uri=True)
    try:
        at_central = {
            r[0] for r in conn.execute("SELECT event_id FROM events WHERE edge_id = ?", (EDGE_ID,))
        }
    finally:
        conn.close()
    result.lost_to_disk = len((line.destroyed & line.stations.accepted) - at_central)
    result.note += f"; {result.lost_to_disk} of them had not reached central: lost with the disk"
    return result


def clock_row(line: Line, spec: Spec, say: Say) -> RowResult:
    result = burst_row("clock_jump", jump_clock)(line, spec, say)
    conn = sqlite3.connect(f"file:{line.central.db}?mode=ro", uri=True)
    try:
        backwards = conn.execute(
            "SELECT COUNT(*) FROM events a JOIN events b ON b.edge_id = a.edge_id"
            " AND b.seq = a.seq + 1 WHERE a.edge_id = ? AND b.source_ts < a.source_ts",
            (EDGE_ID,),
        ).fetchone()[0]
    finally:
        conn.close()
    result.note = f"{backwards} places where ts went back while seq went on"
    return result


def disk_full_row(line: Line, spec: Spec, say: Say) -> RowResult:
    """The edge's store fills while it is cut off from the broker: it must refuse new
    input with ``store_full`` (507) and keep every event it accepted, then take input
    again by itself once central has acknowledged the backlog and its rows are gone."""
    # a store budget ([store] max_mb): the empty store (~60 kB) and the margin the edge
    # keeps (8 pages), then room for about a sixth of the burst at ~550 bytes an event
    line.edge.store_mb = 0.12 + spec.events * 0.00009
    line.start_edge()
    line.proxy.cut()
    line.stations.produce(spec.events)
    line.stations.join(600)
    accepted, refused = line.stations.count(), len(line.stations.refused)
    full = [r for r in line.stations.refused if r.startswith("507") and "store_full" in r]
    say(f"  store full after {accepted:,} events: {refused:,} refused ({len(full):,} store_full)")
    line.held_back()
    cleared = time.monotonic()
    line.proxy.restore()
    done = line.wait_all_at_central(300)
    # once the backlog is acknowledged the edge takes input again, without a restart
    line.stations.refused.clear()
    wait_until("the edge to take input again", lambda: _one_more(line), 60, poll=0.5)
    note = f"{refused:,} refused while full ({len(full):,} store_full); input taken again after"
    if not full or len(full) != refused:
        note += f"; UNEXPECTED refusals: {line.stations.refused[:1] or 'none store_full'}"
    result = _result("disk_full", line, done - cleared, "baseline_burst", note)
    if not full or len(full) != refused:  # a row that never filled, or refused otherwise, fails
        result.held = replace(result.held, effects_ok=False)
    return result


def _one_more(line: Line) -> bool:
    """One more report from a station: accepted again (201) once there is room."""
    before = line.stations.count()
    line.stations.produce(STATIONS)  # one each
    line.stations.join(30)
    if line.stations.count() > before:
        line.wait_all_at_central(60)
        return True
    line.stations.refused.clear()
    return False


# -- duplicate and out-of-order delivery, straight to the broker --------------------------

REPLAY_EDGE = EdgeAddress("plant1", "assembly", "line1", "edge9")
REPLAY_BATCH = 50


def replay_row(line: Line, spec: Spec, say: Say) -> RowResult:
    """Publish batches as an edge would, but shuffled and each more than once.

    Central must apply each event once, in sequence order; what it held back or dropped
    ahead of a gap comes back when the publisher resends from the last ack, as an edge does.
    """
    edge_id = REPLAY_EDGE.path
    layout = TopicLayout()
    start = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    events = []
    for seq in range(1, spec.events + 1):
        events.append(
            orjson.dumps(
                {
                    "v": CONTRACT_VERSION,
                    "event_id": str(new_event_id()),
                    "edge_id": edge_id,
                    "seq": seq,
                    "ts": (start + timedelta(seconds=seq)).isoformat().replace("+00:00", "Z"),
                    "kind": "production_report",
                    "station": "ST-9",
                    "payload": {
                        "work_order": "WO-2026-000123",
                        "operation": "10",
                        "good": 1 + seq % 7,
                        "scrap": 0,
                        "period_start": (start + timedelta(seconds=seq)).isoformat(),
                        "period_end": (start + timedelta(seconds=seq + 1)).isoformat(),
                    },
                }
            )
        )
    ids = {orjson.loads(e)["event_id"] for e in events}
    batches = [events[i : i + REPLAY_BATCH] for i in range(0, len(events), REPLAY_BATCH)]
    rng = random.Random(6)
    plan = [b for b in batches for _ in range(2)] + rng.sample(batches, len(batches) // 2)
    rng.shuffle(plan)

    acked = 0
    changed = threading.Condition()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal acked
        ack = decode_ack(bytes(msg.payload))
        with changed:
            acked = max(acked, ack.acked_seq)
            changed.notify_all()

    port = int(line.broker.url.rsplit(":", 1)[1])
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="floorsync-bench-replay")
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(layout.ack(REPLAY_EDGE), qos=1)
    client.loop_start()
    time.sleep(0.3)
    topic = layout.events(REPLAY_EDGE)
    say(
        f"  {len(plan)} batches of {REPLAY_BATCH}: {len(batches)} distinct, "
        "shuffled, each 2-3 times"
    )
    try:
        for batch in plan:
            client.publish(topic, encode_batch(edge_id, batch), qos=1).wait_for_publish(10)
        published = time.monotonic()
        resends = 0
        deadline = published + 120
        while True:
            with changed:
                before = acked

                def progressed(b: int = before) -> bool:
                    return acked == spec.events or acked > b

                # progress, or two seconds without any: then resend, as the edge does
                changed.wait_for(progressed, 2.0)
                now_acked = acked
            if now_acked == spec.events:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"central acknowledged only {now_acked} of {spec.events}")
            if now_acked == before:  # no progress: resend from the last ack, as the edge does
                resends += 1
                for i in range(now_acked, spec.events, REPLAY_BATCH):
                    client.publish(
                        topic, encode_batch(edge_id, events[i : i + REPLAY_BATCH]), qos=1
                    ).wait_for_publish(10)
        done = time.monotonic()
    finally:
        client.loop_stop()
        client.disconnect()
    held = central_holds(line.central.db, edge_id, ids)
    return RowResult(
        "duplicate_reorder",
        spec.events,
        held,
        done - published,
        note=f"{len(plan)} batches published for {len(batches)}; {resends} resends from the ack",
    )


@dataclass(frozen=True)
class Row:
    name: str
    what: str
    run: Callable[[Line, Spec, Say], RowResult] | None  # None: not automated yet


ROWS = [
    Row(
        "baseline_burst",
        "no fault: the burst, timed from a third accepted",
        burst_row("baseline_burst", None),
    ),
    Row(
        "baseline_drain",
        "no fault: a backlog drain, timed from a third at central",
        drain_row("baseline_drain", None),
    ),
    Row(
        "edge_kill_burst",
        "SIGKILL the edge mid-burst, start it again",
        burst_row("edge_kill_burst", kill_edge),
    ),
    Row(
        "edge_kill_drain",
        "SIGKILL the edge mid-drain, start it again",
        drain_row("edge_kill_drain", kill_edge),
    ),
    Row(
        "central_kill_burst",
        "SIGKILL central mid-burst, start it again",
        burst_row("central_kill_burst", kill_central),
    ),
    Row(
        "central_kill_drain",
        "SIGKILL central mid-drain, start it again",
        drain_row("central_kill_drain", kill_central),
    ),
    Row(
        "broker_kill_burst",
        "SIGKILL Mosquitto mid-burst, start it again",
        burst_row("broker_kill_burst", kill_broker),
    ),
    Row(
        "broker_kill_drain",
        "SIGKILL Mosquitto mid-drain, start it again",
        drain_row("broker_kill_drain", kill_broker),
    ),
    Row(
        "broker_restart",
        "Mosquitto restarted without persistence mid-burst",
        burst_row("broker_restart", restart_broker),
    ),
    Row(
        "network_cut",
        "edge-broker TCP stalls, new connections refused, for --outage-s",
        burst_row("network_cut", cut_network),
    ),
    Row("wal_torn", "SIGKILL the edge mid-burst, tear its WAL after the last commit", wal_row),
    Row(
        "wal_lost_commits",
        "SIGKILL the edge mid-burst, cut its WAL back by half its commits (a lying disk)",
        wal_lost_row,
    ),
    Row("clock_jump", "edge restarted mid-burst with its wall clock 2 h back", clock_row),
    Row("duplicate_reorder", "batches published shuffled and 2-3 times each", replay_row),
    Row(
        "disk_full",
        "the edge's store fills while cut off: input refused (507 store_full), then taken again",
        disk_full_row,
    ),
]
BY_NAME = {row.name: row for row in ROWS}


def run_row(row: Row, binary: str, work: Path, spec: Spec, say: Say) -> RowResult:
    """One row on a fresh line of its own under ``work/<row>``, stopped afterwards."""
    assert row.run is not None
    with Processes() as procs:
        line = Line(procs, binary, work / row.name)
        try:
            return row.run(line, spec, say)
        finally:
            line.close()
