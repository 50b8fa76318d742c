"""Simulated station terminals: they talk to the edge exactly as a terminal does, over HTTP.

``LineStation`` works the line's real orders. It polls the edge's dispatch list, takes
the first order in sequence with an operation at its station that it has not done,
logs the crew in (operators skilled for the work center, from master data), issues the
operation's BOM material, reports production at its rate until the operation's
quantity is good (the last report with ``operation_end``), records an inspection when
the routing asks for one, and takes the next order. Operations are worked by their own
stations as soon as their order is on the list; nobody waits for predecessors.

``StationSimulator`` reports against one fixed work order, for an edge without central.

Lots are named ``<item>-L1`` .. ``-L3`` as the demo company (central/seed.py) buys them.
"""

from __future__ import annotations

import logging
import random
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_CREW = ("EMP-0042", "EMP-0043")
INSPECTION_SAMPLE = 5  # pieces checked per inspected operation
REJECT_CHANCE = 0.2  # an inspected operation finds a piece to scrap


@dataclass(frozen=True)
class Job:
    """One operation of a dispatched order, to be worked at this station."""

    work_order: str
    item: str
    operation: str
    work_center: str
    quantity: int


@dataclass(frozen=True)
class Issue:
    item: str
    lot: str
    quantity: float
    unit: str = "pcs"
    gtin: str | None = None


def next_job(
    orders: Sequence[dict[str, Any]], station: str, done: set[tuple[str, str]]
) -> Job | None:
    """The first order in sequence with an operation at ``station`` not yet done, for what
    is left of it: central's dispatch says what was reported before (a restarted
    terminal does not make an operation twice)."""
    for order in sorted(orders, key=lambda o: o["sequence"]):
        for op in order["operations"]:
            left = round(op["quantity"]) - op.get("good", 0)
            if (
                station in op.get("stations", [])
                and (order["work_order"], op["operation"]) not in done
                and op.get("status") != "done"
                and left > 0
            ):
                return Job(
                    order["work_order"],
                    order["item"],
                    op["operation"],
                    op["work_center"],
                    left,
                )
    return None


def routing(master: dict[str, Any], job: Job) -> dict[str, Any]:
    """The routing operation of ``job`` in master data ({} when central sent none)."""
    return next(
        (
            r
            for r in master.get("routings", [])
            if r["item"] == job.item and r["operation"] == job.operation
        ),
        {},
    )


def lot_name(item: str, work_order: str) -> str:
    """The lot issued for ``item`` to a work order: one of three, stable per order."""
    return f"{item}-L{1 + zlib.crc32(work_order.encode()) % 3}"


def material(master: dict[str, Any], job: Job) -> list[Issue]:
    """What the operation consumes: each BOM component at quantity per unit x quantity."""
    items = {i["item"]: i for i in master.get("items", [])}
    issues = []
    for line in master.get("bom", []):
        if line["item"] != job.item or line["operation"] != job.operation:
            continue
        component = items.get(line["component"], {})
        issues.append(
            Issue(
                line["component"],
                lot_name(line["component"], job.work_order),
                round(line["quantity_per_unit"] * job.quantity, 6),
                component.get("unit", "pcs"),
                component.get("gtin"),
            )
        )
    return issues


def crew_for(master: dict[str, Any], work_center: str, size: int) -> list[str]:
    """Operators skilled for the work center, as many as the routing's crew size."""
    skilled = [o["badge"] for o in master.get("operators", []) if work_center in o["skills"]]
    return (skilled or list(DEFAULT_CREW))[: max(1, size)]


def split(total: int, crew: Sequence[str], rng: random.Random) -> list[int]:
    """``total`` pieces shared out over the crew at random; the shares add up."""
    shares = [0] * len(crew)
    for _ in range(total):
        shares[rng.randrange(len(crew))] += 1
    return shares


