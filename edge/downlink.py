"""Downlink: commands from central (dispatch list, master data), cached in the edge's SQLite.

Commands are retained on the broker and carry a version; an older or repeated
version never replaces a newer one, so a reconnect that replays them is harmless.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import orjson

from edge.store import Writer
from protocols.contract import ContractError, TopicLayout, decode_command

log = logging.getLogger(__name__)


class Downlink:
    def __init__(self, writer: Writer, edge_id: str, layout: TopicLayout) -> None:
        self.writer = writer
        self.edge_id = edge_id
        self.layout = layout
        # What is committed, kept in memory: stations read it on every poll, and a read
        # through the one writer would queue behind the events being recorded.
        self._lock = threading.Lock()
        self._current: dict[str, tuple[int, dict[str, Any]]] = dict(writer.run(_load))
        # the newest command's write: (future, command, version, body)
        self._last: tuple[Future[bool], str, int, dict[str, Any]] | None = None
        # called with the command's name when a newer version is committed
        self.on_change: Callable[[str], None] = lambda _: None

    def handle(self, topic: str, raw: bytes) -> None:
        try:
            address, _, name = self.layout.parse(topic)
            command, body = decode_command(raw)
            if address.path != self.edge_id or command.edge_id != self.edge_id:
                raise ContractError(f"command for {command.edge_id!r} on {topic!r}")
            if name != command.command:
                raise ContractError(f"{command.command} sent on cmd/{name}")
        except ContractError as exc:
            log.warning("ignored malformed command", extra={"topic": topic, "reason": exc.reason})
            return
        text = orjson.dumps(body.model_dump(mode="json")).decode()

        def work(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "INSERT INTO downlink (command, version, issued_at, received_at, body)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (command) DO UPDATE SET"
                    " version = excluded.version, issued_at = excluded.issued_at,"
                    " received_at = excluded.received_at, body = excluded.body"
                    " WHERE excluded.version > downlink.version",
                    (
                        command.command,
                        command.version,
                        command.issued_at.isoformat(),
                        time.time(),
                        text,
                    ),
                ).rowcount
                == 1
            )

        cached = orjson.loads(text)

        def done(f: Future[bool]) -> None:
            replaced = f.exception() is None and f.result()
            if replaced:
                self._remember(command.command, command.version, cached)
            log.info(
                "command cached",
                extra={
                    "command": command.command,
                    "version": command.version,
                    "replaced": replaced,
                },
            )

        future = self.writer.submit(work)
        future.add_done_callback(done)
        self._last = (future, command.command, command.version, cached)

    def _remember(self, command: str, version: int, body: dict[str, Any]) -> None:
        with self._lock:
            held = self._current.get(command)
            newer = held is None or held[0] < version
            if newer:
                self._current[command] = (version, body)
        if newer:
            self.on_change(command)

    def current(self, command: str) -> tuple[int, dict[str, Any]] | None:
        """The cached version and body of a command, if central has sent one."""
        last = self._last
        if last is not None:  # a command being written is read once it is committed
            future, name, version, body = last
            with contextlib.suppress(Exception):
                # (its done callback may not have run yet when result() returns)
                if future.result(timeout=10):
                    self._remember(name, version, body)
        with self._lock:
            return self._current.get(command)


def _load(conn: sqlite3.Connection) -> list[tuple[str, tuple[int, dict[str, Any]]]]:
    rows = conn.execute("SELECT command, version, body FROM downlink").fetchall()
    return [(command, (version, orjson.loads(body))) for command, version, body in rows]
