"""The edge's SQLite WAL as the fault rows break it, read as SQLite writes it.

Format: https://www.sqlite.org/fileformat2.html#walformat
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import tempfile
from pathlib import Path


def _checksum(data: bytes, s0: int, s1: int, big: bool) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big else '<'}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def valid_wal_end(raw: bytes) -> tuple[int, int, int]:
    """(frames, committed frames, byte offset after the last committed frame) of a WAL."""
    frames, commits = wal_commits(raw)
    if not commits:
        return frames, 0, min(len(raw), 32)
    return frames, commits[-1][0], commits[-1][1]


def wal_commits(raw: bytes) -> tuple[int, list[tuple[int, int]]]:
    """Valid frames of a WAL, and (frames, byte offset) after each commit frame."""
    commits: list[tuple[int, int]] = []
    if len(raw) < 32:
        return 0, commits
    magic, _, page_size, _, salt1, salt2 = struct.unpack(">6I", raw[:24])
    big = magic & 1 == 1
    s0, s1 = _checksum(raw[:24], 0, 0, big)
    if (s0, s1) != struct.unpack(">2I", raw[24:32]):
        return 0, commits
    frame = 24 + page_size
    offset, frames = 32, 0
    while offset + frame <= len(raw):
        head = raw[offset : offset + 24]
        _page, size, f_salt1, f_salt2 = struct.unpack(">4I", head[:16])
        if (f_salt1, f_salt2) != (salt1, salt2):
            break  # an older generation of frames, left behind by a checkpoint
        s0, s1 = _checksum(head[:8], s0, s1, big)
        s0, s1 = _checksum(raw[offset + 24 : offset + frame], s0, s1, big)
        if (s0, s1) != struct.unpack(">2I", head[16:24]):
            break
        frames += 1
        offset += frame
        if size:  # a commit frame: everything up to here is a committed transaction
            commits.append((frames, offset))
    return frames, commits


def tear_wal_tail(wal: Path) -> str:
    """Write half a frame of garbage after the last commit and cut the file there.

    That is what a disk holds when the power goes while the next transaction's frames
    are being written, before its fsync returned: that transaction was never
    acknowledged to a station. A commit acknowledged with synchronous=FULL sits before
    it and must survive.
    """
    raw = wal.read_bytes() if wal.exists() else b""
    frames, committed, end = valid_wal_end(raw)
    if len(raw) < 32:
        return "no WAL left to tear (checkpointed and truncated)"
    page_size = struct.unpack(">I", raw[8:12])[0]
    salts = raw[16:24]
    torn = struct.pack(">2I", 2, 0) + salts + os.urandom(8) + os.urandom(page_size // 2)
    with wal.open("r+b") as f:
        f.seek(end)
        f.write(torn)
        f.truncate(end + len(torn))
        f.flush()
        os.fsync(f.fileno())
    return (
        f"WAL torn: {committed} committed frames kept ({end:,} B), "
        f"{frames - committed} uncommitted and a half-written frame ({len(torn):,} B) after them"
    )


def cut_wal_commits(wal: Path) -> str:
    """Cut the WAL back to the middle of its committed transactions: a disk that lied.

    SQLite's guarantee rests on fsync: a disk whose write cache says "written" and then
    loses it on power loss takes acknowledged commits with it. Returns what it did.
    """
    raw = wal.read_bytes() if wal.exists() else b""
    _, commits = wal_commits(raw)
    if len(commits) < 2:
        return "too few commits in the WAL to cut any"
    keep = len(commits) // 2
    frames, end = commits[keep - 1]
    with wal.open("r+b") as f:
        f.truncate(end)
        os.fsync(f.fileno())
    return f"WAL cut to {keep} of {len(commits)} commits ({frames} frames, {end:,} B)"


def outbox_ids(db: Path) -> set[str]:
    """The event ids in an edge store's outbox, read from a copy (recovering its WAL)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / db.name
        for suffix in ("", "-wal"):
            if Path(f"{db}{suffix}").exists():
                shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
        conn = sqlite3.connect(copy)
        try:
            return {r[0] for r in conn.execute("SELECT event_id FROM outbox")}
        finally:
            conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