class _Terminal:
    """What a station terminal does over the edge's HTTP API."""

    def __init__(self, edge_url: str, station: str, machine: str | None, seed: int | None) -> None:
        self.edge_url = edge_url.rstrip("/")
        self.station = station
        self.machine = machine or f"M-{station}"
        self.random = random.Random(seed)
        self.recorded = 0
        self.refused = 0
        self.reports = 0
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _post(self, client: httpx.Client, kind: str, payload: dict[str, Any]) -> bool:
        """Post an event; False only when the edge did not answer (a refusal is logged)."""
        body = {"kind": kind, "station": self.station, "payload": payload}
        try:
            response = client.post(f"{self.edge_url}/api/v1/events", json=body)
        except httpx.HTTPError as exc:
            log.warning("edge unreachable", extra={"error": str(exc)})
            return False
        if response.status_code == 201:
            self.recorded += 1
            if kind == "production_report":
                self.reports += 1
        else:
            self.refused += 1
            log.warning(
                "edge refused event",
                extra={"kind": kind, "status": response.status_code, "body": response.text[:300]},
            )
        return True

    def _machine(self, client: httpx.Client, state: str) -> None:
        since = datetime.now(UTC).isoformat()
        self._post(
            client, "machine_state", {"machine": self.machine, "state": state, "since": since}
        )


