"""A whole line on one machine: real Mosquitto, central and edge processes, killed for real."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.helpers import EDGE_API_TOKENS_TOML, EDGE_AUTH, Mosquitto, free_port, wait_until

EDGE_ID = "plant1/assembly/line1/edge1"


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    """``wait_until``, counting a process that is not answering yet as not ready."""

    def ready() -> bool:
        with contextlib.suppress(httpx.HTTPError, sa.exc.OperationalError):
            return check()
        return False

    wait_until(ready, timeout, what)


class Proc:
    """One FloorSync process that a test can start, SIGKILL and start again."""

    def __init__(self, name: str, args: list[str], port: int, logs: Path) -> None:
        self.name, self.args, self.port = name, args, port
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "floorsync", *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            f"{self.name} /health",
            lambda: self._alive() and httpx.get(f"{self.url}/health", timeout=1).status_code == 200,
            timeout=30,
        )

    def _alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.proc.returncode}:\n" + self.log.read_text()[-3000:]
            )
        return True

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye; as a power cut would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def central_on(db_url: str, broker_url: str, tmp_path: Path) -> Proc:
    """A central process (not started) on ``db_url`` and the broker, logging under tmp_path."""
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    port = free_port()
    args = ["central", "--database", db_url, "--broker", broker_url, "--http-port", str(port)]
    return Proc("central", args, port, logs)


@dataclass
class Accepted:
    """What the station was told: these events are committed at the edge."""

    event_ids: set[str] = field(default_factory=set)
    good: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Plant:
    def __init__(self, broker: Mosquitto, tmp: Path, db_url: str) -> None:
        self.broker, self.db_url = broker, db_url
        logs = tmp / "logs"
        logs.mkdir()
        config = tmp / "edge.toml"
        config.write_text(
            '[node]\nsite = "plant1"\narea = "assembly"\nline = "line1"\nname = "edge1"\n'
            f'data_dir = "{tmp / "edge"}"\n'
            "[uplink]\nbatch_events = 50\nwindow = 4\nack_timeout_s = 1.0\n"
            # manual stations with a terminal, for the crews of the order loop
            '[[stations]]\nname = "ST-10"\n[[stations]]\nname = "ST-20"\n' + EDGE_API_TOKENS_TOML
        )
        self.central = Proc(
            "central",
            [
                "central",
                "--database",
                db_url,
                "--broker",
                broker.url,
                "--http-port",
                str(free_port()),
            ],
            0,
            logs,
        )
        self.central.port = int(self.central.args[-1])
        self.edge = Proc(
            "edge",
            [
                "edge",
                "--config",
                str(config),
                "--broker",
                broker.url,
                "--http-port",
                str(free_port()),
            ],
            0,
            logs,
        )
        self.edge.port = int(self.edge.args[-1])
        self.accepted = Accepted()
        self.engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))

    def start(self) -> None:
        self.central.start()
        self.edge.start()

    def stop(self) -> None:
        self.edge.stop()
        self.central.stop()
        self.engine.dispose()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.log.read_text()[-4000:]}" for p in (self.edge, self.central)
        )

    # -- the station side ----------------------------------------------------------------

    def produce(self, count: int, threads: int = 4) -> None:
        """Post ``count`` production reports from ``threads`` stations; retry while the edge
        is down, as a terminal does, with the report's idempotency key, so a report the
        edge committed before it died is recorded once. Only answers 201 count as accepted."""

        def station(index: int) -> None:
            start = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
            with httpx.Client(timeout=5, headers=EDGE_AUTH) as client:
                for n in range(count // threads):
                    good = 1 + (n % 7)
                    body = {
                        "kind": "production_report",
                        "station": f"ST-{index}",
                        "payload": {
                            "work_order": "WO-2026-000123",
                            "operation": "10",
                            "good": good,
                            "scrap": n % 2,
                            "period_start": (start + timedelta(seconds=n)).isoformat(),
                            "period_end": (start + timedelta(seconds=n + 1)).isoformat(),
                        },
                    }
                    key = {"Idempotency-Key": str(uuid.uuid4())}
                    while True:
                        try:
                            response = client.post(
                                f"{self.edge.url}/api/v1/events", json=body, headers=key
                            )
                        except httpx.HTTPError:
                            time.sleep(0.05)  # the edge is down: the terminal tries again
                            continue
                        if response.status_code == 201:
                            with self.accepted.lock:
                                self.accepted.event_ids.add(response.json()["event_id"])
                                self.accepted.good += good
                            break
                        with self.accepted.lock:
                            self.accepted.refused += 1
                        break

        workers = [threading.Thread(target=station, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    # -- what central holds ------------------------------------------------------------

    def central_events(self) -> list[tuple[int, str]]:
        with self.engine.connect() as conn:
            return [
                (r.seq, r.event_id)
                for r in conn.execute(
                    sa.text("SELECT seq, event_id FROM events WHERE edge_id = :e ORDER BY seq"),
                    {"e": EDGE_ID},
                )
            ]

    def edge_status(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.edge.url}/api/v1/status", headers=EDGE_AUTH, timeout=2)
        return answer.json()  # type: ignore[no-any-return]

    def wait_drained(self, timeout: float = 90.0) -> None:
        def drained() -> bool:
            outbox = self.edge_status()["outbox"]
            return bool(outbox["depth"] == 0 and outbox["last_seq"] > 0)

        wait_for("the edge outbox to drain", drained, timeout)

    def assert_exactly_once(self) -> None:
        last_seq = self.edge_status()["outbox"]["last_seq"]
        stored = self.central_events()
        seqs = [seq for seq, _ in stored]
        ids = [event_id for _, event_id in stored]
        assert seqs == list(range(1, last_seq + 1)), "central must hold 1..last_seq, in order"
        assert len(set(ids)) == len(ids), "no event twice"
        missing = self.accepted.event_ids - set(ids)
        assert not missing, f"{len(missing)} accepted events never reached central"
        assert self.accepted.refused == 0
        with self.engine.connect() as conn:
            good = conn.execute(
                sa.text("SELECT COALESCE(SUM(good), 0) FROM station_totals WHERE edge_id = :e"),
                {"e": EDGE_ID},
            ).scalar_one()
            stored_good = conn.execute(
                sa.text("SELECT payload FROM events WHERE edge_id = :e"), {"e": EDGE_ID}
            ).all()
        import orjson

        expected = sum(
            (orjson.loads(p) if isinstance(p, str) else p)["good"] for (p,) in stored_good
        )
        assert good == expected, "the effect (station totals) counts each event once"
        assert good >= self.accepted.good


@pytest.fixture
def plant(mosquitto: Mosquitto, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Plant]:
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        db_url = request.getfixturevalue("pg_url")
    else:
        db_url = f"sqlite:///{tmp_path / 'central.db'}"
    plant = Plant(mosquitto, tmp_path, db_url)
    plant.start()
    try:
        yield plant
    except BaseException:
        print(plant.logs())
        raise
    finally:
        plant.stop()
