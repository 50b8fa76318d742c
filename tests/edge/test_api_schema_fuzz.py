"""schemathesis against the edge's OpenAPI (station terminal and events API): generated
requests never get a server error, on a real edge store with a cached dispatch list."""

from __future__ import annotations

import os
from pathlib import Path

from floorsync.bench import fuzz_api
from tests.helpers import free_port

EXAMPLES = int(os.environ.get("FLOORSYNC_SCHEMA_EXAMPLES", "3"))


def test_no_edge_operation_answers_with_a_server_error(tmp_path: Path) -> None:
    app, headers, close = fuzz_api.edge(tmp_path, free_port())
    try:
        tally = fuzz_api.run_schema("edge", app, headers, EXAMPLES * 3)
    finally:
        close()
    assert tally.errors == [], "\n".join(tally.errors)
    assert tally.operations >= 5 and tally.ok > 0
