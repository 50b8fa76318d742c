"""Simulated station workers: they work the line at the edge's station terminals, over HTTP.

``LineStation`` is a crew at one station's terminal (``/api/v1/stations/{station}/``),
doing what people there do: it reads the terminal's view, takes the first order listed
for the station that is neither done nor done by itself, logs in operators skilled for
the work center (badge scans; skills and crew size from the master data of the edge's
dispatch list), scans the work order, and scans a lot label for each BOM line still to
issue. Then it produces: where the station's machine counts pieces the edge reports
them and the crew waits for the target; where nothing counts the crew reports counts
at ``rate`` reports a second. Where the routing asks for an inspection it records one
(now and then scrapping a piece, made again beforehand), then closes the operation and
takes the next order. The edge's workflow records every event; this posts none itself.
A refusal is logged and the crew moves on after a pause.

``StationSimulator`` posts raw events to ``/api/v1/events`` against one fixed work
order: for an edge without central, whose stations have no terminal (no dispatch list,
no master data, no workflow to work), as counters or a PLC would.

Lots are named ``<item>-L1`` .. ``-L3`` as the demo company (central/seed.py) buys them.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from protocols.barcode.gs1 import SEPARATOR

__all__ = [
    "DEMO_SUPERVISOR",
    "Issue",
    "LineStation",
    "StationSimulator",
    "crew_for",
    "lot_label",
    "lot_name",
    "next_order",
    "to_issue",
]

log = logging.getLogger(__name__)

# floorsync/demo_edge.toml's supervisor (badge, PIN): the demo's only, never a real line's
DEMO_SUPERVISOR = ("EMP-0900", "1234")
DEFAULT_CREW = ("EMP-0042", "EMP-0043")  # StationSimulator's: it has no master data
INSPECTION_SAMPLE = 5  # pieces checked per inspected operation
REJECT_CHANCE = 0.2  # an inspected operation finds a piece to scrap
COUNTER_WAIT_S = 5.0  # a machine that has counted nothing by then: the crew counts by hand
BACKOFF_S = 1.0  # the pause after a refusal or while the edge does not answer
CLOSE_TRIES = 3  # a full check races a machine still counting: inspect the rest, close again

Key = tuple[str, str]  # (work order, operation)


def next_order(orders: Sequence[Mapping[str, Any]], done: set[Key]) -> Mapping[str, Any] | None:
    """The first of the station's orders (the view lists them in sequence) still to do."""
    return next(
        (
            o
            for o in orders
            if o["status"] != "done" and (o["work_order"], o["operation"]) not in done
        ),
        None,
    )


def work_center(listing: Mapping[str, Any], work_order: str, operation: str) -> str | None:
    """Where the dispatch list says ``operation`` of ``work_order`` is done."""
    for order in listing.get("orders", []):
        if order["work_order"] == work_order:
            for op in order["operations"]:
                if op["operation"] == operation:
                    return str(op["work_center"])
    return None


def crew_size(master: Mapping[str, Any], item: str, operation: str) -> int:
    """The routing's crew size (one when the routing does not say)."""
    for route in master.get("routings", []):
        if route["item"] == item and route["operation"] == operation:
            return max(1, int(route.get("crew_size") or 1))
    return 1


def crew_for(operators: Sequence[Mapping[str, Any]], center: str, size: int) -> list[str]:
    """``size`` operators skilled for the work center, specialists first: they are the
    least likely to be wanted at another station of the line."""
    skilled = [o for o in operators if center in o.get("skills", [])]
    skilled.sort(key=lambda o: len(o["skills"]))  # stable: master data's order among equals
    return [o["badge"] for o in skilled[:size]]


def lot_name(item: str, work_order: str) -> str:
    """The lot issued for ``item`` to a work order: one of three, stable per order."""
    return f"{item}-L{1 + zlib.crc32(work_order.encode()) % 3}"


def lot_label(gtin: str, lot: str, count: int | None = None) -> str:
    """A GS1-128 lot label as a scanner types it: GTIN (01), lot (10), count (30)."""
    label = f"]C101{gtin.zfill(14)}10{lot}"
    return label if count is None else f"{label}{SEPARATOR}30{count}"


