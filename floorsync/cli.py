"""``floorsync``: one command for every part. Each subcommand's ``--help`` shows an example."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from floorsync import logs
from floorsync.bench.options import modbus_arguments, opcua_arguments, scan_arguments
from floorsync.config import ConfigError, load

Handler = Callable[[argparse.Namespace], int]


def _edge(args: argparse.Namespace) -> int:
    from edge.main import run
    from edge.settings import EdgeSettings

    settings = load(
        EdgeSettings,
        args.config,
        {
            "mqtt.url": args.broker,
            "http.port": args.http_port,
            "node.data_dir": str(args.data_dir) if args.data_dir else None,
        },
    )
    logs.setup("edge", args.log_level)
    run(settings)
    return 0


def _central(args: argparse.Namespace) -> int:
    from central.main import run
    from central.settings import CentralSettings

    settings = load(
        CentralSettings,
        args.config,
        {
            "database.url": args.database,
            "mqtt.url": args.broker,
            "http.port": args.http_port,
        },
    )
    logs.setup("central", args.log_level)
    run(settings)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from floorsync.demo import run

    logs.setup("demo", args.log_level)
    return run(
        args.data_dir, args.broker, args.broker_port, args.central_port, args.edge_port, args.rate
    )


def _sim_station(args: argparse.Namespace) -> int:
    import signal

    from simulators.station import StationSimulator

    logs.setup("sim-station", args.log_level)
    sim = StationSimulator(args.edge_url, args.station, rate=args.rate, seed=args.seed)
    signal.signal(signal.SIGTERM, lambda *_: sim.stop())
    with contextlib.suppress(KeyboardInterrupt):
        sim.run(count=args.count)
    return 0


def _sim_device(args: argparse.Namespace) -> int:
    import asyncio

    from simulators import cli as sims

    logs.setup(f"sim-{args.simulator}", args.log_level)
    if args.simulator == "modbus":
        asyncio.run(sims.modbus(args.host, args.port, args.rate))
    elif args.simulator == "opcua":
        asyncio.run(sims.opcua(args.port or None, args.rate))
    else:
        sims.scanner(args.rate, {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}[args.terminator])
    return 0


def _sim_plant(args: argparse.Namespace) -> int:
    import asyncio

    from simulators import cli as sims

    logs.setup("sim-plant", args.log_level)
    asyncio.run(sims.plant(args.config, args.rate))
    return 0


def _bench(name: str) -> Handler:
    """The handler of ``floorsync bench NAME``: floorsync.bench.NAME's main, imported late."""

    def handler(args: argparse.Namespace) -> int:
        logs.setup("bench", args.log_level)
        result: int = importlib.import_module(f"floorsync.bench.{name}").main(args)
        return result

    return handler


def _contract_docs(args: argparse.Namespace) -> int:
    from protocols.contract.reference import render

    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `floorsync contract docs`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


def _scan_explain(args: argparse.Namespace) -> int:
    import json

    from protocols.barcode import explain

    raw = args.input.encode().decode("unicode_escape") if args.escapes else args.input
    result = explain(raw)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["accepted"] else 1


