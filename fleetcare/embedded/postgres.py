"""The embedded PostgreSQL: initdb once, start on 127.0.0.1, reuse across processes, stop.

``embedded_postgres(data_dir)`` is the entry point; the cluster lives in
``data_dir/postgres`` with its log beside it. Which binaries run it is
``pg_binaries``' choice, and as root which user runs it is ``service_user``'s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from fleetcare.embedded.pg_binaries import choose_install
from fleetcare.embedded.processes import (
    flock,
    free_port,
    port_open,
    process_token,
    starter_exited,
    tail,
)
from fleetcare.embedded.service_user import RunAs, prepare_pgdata, server_user, usable_bindir
from fleetcare.errors import EmbeddedServiceError
from fleetcare.queries import load

log = logging.getLogger("fleetcare.embedded")
_ADMIN = load("fleetcare", "admin.sql")

DATABASE = "fleetcare"
# The cluster's superuser; the URL authenticates as it with a password made at initdb.
PG_SUPERUSER = "fleetcare"
PASSWORD_FILE = "fleetcare-password"  # inside the cluster dir, so it travels with it


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


def _initdb(pgdata: Path, bindir: Path, run_as: RunAs) -> None:
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
    pgdata: Path, bindir: Path, run_as: RunAs, port: int | None, log_file: Path, timeout: float
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
                if info and info.pid == proc.pid and info.status == "ready" and port_open(chosen):
                    return proc, info
                time.sleep(0.02)
        except BaseException:
            _stop_postmaster(proc)
            raise
        if proc.poll() is None:
            _stop_postmaster(proc)
            raise EmbeddedServiceError(
                f"PostgreSQL did not become ready in {timeout:.0f}s:\n{tail(log_file)}")
        if port is None and attempt < 2 and "could not bind" in tail(log_file, 10):
            continue  # someone took the free port in between: pick another
        raise EmbeddedServiceError(f"PostgreSQL exited with {proc.returncode}:\n"
                                   f"{tail(log_file)}")
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


def _url(info: _Postmaster, password: str | None, database: str) -> str:
    auth = PG_SUPERUSER + (f":{quote(password, safe='')}" if password else "")
    if info.host.startswith("/"):
        return f"postgresql://{auth}@/{database}?host={quote(info.host)}&port={info.port}"
    return f"postgresql://{auth}@{info.host}:{info.port}/{database}"


def _ensure_database(info: _Postmaster, password: str | None) -> None:
    with psycopg.connect(_url(info, password, "postgres"), autocommit=True,
                         connect_timeout=10) as conn:
        if conn.execute(_ADMIN.database_exists, (DATABASE,)).fetchone():
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(_ADMIN.create_database.format(name=sql.Identifier(DATABASE)))
            log.info("created database %s", DATABASE)


def started_here(data_dir: Path) -> bool:
    """True if this process started (and will stop) the embedded server of ``data_dir``."""
    starter = Path(data_dir).absolute() / ".postgres.starter"
    try:
        return starter.read_text().strip() == process_token(os.getpid())
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
    with flock(data_dir / ".postgres.lock"):
        try:
            run_as = server_user()
            pgdata = prepare_pgdata(data_dir, run_as)
            info = _running_postmaster(pgdata, timeout)
            if info is not None and starter_exited(starter_file):
                log.warning("adopting the PostgreSQL server (pid %d, port %d) whose starter has "
                            "exited; it stops when this block exits", info.pid, info.port)
                server = info.pid
            elif info is not None:
                log.info("reusing the PostgreSQL server already running for %s (pid %d, "
                         "port %d); its starter stops it", pgdata, info.pid, info.port)
            else:
                inst = choose_install(pgdata)
                bindir = usable_bindir(inst, run_as)
                if not (pgdata / "PG_VERSION").exists():
                    t_init = time.monotonic()
                    _initdb(pgdata, bindir, run_as)
                    log.info("initdb of %s took %.2fs", pgdata, time.monotonic() - t_init)
                server, info = _start_postmaster(pgdata, bindir, run_as, port, log_file, timeout)
                log.info("PostgreSQL %s (%s) started as user %s on 127.0.0.1:%d, pid %d",
                         inst.version, inst.source, run_as.name, info.port, info.pid)
            if server is not None:
                starter_file.write_text(process_token(os.getpid()) + "\n")
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
