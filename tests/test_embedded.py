"""The embedded PostgreSQL and MQTT brokers, with real processes (no mocks)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import psycopg
import pytest

from fleetcare import embedded
from fleetcare.embedded import (
    AmqttProcess,
    MosquittoProcess,
    embedded_broker,
    embedded_postgres,
    start_mosquitto,
)
from fleetcare.queries import beside

Q = beside(__file__)

REPO = Path(__file__).resolve().parents[1]
needs_mosquitto = pytest.mark.skipif(embedded.find_mosquitto() is None,
                                     reason="mosquitto is not installed")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data dir that PostgreSQL's service user can reach (pytest's tmp dirs are 0700)."""
    base = Path(tempfile.mkdtemp(prefix="fleetcare-test-"))
    base.chmod(0o755)
    yield base / "data"
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_template() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="fleetcare-test-"))
    base.chmod(0o755)
    with embedded_postgres(base / "data"):
        pass
    yield base / "data" / "postgres"
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_data_dir(data_dir: Path, pg_template: Path) -> Path:
    """A data dir with a cluster in it already: copying one is faster than initdb."""
    data_dir.mkdir(parents=True)
    shutil.copytree(pg_template, data_dir / "postgres", symlinks=True)
    return data_dir


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# ------------------------------------------------------------------------------ PostgreSQL


def test_postgres_starts_persists_and_stops(data_dir: Path) -> None:
    t0 = time.monotonic()
    with embedded_postgres(data_dir) as url:
        first_start = time.monotonic() - t0
        port = urlsplit(url).port
        assert url.startswith("postgresql://") and port
        with psycopg.connect(url) as conn:
            assert conn.execute(Q.ping).fetchone() == (1,)
            assert conn.execute(Q.current_database).fetchone() == ("fleetcare",)
            conn.execute(Q.create_table_machines)
            conn.execute(Q.insert_machines)
        pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        assert pid_alive(pid)
    assert not port_open(port)
    assert not pid_alive(pid)
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    t0 = time.monotonic()
    with embedded_postgres(data_dir) as url, psycopg.connect(url) as conn:
        second_start = time.monotonic() - t0
        assert conn.execute(Q.machines_id).fetchall() == [("EX-001",)]
    assert first_start < 15 and second_start < 10, (first_start, second_start)


def test_postgres_reuses_a_running_server_and_leaves_it_to_its_starter(pg_data_dir: Path) -> None:
    with embedded_postgres(pg_data_dir) as url, psycopg.connect(url, autocommit=True) as conn:
        with embedded_postgres(pg_data_dir) as url2:
            assert url2 == url
        # The second user must not have stopped the starter's server.
        assert conn.execute(Q.ping).fetchone() == (1,)
        port = urlsplit(url).port
    assert port and not port_open(port)


def test_postgres_stops_on_keyboard_interrupt(pg_data_dir: Path) -> None:
    with pytest.raises(KeyboardInterrupt), embedded_postgres(pg_data_dir) as url:
        port = urlsplit(url).port
        raise KeyboardInterrupt
    assert port and not port_open(port)


STARTER = """
import sys
from fleetcare.embedded import embedded_postgres
with embedded_postgres(sys.argv[1]) as url:
    print(url, flush=True)
    sys.stdin.read()  # run until the test closes stdin (or kills us)
"""


def start_in_other_process(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", STARTER, str(data_dir)], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_postgres_reuses_another_process_server(pg_data_dir: Path) -> None:
    other, url = start_in_other_process(pg_data_dir)
    try:
        with embedded_postgres(pg_data_dir) as url2, psycopg.connect(url2) as conn:
            assert url2 == url
            assert conn.execute(Q.ping).fetchone() == (1,)
        assert port_open(urlsplit(url).port or 0)  # we did not start it: we did not stop it
    finally:
        other.communicate("", timeout=30)
    assert not port_open(urlsplit(url).port or 0)


def test_postgres_adopts_a_server_whose_starter_was_killed(pg_data_dir: Path) -> None:
    other, url = start_in_other_process(pg_data_dir)
    other.kill()
    other.wait()
    assert port_open(urlsplit(url).port or 0)  # orphaned
    with embedded_postgres(pg_data_dir) as url2, psycopg.connect(url2) as conn:
        assert url2 == url
        assert conn.execute(Q.ping).fetchone() == (1,)
    assert not port_open(urlsplit(url).port or 0)


@pytest.mark.parametrize("stale_pid", ["dead", "reused"])
def test_postgres_recovers_from_a_stale_pid_file(pg_data_dir: Path, stale_pid: str) -> None:
    data_dir = pg_data_dir
    pgdata = (data_dir / "postgres").resolve()
    if stale_pid == "dead":
        proc = subprocess.Popen(["true"])
        proc.wait()
        pid = proc.pid
    else:
        pid = os.getpid()  # alive, but not a postmaster: postgres alone would refuse to start
    (pgdata / "postmaster.pid").write_text(
        f"{pid}\n{pgdata}\n{int(time.time())}\n5999\n\n127.0.0.1\n  0 0\nready   \n")
    with embedded_postgres(data_dir) as url, psycopg.connect(url) as conn:
        assert conn.execute(Q.ping).fetchone() == (1,)


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback is for root only")
def test_postgres_as_root_falls_back_when_the_data_dir_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)  # the service user cannot traverse this
    fallback = Path(tempfile.mkdtemp(prefix="fleetcare-fallback-"))
    fallback.chmod(0o755)
    monkeypatch.setattr(embedded.service_user, "FALLBACK_ROOT", fallback)
    try:
        for _ in range(2):
            with embedded_postgres(locked / "data") as url, psycopg.connect(url) as conn:
                conn.execute(Q.create_t)
                conn.execute(Q.insert_t)
                count = conn.execute(Q.count_t).fetchone()
        assert count == (2,)  # the second start found the first one's cluster
        link = locked / "data" / "postgres"
        assert link.is_symlink() and link.resolve().is_relative_to(fallback)
        owner = pwd.getpwuid(link.resolve().stat().st_uid).pw_name
        assert owner == embedded.SERVICE_USER or owner == "nobody"
    finally:
        shutil.rmtree(fallback, ignore_errors=True)


