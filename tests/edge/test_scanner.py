"""Barcode scans through a real pseudo-terminal and through the keyboard-wedge API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from edge.devices.serial_scanner import SerialScanner, SerialScannerSettings
from edge.outbox import Outbox
from edge.scanning import ScanRecorder
from simulators.scanner import ScannerSimulator
from tests.edge.support import wait_until

SAMPLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[3] / "shared" / "barcodes" / "samples.json").read_text()
)
FIELDS = ("gtin", "batch", "serial", "expiry", "count", "net_weight_kg")


@pytest.fixture
def scanner_sim() -> Iterator[ScannerSimulator]:
    sim = ScannerSimulator(terminator=b"\r")
    yield sim
    sim.close()


@pytest.fixture
def recorder(outbox: Outbox) -> ScanRecorder:
    return ScanRecorder(outbox)


@pytest.fixture
def serial_scanner(
    scanner_sim: ScannerSimulator, recorder: ScanRecorder
) -> Iterator[SerialScanner]:
    settings = SerialScannerSettings("scanner-st10", scanner_sim.device, "ST-10", terminator="CR")
    scanner = SerialScanner(settings, lambda st, dev, raw: recorder.submit(st, dev, raw))
    scanner.start()
    # pyserial empties the input buffer when it opens the port: scan once it is open
    wait_until(lambda: scanner.health.connected, what="the scanner's port open")
    yield scanner
    scanner.stop()


def scan_events(outbox: Outbox) -> list[dict[str, Any]]:
    return [orjson.loads(body) for _, body in outbox.read_after(0, 1000)]


def test_every_sample_over_a_serial_port(
    scanner_sim: ScannerSimulator,
    serial_scanner: SerialScanner,
    recorder: ScanRecorder,
    outbox: Outbox,
) -> None:
    scans = [s for s in SAMPLES if s["input"].strip("\r\n")]  # a bare CR is no scan on a port
    for sample in scans:
        scanner_sim.send(sample["input"].rstrip("\r\n"))
    accepted = [s for s in scans if s["accept"]]
    wait_until(lambda: recorder.accepted + recorder.refused == len(scans), what="every scan")
    # read back, not last_seq: the writer numbers an event before its transaction commits
    wait_until(lambda: len(scan_events(outbox)) == len(accepted), what="accepted scans committed")
    events = scan_events(outbox)
    assert [e["kind"] for e in events] == ["scan"] * len(accepted)
    for sample, event in zip(accepted, events, strict=True):
        payload = event["payload"]
        assert event["station"] == "ST-10" and payload["device"] == "scanner-st10"
        if "internal" in sample:
            assert (payload["code"], payload["value"]) == (sample["internal"], sample["value"])
        else:
            assert payload["code"] == "gs1"
            for name in FIELDS:
                assert payload.get(name) == sample.get(name), name
    assert recorder.refused == len(scans) - len(accepted)
    assert serial_scanner.health.connected and serial_scanner.health.current_error is None


@pytest.mark.parametrize(("terminator", "sent"), [("CRLF", b"\r\n"), ("LF", b"\n")])
def test_terminators_are_configurable(
    recorder: ScanRecorder, outbox: Outbox, terminator: str, sent: bytes
) -> None:
    sim = ScannerSimulator(terminator=sent)
    settings = SerialScannerSettings("s1", sim.device, "ST-10", terminator=terminator)  # type: ignore[arg-type]
    scanner = SerialScanner(settings, lambda st, dev, raw: recorder.submit(st, dev, raw))
    scanner.start()
    try:
        wait_until(lambda: scanner.health.connected, what="the scanner's port open")
        sim.send("EMP-0042")
        sim.send("WO-2026-000123")
        wait_until(lambda: len(scan_events(outbox)) == 2, what="two scans committed")
        values = [e["payload"]["value"] for e in scan_events(outbox)]
        assert values == ["EMP-0042", "WO-2026-000123"]
    finally:
        scanner.stop()
        sim.close()


def test_a_missing_port_is_a_device_error_logged_once(
    recorder: ScanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = SerialScannerSettings("gone", "/dev/floorsync-no-such-port", "ST-10")
    scanner = SerialScanner(settings, lambda st, dev, raw: recorder.submit(st, dev, raw))
    scanner.start()
    try:
        wait_until(lambda: scanner.health.error_count >= 3, what="retries")
        assert scanner.health.connected is False
        assert "cannot open /dev/floorsync-no-such-port" in (scanner.health.current_error or "")
        assert [r.message for r in caplog.records].count("scanner error") == 1
    finally:
        scanner.stop()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: repr(s["input"][:24]))
def test_every_sample_through_the_recorder(
    recorder: ScanRecorder, outbox: Outbox, sample: dict[str, Any]
) -> None:
    result = recorder.submit("ST-10", "wedge", sample["input"])
    assert result.accepted is sample["accept"]
    if sample["accept"]:
        assert result.recorded is not None
        assert result.recorded.result(10).seq == 1
    else:
        assert sample["reason"].lower() in (result.reason or "").lower()
        assert outbox.last_seq == 0, "a refused scan changes nothing"
