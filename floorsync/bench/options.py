"""Options of the device benchmarks, apart from them: the CLI builds its parser without
importing pymodbus or asyncua."""

from __future__ import annotations

import argparse
from pathlib import Path


def modbus_arguments(parser: argparse.ArgumentParser) -> None:
    """The bench's options, for ``floorsync bench modbus`` and ``python -m``."""
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--tags", type=int, default=100, help="tags per device")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval, s")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window, s")
    parser.add_argument("--warmup", type=float, default=3.0, help="polling before the window, s")
    parser.add_argument("--baseline-seconds", type=float, default=3.0)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")


def opcua_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench opcua``."""
    parser.add_argument("--quick", action="store_true", help="a 5 s measurement, for a smoke run")
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--signals", type=int, default=100, help="changing variables per machine")
    parser.add_argument("--signal-hz", type=float, default=5.0, help="changes per signal per s")
    parser.add_argument("--publishing-interval", type=float, default=0.1, help="seconds")
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement length")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")


def scan_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench scan``."""
    parser.add_argument("--scans", type=int, default=1000, help="scans to send")
    parser.add_argument("--rate", type=float, default=20.0, help="scans per second")


def terminal_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench terminal``."""
    parser.add_argument("--scans", type=int, default=300, help="serial scans to time")
    parser.add_argument("--wedge-scans", type=int, default=100, help="keyboard-wedge scans")
    parser.add_argument("--states", type=int, default=30, help="press state changes to time")
    parser.add_argument("--poll-s", type=float, default=0.2, help="how often the edge polls")
    parser.add_argument("--mosquitto", default="mosquitto", help="the broker binary")
    parser.add_argument("--json", type=Path, help="also write the figures here")


def ingest_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench ingest``."""
    parser.add_argument("--events", type=int, default=200_000, help="events per stream")
    parser.add_argument("--edges", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500, help="events per MQTT message")
    parser.add_argument("--orders", type=int, default=10, help="released orders per edge")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (a scratch DB)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")


def api_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench api``."""
    parser.add_argument("--orders", type=int, default=100_000, help="sales orders stored")
    parser.add_argument("--events", type=int, default=10_000_000, help="events stored")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per call")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (its own DB)")
    parser.add_argument("--work-dir", type=Path, help="keep the filled SQLite file here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")


def customers_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench customers``."""
    parser.add_argument("--customers", type=int, default=10_000, help="customers stored")
    parser.add_argument("--orders", type=int, default=100_000, help="sales orders stored")
    parser.add_argument("--events", type=int, default=10_000_000, help="events stored")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per call")
    parser.add_argument(
        "--rfm-customers", type=int, default=100_000, help="customers RFM is timed for"
    )
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (its own DB)")
    parser.add_argument("--work-dir", type=Path, help="keep the filled SQLite files here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")


def crm_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench crm``."""
    parser.add_argument("--accounts", type=int, default=50_000, help="customers stored")
    parser.add_argument("--opportunities", type=int, default=200_000, help="opportunities stored")
    parser.add_argument(
        "--timeline", type=int, default=5_000_000, help="timeline entries stored, in all sources"
    )
    parser.add_argument("--import-rows", type=int, default=100_000, help="customer rows imported")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per call")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (its own DB)")
    parser.add_argument("--work-dir", type=Path, help="keep the filled SQLite file here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")


def schedule_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench schedule``."""
    parser.add_argument(
        "file", nargs="?", type=Path, help="a job-shop instance: 'jobs machines', then a row a job"
    )
    parser.add_argument(
        "--time-limit", type=float, default=30.0, help="seconds the optimiser may take"
    )
    parser.add_argument("--workers", type=int, default=2, help="the optimiser's threads")
    parser.add_argument(
        "--heuristic-time", type=float, default=1.0, help="the heuristic's improvement budget, s"
    )
    parser.add_argument(
        "--synthetic",
        type=int,
        metavar="N",
        help="instead of FILE: time the heuristic on a generated plant with N operations",
    )
    parser.add_argument("--work-centers", type=int, default=50, help="with --synthetic")
    parser.add_argument("--seed", type=int, default=0)


def fuzz_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench fuzz``."""
    parser.add_argument("--examples", type=int, default=100_000, help="generated inputs per target")
    parser.add_argument("--seed", type=int, default=1, help="the same seed replays a run")
    parser.add_argument(
        "--targets",
        default="scan,station,modbus,contract,ingest",
        help="comma-separated, of: scan, station, modbus, contract, ingest",
    )
    parser.add_argument(
        "--api-examples",
        type=int,
        default=20,
        help="schemathesis requests per API operation and mode (valid, invalid); 0: skip",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="keep the SQLite files here (default: a temp dir in RAM)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")


def load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync sim load``."""
    parser.add_argument("--edges", type=int, default=50, help="simulated edges")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s each edge records")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="broker URL")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--site",
        default="load",
        help="the edges' site; each run numbers from seq 1, so give a new site for each run "
        "against the same central (it remembers every edge's sequence)",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=60.0, help="seconds to wait for the last acks"
    )
    parser.add_argument("--json", type=Path, help="also write what each edge sent as JSON")


def scale_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench scale``."""
    parser.add_argument("--edges", type=int, default=50, help="simulated edges")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s each edge records")
    parser.add_argument("--workers", type=int, default=2, help="central ingest workers")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per run")
    parser.add_argument(
        "--generators", type=int, default=0, help="load generator processes (0: one per 5,000 ev/s)"
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the one-worker run at the same load"
    )
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="admin URL of the PostgreSQL server; a fresh database per run is made and dropped",
    )
    parser.add_argument("--mosquitto", default="mosquitto", help="the broker binary")
    parser.add_argument("--work-dir", type=Path, help="keep logs here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")


def faults_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``floorsync bench faults``."""
    parser.add_argument(
        "--rows", help="comma-separated rows to run (default: all; see docs/benchmarks.md)"
    )
    parser.add_argument("--events", type=int, default=3000, help="events per row")
    parser.add_argument(
        "--outage-s", type=float, default=120.0, help="how long the network_cut row lasts"
    )
    parser.add_argument("--mosquitto", default="mosquitto", help="the broker binary")
    parser.add_argument("--work-dir", type=Path, help="keep each row's files and logs here")
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
