"""Exactly once, in order, whatever crashes: real processes, real Mosquitto, SIGKILL.

Each test runs a burst of production reports from four stations through a real
edge process to a real central process and breaks something in the middle of it.
Afterwards central holds every event exactly once, in order, and the edge
outbox is empty.
"""

from __future__ import annotations

import threading
import time

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.helpers import EDGE_AUTH
from tests.integration.conftest import EDGE_ID, Plant, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

BURST = 1200


def burst_with(plant: Plant, fault: callable, after: int = BURST // 3) -> None:  # type: ignore[valid-type]
    """Produce BURST events; once ``after`` are accepted, run ``fault`` while producing."""
    producer = threading.Thread(target=plant.produce, args=(BURST,))
    producer.start()
    wait_for("the burst to get going", lambda: len(plant.accepted.event_ids) >= after, 60)
    fault()
    producer.join(120)
    assert not producer.is_alive()
    plant.wait_drained()
    plant.assert_exactly_once()


def test_edge_sigkilled_mid_burst(plant: Plant) -> None:
    def kill_and_restart() -> None:
        plant.edge.kill()
        time.sleep(0.5)  # stations keep trying while the edge is gone
        plant.edge.start()

    burst_with(plant, kill_and_restart)
    assert len(plant.accepted.event_ids) == BURST
    assert len(plant.central_events()) == BURST, "a re-posted report is recorded once"


def test_a_report_reposted_after_the_edge_was_sigkilled_is_recorded_once(plant: Plant) -> None:
    """The edge committed the report and died before the station had its answer: posting
    again with the report's Idempotency-Key gets the first answer, recorded once."""
    report = {
        "kind": "production_report",
        "station": "ST-1",
        "payload": {
            "work_order": "WO-2026-000123",
            "operation": "10",
            "good": 3,
            "scrap": 0,
            "period_start": "2026-11-22T06:00:00Z",
            "period_end": "2026-11-22T06:01:00Z",
        },
    }
    url = f"{plant.edge.url}/api/v1/events"
    key = {"Idempotency-Key": "ST-1-report-1", **EDGE_AUTH}
    first = httpx.post(url, json=report, headers=key, timeout=5)
    assert first.status_code == 201, first.text
    plant.edge.kill()
    plant.edge.start()
    again = httpx.post(url, json=report, headers=key, timeout=5)
    assert (again.status_code, again.json()) == (201, first.json())
    plant.wait_drained()
    assert plant.central_events() == [(1, first.json()["event_id"])]


def test_broker_restarted_without_persistence_mid_burst(plant: Plant) -> None:
    burst_with(plant, plant.broker.restart)
    # The edge really lost the broker and came back; whether anything was in flight to
    # resend at that instant is timing, so resends may be 0.
    log = plant.edge.log.read_text()
    assert "uplink disconnected" in log
    assert log.count("uplink connected") >= 2


@pytest.mark.parametrize("plant", ["sqlite", "postgresql"], indirect=True)
def test_central_sigkilled_mid_burst(plant: Plant) -> None:
    def kill_and_restart() -> None:
        plant.central.kill()
        time.sleep(1.0)  # the edge keeps recording and buffering meanwhile
        plant.central.start()

    burst_with(plant, kill_and_restart)


def test_malformed_and_spoofed_messages_are_dead_lettered(plant: Plant) -> None:
    plant.produce(40, threads=2)
    plant.wait_drained()
    before = plant.central_events()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder")
    client.connect("127.0.0.1", plant.broker.port)
    client.loop_start()
    events_topic = f"floorsync/v1/{EDGE_ID}/events"
    other_topic = "floorsync/v1/plant1/assembly/line1/edge2/events"
    forged = (
        b'{"v":1,"edge_id":"%s","events":[{"v":1,"event_id":'
        b'"0b6f1f9e-8f5e-4c38-9a53-4b8f1b1b1b1b","edge_id":"%s","seq":%d,'
        b'"ts":"2026-11-22T06:00:00Z","kind":"operator_login","station":"ST-1",'
        b'"payload":{"operator":"EMP-0666"}}]}'
    )
    for topic, payload in (
        (events_topic, b"\x00not json at all"),
        (events_topic, b'{"v":1,"edge_id":"%s","events":[{"seq":"x"}]}' % EDGE_ID.encode()),
        # edge2's topic carrying a batch that claims to be edge1: a spoof
        (other_topic, forged % (EDGE_ID.encode(), EDGE_ID.encode(), len(before) + 1)),
    ):
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()

    def dead_letters() -> list[dict[str, object]]:
        import httpx

        result: list[dict[str, object]] = httpx.get(
            f"{plant.central.url}/api/v1/dead-letters", timeout=2
        ).json()
        return result

    wait_for("three dead letters", lambda: len(dead_letters()) >= 3, 20)
    reasons = " | ".join(str(d["reason"]) for d in dead_letters())
    assert "not JSON" in reasons
    assert "does not match topic edge" in reasons
    assert plant.central_events() == before, "bad messages change nothing"

    # The edge goes on as before, its sequence untouched by the forged seq.
    plant.produce(20, threads=1)
    plant.wait_drained()
    plant.assert_exactly_once()