def quantity_text(quantity: float) -> str:
    """A quantity as typed at the terminal: ``12.5``, never ``1.25e+01``."""
    return f"{quantity:.6f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Issue:
    """What is still to issue of one BOM line, from which lot."""

    component: str
    lot: str
    quantity: float
    gtin: str | None

    def scans(self) -> list[str]:
        """A whole count goes on the label; any other quantity is typed after the label."""
        if self.gtin is None:
            raise ValueError(f"{self.component} has no GTIN: no label to scan")
        whole = round(self.quantity)
        if whole >= 1 and abs(self.quantity - whole) < 1e-9:
            return [lot_label(self.gtin, self.lot, whole)]
        return [lot_label(self.gtin, self.lot), quantity_text(self.quantity)]


def to_issue(
    materials: Sequence[Mapping[str, Any]], items: Sequence[Mapping[str, Any]], work_order: str
) -> list[Issue]:
    """The running job's BOM lines (the view's ``materials``) not yet fully issued."""
    gtins = {i["item"]: i.get("gtin") for i in items}
    issues = []
    for line in materials:
        left = round(line["required"] - line["issued"], 6)
        if left > 0:
            component = line["component"]
            lot = lot_name(component, work_order)
            issues.append(Issue(component, lot, left, gtins.get(component)))
    return issues


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class LineStation:
    """A crew working its station's orders at the terminal; see the module docstring.

    ``supervisor`` (badge, PIN) approves closing an operation short of its target, and
    signs the terminal in (a supervisor may act at any station) whenever the edge asks;
    ``token``, an edge API token, is used instead when given.
    """

    def __init__(
        self,
        edge_url: str,
        station: str = "ST-10",
        *,
        rate: float = 2.0,
        poll_s: float = 1.0,
        seed: int | None = None,
        supervisor: tuple[str, str] | None = DEMO_SUPERVISOR,
        backoff_s: float = BACKOFF_S,
        token: str | None = None,
    ) -> None:
        if rate <= 0 or poll_s <= 0:
            raise ValueError("rate and poll_s must be more than 0")
        self.edge_url = edge_url.rstrip("/")
        self.station = station
        self.rate, self.poll_s, self.backoff_s = rate, poll_s, backoff_s
        self.supervisor, self.token = supervisor, token
        self.random = random.Random(seed)
        self.done: set[Key] = set()  # operations this crew closed, or found closed here
        self.closed = 0
        self.refused = 0
        self.counting: bool | None = None  # does the station's machine count? None: not seen
        self._unattributed: int | None = None  # pieces counted with no order, when last seen
        self.refusal: str | None = None  # the code of the last refusal
        self._logged_refusal: tuple[str, str] | None = None
        self._unreachable = False
        self._client: httpx.Client | None = None
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    # -- talking to the terminal ----------------------------------------------------------

    @property
    def _terminal(self) -> str:
        return f"/api/v1/stations/{self.station}"

    def _request(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> httpx.Response | None:
        assert self._client is not None, "only while running"
        try:
            response = self._client.request(
                method, f"{self.edge_url}{path}", json=body, params=params
            )
            if response.status_code == 401 and self._sign_in():
                response = self._client.request(
                    method, f"{self.edge_url}{path}", json=body, params=params
                )
        except httpx.HTTPError as exc:
            if not self._unreachable:
                log.warning("edge unreachable", extra={"station": self.station, "error": str(exc)})
            self._unreachable = True
            return None
        if self._unreachable:
            log.info("edge answers again", extra={"station": self.station})
        self._unreachable = False
        return response

    def _sign_in(self) -> bool:
        """Sign the terminal in as the supervisor (the sign-in ended, or never was)."""
        assert self._client is not None, "only while running"
        if self.token is not None or self.supervisor is None:
            return False
        badge, pin = self.supervisor
        body = {"badge": badge, "pin": pin, "station": self.station}
        response = self._client.post(f"{self.edge_url}/api/v1/sessions", json=body)
        if response.status_code != 201:
            self._refused("sign-in", response)
            return False
        self._client.headers["Authorization"] = f"Bearer {response.json()['token']}"
        log.info("signed in", extra={"station": self.station, "badge": badge})
        return True

    def _get(self, path: str, **params: str) -> dict[str, Any] | None:
        response = self._request("GET", path, params=params)
        if response is None:
            return None
        if response.status_code != 200:
            self._refused(path, response)
            return None
        answer: dict[str, Any] = response.json()
        return answer

    def _view(self) -> dict[str, Any] | None:
        return self._get(f"{self._terminal}/view")

    def _listing(self) -> dict[str, Any] | None:
        """The edge's dispatch list with its master data (operators, items, routings)."""
        return self._get("/api/v1/dispatch-list", master_data="true")

    def _step(self, what: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """A step at the terminal: the view once it is recorded, None if refused (logged)."""
        self.refusal = None
        response = self._request("POST", f"{self._terminal}/{what}", body)
        if response is None:
            return None
        if response.status_code != 200:
            shown = body.get("input") if body and what == "scan" else None
            self._refused(what, response, shown)
            return None
        self._logged_refusal = None
        view: dict[str, Any] = response.json()["view"]
        return view

    def _scan(self, raw: str) -> dict[str, Any] | None:
        return self._step("scan", {"input": raw})

    def _refused(self, what: str, response: httpx.Response, shown: str | None = None) -> None:
        try:
            error = response.json()["error"]
            code, text = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            code, text = f"http_{response.status_code}", response.text[:300]
        self.refused += 1
        self.refusal = code
        if self._logged_refusal != (what, code):  # the same refusal again is no news
            extra = {"station": self.station, "step": what, "code": code, "error": text}
            log.warning("refused", extra={**extra, **({"input": shown} if shown else {})})
        self._logged_refusal = (what, code)

    # -- the work ---------------------------------------------------------------------------

    def run(self, count: int | None = None) -> None:
        """Work orders until stopped (or ``count`` operations are closed); log the crew out."""
        with httpx.Client(timeout=10.0, headers=_bearer(self.token)) as client:
            self._client = client
            try:
                while not self._stop.is_set() and (count is None or self.closed < count):
                    pause = self._round()
                    if pause:
                        self._stop.wait(pause)
                self._log_out()
            finally:
                self._client = None
        log.info(
            "station stopped",
            extra={"station": self.station, "closed": self.closed, "refused": self.refused},
        )

    def _round(self) -> float:
        """One go at the station's work; how long to wait before the next."""
        view = self._view()
        if view is None:
            return self.backoff_s
        order = None
        if view["job"] is None or view["job"]["withdrawn"]:
            order = next_order(view["orders"], self.done)
            if order is None:
                return self.poll_s
        listing = self._listing()
        if listing is None:
            return self.backoff_s
        if order is not None:
            started = self._start(view, order, listing)
            if started is None:
                return self.backoff_s
            view = started
        return self._work(view, listing.get("master_data") or {})

    def _crew(self, view: dict[str, Any], crew: list[str]) -> dict[str, Any] | None:
        """Badge scans until exactly ``crew`` is logged in: who is not wanted out first."""
        if not crew:
            return None
        present = [member["badge"] for member in view["crew"]]
        for badge in [b for b in present if b not in crew] + [b for b in crew if b not in present]:
            answer = self._scan(badge)
            if answer is None:
                return None
            view = answer
        return view

    def _crew_for(
        self, master: Mapping[str, Any], item: str, operation: str, center: str | None
    ) -> list[str]:
        crew = crew_for(
            master.get("operators", []), center or "", crew_size(master, item, operation)
        )
        if not crew and self._logged_refusal != ("crew", center or ""):
            log.warning(
                "no operator is skilled for the work center",
                extra={"station": self.station, "work_center": center, "item": item},
            )
            self._logged_refusal = ("crew", center or "")
        return crew

    def _start(
        self, view: dict[str, Any], order: Mapping[str, Any], listing: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Log the crew in and scan the work order; the view of the started job."""
        key = (order["work_order"], order["operation"])
        master = listing.get("master_data") or {}
        center = work_center(listing, *key)
        crewed = self._crew(view, self._crew_for(master, order["item"], key[1], center))
        started = self._scan(key[0]) if crewed is not None else None
        if started is None or started["job"] is None:
            if self.refusal == "operation_done":  # closed here before central heard of it
                self.done.add(key)
            return None
        job = started["job"]
        log.info(
            "operation started",
            extra={
                "station": self.station,
                "work_order": job["work_order"],
                "operation": job["operation"],
                "crew": [member["badge"] for member in started["crew"]],
            },
        )
        return started

    def _work(self, view: dict[str, Any], master: Mapping[str, Any]) -> float:
        """Issue, produce, inspect and close the running job; the pause before the next round."""
        job = view["job"]
        if not view["crew"]:  # e.g. the crew logged out at a stop before
            crew = self._crew_for(master, job["item"], job["operation"], job["work_center"])
            crewed = self._crew(view, crew)
            if crewed is None:
                return self.backoff_s
            view = crewed
        self._issue(job, master)
        inspected = job["inspection"]["required"] and view["defect_codes"]
        rejects = int(bool(inspected) and self.random.random() < REJECT_CHANCE)
        made = self._produce(view, rejects)
        if made is None:
            return self.backoff_s
        return 0.0 if self._close(made, rejects) else self.backoff_s

    def _issue(self, job: Mapping[str, Any], master: Mapping[str, Any]) -> None:
        """Scan a lot label for what is left of each BOM line; a refused line is left."""
        for issue in to_issue(job["materials"], master.get("items", []), job["work_order"]):
            if self._stop.is_set():
                return
            if issue.gtin is None:
                log.info(
                    "material not issued: it has no GTIN, so no label to scan",
                    extra={"station": self.station, "item": issue.component},
                )
                continue
            if all(self._scan(raw) is not None for raw in issue.scans()):
                log.info(
                    "material issued",
                    extra={
                        "station": self.station,
                        "item": issue.component,
                        "lot": issue.lot,
                        "quantity": issue.quantity,
                    },
                )
            else:
                self._step("cancel")  # what the refused lot left waiting goes

    def _notice_counter(self, view: Mapping[str, Any], since: float, seen: int) -> None:
        """Whether the station's machine counts pieces: what the view shows moving by
        itself (pieces unreported, counted with no order running, or more than at the
        start before anyone reported), and not before ``COUNTER_WAIT_S`` is up."""
        job, unattributed = view["job"], int(view["unattributed"])
        if view["machine"] is None:  # no machine, no counters (the edge's settings say so)
            self.counting = False
            return
        before, self._unattributed = self._unattributed, unattributed
        moved = (
            job["unreported"]["good"] + job["unreported"]["scrap"] > 0
            or (before is not None and unattributed > before)
            or (self.counting is None and job["good"] + job["scrap"] > seen)
        )
        if moved and not self.counting:
            self.counting = True
            log.info("the machine counts: the edge reports", extra={"station": self.station})
        elif self.counting is None and time.monotonic() - since > COUNTER_WAIT_S:
            self.counting = False
            log.info(
                "the machine counts nothing: counting by hand", extra={"station": self.station}
            )

    def _produce(self, view: dict[str, Any], rejects: int) -> dict[str, Any] | None:
        """Wait for the machine, or report by hand, until the target (and the pieces
        inspection will scrap) are good; the view then, None if stopped or refused."""
        target = view["job"]["target"] + rejects
        since, seen = time.monotonic(), view["job"]["good"] + view["job"]["scrap"]
        while not self._stop.is_set():
            job = view["job"]
            if job is None or job["withdrawn"]:
                return None
            if job["good"] >= target:
                return view
            self._notice_counter(view, since, seen)
            if self.counting is False:
                crew = max(1, len(view["crew"]))
                good = min(
                    math.ceil(target - job["good"]),
                    sum(self.random.randint(1, 2) for _ in range(crew)),
                )
                scrap = sum(self.random.random() < 0.05 for _ in range(crew))
                if self._step("report", {"good": good, "scrap": scrap}) is None:
                    return None
                pause = 1.0 / self.rate
            else:
                pause = self.poll_s
            if self._stop.wait(pause):
                return None
            answer = self._view()
            if answer is None:
                return None
            view = answer
        return None

    def _inspect(self, view: dict[str, Any], rejects: int) -> dict[str, Any] | None:
        """The inspection the routing asks for: accepted pieces, then any scrapped one
        with its defect code scanned; the view then, None if refused."""
        job = view["job"]
        check = job["inspection"]
        if not check["required"]:
            return view
        if not check["done"]:
            full = check["check"] == "full"
            inspected = (
                job["good"] - check["inspected"] if full else min(job["good"], INSPECTION_SAMPLE)
            )
            body = {
                "inspected": max(1, inspected),
                "disposition": "accept",
                "defects": [],
                "check": check["check"],
            }
            answer = self._step("inspection", body)
            if answer is None:
                return None
            view = answer
        codes = [d["code"] for d in view["defect_codes"]]
        if rejects and codes:
            if self._scan(self.random.choice(codes)) is None:
                return None
            # no defects given: the codes scanned at the station are the inspection's
            answer = self._step(
                "inspection",
                {"inspected": rejects, "disposition": "scrap", "check": check["check"]},
            )
            if answer is None:
                return None
            view = answer
        return view

    def _close(self, view: dict[str, Any], rejects: int) -> bool:
        """Inspect if asked, then close; a supervisor approves closing short."""
        job = view["job"]
        key = (job["work_order"], job["operation"])
        answer = self._inspect(view, rejects)
        for _ in range(CLOSE_TRIES):
            if answer is None:
                return False
            job = answer["job"]
            body = None
            if job["good"] < job["target"] and self.supervisor is not None:
                body = {"supervisor": self.supervisor[0], "pin": self.supervisor[1]}
            closed = self._step("close", body)
            if closed is not None:
                self.done.add(key)
                self.closed += 1
                log.info(
                    "operation closed",
                    extra={
                        "station": self.station,
                        "work_order": key[0],
                        "operation": key[1],
                        "good": job["good"],
                    },
                )
                return True
            if self.refusal != "inspection_required":
                return False
            answer = self._view()
            answer = self._inspect(answer, 0) if answer and answer["job"] else None
        return False

    def _log_out(self) -> None:
        view = self._view()
        for member in view["crew"] if view else []:
            self._scan(member["badge"])


class StationSimulator:
    """Raw events against one fixed work order: no central, no terminal at the station."""

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
        token: str | None = None,
    ) -> None:
        self.edge_url = edge_url.rstrip("/")
        self.station = station
        self.token = token  # an edge API token (integration): raw events need one
        self.machine = machine or f"M-{station}"
        self.work_order, self.operation = work_order, operation
        self.rate = rate
        self.random = random.Random(seed)
        self.crew = list(DEFAULT_CREW)
        self.recorded = self.refused = self.reports = 0
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _post(self, client: httpx.Client, kind: str, payload: dict[str, Any]) -> None:
        body = {"kind": kind, "station": self.station, "payload": payload}
        try:
            response = client.post(f"{self.edge_url}/api/v1/events", json=body)
        except httpx.HTTPError as exc:
            log.warning("edge unreachable", extra={"error": str(exc)})
            return
        if response.status_code == 201:
            self.recorded += 1
            self.reports += kind == "production_report"
        else:
            self.refused += 1
            log.warning(
                "edge refused event",
                extra={"kind": kind, "status": response.status_code, "body": response.text[:300]},
            )

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
        with httpx.Client(timeout=10.0, headers=_bearer(self.token)) as client:
            for operator in self.crew:
                self._post(client, "operator_login", {"operator": operator})
            since = datetime.now(UTC).isoformat()
            running = {"machine": self.machine, "state": "running", "since": since}
            self._post(client, "machine_state", running)
            last = datetime.now(UTC)
            while not self._stop.wait(1.0 / self.rate):
                now = max(datetime.now(UTC), last + timedelta(microseconds=1))
                self._post(client, "production_report", self.report(last, now))
                last = now
                if count is not None and self.reports >= count:
                    break
            log.info("station stopped", extra={"recorded": self.recorded, "refused": self.refused})
