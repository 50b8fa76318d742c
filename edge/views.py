"""What the station terminal and the supervisor's line dashboard show, as JSON-ready dicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from edge.kpi import shift_window
from edge.stations import workflow as wf

if TYPE_CHECKING:
    from edge.node import EdgeNode
    from edge.store import StoreUsage
    from edge.workstations import Workstations, _Station

BACKLOG_WARNING_S = 300.0  # an event older than this still unsent is worth a look


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _yield(good: int, scrap: int) -> float | None:
    return round(good / (good + scrap), 4) if good + scrap else None


def _next(state: wf.StationState) -> dict[str, str]:
    pending = state.pending
    if pending is not None and pending.kind == "quantity":
        return {
            "expect": "quantity",
            "prompt": f"Enter the quantity of lot {pending.lot.batch} ({pending.unit})",
        }
    if pending is not None:
        return {"expect": "approval", "prompt": "Supervisor: scan your badge and enter your PIN"}
    if not state.crew.present:
        return {"expect": "badge", "prompt": "Scan your badge to log in"}
    if state.job is None:
        return {"expect": "work_order", "prompt": "Scan the work order traveller"}
    return {"expect": "material", "prompt": "Scan material lots, or report counts"}


def _job(st: _Station, ctx: wf.Context) -> dict[str, Any] | None:
    state = st.state
    if state.job is None:
        return None
    job = state.job
    order = ctx.catalog.orders.get(job.work_order)
    op = (
        next((o for o in order.operations if o.operation == job.operation), None) if order else None
    )
    tally = state.tally(job.work_order, job.operation)
    unreported = wf.unreported(state, ctx)
    good, scrap = tally.good + unreported[0], tally.scrap + unreported[1]
    step = ctx.catalog.step(order.item, job.operation) if order else None
    due = wf.inspection_due(state, ctx)
    return {
        "work_order": job.work_order,
        "item": order.item if order else None,
        "operation": job.operation,
        "description": step.description if step else "",
        "work_center": op.work_center if op else None,
        "target": op.quantity if op else None,
        "good": good,
        "scrap": scrap,
        "yield": _yield(good, scrap),
        "unreported": {"good": unreported[0], "scrap": unreported[1]},
        "materials": wf.material_lines(state, ctx),
        "inspection": {
            "required": bool(step and step.inspection_required),
            "check": st.rules.inspection_check,
            "inspected": tally.inspected,
            "done": due is None,
        },
        "withdrawn": order is None,
    }


def station_view(ws: Workstations, name: str, *, online: bool) -> dict[str, Any]:
    st = ws.station(name)
    with st.lock:
        state = st.state
        ctx = ws.context(st)
        job = _job(st, ctx)
    catalog = ctx.catalog
    line = ws.line.status().get(name, {})
    pending = state.pending
    msg = state.message
    order = catalog.orders.get(state.job.work_order) if state.job else None
    return {
        "station": name,
        "machine": st.settings.machine,
        "machine_state": line.get("machine_state"),
        "online": online,
        "crew": [
            {
                "badge": s.badge,
                "name": catalog.operators[s.badge].name if s.badge in catalog.operators else "",
                "since": s.start.isoformat(),
            }
            for s in state.crew.stints
            if s.end is None
        ],
        "job": job,
        "next": _next(state),
        "pending": None
        if pending is None
        else {
            "kind": pending.kind,
            "item": pending.item,
            "lot": pending.lot.batch,
            "quantity": pending.lot.quantity,
            "unit": pending.unit,
            "text": _next(state)["prompt"],
        },
        "message": None
        if msg is None
        else {
            "id": msg.id,
            "accepted": msg.accepted,
            "text": msg.text,
            "reason_code": msg.reason_code,
            "at": msg.at.isoformat(),
        },
        "orders": [
            {
                "work_order": o.work_order,
                "item": o.item,
                "operation": op.operation,
                "target": op.quantity,
                "good": op.good,
                "status": op.status,
            }
            for o in sorted(catalog.orders.values(), key=lambda o: o.sequence)
            for op in o.operations
            if name in op.stations
        ],
        "defect_codes": [
            {"code": code, "description": text}
            for code, text in sorted(catalog.defect_codes.items())
        ],
        "defects": [{"code": c, "quantity": n} for c, n in sorted(state.defects.items())],
        "operations": [op.operation for op in order.operations] if order else [],
        "unattributed": state.unattributed,
    }


def line_view(node: EdgeNode) -> dict[str, Any]:
    ws = node.workstations
    now = datetime.now(UTC)
    shift = shift_window(ws.shifts, now, ws.tz)
    line_status = node.line.status()
    stations = []
    alarms: list[dict[str, Any]] = []
    for name, st in ws.stations.items():
        with st.lock:
            ctx = ws.context(st)
            job = _job(st, ctx)
            crew = [
                ctx.catalog.operators[b].name if b in ctx.catalog.operators else b
                for b in st.state.crew.present
            ]
            unattributed = st.state.unattributed
        machine = line_status.get(name, {})
        state, reason = machine.get("machine_state"), machine.get("reason")
        since = machine.get("state_since")
        since = since if isinstance(since, str) else None
        good, scrap = (job["good"], job["scrap"]) if job else (0, 0)
        # time before the edge first saw the machine is unknown, not planned-and-idle
        seen = ws.kpi.observed_since(name) or now
        last_hour = ws.kpi.oee(name, max(now - timedelta(hours=1), seen), now, now)
        stations.append(
            {
                "station": name,
                "machine": st.settings.machine,
                "state": state,
                "reason": reason,
                "state_since": since,
                "work_order": job["work_order"] if job else None,
                "item": job["item"] if job else None,
                "operation": job["operation"] if job else None,
                "target": job["target"] if job else None,
                "good": good,
                "scrap": scrap,
                "yield": _yield(good, scrap),
                "crew": crew,
                "oee": {
                    "shift": ws.kpi.oee(name, max(shift[1], seen), shift[2], now).to_json()
                    if shift
                    else None,
                    "last_hour": last_hour.to_json(),
                },
            }
        )
        label = st.settings.machine or name
        if state == "down":
            alarms.append(_alarm("critical", name, f"{label} down: {reason}", since))
        elif state == "offline":
            alarms.append(_alarm("critical", name, f"{label} offline: {reason}", since))
        if machine.get("implausible_jumps"):
            text = f"{name}: {machine['implausible_jumps']} implausible counter jumps not booked"
            alarms.append(_alarm("warning", name, text, None))
        if unattributed:
            pieces = "piece" if unattributed == 1 else "pieces"
            text = f"{name}: {unattributed} {pieces} counted with no work order running"
            alarms.append(_alarm("warning", name, text, None))
        if job and job["withdrawn"]:
            text = f"{name}: {job['work_order']} is no longer dispatched to this line"
            alarms.append(_alarm("warning", name, text, None))
    alarms += _device_alarms(node)
    sync = _sync(node)
    if not sync["connected"]:
        alarms.append(
            _alarm("warning", "sync", "Offline from central: stations keep working", None)
        )
    age = sync["oldest_unsent_age_s"]
    if age is not None and age > BACKLOG_WARNING_S:
        text = f"{sync['outbox_depth']} events waiting for central, oldest {age:.0f} s"
        alarms.append(_alarm("warning", "sync", text, None))
    if node.downlink.current("dispatch_list") is None:
        alarms.append(_alarm("warning", "sync", "No dispatch list from central yet", None))
    store = node.writer.usage()
    if store.level != "ok":  # the whole line's trouble: first of its severity (the sort is stable)
        alarms.insert(0, _store_alarm(store, node.line.telemetry_interval_s))
    alarms.sort(key=lambda a: a["severity"] != "critical")
    return {
        "edge_id": node.edge_id,
        "now": now.isoformat(),
        "shift": None
        if shift is None
        else {"name": shift[0], "start": shift[1].isoformat(), "end": shift[2].isoformat()},
        "sync": sync,
        "store": {
            "level": store.level,
            "used_bytes": store.used_bytes,
            "limit_bytes": store.limit_bytes,
        },
        "stations": stations,
        "alarms": alarms,
    }


def _alarm(severity: str, source: str, text: str, since: str | None) -> dict[str, Any]:
    return {"severity": severity, "source": source, "text": text, "since": since}


def _store_alarm(store: StoreUsage, interval_s: float) -> dict[str, Any]:
    since = _iso(datetime.fromtimestamp(store.since, UTC))
    used = f"{store.used_bytes / 2**20:.1f} of {(store.limit_bytes or 0) / 2**20:.1f} MB"
    if store.level == "full":
        text = (
            f"Edge store full ({used}): stations cannot record anything. "
            "Get the backlog to central or free disk space."
        )
        return _alarm("critical", "store", text, since)
    text = f"Edge store {used} used: machine states recorded at most every {interval_s:g} s"
    return _alarm("warning", "store", text, since)


def _device_alarms(node: EdgeNode) -> list[dict[str, Any]]:
    alarms = []
    for c in node.coordinators:
        h = c.health
        if h.current_error:
            since = datetime.fromtimestamp(h.error_since, UTC) if h.error_since else None
            alarms.append(_alarm("warning", c.name, f"{c.name}: {h.current_error}", _iso(since)))
    for s in node.scanners:
        h = s.health
        if h.current_error:
            since = datetime.fromtimestamp(h.error_since, UTC) if h.error_since else None
            text = f"scanner {s.settings.name}: {h.current_error}"
            alarms.append(_alarm("warning", s.settings.name, text, _iso(since)))
    return alarms


def _sync(node: EdgeNode) -> dict[str, Any]:
    stats = node.outbox.stats()
    last_ack = stats.last_ack_at
    return {
        "connected": node.uplink.connected,
        "outbox_depth": stats.depth,
        "oldest_unsent_age_s": node.oldest_unsent_age_s(),
        "last_ack_at": _iso(datetime.fromtimestamp(last_ack, UTC)) if last_ack else None,
    }
