"""Publishing through a real Mosquitto (the project's no-drop config) delivers every message."""

from __future__ import annotations

import threading
import time
from datetime import date

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateways.publisher import Publisher
from gateways.run import SimulationRun

embedded = pytest.importorskip("fleetcare.embedded")


def test_every_message_arrives() -> None:
    if embedded.find_mosquitto() is None:
        pytest.skip("mosquitto not installed")
    run = SimulationRun(30, 20, 8, date(2025, 4, 1))
    messages = list(run.messages())
    sent: dict[tuple[str, bytes], int] = {}
    for m in messages:
        sent[(m.topic, m.payload)] = sent.get((m.topic, m.payload), 0) + 1
    with embedded.start_mosquitto() as broker:
        got: dict[tuple[str, bytes], int] = {}
        lock = threading.Lock()
        connected = threading.Event()

        def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
            with lock:
                key = (msg.topic, msg.payload)
                got[key] = got.get(key, 0) + 1

        sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                          client_id="sim-test-sub")
        sub.on_message = on_message
        sub.on_connect = lambda c, u, f, rc, p: (c.subscribe("fleet/v1/#", qos=1),
                                                 connected.set())
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        assert connected.wait(10)
        time.sleep(0.3)
        with Publisher(broker.url, clients=3, window=500) as pub:
            assert pub.publish(messages) == len(messages)
        deadline = time.monotonic() + 30
        while sum(got.values()) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.05)
        sub.loop_stop()
        sub.disconnect()
        assert not broker.dropped_messages()
    assert sum(got.values()) == len(messages)
    assert got == sent
