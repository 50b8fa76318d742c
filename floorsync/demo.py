"""``floorsync demo``: embedded broker, central on SQLite with the demo company, one edge
with a simulated Modbus machine at each station, and a simulated crew at each station's
terminal working the orders dispatched to it while the machine counts the pieces."""

from __future__ import annotations

import logging
import re
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
from edge.auth import new_api_token
from floorsync.broker import EmbeddedBroker
from floorsync.procs import floorsync_cmd, free_port, port_is_free, spawn, stop, wait_http
from floorsync.security import Identity, broker_url, central_identity, edge_identity, new_password
from protocols.contract import EdgeAddress, TopicLayout
from protocols.mqtt import BrokerUrl
from simulators.station import DEMO_SUPERVISOR

log = logging.getLogger(__name__)

EDGE_CONFIG = Path(__file__).parent / "demo_edge.toml"
DEMO_USER = "demo"


def demo_line() -> tuple[str, list[tuple[str, str]]]:
    """The demo edge's id (site/area/line/name) and its (station, machine) pairs."""
    config = tomllib.loads(EDGE_CONFIG.read_text())
    node = config["node"]
    edge_id = "/".join(node[key] for key in ("site", "area", "line", "name"))
    return edge_id, [(s["name"], s["machine"]) for s in config.get("stations", [])]