class LineStation(_Terminal):
    """A station working the edge's dispatch list; see the module docstring."""

    def __init__(
        self,
        edge_url: str,
        station: str = "ST-10",
        *,
        machine: str | None = None,
        rate: float = 2.0,
        poll_s: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(edge_url, station, machine, seed)
        self.rate, self.poll_s = rate, poll_s
        self.done: set[tuple[str, str]] = set()
        self.crew: list[str] = []
        self.state: str | None = None
        self._count: int | None = None
        self._edge_down = False

    def _stopping(self) -> bool:
        return self._stop.is_set() or (self._count is not None and self.reports >= self._count)

    def _dispatch(self, client: httpx.Client) -> dict[str, Any] | None:
        try:
            response = client.get(
                f"{self.edge_url}/api/v1/dispatch-list", params={"master_data": "true"}
            )
        except httpx.HTTPError as exc:
            if not self._edge_down:
                log.warning("edge unreachable", extra={"error": str(exc)})
            self._edge_down = True
            return None
        if self._edge_down:
            log.info("edge answers again")
        self._edge_down = False
        if response.status_code == 404:
            return None  # central has sent no dispatch list yet
        if response.status_code != 200:
            log.warning("dispatch list not read", extra={"status": response.status_code})
            return None
        listing: dict[str, Any] = response.json()
        return listing

    def _set_state(self, client: httpx.Client, state: str) -> None:
        if state != self.state:
            self._machine(client, state)
            self.state = state

    def _log_in(self, client: httpx.Client, crew: list[str]) -> None:
        if crew == self.crew:
            return
        for operator in self.crew:
            if operator not in crew:
                self._post(client, "operator_logout", {"operator": operator, "reason": "replaced"})
        for operator in crew:
            if operator not in self.crew:
                self._post(client, "operator_login", {"operator": operator})
        self.crew = crew

    def run(self, count: int | None = None) -> None:
        """Work orders until stopped (or ``count`` production reports are recorded)."""
        self._count = count
        with httpx.Client(timeout=10.0) as client:
            while not self._stopping():
                listing = self._dispatch(client)
                job = next_job(listing["orders"], self.station, self.done) if listing else None
                if listing is None or job is None:
                    if listing is not None:
                        self._set_state(client, "idle")
                    self._stop.wait(self.poll_s)
                    continue
                if self.work(client, job, listing.get("master_data") or {}):
                    self.done.add((job.work_order, job.operation))
            for operator in self.crew:
                self._post(client, "operator_logout", {"operator": operator, "reason": "shift_end"})
            if self.state is not None:
                self._set_state(client, "idle")
            log.info(
                "station stopped",
                extra={"recorded": self.recorded, "refused": self.refused, "done": len(self.done)},
            )

    def work(self, client: httpx.Client, job: Job, master: dict[str, Any]) -> bool:
        """Work one operation to its end; False if stopped first."""
        route = routing(master, job)
        crew = crew_for(master, job.work_center, int(route.get("crew_size", 2)))
        self._log_in(client, crew)
        self._set_state(client, "running")
        log.info("operation started", extra={"work_order": job.work_order, "op": job.operation})
        for issue in material(master, job):
            payload: dict[str, Any] = {
                "work_order": job.work_order,
                "operation": job.operation,
                "item": issue.item,
                "lot": issue.lot,
                "quantity": issue.quantity,
                "unit": issue.unit,
                "operators": crew,
            }
            if issue.gtin:
                payload["gtin"] = issue.gtin
            self._post(client, "material_issue", payload)
        inspect = bool(route.get("inspection_required"))
        defects = [d["code"] for d in master.get("defect_codes", [])]
        rejects = int(inspect and bool(defects) and self.random.random() < REJECT_CHANCE)
        # Pieces scrapped at inspection are made again: the good count covers them.
        target, good = job.quantity + rejects, 0
        last = datetime.now(UTC)
        while good < target:
            if self._stop.wait(1.0 / self.rate) or self._stopping():
                return False
            made = min(target - good, sum(self.random.randint(1, 2) for _ in crew))
            ending = good + made >= target
            if ending and inspect:
                # Inspected before the last pieces are booked, so central's receipt of the
                # last operation never counts a piece the inspection scraps.
                self._inspect(client, job, crew, rejects, defects)
                inspect = False
            now = max(datetime.now(UTC), last + timedelta(microseconds=1))
            if self._post(
                client, "production_report", self.report(job, crew, made, last, now, ending)
            ):
                good += made
                last = now
        log.info("operation ended", extra={"work_order": job.work_order, "op": job.operation})
        return True

    def report(
        self,
        job: Job,
        crew: list[str],
        good: int,
        start: datetime,
        end: datetime,
        operation_end: bool,
    ) -> dict[str, Any]:
        scrap = sum(self.random.random() < 0.05 for _ in crew)
        goods, scraps = split(good, crew, self.random), split(scrap, crew, self.random)
        hours = (end - start).total_seconds() / 3600
        return {
            "work_order": job.work_order,
            "operation": job.operation,
            "good": good,
            "scrap": scrap,
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "labour_hours": round(hours * len(crew), 6),
            "crew": [
                {"operator": op, "good": g, "scrap": s, "labour_hours": round(hours, 6)}
                for op, g, s in zip(crew, goods, scraps, strict=True)
            ],
            "source": "terminal",
            "operation_end": operation_end,
        }

    def _inspect(
        self, client: httpx.Client, job: Job, crew: list[str], rejects: int, defects: list[str]
    ) -> None:
        check = {"work_order": job.work_order, "operation": job.operation, "inspector": crew[-1]}
        sample = min(job.quantity, INSPECTION_SAMPLE)
        self._post(client, "inspection", {**check, "inspected": sample, "disposition": "accept"})
        if rejects:
            found = [{"code": self.random.choice(defects), "quantity": rejects}]
            self._post(
                client,
                "inspection",
                {**check, "inspected": rejects, "disposition": "scrap", "defects": found},
            )


class StationSimulator(_Terminal):
    """A station reporting against one fixed work order: no central, no dispatch list."""

    def __init__(
        self,
        edge_url: str,
        station: str = "ST-10",
        *,
        work_order: str = "WO-2026-000123",
        operation: str = "10",
        machine: str | None = None,
        rate: float = 2.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(edge_url, station, machine, seed)
        self.work_order, self.operation = work_order, operation
        self.rate = rate
        self.crew = list(DEFAULT_CREW)

    def report(self, period_start: datetime, period_end: datetime) -> dict[str, Any]:
        good = [self.random.randint(3, 12) for _ in self.crew]
        scrap = [self.random.choice((0, 0, 0, 1)) for _ in self.crew]
        hours = (period_end - period_start).total_seconds() / 3600
        return {
            "work_order": self.work_order,
            "operation": self.operation,
            "good": sum(good),
            "scrap": sum(scrap),
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "labour_hours": round(hours * len(self.crew), 6),
            "crew": [
                {"operator": op, "good": g, "scrap": s, "labour_hours": round(hours, 6)}
                for op, g, s in zip(self.crew, good, scrap, strict=True)
            ],
            "source": "counter",
        }

    def run(self, count: int | None = None) -> None:
        """Post events until stopped (or ``count`` production reports are recorded)."""
        with httpx.Client(timeout=10.0) as client:
            for operator in self.crew:
                self._post(client, "operator_login", {"operator": operator})
            self._machine(client, "running")
            last = datetime.now(UTC)
            while not self._stop.wait(1.0 / self.rate):
                now = max(datetime.now(UTC), last + timedelta(microseconds=1))
                self._post(client, "production_report", self.report(last, now))
                last = now
                if count is not None and self.reports >= count:
                    break
            log.info("station stopped", extra={"recorded": self.recorded, "refused": self.refused})
