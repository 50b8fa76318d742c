"""Internal: the counting subscriber of the bench's raw MQTT transport ceiling.

    python -m floorsync.bench.subscriber_worker --broker URL --topic T --count N

Subscribes at QoS 1, prints ``{"type": "ready"}`` once subscribed, and when it has
received ``count`` messages (or ``--timeout`` passed) prints the wall times of the
first and last message it received. Exits when its stdin closes.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt

from floorsync.bench.common import emit, exit_when_parent_goes
from protocols.mqtt import BrokerUrl, make_client


def cpu() -> float:
    times = os.times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m floorsync.bench.subscriber_worker")
    p.add_argument("--broker", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout", type=float, default=600.0)
    args = p.parse_args(argv)
    exit_when_parent_goes()

    received = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal received, first, last
        last = time.time()
        if not received:
            first = last
        received += 1
        if received >= args.count:
            done.set()

    def on_subscribe(*_: object) -> None:
        emit("ready", cpu=cpu())

    def on_connect(client: mqtt.Client, *_: object) -> None:
        client.subscribe(args.topic, qos=1)

    client = make_client(BrokerUrl.parse(args.broker), f"bench-sub-{time.monotonic_ns()}")
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(BrokerUrl.parse(args.broker).host, BrokerUrl.parse(args.broker).port, 30)
    client.loop_start()
    complete = done.wait(args.timeout)
    emit("result", received=received, first=first, last=last, complete=complete, cpu=cpu())
    client.loop_stop()
    client.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
