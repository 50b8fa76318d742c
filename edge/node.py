"""An edge node: its store, outbox, uplink and downlink, started and stopped together."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

from edge.devices.factory import build as build_coordinator
from edge.devices.loop import DeviceLoop
from edge.devices.serial_scanner import SerialScanner, SerialScannerSettings
from edge.downlink import Downlink
from edge.line import Line
from edge.outbox import Outbox
from edge.scanning import ScanRecorder
from edge.settings import EdgeSettings
from edge.stations import Refused
from edge.store import Writer
from edge.uplink import Uplink, UplinkSettings
from edge.workstations import CannotRecord, Workstations
from protocols.changes import Changes
from protocols.contract import EdgeAddress, TopicLayout
from protocols.mqtt import BrokerUrl

log = logging.getLogger(__name__)


class EdgeNode:
    def __init__(self, settings: EdgeSettings) -> None:
        node = settings.node
        self.settings = settings
        self.address = EdgeAddress(node.site, node.area, node.line, node.name)
        self.edge_id = self.address.path
        layout = TopicLayout(root=settings.mqtt.topic_root)
        self.writer = Writer(node.data_dir / "edge.db", budget=settings.store.budget())
        self.outbox = Outbox(self.writer, self.edge_id)
        self.downlink = Downlink(self.writer, self.edge_id, layout)
        self.uplink = Uplink(
            self.outbox,
            self.address,
            BrokerUrl.parse(settings.mqtt.url),
            layout=layout,
            settings=UplinkSettings(**settings.uplink.model_dump()),
            on_command=self.downlink.handle,
        )

        self.scans = ScanRecorder(self.outbox)
        self.scanners = [
            SerialScanner(SerialScannerSettings(**cfg.model_dump()), self._on_serial_scan)
            for cfg in settings.scanners
        ]

        self.line = Line(
            settings.stations,
            self.outbox,
            telemetry_interval_s=settings.store.telemetry_interval_s,
        )
        self.coordinators = [build_coordinator(d) for d in settings.devices]
        self.devices = DeviceLoop(self.coordinators, self.line.on_readings, self.line.device_down)
        self.changes = Changes()
        self.workstations = Workstations(
            settings, self.outbox, self.downlink, self.line, self.changes
        )
        self.uplink.on_connection = lambda _: self.changes.bump(*self.workstations.stations, "line")

    def _on_serial_scan(self, station: str, device: str, raw: str) -> None:
        if station in self.workstations.stations:
            # a station with a terminal: the scan is a step of its workflow, shown there
            try:
                self.workstations.scan(station, raw)
            except (Refused, CannotRecord) as exc:
                log.info("serial scan refused", extra={"device": device, "reason": str(exc)})
            except Exception:  # the scanner's thread must live on to read the next scan
                log.exception("serial scan failed", extra={"device": device})
            return
        result = self.scans.submit(station, device, raw)
        if not result.accepted:
            log.warning("serial scan refused", extra={"device": device, "reason": result.reason})

    def start(self) -> None:
        self.workstations.start()
        self.uplink.start()
        for scanner in self.scanners:
            scanner.start()
        self.devices.start()
        stats = self.outbox.stats()
        log.info(
            "edge started",
            extra={
                "edge_id": self.edge_id,
                "outbox_depth": stats.depth,
                "last_seq": stats.last_seq,
                "broker": str(BrokerUrl.parse(self.settings.mqtt.url)),
            },
        )

    def stop(self) -> None:
        self.devices.stop()
        for scanner in self.scanners:
            scanner.stop()
        self.uplink.stop()
        self.workstations.stop()
        self.outbox.close()
        self.writer.close()
        log.info("edge stopped", extra={"edge_id": self.edge_id})

    def oldest_unsent_age_s(self) -> float | None:
        """How long the oldest event not yet sent in this connection has waited."""
        first = max(self.uplink.unsent_from(), self.outbox.acked_seq + 1)
        recorded_at = self.outbox.recorded_at(first)
        return None if recorded_at is None else max(0.0, time.time() - recorded_at)

    def status(self) -> dict[str, Any]:
        stats = self.outbox.stats()
        up = self.uplink
        return {
            "edge_id": self.edge_id,
            "mqtt_connected": up.connected,
            "outbox": asdict(stats),
            "scanners": {
                s.settings.name: {
                    "port": s.settings.port,
                    "station": s.settings.station,
                    **asdict(s.health),
                }
                for s in self.scanners
            },
            "devices": {c.name: asdict(c.health) for c in self.coordinators},
            "stations": self.line.status(),
            "scans": {"accepted": self.scans.accepted, "refused": self.scans.refused},
            "uplink": {
                "next_unsent_seq": up.unsent_from(),
                "oldest_unsent_age_s": self.oldest_unsent_age_s(),
                "batches_sent": up.batches_sent,
                "events_sent": up.events_sent,
                "resends": up.resends,
                "last_ack_at": up.last_ack_wall,
            },
        }