def _python_for_nobody(env: dict[str, str]) -> str | None:
    """An interpreter that user nobody can run with our venv's packages (CI may not have one)."""
    for exe in (sys.executable, "/usr/bin/python3"):
        try:
            probe = subprocess.run(
                [exe, "-c", "import sys, psycopg, fleetcare.embedded; print(sys.version_info[:2])"],
                user="nobody", extra_groups=[], env=env, cwd="/", capture_output=True, text=True,
            )
        except OSError:  # e.g. the venv's interpreter lives under /root
            continue
        if probe.returncode == 0 and probe.stdout.strip() == str(sys.version_info[:2]):
            return exe
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_postgres_as_a_normal_user(data_dir: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    data_dir.mkdir(parents=True)
    os.chown(data_dir, nobody.pw_uid, nobody.pw_gid)
    env = {"PATH": "/usr/bin:/bin",
           "PYTHONPATH": f"{REPO}:{sysconfig.get_paths()['purelib']}", "HOME": str(data_dir)}
    python = _python_for_nobody(env)
    if python is None:
        pytest.skip("no Python interpreter with this venv's packages that nobody can run")
    script = textwrap.dedent(f"""
        import psycopg
        from pathlib import Path
        from fleetcare.embedded import embedded_postgres
        from fleetcare.queries import load_path
        Q = load_path(Path({str(Q.where)!r}))
        for _ in range(2):
            with embedded_postgres({str(data_dir)!r}) as url, psycopg.connect(url) as conn:
                print(conn.execute(Q.current_database).fetchone()[0])
    """)
    out = subprocess.run([python, "-c", script], user="nobody", extra_groups=[], env=env,
                         cwd="/", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["fleetcare", "fleetcare"]
    assert (data_dir / "postgres").stat().st_uid == nobody.pw_uid


# ------------------------------------------------------------------------------ MQTT


class Subscriber:
    """A paho 2.x QoS 1 subscriber that collects payloads."""

    def __init__(self, url: str, topic: str, client_id: str = "", clean: bool = True) -> None:
        self.url, self.topic = url, topic
        self.received: list[bytes] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=clean, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda c, u, msg: self.received.append(bytes(msg.payload))

    def connect(self) -> Subscriber:
        self.subscribed.clear()
        self.client.connect("127.0.0.1", urlsplit(self.url).port or 1883)
        self.client.loop_start()
        assert self.subscribed.wait(10), "no SUBACK"
        return self

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, count: int, timeout: float = 30) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


def publish(url: str, topic: str, payloads: list[bytes]) -> None:
    """Publish at QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", urlsplit(url).port or 1883)
    client.loop_start()
    try:
        infos = [client.publish(topic, p, qos=1) for p in payloads]
        assert all(i.rc == mqtt.MQTT_ERR_SUCCESS for i in infos)
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


@needs_mosquitto
def test_embedded_broker_delivers_qos1(data_dir: Path) -> None:
    with embedded_broker(data_dir) as url:
        assert url.startswith("mqtt://127.0.0.1:")
        assert isinstance(url.broker, MosquittoProcess)
        sub = Subscriber(url, "fleet/v1/+/telemetry").connect()
        publish(url, "fleet/v1/EX-001/telemetry", [b'{"seq": 1}'])
        assert sub.wait_for(1, 10) == [b'{"seq": 1}']
        sub.disconnect()
        port = urlsplit(url).port
    assert port and not port_open(port)
    assert url.log_path.is_relative_to(data_dir) and "running" in url.log_path.read_text()
    assert (data_dir / "mosquitto" / "mosquitto.db").exists()  # saved on a clean stop


@needs_mosquitto
def test_embedded_broker_is_shared_by_processes_with_the_same_data_dir(data_dir: Path) -> None:
    with embedded_broker(data_dir) as url:
        with embedded_broker(data_dir) as url2:
            assert url2 == url and url2.broker is None  # reused, not ours to stop
            assert url2.log_path == url.log_path
        assert port_open(urlsplit(url).port or 0)
    assert not port_open(urlsplit(url).port or 0)

    # A starter that dies leaves its broker running; the next user adopts and stops it.
    code = ("import sys; from fleetcare.embedded import embedded_broker\n"
            "with embedded_broker(sys.argv[1]) as url:\n"
            "    print(url, flush=True); sys.stdin.read()")
    other = subprocess.Popen([sys.executable, "-c", code, str(data_dir)], cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None
    orphan_url = other.stdout.readline().strip()
    other.kill()
    other.wait()
    assert port_open(urlsplit(orphan_url).port or 0)
    with embedded_broker(data_dir) as url3:
        assert url3 == orphan_url
    assert not port_open(urlsplit(orphan_url).port or 0)


def _persistent_session_roundtrip(mq: MosquittoProcess, n: int, timeout: float) -> list[bytes]:
    """Queue n messages for an offline persistent session, restart the broker, collect them."""
    topic = "fleet/v1/EX-002/telemetry"
    sub = Subscriber(mq.url, topic, client_id="fc-ingest-test", clean=False).connect()
    sub.disconnect()
    publish(mq.url, topic, [str(i).encode() for i in range(n)])
    old_pid = mq.pid
    mq.restart()
    assert mq.pid != old_pid
    sub = Subscriber(mq.url, topic, client_id="fc-ingest-test", clean=False).connect()
    try:
        return sub.wait_for(n, timeout)
    finally:
        sub.disconnect()


@needs_mosquitto
def test_mosquitto_persistent_session_survives_restart_without_drops(tmp_path: Path) -> None:
    with start_mosquitto(data_dir=tmp_path / "mq") as mq:
        received = _persistent_session_roundtrip(mq, 5000, timeout=30)
        assert sorted(int(p) for p in received) == list(range(5000))
        assert not mq.dropped_messages()


@needs_mosquitto
def test_mosquitto_default_limits_would_drop(tmp_path: Path) -> None:
    """The control: without our max_queued_messages the same test loses messages."""
    template = tmp_path / "defaults.conf"
    template.write_text("\n".join(
        line for line in embedded.MOSQUITTO_TEMPLATE.read_text().splitlines()
        if not line.startswith(("max_queued_messages", "max_inflight_messages"))))
    with MosquittoProcess(data_dir=tmp_path / "mq", template=template) as mq:
        received = _persistent_session_roundtrip(mq, 5000, timeout=2)
        assert len(received) < 5000, "the control delivered everything: the test proves nothing"
        assert mq.dropped_messages()


@needs_mosquitto
def test_mosquitto_kill_and_restart_on_the_same_port() -> None:
    with start_mosquitto() as mq:
        url, data_dir = mq.url, mq.data_dir
        mq.kill()
        assert not mq.is_running() and not port_open(mq.port)
        mq.restart()
        assert mq.url == url and port_open(mq.port)
        sub = Subscriber(mq.url, "t").connect()
        publish(mq.url, "t", [b"x"])
        assert sub.wait_for(1, 10) == [b"x"]
        sub.disconnect()
    assert not data_dir.exists()  # start_mosquitto() made a temp dir; close() removed it


def test_amqtt_fallback_delivers_qos1_and_queues_for_offline_sessions(data_dir: Path) -> None:
    with embedded_broker(data_dir, prefer="amqtt") as url:
        assert isinstance(url.broker, AmqttProcess)
        sub = Subscriber(url, "fleet/v1/+/faults").connect()
        publish(url, "fleet/v1/EX-003/faults", [b"a", b"b", b"c"])
        assert sorted(sub.wait_for(3, 15)) == [b"a", b"b", b"c"]
        sub.disconnect()
        # A persistent session gets what was published while it was away (no restart:
        # amqtt keeps sessions in memory only).
        topic = "fleet/v1/EX-004/telemetry"
        Subscriber(url, topic, client_id="fc-amqtt", clean=False).connect().disconnect()
        publish(url, topic, [str(i).encode() for i in range(1000)])
        sub = Subscriber(url, topic, client_id="fc-amqtt", clean=False).connect()
        assert sorted(int(p) for p in sub.wait_for(1000, 30)) == list(range(1000))
        sub.disconnect()
        port = urlsplit(url).port
    assert port and not port_open(port)
    assert url.log_path.exists()
