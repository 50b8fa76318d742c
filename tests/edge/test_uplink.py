"""The uplink on a real Mosquitto, against a small central that acknowledges when told to."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.outbox import Outbox
from edge.store import Writer
from edge.uplink import Uplink
from protocols.contract import EdgeStatus, decode_status
from tests.edge.support import (
    ADDRESS,
    EDGE_ID,
    LAYOUT,
    FakeCentral,
    Subscriber,
    append_many,
    stays,
    wait_until,
)
from tests.helpers import Mosquitto

pytestmark = pytest.mark.services

MakeUplink = Callable[..., Uplink]
MakeCentral = Callable[..., FakeCentral]


def depth(outbox: Outbox) -> int:
    return outbox.stats().depth


def rows(outbox: Outbox) -> list[int]:
    """Sequence numbers of the rows committed in the outbox."""
    return [seq for seq, _ in outbox.read_after(0, 1000)]


def drained(outbox: Outbox) -> bool:
    return depth(outbox) == 0 and not rows(outbox)


def statuses(broker_url: str) -> list[EdgeStatus]:
    """The retained status of the edge, as a client connecting now sees it."""
    sub = Subscriber(broker_url, LAYOUT.status(ADDRESS))
    try:
        sub.sync()
        return [decode_status(p) for p in sub.payloads()]
    finally:
        sub.close()


def test_events_go_out_in_order_in_batches_and_drain_on_ack(
    outbox: Outbox, make_uplink: MakeUplink, make_central: MakeCentral
) -> None:
    central = make_central(auto_ack=True)
    append_many(outbox, 23)
    uplink = make_uplink(batch_events=5)
    wait_until(lambda: drained(outbox), what="outbox drained")
    append_many(outbox, 4)  # recorded while connected: sent at once
    wait_until(lambda: drained(outbox), what="outbox drained again")

    assert central.events_received() == list(range(1, 28))
    assert all(1 <= len(batch) <= 5 for batch in central.batches)
    assert [len(b) for b in central.batches[:4]] == [5, 5, 5, 5]
    assert outbox.read_after(0, 100) == []
    assert outbox.acked_seq == 27
    assert uplink.events_sent == 27 and uplink.resends == 0


def test_rows_stay_until_central_acks_not_when_the_broker_pubacks(
    outbox: Outbox, make_uplink: MakeUplink, make_central: MakeCentral
) -> None:
    central = make_central()
    append_many(outbox, 10)
    uplink = make_uplink(batch_events=4, ack_timeout_s=30, start=False)
    pubacks: list[int] = []
    uplink.client.on_publish = lambda _c, _u, mid, *_: pubacks.append(mid)
    uplink.start()
    # Full batches pipeline; the partial one waits for an ack, so it is not yet sent.
    wait_until(lambda: len(central.events_received()) == 8, what="two full batches")
    # the birth status and two batches, all acknowledged by the broker
    wait_until(lambda: len(pubacks) == 3, what="the broker's PUBACK of every batch")

    assert stays(lambda: depth(outbox) == 10, 0.5), "deleted before central acknowledged"
    assert len(outbox.read_after(0, 100)) == 10
    assert len(central.events_received()) == 8, "a partial batch waits while others fly"

    central.ack(6)
    wait_until(lambda: rows(outbox) == [7, 8, 9, 10], what="partial ack applied")
    assert outbox.acked_seq == 6
    central.ack(8)
    wait_until(lambda: len(central.events_received()) == 10, what="the partial batch, now idle")
    central.ack(10)
    wait_until(lambda: drained(outbox), what="outbox drained")
    assert outbox.read_after(0, 100) == []


def test_unacked_events_are_resent_after_the_ack_timeout(
    outbox: Outbox, make_uplink: MakeUplink, make_central: MakeCentral
) -> None:
    central = make_central()
    append_many(outbox, 6)
    uplink = make_uplink(batch_events=10, ack_timeout_s=0.5)
    wait_until(lambda: central.events_received()[:6] == [1, 2, 3, 4, 5, 6], what="first send")
    wait_until(lambda: uplink.resends >= 1, what="a resend")
    wait_until(lambda: len(central.events_received()) >= 12, what="the events again")
    assert central.events_received()[6:12] == [1, 2, 3, 4, 5, 6]
    assert depth(outbox) == 6

    central.ack(6)
    wait_until(lambda: drained(outbox), what="outbox drained")
    resends, received = uplink.resends, len(central.events_received())
    assert stays(lambda: uplink.resends == resends, 1.0), "resent what was acknowledged"
    assert len(central.events_received()) == received


def test_broker_restart_reconnects_resends_and_drains(
    outbox: Outbox, make_uplink: MakeUplink, make_central: MakeCentral, mosquitto: Mosquitto
) -> None:
    central = make_central()
    append_many(outbox, 5)
    uplink = make_uplink(batch_events=3, ack_timeout_s=1.0)
    # one full batch goes; the partial rest waits for its ack
    wait_until(lambda: set(central.events_received()) == {1, 2, 3}, what="first send")
    central.ack(2)
    wait_until(lambda: outbox.acked_seq == 2, what="first ack")

    mosquitto.stop()
    wait_until(lambda: not uplink.connected, what="uplink notices the broker is gone")
    append_many(outbox, 3)  # offline first: recording goes on without the broker
    failures = uplink.loop.connect_failures
    wait_until(lambda: uplink.loop.connect_failures >= failures + 2, what="retries with back-off")
    assert uplink.loop.backoff.attempt >= 2
    connects, resends, received = uplink.loop.connects, uplink.resends, central.events_received()

    mosquitto.start()  # persistence off: the broker comes back empty
    wait_until(lambda: uplink.connected and central.subscribed.is_set(), what="both reconnected")
    assert uplink.loop.connects == connects + 1
    wait_until(lambda: len(central.events_received()) > len(received), what="events sent again")
    assert uplink.resends > resends
    wait_until(lambda: set(central.events_received()) >= set(range(3, 9)), what="all unacked")
    assert depth(outbox) == 6
    central.ack(8)
    wait_until(lambda: drained(outbox), what="outbox drained after the restart")
    assert outbox.read_after(0, 100) == []


def test_the_window_bounds_unacked_batches_in_flight(
    outbox: Outbox, make_uplink: MakeUplink, make_central: MakeCentral
) -> None:
    central = make_central()
    append_many(outbox, 30)
    uplink = make_uplink(batch_events=3, window=2, ack_timeout_s=30)
    wait_until(lambda: len(central.batches) == 2, what="a full window")
    assert stays(lambda: len(central.batches) == 2, 0.5), "sent beyond the window"
    assert central.events_received() == [1, 2, 3, 4, 5, 6]

    central.ack(3)  # one batch acknowledged: one more may go
    wait_until(lambda: len(central.batches) == 3, what="the next batch")
    assert stays(lambda: len(central.batches) == 3, 0.5), "sent beyond the window"
    assert central.batches[2] == [7, 8, 9]
    assert uplink.batches_sent == 3

    central.auto_ack = True
    central.ack(9)
    wait_until(lambda: drained(outbox), what="outbox drained")
    assert central.events_received() == list(range(1, 31))


def test_foreign_and_malformed_acks_are_ignored(
    outbox: Outbox, make_uplink: MakeUplink, make_central: MakeCentral
) -> None:
    central = make_central()
    append_many(outbox, 5)
    uplink = make_uplink(ack_timeout_s=30)
    wait_until(lambda: len(central.events_received()) == 5, what="events sent")

    central.ack(5, edge_id="plant1/assembly/line1/other-edge")
    central.publish_ack(b"not json")
    central.publish_ack(b'{"v": 1, "edge_id": "plant1/assembly/line1/edge1", "acked_seq": -1}')
    central.publish_ack(b"[5]")
    central.ack(50)  # more than this edge ever recorded: someone else's store
    central.ack(1)  # acks arrive in order: once this one is applied, the bad ones were seen
    wait_until(lambda: outbox.acked_seq == 1, what="the valid ack")
    assert depth(outbox) == 4
    assert uplink.connected

    central.ack(5)
    wait_until(lambda: drained(outbox), what="outbox drained")


def test_birth_online_and_shutdown_offline_are_retained(
    outbox: Outbox, make_uplink: MakeUplink, mosquitto: Mosquitto
) -> None:
    uplink = make_uplink()
    wait_until(lambda: uplink.connected, what="uplink connected")
    wait_until(lambda: statuses(mosquitto.url), what="a retained status")
    [birth] = statuses(mosquitto.url)
    assert (birth.edge_id, birth.state, birth.reason) == (ADDRESS.path, "online", "connected")
    assert birth.software

    uplink.stop()
    [death] = statuses(mosquitto.url)
    assert (death.state, death.reason) == ("offline", "shutdown")
    assert death.ts >= birth.ts


def test_last_will_when_the_connection_is_cut(
    outbox: Outbox, make_uplink: MakeUplink, mosquitto: Mosquitto
) -> None:
    watcher = Subscriber(mosquitto.url, LAYOUT.status(ADDRESS))
    try:
        uplink = make_uplink()
        wait_until(lambda: watcher.messages, what="birth")
        before = uplink.loop.connects
        # the network goes away under the edge: no DISCONNECT packet, the broker sees EOF
        sock = uplink.client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)

        def seen() -> list[tuple[str, str]]:
            return [(s.state, s.reason) for s in map(decode_status, watcher.payloads())]

        wait_until(lambda: ("offline", "connection_lost") in seen(), what="the last will")
        wait_until(lambda: uplink.loop.connects > before and uplink.connected, what="reconnect")
        wait_until(lambda: seen()[-1] == ("online", "connected"), what="birth after reconnect")
        assert seen()[0] == ("online", "connected")
        assert seen().index(("offline", "connection_lost")) > 0
    finally:
        watcher.close()
    [retained] = statuses(mosquitto.url)
    assert retained.state == "online"


def test_max_rate_paces_sending(
    outbox: Outbox, make_uplink: MakeUplink, make_central: MakeCentral
) -> None:
    central = make_central(auto_ack=True)
    append_many(outbox, 60)
    rate, burst = 40.0, 10
    make_uplink(batch_events=burst, max_rate=rate)
    wait_until(lambda: drained(outbox), timeout=15, what="outbox drained")
    assert central.events_received() == list(range(1, 61))
    elapsed = central.arrivals[-1] - central.arrivals[0]
    # the first batch is a burst; the other 50 events cannot go faster than the cap
    expected = (60 - burst) / rate
    assert elapsed >= expected * 0.8, f"{60 - burst} events in {elapsed:.2f}s at {rate}/s"
    assert elapsed < expected * 3 + 1
    assert max(len(b) for b in central.batches) <= burst


@pytest.fixture
def crashed(tmp_path: Path) -> Iterator[Outbox]:
    """An outbox of 5 events whose edge died (no clean close): it asks central first."""
    writer = Writer(tmp_path / "crashed.db")
    append_many(Outbox(writer, EDGE_ID), 5)
    writer.close()  # no outbox.close(): nothing says the store was closed cleanly
    writer = Writer(tmp_path / "crashed.db")
    box = Outbox(writer, EDGE_ID)
    yield box
    box.close()
    writer.close()


def test_a_restored_edge_resyncs_on_the_answer_to_its_probe_not_on_an_earlier_ack(
    crashed: Outbox, make_uplink: MakeUplink, make_central: MakeCentral
) -> None:
    """Central, still working through the dead run's batches, acknowledges them before it
    gets to the probe: taken for the answer, such an ack would number the new events into
    a range central is about to fill from the old stream."""
    assert crashed.restored_seq == 5
    append_many(crashed, 2)  # recorded after the restart: 6 and 7 until central answers
    central = make_central()
    make_uplink(box=crashed, ack_timeout_s=0.3)
    wait_until(lambda: len(central.probes) >= 2, what="a probe, and another on its timeout")
    assert len(set(central.probes)) == len(central.probes), "a new id for every probe"

    central.ack(3)  # a batch of the dead run
    central.ack(4, probe="not-this-edges-probe")
    central.probe_answer = 8  # central has 8: the edge's 6 and 7 must go to 9 and 10
    wait_until(lambda: crashed.restored_seq is None, what="the resync")

    assert (crashed.acked_seq, crashed.last_seq) == (8, 10)
    wait_until(lambda: central.events_received()[:2] == [9, 10], what="the renumbered events")
    assert rows(crashed) == [9, 10]
