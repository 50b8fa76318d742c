"""``floorsync``: one command for every part. Each subcommand's ``--help`` shows an example."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from floorsync import logs
from floorsync.bench.options import (
    api_arguments,
    crm_arguments,
    customers_arguments,
    faults_arguments,
    fuzz_arguments,
    ingest_arguments,
    load_arguments,
    modbus_arguments,
    opcua_arguments,
    scale_arguments,
    scan_arguments,
    schedule_arguments,
    terminal_arguments,
)
from floorsync.config import ConfigError, load
from protocols.serial_lines import TERMINATORS

Handler = Callable[[argparse.Namespace], int]


def _edge(args: argparse.Namespace) -> int:
    from edge.main import run
    from edge.settings import EdgeSettings

    if args.config is None:
        print("floorsync edge: --config is required to run the edge", file=sys.stderr)
        return 2
    settings = load(
        EdgeSettings,
        args.config,
        {
            "mqtt.url": args.broker,
            "http.port": args.http_port,
            "node.data_dir": str(args.data_dir) if args.data_dir else None,
        },
    )
    from floorsync import default_secrets

    default_secrets.refuse(default_secrets.edge_defaults(settings))
    logs.setup("edge", args.log_level)
    run(settings)
    return 0


def _edge_pin_hash(args: argparse.Namespace) -> int:
    import getpass

    from edge.pins import hash_pin

    if sys.stdin.isatty():
        pin = getpass.getpass("supervisor PIN: ")
        if getpass.getpass("again: ") != pin:
            print("floorsync edge pin-hash: the PINs differ", file=sys.stderr)
            return 1
    else:
        pin = sys.stdin.readline().strip()
    try:
        print(hash_pin(pin))
    except ValueError as exc:
        print(f"floorsync edge pin-hash: {exc}", file=sys.stderr)
        return 1
    return 0


def _edge_api_token(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from edge.auth import new_api_token
    from edge.settings import ApiTokenSettings

    token, digest = new_api_token()
    try:
        ApiTokenSettings(name=args.name, role=args.role, token_hash=digest)
    except ValidationError as exc:
        print(f"floorsync edge api-token: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    print(f"token (shown once; give it to {args.name}): {token}")
    print(f'\n[[api_tokens]]\nname = "{args.name}"\nrole = "{args.role}"\ntoken_hash = "{digest}"')
    return 0


def _edge_store(args: argparse.Namespace) -> tuple[Path, str]:
    """The edge store file and the edge id that ``--config`` names."""
    from edge.settings import EdgeSettings

    if args.config is None:
        raise ConfigError(f"floorsync edge {args.task} needs --config, the edge's settings")
    data_dir = getattr(args, "data_dir", None)
    overrides = {"node.data_dir": str(data_dir) if data_dir else None}
    node = load(EdgeSettings, args.config, overrides).node
    return node.data_dir / "edge.db", f"{node.site}/{node.area}/{node.line}/{node.name}"


def _edge_backup(args: argparse.Namespace) -> int:
    from edge.backup import BackupError, backup

    store, _ = _edge_store(args)
    try:
        summary = backup(store, args.to)
    except BackupError as exc:
        print(f"floorsync edge backup: {exc}", file=sys.stderr)
        return 1
    print(
        f"backed up {store} to {summary.path}: events up to seq {summary.last_seq}, "
        f"{summary.outbox_depth} not yet acknowledged by central"
    )
    return 0


def _edge_restore(args: argparse.Namespace) -> int:
    from edge.backup import BackupError, restore

    store, edge_id = _edge_store(args)
    try:
        summary = restore(store, getattr(args, "from"), edge_id)
    except BackupError as exc:
        print(f"floorsync edge restore: {exc}", file=sys.stderr)
        return 1
    aside = f"; the replaced store is kept as {summary.kept_aside}" if summary.kept_aside else ""
    print(
        f"restored {store} (events up to seq {summary.last_seq}, {summary.outbox_depth} "
        f"unacknowledged){aside}. At start the edge asks central for its sequence and "
        "continues above it."
    )
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
    from floorsync import default_secrets

    default_secrets.refuse(default_secrets.central_defaults(settings))
    logs.setup("central", args.log_level)
    run(settings)
    return 0


def _central_user(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from central.auth import UserError, create_user, revoke_user, rotate_user
    from central.db import make_engine, migrate
    from central.settings import CentralSettings

    settings = load(CentralSettings, args.config, {"database.url": args.database})
    logs.setup("central", args.log_level)
    days = getattr(args, "expires_days", None)
    expires_at = None if days is None else datetime.now(UTC) + timedelta(days=days)
    engine = make_engine(settings.database.url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            if args.what == "add":
                token = create_user(conn, args.name, args.roles, expires_at=expires_at)
            elif args.what == "rotate":
                token = rotate_user(conn, args.name, expires_at=expires_at)
            else:
                revoke_user(conn, args.name)
    except UserError as exc:
        print(f"floorsync central user {args.what}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if args.what == "revoke":
        print(f"user {args.name} revoked: its token and sessions no longer work", file=sys.stderr)
        return 0
    ends = "" if expires_at is None else f", valid until {expires_at:%Y-%m-%d %H:%M} UTC"
    about = f"({', '.join(args.roles)})" if args.what == "add" else "has a new token"
    print(f"user {args.name} {about}{ends}; its token, shown only this once:", file=sys.stderr)
    print(token)
    return 0


def _expires_days(text: str) -> int:
    days = int(text)
    if not 1 <= days <= 3650:
        raise argparse.ArgumentTypeError("give 1 to 3650 days")
    return days


def _central_backup(args: argparse.Namespace) -> int:
    from central.backup import BackupError, backup
    from central.settings import CentralSettings

    settings = load(CentralSettings, args.config, {"database.url": args.database})
    try:
        print(backup(settings.database.url, args.to))
    except BackupError as exc:
        print(f"floorsync central backup: {exc}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from floorsync.default_secrets import DEMO_ENV
    from floorsync.demo import run

    # the demo's processes inherit this: they may run with the demo's known secrets
    os.environ[DEMO_ENV] = "1"
    logs.setup("demo", args.log_level)
    return run(
        args.data_dir,
        args.broker,
        args.broker_port,
        args.central_port,
        args.edge_port,
        args.rate,
        args.office_interval,
    )


def _sim_station(args: argparse.Namespace) -> int:
    import signal

    from simulators.station import LineStation, StationSimulator

    logs.setup("sim-station", args.log_level)
    token = os.environ.get("FLOORSYNC_EDGE_TOKEN") or None
    sim: LineStation | StationSimulator
    if args.work_order:
        if token is None:
            print(
                "floorsync sim station: --work-order posts raw events, which need an edge API"
                " token: set FLOORSYNC_EDGE_TOKEN (`floorsync edge api-token`)",
                file=sys.stderr,
            )
            return 2
        sim = StationSimulator(
            args.edge_url,
            args.station,
            work_order=args.work_order,
            operation=args.operation,
            machine=args.machine,
            rate=args.rate,
            seed=args.seed,
            token=token,
        )
    else:
        sim = LineStation(
            args.edge_url,
            args.station,
            rate=args.rate,
            poll_s=args.poll,
            seed=args.seed,
            token=token,
        )
    signal.signal(signal.SIGTERM, lambda *_: sim.stop())
    with contextlib.suppress(KeyboardInterrupt):
        sim.run(count=args.count)
    return 0


def _sim_office(args: argparse.Namespace) -> int:
    import signal

    from simulators.office import OfficeSimulator

    logs.setup("sim-office", args.log_level)
    token = (
        args.token_file.read_text().strip()
        if args.token_file
        else os.environ.get("FLOORSYNC_TOKEN", "")
    )
    if not token:
        print("floorsync sim office: give --token-file or set FLOORSYNC_TOKEN", file=sys.stderr)
        return 2
    office = OfficeSimulator(args.central_url, token, interval_s=args.interval, seed=args.seed)
    signal.signal(signal.SIGTERM, lambda *_: office.stop())
    with contextlib.suppress(KeyboardInterrupt):
        office.run(rounds=args.rounds)
    return 0


def _sim_device(args: argparse.Namespace) -> int:
    import asyncio

    from simulators import cli as sims

    logs.setup(f"sim-{args.simulator}", args.log_level)
    if args.simulator == "modbus":
        asyncio.run(sims.modbus(args.host, args.port, args.rate))
    elif args.simulator == "opcua":
        policy = None if args.security_policy == "None" else args.security_policy
        asyncio.run(
            sims.opcua(args.port or None, args.rate, policy, args.security_mode, args.cert_dir)
        )
    elif args.simulator == "count":
        terminator = TERMINATORS[args.terminator]
        try:
            asyncio.run(sims.count(args.rate, args.interval, args.bits, terminator, args.link))
        except FileExistsError as exc:
            print(f"floorsync sim count: {exc}", file=sys.stderr)
            return 1
    else:
        sims.scanner(args.rate, TERMINATORS[args.terminator])
    return 0


def _sim_plant(args: argparse.Namespace) -> int:
    import asyncio

    from edge.settings import EdgeSettings
    from simulators import cli as sims
    from simulators.plant import PlantError

    load(EdgeSettings, args.config)  # the edge's own checks and messages, before any device
    logs.setup("sim-plant", args.log_level)
    try:
        asyncio.run(sims.plant(args.config, args.rate))
    except PlantError as exc:
        print(f"floorsync sim plant: {exc}", file=sys.stderr)
        return 1
    return 0


def _sim_load(args: argparse.Namespace) -> int:
    from floorsync.bench.scale_load import main

    logs.setup("sim-load", args.log_level)
    return main(args)


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


def _security_init(args: argparse.Namespace) -> int:
    from floorsync import security

    try:
        edges = security.resolve_edges(args.edges, args.topic_root)
        security.init(
            args.out,
            edges,
            args.central,
            args.hostname or ["localhost"],
            args.port,
            client_certs=args.client_certs,
            broker_dir=args.broker_dir,
        )
    except security.SecurityError as exc:
        print(f"floorsync security init: {exc}", file=sys.stderr)
        return 1
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
    p.add_argument(
        "--rate", type=float, default=2.0, help="pieces per second each simulated machine makes"
    )
    p.add_argument(
        "--office-interval", type=float, default=15.0, help="seconds between back-office rounds"
    )

    p = _add(
        sub,
        "edge",
        _edge,
        "run an edge node (outbox, uplink, station API)",
        "floorsync edge --config config/edge.example.toml --broker mqtt://127.0.0.1:1883",
    )
    p.add_argument("--config", type=Path, help="edge settings (TOML); required to run it")
    p.add_argument("--broker", metavar="URL", help="overrides mqtt.url")
    p.add_argument("--http-port", type=int, help="overrides http.port")
    p.add_argument("--data-dir", type=Path, help="overrides node.data_dir")
    edge_tasks = p.add_subparsers(
        dest="task", metavar="TASK", title="tasks", description="without one, run the edge"
    )
    _add(
        edge_tasks,
        "pin-hash",
        _edge_pin_hash,
        "hash a supervisor PIN for [[supervisors]] pin_hash (asks for it, or reads stdin)",
        "echo 4711 | floorsync edge pin-hash",
    )
    p_token = _add(
        edge_tasks,
        "api-token",
        _edge_api_token,
        "make an API token for software that talks to the edge; prints it once, and the"
        " [[api_tokens]] entry (its hash) for the edge's config",
        "floorsync edge api-token --name mes --role integration",
    )
    p_token.add_argument("--name", required=True, help="who uses it (letters, digits, _ . -)")
    p_token.add_argument("--role", choices=("integration", "admin"), default="integration")
    for task, handler, help_text, example, file_option in (
        (
            "backup",
            _edge_backup,
            "copy the edge store to a new file, consistently, while the edge runs",
            "floorsync edge backup --config config/edge.example.toml --to /backup/edge1.db",
            "--to",
        ),
        (
            "restore",
            _edge_restore,
            "put a backup in place of the edge store (the edge must be stopped; the old "
            "store is kept aside)",
            "floorsync edge restore --config config/edge.example.toml --from /backup/edge1.db",
            "--from",
        ),
    ):
        q = _add(edge_tasks, task, handler, help_text, example)
        q.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="edge settings")
        q.add_argument(file_option, type=Path, required=True, metavar="FILE")

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
    tasks = p.add_subparsers(
        dest="task", metavar="TASK", title="tasks", description="without one, run the service"
    )
    users = _group(
        tasks,
        "user",
        "users of the order service's API",
        "floorsync central user add alice --roles sales,planner",
        "what",
        "WHAT",
    )
    p = _add(
        users,
        "add",
        _central_user,
        "make a user with roles and print its token (shown only this once)",
        "floorsync central user add alice --roles sales,planner --db sqlite:///var/central/central.db",
    )
    p.add_argument("name")
    p.add_argument(
        "--roles",
        required=True,
        type=lambda text: [r.strip() for r in text.split(",") if r.strip()],
        help="comma-separated: planner, sales, service, supervisor, admin",
    )
    p.add_argument(
        "--expires-days", type=_expires_days, metavar="N", help="the token ends after N days"
    )
    p.add_argument("--config", type=Path, help="central settings (TOML); defaults otherwise")
    p.add_argument("--database", "--db", metavar="URL", help="overrides database.url")
    p = _add(
        users,
        "rotate",
        _central_user,
        "give a user a new token (printed once); the old one and its sessions stop working",
        "floorsync central user rotate alice --expires-days 90 --db sqlite:///var/central/central.db",
    )
    p.add_argument("name")
    p.add_argument(
        "--expires-days", type=_expires_days, metavar="N", help="the token ends after N days"
    )
    p.add_argument("--config", type=Path, help="central settings (TOML); defaults otherwise")
    p.add_argument("--database", "--db", metavar="URL", help="overrides database.url")
    p = _add(
        users,
        "revoke",
        _central_user,
        "deactivate a user: its token and every session end at once",
        "floorsync central user revoke alice --db sqlite:///var/central/central.db",
    )
    p.add_argument("name")
    p.add_argument("--config", type=Path, help="central settings (TOML); defaults otherwise")
    p.add_argument("--database", "--db", metavar="URL", help="overrides database.url")
    p = _add(
        tasks,
        "backup",
        _central_backup,
        "copy central's database to a new file while central runs "
        "(SQLite: a consistent copy; PostgreSQL: pg_dump's custom format)",
        "floorsync central backup --database sqlite:///var/central/central.db --to central.db.bak",
    )
    p.add_argument("--config", type=Path, help="central settings (TOML); defaults otherwise")
    p.add_argument("--database", "--db", metavar="URL", help="overrides database.url")
    p.add_argument("--to", type=Path, required=True, metavar="FILE")

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
        "a crew at a station terminal working the edge's dispatch list over the terminal API: "
        "badge login, work order and lot scans, reports, inspections, close; signs in as the"
        " demo's supervisor, or with the API token in FLOORSYNC_EDGE_TOKEN",
        "floorsync sim station --edge-url http://127.0.0.1:8081 --station ST-10 --rate 5",
    )
    p.add_argument("--edge-url", required=True)
    p.add_argument("--station", default="ST-10")
    p.add_argument(
        "--machine", help="with --work-order: its machine in machine_state events (M-STATION)"
    )
    p.add_argument(
        "--rate",
        type=float,
        default=2.0,
        help="reports per second where the crew counts by hand (a machine counts by itself)",
    )
    p.add_argument("--poll", type=float, default=1.0, help="seconds between views of the station")
    p.add_argument(
        "--count", type=int, help="stop after this many operations (--work-order: reports)"
    )
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--work-order",
        help="report against this work order only, without a dispatch list (no central needed)",
    )
    p.add_argument("--operation", default="10", help="the operation, with --work-order")

    p = _add(
        sims,
        "office",
        _sim_office,
        "sales and planning at their desks, over central's API: ship what is ready, "
        "settle invoices, release planned work, take and confirm new orders",
        "floorsync sim office --central-url http://127.0.0.1:8080 --token-file var/demo/token",
    )
    p.add_argument("--central-url", required=True)
    p.add_argument(
        "--token-file", type=Path, help="a file holding an API token (or FLOORSYNC_TOKEN)"
    )
    p.add_argument("--interval", type=float, default=15.0, help="seconds between rounds")
    p.add_argument("--rounds", type=int, help="stop after this many rounds")
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
        "floorsync sim opcua --port 4840 --security-policy Basic256Sha256",
    )
    p.add_argument("--port", type=int, default=4840, help="0 picks a free port")
    p.add_argument("--rate", type=float, default=5.0, help="good pieces per second")
    p.add_argument(
        "--security-policy",
        choices=["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"],
        default="None",
        help="the one policy the server requires (default None: no security)",
    )
    p.add_argument(
        "--security-mode",
        choices=["Sign", "SignAndEncrypt"],
        help="the one mode it requires (default: either)",
    )
    p.add_argument(
        "--cert-dir",
        type=Path,
        default=Path("var/sim-opcua"),
        help="where the server's certificate is made (kept for the next start)",
    )
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
        "count",
        _sim_device,
        "a serial count station on a pseudo-terminal, sending 'good=<n>;scrap=<n>' lines",
        "floorsync sim count --rate 5 --link var/line/counter1.tty",
    )
    p.add_argument("--rate", type=float, default=5.0, help="good pieces per second")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between messages")
    p.add_argument("--bits", type=int, choices=[16, 32], default=32, help="counter width")
    p.add_argument("--terminator", choices=["CR", "LF", "CRLF"], default="CR")
    p.add_argument("--link", type=Path, help="also make this path a symbolic link to the pty")
    p = _add(
        sims,
        "plant",
        _sim_plant,
        "every device an edge config names, where it looks for it: Modbus TCP / RTU, "
        "OPC UA, serial count stations and scanners (serial ports as links to ptys)",
        "floorsync sim plant --config config/line.example.toml",
    )
    p.add_argument("--config", type=Path, required=True, help="the edge's settings (TOML)")
    p.add_argument("--rate", type=float, default=5.0, help="good pieces per second")
    p = _add(
        sims,
        "load",
        _sim_load,
        "many edges in one process, each recording events at a rate and sending them as the "
        "edge does (batches, acks, resends); progress every second",
        "floorsync sim load --edges 50 --rate 200 --broker mqtt://127.0.0.1:1883 --duration 60",
    )
    load_arguments(p)

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
    p = _add(
        benches,
        "terminal",
        _bench("terminal"),
        "scan to the answer on the station terminal, press state to the dashboard (Chromium)",
        "floorsync bench terminal --scans 300",
    )
    terminal_arguments(p)
    p = _add(
        benches,
        "ingest",
        _bench("ingest"),
        "central ingest with live order effects from 20 edges: events/s vs the spine alone",
        "floorsync bench ingest --events 200000 --postgres postgresql://user@127.0.0.1/postgres",
    )
    ingest_arguments(p)
    p = _add(
        benches,
        "api",
        _bench("api"),
        "order list and detail latency (p95) with 100,000 orders and 10 million events",
        "floorsync bench api --orders 100000 --events 10000000 --work-dir var/bench-api",
    )
    api_arguments(p)
    p = _add(
        benches,
        "customers",
        _bench("customers"),
        "customer 360, order progress links, genealogy (p95) and RFM time at size",
        "floorsync bench customers --customers 10000 --orders 100000 --events 10000000",
    )
    customers_arguments(p)
    p = _add(
        benches,
        "crm",
        _bench("crm"),
        "pipeline board, forecast and customer timeline (p95), and a 100,000-row import, at size",
        "floorsync bench crm --accounts 50000 --opportunities 200000 --timeline 5000000",
    )
    crm_arguments(p)
    p = _add(
        benches,
        "faults",
        _bench("faults"),
        "the fault matrix: kill edge / central / broker, cut the network, tear the WAL, ...; "
        "events lost and duplicated (must be 0) and time to recover, row by row",
        "floorsync bench faults --rows network_cut --outage-s 30",
    )
    faults_arguments(p)
    p = _add(
        benches,
        "schedule",
        _bench("schedule"),
        "the scheduler: heuristic and CP-SAT makespans on a job-shop instance, "
        "or the heuristic's time on a generated plant (--synthetic), as JSON",
        "floorsync bench schedule ../shared/benchmarks/jobshop/ft10.txt --time-limit 30",
    )
    schedule_arguments(p)
    p = _add(
        benches,
        "fuzz",
        _bench("fuzz"),
        "generated bad scans, register blocks and MQTT payloads: no crash, no state change",
        "floorsync bench fuzz --examples 100000",
    )
    fuzz_arguments(p)
    p = _add(
        benches,
        "scale",
        _bench("scale"),
        "simulated edges into central workers on PostgreSQL sharing the ingest (MQTT 5 shared "
        "subscription): events/s, ingest lag p50 / p99, lost and duplicated, vs one worker",
        "floorsync bench scale --edges 50 --rate 200 --workers 2 --duration 60",
    )
    scale_arguments(p)

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

    security = _group(
        sub,
        "security",
        "MQTT logins, certificates and broker ACL of a plant",
        "floorsync security init --edges config/line.example.toml --out var/security",
        "what",
        "WHAT",
    )
    p = _add(
        security,
        "init",
        _security_init,
        "write a test CA, the broker's certificate, a login per edge and central worker, "
        "and a Mosquitto config whose ACL gives each edge only its own topics",
        "floorsync security init --edges config/line.example.toml plant1/assembly/line2/edge1 "
        "--out var/security --hostname broker.plant1.example",
    )
    p.add_argument(
        "--edges",
        nargs="+",
        required=True,
        metavar="EDGE",
        help="the plant's edges: edge config files (.toml) or edge ids site/area/line/edge",
    )
    p.add_argument("--out", type=Path, required=True, help="a new directory for the files")
    p.add_argument(
        "--central",
        nargs="+",
        default=["central"],
        metavar="NAME",
        help="central workers' logins (default: central); also their MQTT client ids",
    )
    p.add_argument(
        "--hostname",
        action="append",
        help="the broker's host name or address in its certificate and the URLs (repeatable; "
        "localhost and 127.0.0.1 are always in the certificate)",
    )
    p.add_argument("--port", type=int, default=8883, help="the broker's TLS port")
    p.add_argument(
        "--client-certs",
        action="store_true",
        help="also a client certificate per login; the broker requires them",
    )
    p.add_argument(
        "--broker-dir",
        type=Path,
        help="absolute path the broker will read its files from (default: OUT/broker)",
    )
    p.add_argument("--topic-root", default="floorsync", help="topic root of edges given by id")

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
        reasons = str(exc)  # one line per problem, each naming the file (and line) and key
        sep = "\n" if "\n" in reasons else " "
        print(f"floorsync {args.command}: configuration error:{sep}{reasons}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
