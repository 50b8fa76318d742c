"""A simulated back office: sales and planning at work on central's REST API.

Every round it does what the people at their desks would: ships what is ready (the
shipment raises the invoice), settles the oldest open invoice now and then, releases
the next planned production order to the line, and takes a new make-to-order sales
order from a customer for something the shop makes, confirming it. So a demo keeps
moving: orders arrive, the floor makes them, goods leave and receivables come and go.
It talks to central only over HTTP, with a token, as any client would.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import httpx

log = logging.getLogger(__name__)


class OfficeSimulator:
    def __init__(
        self,
        central_url: str,
        token: str,
        *,
        interval_s: float = 15.0,
        seed: int | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.client = client or httpx.Client(base_url=central_url.rstrip("/"), timeout=10.0)
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.interval_s = interval_s
        self.random = random.Random(seed)
        self.done = {
            "shipped": 0,
            "paid": 0,
            "released": 0,
            "ordered": 0,
            "confirmed": 0,
            "refused": 0,
        }
        self._owns_client = client is None
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _get(self, path: str, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(path, params={"limit": 100, **params})
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def _post(self, what: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        response = self.client.post(path, json=body)
        if response.status_code in (200, 201):
            self.done[what] += 1
            result: dict[str, Any] = response.json()
            return result
        self.done["refused"] += 1
        log.info(
            "office action refused",
            extra={"action": what, "path": path, "status": response.status_code,
                   "error": response.text[:300]},
        )  # fmt: skip
        return None

    def round(self) -> None:
        """One round at the desks."""
        for order in self._get("/api/v1/sales-orders", status="ready"):
            shipped = self._post("shipped", f"/api/v1/sales-orders/{order['number']}/ship", {})
            if shipped:
                log.info("shipped", extra={"order": order["number"], "shipment": shipped["number"]})
        open_invoices = self._get("/api/v1/invoices", open="true")
        if open_invoices and self.random.random() < 0.5:
            oldest = min(open_invoices, key=lambda i: i["issued_at"])
            self._post(
                "paid",
                f"/api/v1/invoices/{oldest['number']}/payments",
                {"amount_cents": oldest["open_cents"], "reference": "bank transfer"},
            )
        planned = self._get("/api/v1/production-orders", status="planned")
        if planned:
            number = planned[0]["number"]
            if self._post("released", f"/api/v1/production-orders/{number}/release", {}):
                log.info("released", extra={"work_order": number})
        self._take_an_order()

    def _take_an_order(self) -> None:
        made = [i for i in self._get("/api/v1/items") if i["kind"] == "make"]
        customers = self._get("/api/v1/customers")
        if not made or not customers:
            return
        item = self.random.choice(made)
        customer = self.random.choice(customers)
        body = {
            "customer": customer["code"],
            "type": "make_to_order",
            "lines": [{"item": item["code"], "quantity": self.random.choice((5, 10, 20, 25))}],
        }
        order = self._post("ordered", "/api/v1/sales-orders", body)
        if order:
            self._post("confirmed", f"/api/v1/sales-orders/{order['number']}/confirm", {})
            log.info("order taken", extra={"order": order["number"], "item": item["code"]})

    def run(self, rounds: int | None = None) -> None:
        """Work a round every ``interval_s`` until stopped (or ``rounds`` are done)."""
        done = 0
        try:
            while not self._stop.is_set():
                try:
                    self.round()
                except httpx.HTTPStatusError as exc:
                    log.warning(
                        "central refused a read",
                        extra={
                            "status": exc.response.status_code,
                            "error": exc.response.text[:300],
                        },
                    )
                except httpx.HTTPError as exc:
                    log.warning("central unreachable", extra={"error": str(exc)})
                done += 1
                if rounds is not None and done >= rounds:
                    break
                self._stop.wait(self.interval_s)
        finally:
            if self._owns_client:
                self.client.close()
            log.info("office closed", extra=self.done)
