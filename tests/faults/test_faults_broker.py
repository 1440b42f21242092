"""Broker security on the production config (deploy/mosquitto/) with the machine's
Mosquitto: per-gateway logins, a gateway writes only under its own id and reads
nothing, ingest may only subscribe, TLS with a CA made in the test, no anonymous access.
"""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from test_compose import _connect, production_broker  # noqa: F401 - fixture


def _client(user: str | None, password: str | None, ca: str | None = None) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}",
                    protocol=mqtt.MQTTv311)
    if user is not None:
        c.username_pw_set(user, password)
    if ca is not None:
        c.tls_set(ca_certs=ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return c


class Listener:
    """A connected client collecting what it receives on the filters it subscribed."""

    def __init__(self, port: int, user: str, password: str, filters: list[str],
                 ca: str | None = None) -> None:
        self.got: list[str] = []
        self.granted: list[Any] = []
        done = threading.Event()
        self.client = _client(user, password, ca)
        self.client.on_message = lambda _c, _u, m: self.got.append(m.topic)

        def on_subscribe(_c: Any, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
            self.granted = list(reasons)
            done.set()

        self.client.on_subscribe = on_subscribe
        assert _connect(self.client, port) == 0
        self.client.subscribe([(f, 1) for f in filters])
        assert done.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _publish(client: mqtt.Client, topic: str) -> None:
    client.publish(topic, b"{}", qos=1).wait_for_publish(5)


def test_gateway_reads_nothing_and_ingest_writes_nothing(production_broker) -> None:  # noqa: F811
    port, _health, users = production_broker
    ingest = Listener(port, "ingest", users["ingest"], ["fleet/v1/+/+"])
    # A gateway that subscribes to everything, to its own and to another's topics.
    spy = Listener(port, "M2", users["M2"], ["#", "fleet/v1/#", "fleet/v1/M2/#",
                                            "fleet/v1/M1/telemetry", "$SYS/#"])
    gateway = _client("M1", users["M1"])
    assert _connect(gateway, port) == 0
    ingest_pub = _client("ingest", users["ingest"])
    assert _connect(ingest_pub, port) == 0
    try:
        _publish(gateway, "fleet/v1/M1/telemetry")
        _publish(ingest_pub, "fleet/v1/M2/telemetry")  # ingest forging a gateway
        _publish(ingest_pub, "fleet/v1/M1/faults")
        _publish(spy.client, "fleet/v1/M2/telemetry")   # the spy's own topic: allowed
        deadline = time.monotonic() + 5
        while len(ingest.got) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        assert sorted(ingest.got) == ["fleet/v1/M1/telemetry", "fleet/v1/M2/telemetry"]
        assert spy.got == [], "a gateway received messages"
    finally:
        for c in (gateway, ingest_pub):
            c.disconnect()
            c.loop_stop()
        ingest.close()
        spy.close()


def test_tls_listener_with_a_test_ca(production_broker, tmp_path) -> None:  # noqa: F811
    from test_compose import make_test_ca

    port, _health, users = production_broker
    tls_port, ca = int(users["_tls_port"]), users["_ca"] + "/ca.crt"
    ingest = Listener(port, "ingest", users["ingest"], ["fleet/v1/+/+"])
    try:
        # A gateway over TLS, trusting the CA: publishes its own topic, refused another's.
        gw = _client("M1", users["M1"], ca)
        assert _connect(gw, tls_port) == 0
        _publish(gw, "fleet/v1/M1/telemetry")
        _publish(gw, "fleet/v1/M2/telemetry")
        deadline = time.monotonic() + 5
        while not ingest.got and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        assert ingest.got == ["fleet/v1/M1/telemetry"]
        gw.disconnect()
        gw.loop_stop()
        # Anonymous and wrong passwords are refused over TLS too.
        assert _connect(_client(None, None, ca), tls_port) != 0
        assert _connect(_client("M1", "wrong", ca), tls_port) != 0
    finally:
        ingest.close()
    # A client that does not trust the CA (another CA, a man in the middle's) fails the
    # handshake; plain MQTT on the TLS port gets no CONNACK.
    other = make_test_ca(tmp_path / "other")
    stranger = _client("M1", users["M1"], str(other / "ca.crt"))
    with pytest.raises(ssl.SSLError):
        stranger.connect("127.0.0.1", tls_port)
    plain = _client("M1", users["M1"])
    with pytest.raises((AssertionError, OSError)):
        _connect(plain, tls_port)
    plain.loop_stop()


def test_usernames_with_wildcards_gain_nothing(production_broker, tmp_path) -> None:  # noqa: F811
    """The ACL pattern substitutes the username: a login named '+' or '#' must not
    become a wildcard over every machine's topics (Mosquitto refuses such patterns)."""
    import shutil
    import subprocess

    port, _health, users = production_broker
    passwd = tmp_path / "passwd"
    assert passwd.exists()
    tool = shutil.which("mosquitto_passwd")
    assert tool is not None
    for name in ("+", "#", "M1/+"):
        subprocess.run([tool, "-b", str(passwd), name, "pw"], check=True, capture_output=True)
    # The broker rereads its password file on SIGHUP; our fixture's process is the only
    # mosquitto with this config file.
    out = subprocess.run(["pgrep", "-f", str(tmp_path / "m.conf")], capture_output=True,
                         text=True)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 1
    import os
    import signal

    os.kill(pids[0], signal.SIGHUP)
    time.sleep(0.5)
    ingest = Listener(port, "ingest", users["ingest"], ["fleet/v1/+/+", "fleet/v1/+/+/+"])
    try:
        for name in ("+", "#", "M1/+"):
            c = _client(name, "pw")
            if _connect(c, port) != 0:
                continue
            for t in ("fleet/v1/M1/telemetry", "fleet/v1/M2/faults", f"fleet/v1/{name}/x"):
                if "+" in t or "#" in t:
                    continue
                _publish(c, t)
            c.disconnect()
            c.loop_stop()
        time.sleep(0.5)
        assert ingest.got == []
    finally:
        ingest.close()
