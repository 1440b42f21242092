"""The embedded MQTT broker: Mosquitto with the project's no-drop config, or amqtt.

``embedded_broker(data_dir)`` is the entry point, shared by the fleetcare processes that
use the same data dir like ``embedded_postgres``; ``start_mosquitto`` and
``start_broker`` give a private broker (tests, benchmarks). amqtt runs from
``fleetcare.embedded.amqtt_runner`` in a child process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Self

from fleetcare.embedded.processes import (
    flock,
    free_port,
    port_open,
    process_token,
    starter_exited,
    tail,
)
from fleetcare.errors import EmbeddedServiceError

log = logging.getLogger("fleetcare.embedded")

MOSQUITTO_TEMPLATE = (
    Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "fleetcare-embedded.conf"
)
# Mosquitto's only trace of a QoS 1 message it threw away.
DROPPED_MESSAGES_LINE = "Outgoing messages are being dropped"
# The child process that runs amqtt, and its auth plugin by the dotted path amqtt imports
# (named here, not imported: the parent process never loads amqtt).
AMQTT_RUNNER = "fleetcare.embedded.amqtt_runner"
AMQTT_ACCEPT_ALL = f"{AMQTT_RUNNER}.AcceptAll"


class BrokerProcess:
    """An MQTT broker in a child process on 127.0.0.1:port, with its files in data_dir.

    ``stop()`` leaves the files (log, persistence) so the broker can be restarted on the
    same port with its persistent sessions; ``close()`` (or leaving ``with``) also removes
    the data dir if this object made it.
    """

    kind = "broker"
    stop_signal = signal.SIGTERM

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        self._own_dir = data_dir is None
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix=f"fleetcare-{self.kind}-"))
        self.data_dir = Path(data_dir).absolute()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._port_given = port is not None
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.kind}.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 15.0) -> Self:
        """Start the broker and wait until its port accepts connections."""
        if self.is_running():
            return self
        for attempt in range(3):
            t0 = time.monotonic()
            if port_open(self.port):  # someone else's listener would look like ours
                if self._port_given:
                    raise EmbeddedServiceError(f"port {self.port} is already in use")
                self.port = free_port()
            cmd = self._command()
            with open(self.log_path, "ab") as out:
                self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + timeout
            while self._proc.poll() is None and time.monotonic() < deadline:
                if port_open(self.port):
                    log.info("%s started on %s in %.2fs (pid %d, log %s)", self.kind, self.url,
                             time.monotonic() - t0, self._proc.pid, self.log_path)
                    return self
                time.sleep(0.02)
            self.kill()
            if self._port_given or attempt == 2:
                raise EmbeddedServiceError(
                    f"{self.kind} did not start on port {self.port}:\n{tail(self.log_path)}")
            self.port = free_port()  # probably lost a race for the port: try another
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop cleanly (Mosquitto saves its persistence file); SIGKILL if it hangs."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(self.stop_signal)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s pid %d ignored %s; killing it", self.kind, self._proc.pid,
                        self.stop_signal.name)
            self.kill()

    def kill(self) -> None:
        """SIGKILL, for fault tests: state since the last autosave is lost."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def restart(self, timeout: float = 15.0) -> Self:
        """Stop (if running) and start again on the same port with the same data dir."""
        self.stop()
        self._port_given = True  # clients reconnect to the same URL
        return self.start(timeout)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def dropped_messages(self) -> bool:
        """Whether the broker logged that it dropped messages (Mosquitto's only trace)."""
        return DROPPED_MESSAGES_LINE in self.log_text()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<{type(self).__name__} {self.url} {state} data_dir={self.data_dir}>"


