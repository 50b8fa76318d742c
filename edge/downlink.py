"""Downlink: commands from central (dispatch list, master data), cached in the edge's SQLite.

Commands are retained on the broker and carry a version; an older or repeated
version never replaces a newer one, so a reconnect that replays them is harmless.
"""

from __future__ import annotations

import logging
import sqlite3
import time
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

        self.writer.submit(work).add_done_callback(
            lambda f: log.info(
                "command cached",
                extra={
                    "command": command.command,
                    "version": command.version,
                    "replaced": f.exception() is None and f.result(),
                },
            )
        )

    def current(self, command: str) -> tuple[int, dict[str, Any]] | None:
        """The cached version and body of a command, if central has sent one."""

        def work(conn: sqlite3.Connection) -> tuple[int, dict[str, Any]] | None:
            row = conn.execute(
                "SELECT version, body FROM downlink WHERE command = ?", (command,)
            ).fetchone()
            return (row[0], orjson.loads(row[1])) if row else None

        result: tuple[int, dict[str, Any]] | None = self.writer.run(work)
        return result
