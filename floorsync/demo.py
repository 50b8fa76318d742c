"""``floorsync demo``: embedded broker, central on SQLite, one edge and a simulated station."""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from pathlib import Path
from types import FrameType

from floorsync.broker import EmbeddedBroker
from floorsync.procs import floorsync_cmd, free_port, port_is_free, spawn, stop, wait_http

log = logging.getLogger(__name__)


def run(
    data_dir: Path,
    broker_url: str | None,
    broker_port: int,
    central_port: int,
    edge_port: int,
    rate: float,
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
    try:
        central = spawn(
            floorsync_cmd(
                "central",
                "--database",
                f"sqlite:///{data_dir / 'central.db'}",
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
                str(Path(__file__).parent / "demo_edge.toml"),
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
        station = spawn(
            floorsync_cmd("sim", "station", "--edge-url", edge_url, "--rate", str(rate)),
            logs / "station.log",
        )
        procs.insert(0, station)
        names[station] = "station simulator"
        print(
            "FloorSync demo is running (Ctrl-C stops it)\n"
            f"  broker           {broker_url}{' (embedded)' if broker else ''}\n"
            f"  central API      {central_url}/docs\n"
            f"  edges at central {central_url}/api/v1/edges\n"
            f"  station totals   {central_url}/api/v1/station-totals\n"
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