def find_mosquitto() -> str | None:
    """The mosquitto binary: on PATH, or in /usr/sbin (not on a normal user's PATH)."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


class MosquittoProcess(BrokerProcess):
    """Mosquitto with the project config: persistence under data_dir/mosquitto, no drops.

    It runs as the calling user, root included (Mosquitto allows it; it only listens on
    loopback), so that it can always write its persistence dir and log in data_dir.
    """

    kind = "mosquitto"

    def __init__(self, port: int | None = None, data_dir: Path | None = None, *,
                 binary: str | None = None, template: Path = MOSQUITTO_TEMPLATE) -> None:
        binary = binary or find_mosquitto()
        if binary is None:
            raise EmbeddedServiceError("mosquitto not found (apt-get install mosquitto)")
        self.binary = binary
        self.template = template
        super().__init__(port, data_dir)

    @property
    def config_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    @property
    def persistence_dir(self) -> Path:
        return self.data_dir / "mosquitto"

    def _command(self) -> list[str]:
        self.persistence_dir.mkdir(parents=True, exist_ok=True)
        if not self.template.is_file():  # deploy/ ships with the source tree, not the wheel
            raise EmbeddedServiceError(f"Mosquitto config template missing: {self.template}")
        config = string.Template(self.template.read_text()).substitute(
            port=self.port, persistence_dir=self.persistence_dir, log_file=self.log_path,
            user=pwd.getpwuid(os.geteuid()).pw_name,
        )
        self.config_path.write_text(config)
        return [self.binary, "-c", str(self.config_path)]


class AmqttProcess(BrokerProcess):
    """amqtt (pure Python) in a child process, for machines without Mosquitto.

    Persistent sessions queue QoS 1 messages while their client is offline, without a
    limit (nothing is dropped; memory grows instead). But sessions live in memory only:
    ``restart()`` or ``kill()`` loses them and their queued messages (amqtt's
    SessionDBPlugin needs SQLAlchemy and does not store queued messages). No inflight
    limit to configure. 3-8x slower than Mosquitto.
    """

    kind = "amqtt"

    def _command(self) -> list[str]:
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "session_expiry_interval": 14 * 24 * 3600,
            "plugins": {AMQTT_ACCEPT_ALL: {}},
        }
        path = self.data_dir / "amqtt.json"
        path.write_text(json.dumps(config, indent=2))
        return [sys.executable, "-m", AMQTT_RUNNER, str(path)]


def start_mosquitto(port: int | None = None, data_dir: Path | None = None) -> MosquittoProcess:
    """Start Mosquitto with the project config on ``port`` (default: a free one).

    For ingest tests and benchmarks, which must not use the machine's broker on 1883
    (Debian's default config drops messages). ``data_dir`` defaults to a temp dir that
    ``close()`` removes. Use as ``with start_mosquitto() as mq: ...``.
    """
    return MosquittoProcess(port, data_dir).start()


def start_broker(port: int | None = None, data_dir: Path | None = None, *,
                 prefer: Literal["mosquitto", "amqtt"] | None = None) -> BrokerProcess:
    """Start Mosquitto if it is installed (or ``prefer="amqtt"``), else amqtt."""
    if prefer != "amqtt" and find_mosquitto():
        return MosquittoProcess(port, data_dir).start()
    if prefer == "mosquitto":
        raise EmbeddedServiceError("mosquitto not found (apt-get install mosquitto)")
    return AmqttProcess(port, data_dir).start()


class BrokerURL(str):
    """``mqtt://127.0.0.1:PORT`` that also carries its log path and, if this process
    started the broker, the ``BrokerProcess`` (``.broker``; None when reused)."""

    broker: BrokerProcess | None
    log_path: Path

    def __new__(cls, url: str, log_path: Path, broker: BrokerProcess | None = None) -> BrokerURL:
        obj = super().__new__(cls, url)
        obj.log_path, obj.broker = log_path, broker
        return obj


def _running_broker(state_file: Path) -> dict[str, Any] | None:
    """The broker recorded in state_file if it still runs (same process, port open)."""
    try:
        state: dict[str, Any] = json.loads(state_file.read_text())
        alive = process_token(int(state["pid"])) == state["pid_token"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if alive and port_open(int(state["port"])) else None


@contextmanager
def embedded_broker(
    data_dir: Path, *, port: int | None = None,
    prefer: Literal["mosquitto", "amqtt"] | None = None,
) -> Iterator[BrokerURL]:
    """Run an MQTT broker on 127.0.0.1 for the block; yield its URL (a str).

    Mosquitto with the project's no-drop config when installed, else amqtt; its files
    (config, persistence, log) go in ``data_dir``. Like ``embedded_postgres``, a broker
    that another fleetcare process started for this data dir is reused (so that, e.g.,
    a simulator and an ingest started separately meet on one broker, and two Mosquittos
    never share a persistence file), and only its starter stops it, unless that starter
    died. The URL's ``.log_path`` is the broker log (grep it for DROPPED_MESSAGES_LINE).
    """
    data_dir = Path(data_dir).absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    state_file = data_dir / ".broker.json"
    broker: BrokerProcess | None = None
    orphan: int | None = None  # a broker whose starter died: we stop it at the end
    with flock(data_dir / ".broker.lock"):
        state = _running_broker(state_file)
        if state is None:
            broker = start_broker(port, data_dir, prefer=prefer)
            assert broker.pid is not None
            state = {"kind": broker.kind, "port": broker.port, "pid": broker.pid,
                     "pid_token": process_token(broker.pid), "log_path": str(broker.log_path)}
        elif starter_exited(data_dir / ".broker.starter"):
            orphan = int(state["pid"])
            log.warning("adopting the %s on port %s whose starter has exited; it stops when "
                        "this block exits", state["kind"], state["port"])
        else:
            log.info("reusing the %s already running on port %s for %s; its starter stops it",
                     state["kind"], state["port"], data_dir)
        if broker is not None or orphan is not None:
            state_file.write_text(json.dumps(state))
            (data_dir / ".broker.starter").write_text(process_token(os.getpid()) + "\n")
    try:
        yield BrokerURL(f"mqtt://127.0.0.1:{state['port']}", Path(state["log_path"]), broker)
    finally:
        if broker is not None:
            broker.stop()
        elif orphan is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(orphan, signal.SIGTERM)  # both brokers shut down cleanly on SIGTERM
            deadline = time.monotonic() + 10
            while port_open(int(state["port"])) and time.monotonic() < deadline:
                time.sleep(0.02)
        if broker is not None or orphan is not None:
            state_file.unlink(missing_ok=True)
            (data_dir / ".broker.starter").unlink(missing_ok=True)
