"""schemathesis against the OpenAPI schemas of central and the edge: no server errors.

Every operation gets generated requests, valid and invalid (schemathesis's positive and
negative modes), in process over ASGI; ``not_a_server_error`` fails on any 5xx. Central
runs on a freshly seeded SQLite file as a user with every role; the edge on a real
store with a cached dispatch list. schemathesis is a development dependency, imported
only here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from floorsync.bench.fuzz_targets import LAYOUT
from protocols.contract.examples import COMMAND_DISPATCH_LIST, COMMAND_MASTER_DATA, EDGE

ROLES = ["admin", "sales", "planner", "service", "supervisor"]


@dataclass
class ApiTally:
    """What the generated requests got: answers by class, and each operation's 5xx."""

    target: str
    operations: int = 0
    calls: int = 0
    ok: int = 0  # 2xx / 3xx
    refused: int = 0  # 4xx
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def server_errors(
    schema: Any,
    headers: dict[str, str],
    examples: int,
    target: str = "api",
    progress: Callable[[str], None] | None = None,
) -> ApiTally:
    """Call every operation of ``schema`` ``examples`` times per generation mode."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    tally = ApiTally(target)
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1
        if progress is not None:
            progress(operation.label)
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        with contextlib.suppress(Exception):  # an operation with nothing to negate
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=examples * len(strategies),
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            response = case.call(headers=headers)
            tally.calls += 1
            if response.status_code < 400:
                tally.ok += 1
            elif response.status_code < 500:
                tally.refused += 1
            case.validate_response(response, checks=[not_a_server_error])

        try:
            call()
        except Exception as exc:
            first = str(exc).strip().splitlines()
            tally.errors.append(f"{operation.label}: {' / '.join(first[:6])}")
    tally.seconds = time.perf_counter() - started
    return tally


def central(directory: Path) -> tuple[Any, dict[str, str], Callable[[], None]]:
    """Central's app on a freshly seeded SQLite file (its MQTT never connected), the
    headers of a user with every role, and how to close it."""
    from central.api import create_app
    from central.auth import create_user
    from central.db import make_engine, migrate
    from central.seed import load_demo_company
    from central.service import CentralSync
    from central.settings import CentralSettings, DatabaseSettings, MqttSettings

    engine = make_engine(f"sqlite:///{directory / 'central.db'}")
    migrate(engine)
    with engine.begin() as conn:
        load_demo_company(conn, edge_id=EDGE.path, now=datetime.now(UTC))
        token = create_user(conn, "schema-fuzz", ROLES)
    settings = CentralSettings(
        database=DatabaseSettings(url=engine.url.render_as_string(hide_password=False)),
        mqtt=MqttSettings(url="mqtt://127.0.0.1:1", client_id="central-schema-fuzz"),
    )
    app = create_app(CentralSync(settings, engine), manage=False)
    return app, {"Authorization": f"Bearer {token}"}, engine.dispose


def edge(directory: Path, broker_port: int) -> tuple[Any, dict[str, str], Callable[[], None]]:
    """The edge's app on a real store with two stations and a cached dispatch list; its
    broker at ``broker_port`` is never connected."""
    from edge.api import create_app
    from edge.auth import new_api_token
    from edge.node import EdgeNode
    from edge.settings import EdgeSettings

    token, token_hash = new_api_token()
    settings = EdgeSettings.model_validate(
        {
            "node": {
                "site": EDGE.site,
                "area": EDGE.area,
                "line": EDGE.line,
                "name": EDGE.edge,
                "data_dir": str(directory),
            },
            "mqtt": {"url": f"mqtt://127.0.0.1:{broker_port}"},
            "stations": [{"name": "ST-10"}, {"name": "ST-30"}],
            "api_tokens": [{"name": "schema-fuzz", "role": "admin", "token_hash": token_hash}],
        }
    )
    node = EdgeNode(settings)
    for name, body in (
        ("dispatch_list", COMMAND_DISPATCH_LIST),
        ("master_data", COMMAND_MASTER_DATA),
    ):
        node.downlink.handle(LAYOUT.command(EDGE, name), orjson.dumps(body))
    return create_app(node, manage=False), {"Authorization": f"Bearer {token}"}, node.stop


def run_schema(
    name: str,
    app: Any,
    headers: dict[str, str],
    examples: int,
    progress: Callable[[str], None] | None = None,
) -> ApiTally:
    import schemathesis

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return server_errors(schema, headers, examples, name, progress)


MEMORY_LIMIT = 8 * 2**30  # address space of the child that runs schemathesis


def run_limited(examples: int, work_dir: Path) -> list[ApiTally]:
    """Both APIs in a child process whose address space is capped: a request that makes
    the server allocate without bound fails there, as a MemoryError that names its
    operation, instead of taking the machine's memory from everything else on it."""
    import resource
    import subprocess
    import sys

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    out = work_dir / "api.json"
    argv = [sys.executable, "-m", "floorsync.bench.fuzz_api", str(examples), str(work_dir)]
    code = subprocess.run(argv, preexec_fn=cap, check=False).returncode
    if code != 0 or not out.exists():
        return [ApiTally("api", errors=[f"the schemathesis run ended with exit code {code}"])]
    return [ApiTally(**t) for t in orjson.loads(out.read_bytes())]


def _main(examples: int, work_dir: Path) -> None:
    import logging
    from dataclasses import asdict

    logging.getLogger().setLevel(logging.CRITICAL)
    found = []
    for name in ("central", "edge"):
        directory = work_dir / f"api-{name}"
        directory.mkdir(parents=True, exist_ok=True)
        print(f"  API {name}: {examples} requests per operation and mode ...", flush=True)
        app, headers, close = central(directory) if name == "central" else edge(directory, 1)
        try:
            found.append(run_schema(name, app, headers, examples))
        finally:
            close()
    (work_dir / "api.json").write_bytes(orjson.dumps([asdict(t) for t in found]))


if __name__ == "__main__":
    import sys

    _main(int(sys.argv[1]), Path(sys.argv[2]))
