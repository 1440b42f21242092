"""Publish messages over MQTT (paho-mqtt 2.x, QoS 1) with a bounded window of unacked ones.

A pool of connections shares the fleet; each machine always uses the same connection,
so its messages leave in order. paho's publish() does not raise when its queue is full
(it returns MQTT_ERR_QUEUE_SIZE past 65,535 outstanding QoS 1 messages), so every
result code is checked and the window keeps us far below that. publish() returns only
when the broker has acknowledged (PUBACK) every message.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fleetcare.errors import TransientError
from fleetcare.settings import mqtt_host_port
from gateways.uplink import Message

log = logging.getLogger("gateways.publisher")


class PublishError(TransientError):
    """The broker did not take or acknowledge every message."""


class Publisher:
    """A pool of paho clients publishing QoS 1 with at most `window` messages unacked."""

    def __init__(self, url: str, *, clients: int = 4, window: int = 2000,
                 username: str | None = None, password: str | None = None,
                 client_prefix: str = "fleetcare-sim") -> None:
        host, port = mqtt_host_port(url)
        self.window = threading.BoundedSemaphore(window)
        self._window_size = window
        self._lock = threading.Lock()
        self._unacked = 0
        self._failed: list[str] = []
        self.published = 0
        self.clients: list[mqtt.Client] = []
        run = uuid.uuid4().hex[:8]
        for k in range(clients):
            c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                            client_id=f"{client_prefix}-{run}-{k}", clean_session=True)
            if username:
                c.username_pw_set(username, password)
            c.max_inflight_messages_set(100)     # 20-100 is faster than a huge inflight
            c.max_queued_messages_set(0)         # our window bounds the queue instead
            c.on_publish = self._on_publish
            c.connect(host, port, keepalive=60)
            c.loop_start()
            self.clients.append(c)
        self._wait_connected()

    def _wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(c.is_connected() for c in self.clients):
            if time.monotonic() > deadline:
                self.close()
                raise PublishError("could not connect to the MQTT broker")
            time.sleep(0.01)

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason_code: object, properties: object) -> None:
        with self._lock:
            self._unacked -= 1
        self.window.release()

    def publish(self, messages: Iterable[Message], timeout: float = 120.0) -> int:
        """Publish in order, wait for every PUBACK; return the number published."""
        n_clients = len(self.clients)
        for m in messages:
            if not self.window.acquire(timeout=timeout):
                raise PublishError(f"no PUBACK for {timeout:.0f} s ({self._unacked} unacked)")
            with self._lock:
                self._unacked += 1
            client = self.clients[m.machine % n_clients]
            info = client.publish(m.topic, m.payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                # Not queued: give the slot back and stop, rather than lose it silently.
                with self._lock:
                    self._unacked -= 1
                self.window.release()
                raise PublishError(f"publish to {m.topic} failed: {mqtt.error_string(info.rc)}")
            self.published += 1
        self.flush(timeout)
        return self.published

    def flush(self, timeout: float = 120.0) -> None:
        """Block until every published message is acknowledged."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                left = self._unacked
            if left == 0:
                return
            if time.monotonic() > deadline:
                raise PublishError(f"{left} messages not acknowledged after {timeout:.0f} s")
            time.sleep(0.005)

    def close(self) -> None:
        for c in self.clients:
            c.disconnect()
            c.loop_stop()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def paced(messages: Iterable[Message], speed: float) -> Iterator[Message]:
    """Live mode: release each message when the accelerated clock reaches its upload time."""
    wall0: float | None = None
    sim0 = 0.0
    for m in messages:
        if wall0 is None:
            wall0, sim0 = time.monotonic(), m.publish_at
        due = wall0 + (m.publish_at - sim0) / speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield m