def write_edge_config(
    path: Path,
    source: Path = EDGE_CONFIG,
    mqtt_url: str | None = None,
    token_hash: str | None = None,
) -> list[str]:
    """The demo edge's config at ``path``, each Modbus port that is taken moved to a free
    one (another demo, or a test, may be running); where the machines listen.

    With ``mqtt_url`` (which holds the edge's password) the file is the owner's only;
    ``token_hash`` adds the demo's admin API token.
    """
    text = source.read_text()
    if token_hash is not None:
        text = (
            f'{text.rstrip()}\n\n[[api_tokens]]\nname = "demo"\nrole = "admin"\n'
            f'token_hash = "{token_hash}"\n'
        )
    machines = []
    for device in tomllib.loads(text).get("devices", []):
        if device["kind"] != "modbus_tcp":
            continue
        port = device["port"]
        if not port_is_free(port, device["host"]):
            chosen = free_port(device["host"])
            print(f"port {port} is taken; the simulated {device['name']} uses {chosen}")
            text = re.sub(rf"(?m)^port = {port}$", f"port = {chosen}", text)
            port = chosen
        machines.append(f"{device['name']} {device['host']}:{port}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if mqtt_url is None:
        path.write_text(text)
    else:
        _write_secret(path, f'{text.rstrip()}\n\n[mqtt]\nurl = "{mqtt_url}"\n')
    return machines


def _write_secret(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)  # a file left by an older demo may be readable by others
    path.write_text(text)


def demo_logins(edge_id: str) -> list[tuple[Identity, str]]:
    """A fresh random password for the demo edge and for central, made at every start."""
    layout = TopicLayout()
    edge = edge_identity(EdgeAddress(*edge_id.split("/")), layout)
    return [(edge, new_password()), (central_identity("central", [layout]), new_password())]


def write_logins(
    path: Path, logins: list[tuple[Identity, str]], host: str, port: int
) -> dict[str, str]:
    """Each login's broker URL by kind ("edge", "central"), also kept in ``path`` (0600)."""
    urls = {i.kind: broker_url(host, port, i.username, password) for i, password in logins}
    lines = ["# The demo broker's logins, new at every start of `floorsync demo`."]
    lines += [f'{kind} = "{url}"' for kind, url in urls.items()]
    _write_secret(path, "\n".join(lines) + "\n")
    return urls


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

    edge_id, stations = demo_line()
    broker: EmbeddedBroker | None = None
    logins_file = data_dir / "mqtt-logins.toml"
    # the embedded broker's logins go to edge and central in their config files (0600),
    # never on a command line that ps shows; an external broker's URL is the user's
    login_urls: dict[str, str] = {}
    central_config = data_dir / "central.toml"
    if broker_url is None:
        if not port_is_free(broker_port):
            chosen = free_port()
            print(f"port {broker_port} is taken (another broker?); embedded broker uses {chosen}")
            broker_port = chosen
        logins = demo_logins(edge_id)
        broker = EmbeddedBroker(logins, port=broker_port)
        broker.start()
        broker_url = broker.url
        login_urls = write_logins(logins_file, logins, broker.host, broker.port)
        _write_secret(central_config, f'[mqtt]\nurl = "{login_urls["central"]}"\n')
    broker_args = [] if login_urls else ["--broker", broker_url]
    central_url = f"http://127.0.0.1:{central_port}"
    edge_url = f"http://127.0.0.1:{edge_port}"
    logs = data_dir / "logs"
    procs: list[subprocess.Popen[bytes]] = []
    names: dict[subprocess.Popen[bytes], str] = {}
    database = f"sqlite:///{data_dir / 'central.db'}"
    edge_config = data_dir / "edge.toml"
    try:
        # the edge's admin API token, new at every start like the broker's logins
        edge_token, edge_token_hash = new_api_token()
        _write_secret(data_dir / "edge-token", edge_token + "\n")
        machines = write_edge_config(
            edge_config, mqtt_url=login_urls.get("edge"), token_hash=edge_token_hash
        )
        company = prepare_central(database, edge_id, data_dir / "central-token")
        central = spawn(
            floorsync_cmd(
                "central",
                *(["--config", str(central_config)] if login_urls else []),
                "--database",
                database,
                *broker_args,
                "--http-port",
                str(central_port),
            ),
            logs / "central.log",
        )
        procs.append(central)
        names[central] = "central"
        # the machines first: they count from the start, pieces with no order running
        # are the edge's "unattributed" ones
        plant = spawn(
            floorsync_cmd("sim", "plant", "--config", str(edge_config), "--rate", str(rate)),
            logs / "plant.log",
        )
        procs.append(plant)
        names[plant] = "simulated machines"
        edge = spawn(
            floorsync_cmd(
                "edge",
                "--config",
                str(edge_config),
                "--data-dir",
                str(data_dir / "edge"),
                *broker_args,
                "--http-port",
                str(edge_port),
            ),
            logs / "edge.log",
        )
        procs.insert(len(procs) - 1, edge)  # stopped before the machines it polls
        names[edge] = "edge"
        wait_http(f"{central_url}/health", proc=central)
        wait_http(f"{edge_url}/health", proc=edge)
        for n, (name, _machine) in enumerate(stations):
            args = ["--edge-url", edge_url, "--station", name, "--rate", str(rate)]
            station = spawn(
                floorsync_cmd("sim", "station", *args, "--seed", str(n)),
                logs / f"station-{name}.log",
            )
            procs.insert(0, station)
            names[station] = f"station {name} crew"
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
        terminals = "\n".join(
            f"  terminal {name:<7} {edge_url}/stations/{name}  ({machine})"
            for name, machine in stations
        )
        badge, pin = DEMO_SUPERVISOR
        print(
            "FloorSync demo is running (Ctrl-C stops it)\n"
            f"  line dashboard   {edge_url}/line\n"
            f"{terminals}\n"
            f"  supervisor       badge {badge}, PIN {pin}: the demo's own, never for a real line\n"
            f"  machines         {', '.join(machines)} (Modbus TCP, {rate:g} pieces/s each, "
            "logs/plant.log)\n"
            f"  broker           {BrokerUrl.parse(broker_url)}"  # never its password
            f"{f' (embedded), logins in {logins_file}' if broker else ''}\n"
            f"  planner          {central_url}/planner  (Gantt, predictions, work-center load)\n"
            f"  customer 360     {central_url}/customers/{seed.MARKER}\n"
            f"  traceability     {central_url}/trace\n"
            f"  sales pipeline   {central_url}/pipeline  (my day: {central_url}/my-day, "
            f"import: {central_url}/import)\n"
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
            f"  edge API token   {edge_token}  (kept in {data_dir / 'edge-token'}; new at "
            "every start)\n"
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
