"""The figures of ``bench sync``: targets, ratios to the raw ceilings, the table and the JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

TARGET_RATE = 20_000.0  # events/s, durable end to end and backlog drain
TARGET_VS_TRANSPORT = 4.0  # durable rate / raw QoS 1 one-message-per-event rate
TARGET_P99_MS = 50.0
TARGET_RSS_MIB = 150.0
FLAT_RSS_MIB = 10.0  # RSS growth during the drain still counted as flat


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""  # e.g. ">= 20000"; empty: no target, a baseline or information
    ratio: float | None = None  # to the baseline named in ratio_of
    ratio_of: str = ""
    passed: bool | None = None  # None: no target


def _check(value: float, op: str, bound: float) -> bool:
    if math.isnan(value):
        return False
    return {">=": value >= bound, "<=": value <= bound, "==": value == bound}[op]


def _target(
    name: str,
    value: float,
    unit: str,
    op: str,
    bound: float,
    ratio: float | None = None,
    ratio_of: str = "",
) -> Figure:
    text = f"{op} {bound:,.0f}" if bound >= 100 else f"{op} {bound:g}"
    return Figure(name, value, unit, text, ratio, ratio_of, _check(value, op, bound))


def figures(results: dict[str, Any]) -> dict[str, Figure]:
    transport = results["transport"]["rate"]
    storage = results["storage"]["rate"]
    durable = results["durable"]["rate"]
    latency = results["latency"]
    drain = results["backlog"]
    verify = results["verification"]
    growth = drain["rss_drain_peak_mib"] - drain["rss_drain_start_mib"]
    out = [
        Figure("transport_qos1_rate", transport, "msg/s", ratio=1.0, ratio_of="transport"),
        Figure("storage_full_commit_rate", storage, "rows/s", ratio=1.0, ratio_of="storage"),
        _target(
            "durable_rate",
            durable,
            "ev/s",
            ">=",
            TARGET_RATE,
            durable / transport,
            "transport",
        ),
        _target("durable_vs_transport", durable / transport, "x", ">=", TARGET_VS_TRANSPORT),
        Figure("durable_vs_storage", durable / storage, "x"),
        Figure("latency_p50_ms", latency["ack_p50_ms"], "ms"),
        _target(
            "latency_p99_ms",
            latency["ack_p99_ms"],
            "ms",
            "<=",
            TARGET_P99_MS,
            latency["ack_p99_ms"] / TARGET_P99_MS,
            "target",
        ),
        _target(
            "drain_rate",
            drain["rate"],
            "ev/s",
            ">=",
            TARGET_RATE,
            drain["rate"] / transport,
            "transport",
        ),
        _target(
            "rss_peak_mib",
            drain["rss_peak_mib"],
            "MiB",
            "<=",
            TARGET_RSS_MIB,
            drain["rss_peak_mib"] / TARGET_RSS_MIB,
            "target",
        ),
        _target("rss_drain_growth_mib", growth, "MiB", "<=", FLAT_RSS_MIB),
        _target("lost", verify["lost"], "events", "==", 0),
        _target("duplicates", verify["duplicates"], "events", "==", 0),
    ]
    return {f.name: f for f in out}


LABELS = {
    "transport_qos1_rate": "raw paho QoS 1 pub -> sub, 1 msg/event",
    "storage_full_commit_rate": "raw sqlite WAL FULL, 1 row/commit",
    "durable_rate": "FloorSync durable end to end",
    "durable_vs_transport": "durable / raw QoS 1",
    "durable_vs_storage": "durable / raw sqlite",
    "latency_p50_ms": "edge commit -> ack, p50 @ 1k ev/s",
    "latency_p99_ms": "edge commit -> ack, p99 @ 1k ev/s",
    "drain_rate": "backlog drain (+1k ev/s live)",
    "rss_peak_mib": "edge worker RSS peak (backlog)",
    "rss_drain_growth_mib": "RSS growth during drain (flat?)",
    "lost": "lost events (central vs edge)",
    "duplicates": "duplicate events at central",
}


def _value(f: Figure) -> str:
    if f.unit in ("ev/s", "msg/s", "rows/s", "events"):
        return f"{f.value:,.0f}"
    if f.unit == "x":
        return f"{f.value:.2f}"
    return f"{f.value:,.1f}"


def table(figs: dict[str, Figure]) -> str:
    rows = [("figure", "value", "unit", "target", "ratio", "result")]
    for f in figs.values():
        ratio = f"{f.ratio:.2f}x {f.ratio_of}" if f.ratio is not None else ""
        result = "" if f.passed is None else ("PASS" if f.passed else "MISS")
        rows.append((LABELS.get(f.name, f.name), _value(f), f.unit, f.target, ratio, result))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, 2, 3, 4) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def as_json(figs: dict[str, Figure], results: dict[str, Any]) -> dict[str, Any]:
    verify = results["verification"]
    return {
        "figures": {name: asdict(f) for name, f in figs.items()},
        "lost": verify["lost"],
        "duplicates": verify["duplicates"],
        "missed": [name for name, f in figs.items() if f.passed is False],
        **results,
    }
