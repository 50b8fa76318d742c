"""``floorsync bench faults``: the fault matrix, each row with real processes.

Each row starts its own Mosquitto, central (SQLite), a TCP proxy and a ``floorsync
edge``, has four stations post a burst of production reports, breaks one thing and
counts: events accepted at the edge, events central holds, lost, duplicated (both must
be 0), whether central applied them in sequence order, and the time from the fault
cleared to central holding every event, with its ratio to the no-fault baseline of the
same shape. Rows are described in ``faults_rows`` and docs/benchmarks.md.

Exit code: 0 when every row ran and lost and duplicated nothing; 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import traceback
from dataclasses import asdict

import orjson

from floorsync.bench.common import Say, interrupt, work_dir
from floorsync.bench.faults_rows import BY_NAME, ROWS, RowResult, Spec, run_row
from floorsync.bench.processes import BenchError, find_mosquitto

HEADERS = (
    "row",
    "produced",
    "at central",
    "lost",
    "dup",
    "unanswered",
    "in order",
    "held back",
    "recover s",
    "x baseline",
    "result",
)


def chosen_rows(text: str | None) -> list[str]:
    if not text:
        return [row.name for row in ROWS]
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise BenchError(f"unknown row(s) {', '.join(unknown)}; rows: {', '.join(BY_NAME)}")
    return names


def main(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, interrupt)
    say = Say()
    try:
        names = chosen_rows(args.rows)
        if args.events < 30 or args.outage_s <= 0:
            raise BenchError("--events must be at least 30 and --outage-s positive")
        binary = find_mosquitto(args.mosquitto)
    except BenchError as exc:
        print(f"bench faults: {exc}", file=sys.stderr)
        return 2
    spec = Spec(events=args.events, outage_s=args.outage_s)
    results: list[RowResult] = []
    failed: dict[str, str] = {}
    with work_dir(args.work_dir, "floorsync-faults-") as work:
        say(f"bench faults: {len(names)} rows, {spec.events:,} events each; work dir {work}")
        for name in names:
            row = BY_NAME[name]
            if row.run is None:
                say(f"row {name}: {row.what}")
                continue
            say(f"row {name}: {row.what}")
            try:
                result = run_row(row, binary, work, spec, say)
            except Exception as exc:
                detail = str(exc) if isinstance(exc, BenchError) else traceback.format_exc()
                say(f"row {name} could not run: {detail}")
                failed[name] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                continue
            results.append(result)
            h = result.held
            say(
                f"  {result.produced:,} accepted, {h.rows:,} at central, lost {h.lost}, "
                f"dup {h.duplicated}, recovered in {result.recover_s:.1f} s "
                f"-> {'PASS' if result.passed else 'FAIL'} {result.note}"
            )
    print()
    print(table(results, failed, names))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nrecovery times include process start-up and drift with load: {os.cpu_count()} cpus, "
        f"load average at the end {load}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "rows": [{**asdict(r), "passed": r.passed} for r in results],
            "could_not_run": failed,
            "not_automated": [n for n in names if BY_NAME[n].run is None],
        }
        args.json.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        print(f"wrote {args.json}")
    return 0 if not failed and all(r.passed for r in results) else 1


def table(results: list[RowResult], failed: dict[str, str], names: list[str]) -> str:
    baselines = {r.row: r.recover_s for r in results if r.row.startswith("baseline_")}
    rows: list[tuple[str, ...]] = [HEADERS]
    notes: list[str] = []
    by_name = {r.row: r for r in results}
    for name in names:
        if name in failed:
            rows.append((name, *[""] * 9, "ERROR"))
            notes.append(f"{name}: could not run: {failed[name]}")
            continue
        if BY_NAME[name].run is None:
            rows.append((name, *[""] * 9, "not yet automated"))
            continue
        r = by_name[name]
        h = r.held
        base = baselines.get(r.baseline)
        ratio = ""
        if base and r.row != r.baseline and not math.isnan(r.recover_s):
            ratio = f"{r.recover_s / base:.1f}"
        lost = f"{h.lost} ({r.lost_to_disk} disk)" if r.lost_to_disk else str(h.lost)
        rows.append(
            (
                name,
                f"{r.produced:,}",
                f"{h.rows:,}",
                lost,
                str(h.duplicated),
                str(h.unanswered),
                "yes" if h.in_order and h.effects_ok else "NO",
                f"{r.behind:,}",
                "never" if math.isnan(r.recover_s) else f"{r.recover_s:.1f}",
                ratio,
                "PASS" if r.passed else "FAIL",
            )
        )
        if r.note:
            notes.append(f"{name}: {r.note}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = []
    for k, row in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, 10) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    legend = (
        "\nproduced: events a station got a 201 for (committed at the edge); unanswered: "
        "events central holds that no station was told of: a re-post recorded"
        "\na second time (stations send an idempotency key, so 0 unless a disk lost the first "
        "try's key with it);"
        "\nheld back: accepted but not yet at central when the fault was cleared; "
        "lost (N disk): N of them had only the copy the simulated disk destroyed;"
        "\nrecover s: fault cleared -> central holds every accepted event; x baseline: "
        "that time over the no-fault row of the same shape"
    )
    return "\n".join(lines) + legend + ("\n\n" + "\n".join(notes) if notes else "")