def _add(
    sub: Any, name: str, handler: Handler, help_text: str, example: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    return parser


def _group(sub: Any, name: str, help_text: str, example: str, dest: str, metavar: str) -> Any:
    """A command with subcommands of its own (``floorsync sim station`` ...)."""
    parser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser.add_subparsers(dest=dest, required=True, metavar=metavar)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="floorsync",
        description="FloorSync: shop-floor MES edge gateway and central service.",
        epilog="example:\n  floorsync demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _add(
        sub,
        "demo",
        _demo,
        "run broker, central, an edge node and a simulated station",
        "floorsync demo --central-port 8080 --edge-port 8081",
    )
    p.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    p.add_argument("--broker", metavar="URL", help="use this broker instead of the embedded one")
    p.add_argument("--broker-port", type=int, default=1883, help="embedded broker's port")
    p.add_argument("--central-port", type=int, default=8080)
    p.add_argument("--edge-port", type=int, default=8081)
    p.add_argument("--rate", type=float, default=2.0, help="station reports per second")

    p = _add(
        sub,
        "edge",
        _edge,
        "run an edge node (outbox, uplink, station API)",
        "floorsync edge --config config/edge.example.toml --broker mqtt://127.0.0.1:1883",
    )
    p.add_argument("--config", type=Path, required=True, help="edge settings (TOML)")
    p.add_argument("--broker", metavar="URL", help="overrides mqtt.url")
    p.add_argument("--http-port", type=int, help="overrides http.port")
    p.add_argument("--data-dir", type=Path, help="overrides node.data_dir")

    p = _add(
        sub,
        "central",
        _central,
        "run the central service (ingest, storage, API)",
        "floorsync central --database postgresql://postgres@127.0.0.1/floorsync",
    )
    p.add_argument("--config", type=Path, help="central settings (TOML); defaults otherwise")
    p.add_argument("--database", metavar="URL", help="overrides database.url")
    p.add_argument("--broker", metavar="URL", help="overrides mqtt.url")
    p.add_argument("--http-port", type=int, help="overrides http.port")

    sims = _group(
        sub,
        "sim",
        "simulators that stand in for hardware",
        "floorsync sim station --edge-url http://127.0.0.1:8081",
        "simulator",
        "SIMULATOR",
    )
    p = _add(
        sims,
        "station",
        _sim_station,
        "a station terminal posting events to an edge",
        "floorsync sim station --edge-url http://127.0.0.1:8081 --rate 5",
    )
    p.add_argument("--edge-url", required=True)
    p.add_argument("--station", default="ST-10")
    p.add_argument("--rate", type=float, default=2.0, help="production reports per second")
    p.add_argument("--count", type=int, help="stop after this many reports")
    p.add_argument("--seed", type=int)

    p = _add(
        sims,
        "modbus",
        _sim_device,
        "a Modbus TCP press: counters and a state word",
        "floorsync sim modbus --port 5020 --rate 5",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5020)
    p.add_argument("--rate", type=float, default=5.0, help="good pieces per second")
    p = _add(
        sims,
        "opcua",
        _sim_device,
        "an OPC UA machine (state, counters, cycle time, alarm)",
        "floorsync sim opcua --port 4840",
    )
    p.add_argument("--port", type=int, default=4840, help="0 picks a free port")
    p.add_argument("--rate", type=float, default=5.0, help="good pieces per second")
    p = _add(
        sims,
        "scanner",
        _sim_device,
        "a serial barcode scanner on a pseudo-terminal",
        "floorsync sim scanner --rate 0.5",
    )
    p.add_argument("--rate", type=float, default=0.5, help="scans per second")
    p.add_argument("--terminator", choices=["CR", "LF", "CRLF"], default="CR")
    p = _add(
        sims,
        "plant",
        _sim_plant,
        "the machines an edge config names, on their ports (Modbus TCP)",
        "floorsync sim plant --config config/line.example.toml",
    )
    p.add_argument("--config", type=Path, required=True, help="the edge's settings (TOML)")
    p.add_argument("--rate", type=float, default=5.0, help="good pieces per second")

    benches = _group(
        sub,
        "bench",
        "benchmarks, printed with ratios to a baseline",
        "floorsync bench sync",
        "bench",
        "BENCH",
    )
    p = _add(
        benches,
        "sync",
        _bench("sync"),
        "sync throughput, latency and backlog drain",
        "floorsync bench sync --quick",
    )
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--events", type=int, default=200_000, help="events for the durable rate")
    p.add_argument("--backlog", type=int, default=1_000_000, help="backlog to drain")
    p.add_argument("--latency-seconds", type=float, default=20.0)
    p.add_argument("--mosquitto", default="mosquitto", help="mosquitto binary")
    p.add_argument("--work-dir", type=Path, help="keep files here (default: a temp dir)")
    p.add_argument("--json", type=Path, help="also write the figures as JSON")

    p = _add(
        benches,
        "modbus",
        _bench("modbus"),
        "Modbus polling: tags/s and the edge's CPU share",
        "floorsync bench modbus --devices 100 --tags 100 --seconds 30",
    )
    modbus_arguments(p)
    p = _add(
        benches,
        "opcua",
        _bench("opcua"),
        "OPC UA subscriptions: data changes/s delivered and how late",
        "floorsync bench opcua --machines 10",
    )
    opcua_arguments(p)
    p = _add(
        benches,
        "scan",
        _bench("scan"),
        "a serial scan to a committed event: p50 / p99",
        "floorsync bench scan --scans 1000 --rate 20",
    )
    scan_arguments(p)

    contracts = _group(
        sub,
        "contract",
        "the edge <-> central contract",
        "floorsync contract docs --check",
        "what",
        "WHAT",
    )
    p = _add(
        contracts,
        "docs",
        _contract_docs,
        "write the topic and JSON Schema reference",
        "floorsync contract docs --output docs/contract.md",
    )
    p.add_argument("--output", type=Path, default=Path("docs/contract.md"))
    p.add_argument("--check", action="store_true", help="fail if the file is out of date")

    scans = _group(
        sub, "scan", "barcode scans", "floorsync scan explain 'WO-2026-000123'", "what", "WHAT"
    )
    p = _add(
        scans,
        "explain",
        _scan_explain,
        "print as JSON what a scan means or why it is refused",
        r"floorsync scan explain --escapes ']C1010950110153000310LOT2026A\x1d17271231'",
    )
    p.add_argument("input", help="the scanner's input")
    p.add_argument(
        "--escapes",
        action="store_true",
        help=r"interpret backslash escapes such as \x1d (GS) and \r",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except ConfigError as exc:
        print(f"floorsync {args.command}: configuration error:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
