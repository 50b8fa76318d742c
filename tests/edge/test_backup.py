"""Backup and restore of the edge store, and how a restored store resyncs its sequence."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import orjson
import pytest

from edge.backup import inspect
from edge.outbox import Outbox
from edge.store import MIGRATIONS, Writer
from floorsync.cli import main
from protocols.contract import validate_envelope
from tests.edge.support import ADDRESS, EDGE_ID, append_many


def config(tmp_path: Path) -> Path:
    """The edge's config; its store is ``tmp_path/edge1/edge.db``."""
    path = tmp_path / "edge.toml"
    path.write_text(
        f'[node]\nsite = "{ADDRESS.site}"\narea = "{ADDRESS.area}"\nline = "{ADDRESS.line}"\n'
        f'name = "{ADDRESS.edge}"\ndata_dir = "{tmp_path / ADDRESS.edge}"\n'
    )
    return path


def outbox_rows(path: Path) -> list[tuple[int, bytes]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT seq, body FROM outbox ORDER BY seq").fetchall()


def open_store(path: Path) -> tuple[Writer, Outbox]:
    writer = Writer(path)
    return writer, Outbox(writer, EDGE_ID)


def test_a_backup_taken_while_the_edge_writes_is_consistent_and_restores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, store, copy = config(tmp_path), tmp_path / ADDRESS.edge / "edge.db", tmp_path / "b.db"
    writer, outbox = open_store(store)
    append_many(outbox, 50)
    outbox.ack(20).result(10)
    stop = threading.Event()

    def station() -> None:
        while not stop.is_set():
            append_many(outbox, 5)

    recording = threading.Thread(target=station)
    recording.start()
    try:
        assert main(["edge", "backup", "--config", str(cfg), "--to", str(copy)]) == 0
        assert "backed up" in capsys.readouterr().out

        refused = main(["edge", "restore", "--config", str(cfg), "--from", str(copy)])
        assert refused == 1, "the edge still runs"
        assert "stop the edge" in capsys.readouterr().err
    finally:
        stop.set()
        recording.join()
    last = outbox.last_seq
    outbox.close()
    writer.close()
    assert [seq for seq, _ in outbox_rows(store)] == list(range(21, last + 1)), "store unchanged"

    backed_up = inspect(copy)
    rows = outbox_rows(copy)
    assert backed_up.acked_seq == 20
    assert [seq for seq, _ in rows] == list(range(21, backed_up.last_seq + 1)), "a snapshot"
    assert all(validate_envelope(orjson.loads(body)).seq == seq for seq, body in rows)

    assert main(["edge", "restore", "--config", str(cfg), "--from", str(copy)]) == 0
    said = capsys.readouterr().out
    assert "kept as" in said
    aside = next(store.parent.glob("edge.db.before-restore-*"))
    assert [seq for seq, _ in outbox_rows(aside)][-1] == last, "the old store is kept aside"
    assert outbox_rows(store) == rows
    writer, outbox = open_store(store)
    try:
        assert outbox.restored_seq == backed_up.last_seq
        assert (outbox.last_seq, outbox.acked_seq) == (backed_up.last_seq, 20)
    finally:
        outbox.close()
        writer.close()


def test_restore_refuses_what_is_not_this_edges_store_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, store = config(tmp_path), tmp_path / ADDRESS.edge / "edge.db"
    writer, outbox = open_store(store)
    append_many(outbox, 3)
    outbox.close()
    writer.close()
    before = outbox_rows(store)

    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    other_db = tmp_path / "other.db"
    with closing(sqlite3.connect(other_db)) as conn:
        conn.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.db"
    other_edge = tmp_path / "edge2.db"
    for path, edge_id in ((newer, EDGE_ID), (other_edge, "plant1/assembly/line1/edge2")):
        w = Writer(path)
        box = Outbox(w, edge_id)
        append_many(box, 1)
        box.close()
        w.close()
    with closing(sqlite3.connect(newer)) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")

    for source, reason in (
        (tmp_path / "missing.db", "is not a file"),
        (text, "not a SQLite file"),
        (other_db, "is not an edge store (no outbox)"),
        (newer, "newer than this software knows"),
        (other_edge, "is the store of edge 'plant1/assembly/line1/edge2'"),
    ):
        assert main(["edge", "restore", "--config", str(cfg), "--from", str(source)]) == 1
        assert reason in capsys.readouterr().err
    assert outbox_rows(store) == before
    assert list(store.parent.glob("*before-restore*")) == []


def restored_with(tmp_path: Path, recorded: int, acked: int, after_restore: int) -> Path:
    """A store restored from a backup of ``recorded`` events with ``after_restore`` new ones."""
    cfg, store = str(config(tmp_path)), tmp_path / ADDRESS.edge / "edge.db"
    copy = tmp_path / "backup.db"
    writer, outbox = open_store(store)
    append_many(outbox, recorded)
    outbox.ack(acked).result(10)
    outbox.close()
    writer.close()
    assert main(["edge", "backup", "--config", cfg, "--to", str(copy)]) == 0
    store.unlink()
    assert main(["edge", "restore", "--config", cfg, "--from", str(copy)]) == 0
    writer, outbox = open_store(store)
    append_many(outbox, after_restore)
    outbox.close()
    writer.close()
    return store


@pytest.mark.parametrize(
    ("central_seq", "expected_rows", "acked"),
    [
        # central got 5 events the backup never saw: the 3 new ones move to 16, 17, 18
        (15, [16, 17, 18], 15),
        # central is behind the backup: unsent backup rows stay, nothing is renumbered
        (7, [8, 9, 10, 11, 12, 13], 7),
    ],
)
def test_a_restored_store_continues_above_centrals_sequence(
    tmp_path: Path, central_seq: int, expected_rows: list[int], acked: int
) -> None:
    store = restored_with(tmp_path, recorded=10, acked=4, after_restore=3)
    assert [seq for seq, _ in outbox_rows(store)] == list(range(5, 14))
    new_ids = [orjson.loads(body)["event_id"] for seq, body in outbox_rows(store) if seq > 10]

    writer, outbox = open_store(store)
    try:
        outbox.resync(central_seq).result(10)
        assert outbox.restored_seq is None
        assert (outbox.acked_seq, outbox.last_seq) == (acked, expected_rows[-1])
        assert (
            outbox.append("operator_login", "ST-1", {"operator": "x"}).seq == expected_rows[-1] + 1
        )
    finally:
        outbox.close()
        writer.close()
    rows = outbox_rows(store)
    assert [seq for seq, _ in rows] == [*expected_rows, expected_rows[-1] + 1]
    for seq, body in rows:
        assert validate_envelope(orjson.loads(body)).seq == seq, "the body says the new seq"
    moved = [orjson.loads(body)["event_id"] for seq, body in rows][-4:-1]
    assert moved == new_ids, "the events recorded since the restore, in their order"
    writer, outbox = open_store(store)  # the resync is on disk
    try:
        assert outbox.restored_seq is None and outbox.acked_seq == acked
    finally:
        outbox.close()
        writer.close()
