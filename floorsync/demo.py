"""``floorsync demo``: embedded broker, central on SQLite with the demo company, one edge,
and a simulated terminal at each of the edge's stations working the orders dispatched to it."""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Connection

from central import seed
from central.auth import UserError, authenticate, create_user
from central.db import make_engine, migrate
from floorsync.broker import EmbeddedBroker
from floorsync.procs import floorsync_cmd, free_port, port_is_free, spawn, stop, wait_http

log = logging.getLogger(__name__)

EDGE_CONFIG = Path(__file__).parent / "demo_edge.toml"
DEMO_USER = "demo"


def demo_line() -> tuple[str, list[tuple[str, str]]]:
    """The demo edge's id (site/area/line/name) and its (station, machine) pairs."""
    config = tomllib.loads(EDGE_CONFIG.read_text())
    node = config["node"]
    edge_id = "/".join(node[key] for key in ("site", "area", "line", "name"))
    return edge_id, [(s["name"], s["machine"]) for s in config.get("stations", [])]


def prepare_central(database_url: str, edge_id: str, token_file: Path) -> dict[str, Any]:
    """Migrate central's database and load the demo company (once), before central starts.

    Also makes the demo's API user the first time; its token is kept in ``token_file``
    because the database keeps only its hash.
    """
    engine = make_engine(database_url)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # central's log says what ran
    try:
        migrate(engine)
        with engine.begin() as conn:
            company = seed.load_demo_company(conn, edge_id=edge_id, now=datetime.now(UTC))
            company["token"] = _api_token(conn, token_file)
    finally:
        engine.dispose()
    return company


def _api_token(conn: Connection, token_file: Path) -> str | None:
    if token_file.exists():
        token = token_file.read_text().strip()
        if authenticate(conn, token) is not None:
            return token
    try:
        token = create_user(conn, DEMO_USER, ["admin"])
    except UserError:
        return None  # the demo user exists, its token file is gone
    token_file.touch(mode=0o600)
    token_file.write_text(token + "\n")
    return token


def run(
    data_dir: Path,
    broker_url: str | None,
    broker_port: int,
    central_port: int,
    edge_port: int,
    rate: float,
    office_interval: float = 15.0,
) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    broker: EmbeddedBroker | None = None
    if broker_url is None:
        if not port_is_free(broker_port):
            chosen = free_port()
            print(f"port {broker_port} is taken (another broker?); embedded broker uses {chosen}")
            broker_port = chosen
        broker = EmbeddedBroker(port=broker_port)
        broker.start()
        broker_url = broker.url
    central_url = f"http://127.0.0.1:{central_port}"
    edge_url = f"http://127.0.0.1:{edge_port}"
    logs = data_dir / "logs"
    procs: list[subprocess.Popen[bytes]] = []
    names: dict[subprocess.Popen[bytes], str] = {}
    database = f"sqlite:///{data_dir / 'central.db'}"
    edge_id, stations = demo_line()
    try:
        company = prepare_central(database, edge_id, data_dir / "central-token")
        central = spawn(
            floorsync_cmd(
                "central",
                "--database",
                database,
                "--broker",
                broker_url,
                "--http-port",
                str(central_port),
            ),
            logs / "central.log",
        )
        procs.append(central)
        names[central] = "central"
        edge = spawn(
            floorsync_cmd(
                "edge",
                "--config",
                str(EDGE_CONFIG),
                "--data-dir",
                str(data_dir / "edge"),
                "--broker",
                broker_url,
                "--http-port",
                str(edge_port),
            ),
            logs / "edge.log",
        )
        procs.append(edge)
        names[edge] = "edge"
        wait_http(f"{central_url}/health", proc=central)
        wait_http(f"{edge_url}/health", proc=edge)
        for n, (name, machine) in enumerate(stations):
            args = ["--edge-url", edge_url, "--station", name, "--machine", machine]
            station = spawn(
                floorsync_cmd("sim", "station", *args, "--rate", str(rate), "--seed", str(n)),
                logs / f"station-{name}.log",
            )
            procs.insert(0, station)
            names[station] = f"station {name} simulator"
        if company["token"]:
            office = spawn(
                floorsync_cmd(
                    "sim",
                    "office",
                    "--central-url",
                    central_url,
                    "--token-file",
                    str(data_dir / "central-token"),
                    "--interval",
                    str(office_interval),
                ),
                logs / "office.log",
            )
            procs.insert(0, office)
            names[office] = "office simulator"
        token = company["token"]
        if token:
            token = f"{token}  (kept in {data_dir / 'central-token'})"
        sales = ", ".join(f"{n} {state}" for state, n in company["sales_orders"].items())
        print(
            "FloorSync demo is running (Ctrl-C stops it)\n"
            f"  broker           {broker_url}{' (embedded)' if broker else ''}\n"
            f"  central API      {central_url}/docs\n"
            f"  api token        {token or 'none kept: make one with floorsync central user add'}\n"
            f"  sales orders     {central_url}/api/v1/sales-orders  ({sales})\n"
            f"  production       {central_url}/api/v1/production-orders\n"
            f"  edges at central {central_url}/api/v1/edges\n"
            f"  station totals   {central_url}/api/v1/station-totals\n"
            f"  back office      ships ready orders, releases planned work, takes new orders "
            f"every {office_interval:g} s (logs/office.log)\n"
            f"  dispatch list    {edge_url}/api/v1/dispatch-list  (stations "
            f"{', '.join(name for name, _ in stations)} of {edge_id})\n"
            f"  edge status      {edge_url}/api/v1/status\n"
            f"  metrics          {central_url}/metrics  {edge_url}/metrics\n"
            f"  logs             {logs}/",
            flush=True,
        )
        while not stopping.wait(1.0):
            for proc in procs:
                if proc.poll() is not None:
                    print(f"{names[proc]} exited with {proc.returncode}; stopping the demo")
                    stopping.set()
        return 0
    finally:
        print("stopping ...", flush=True)
        for proc in procs:
            stop(proc)
        if broker:
            broker.stop()
        print("stopped", flush=True)
