"""A private PostgreSQL cluster for the fault tests that restart or crash the server.

The machine's PostgreSQL on :5432 is shared and must never be restarted; these tests
initdb their own cluster in a temp dir on a free port (TimescaleDB preloaded when the
library is installed) and stop, crash and start that one. As root the server runs as
the ``postgres`` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from fleetcare.embedded import free_port
from fleetcare.queries import load

PG_BIN = Path(os.environ.get("FLEETCARE_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _pg_bin() -> Path | None:
    if (PG_BIN / "initdb").exists():
        return PG_BIN
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    return Path(found).parent if found else None


class PrivateCluster:
    """initdb + pg_ctl in a temp dir; ``restart(mode)`` with mode fast or immediate."""

    def __init__(self) -> None:
        bin_dir = _pg_bin()
        if bin_dir is None:
            raise FileNotFoundError("initdb not found (set FLEETCARE_PG_BIN)")
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="fc-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        lib = Path(subprocess.run([str(self.bin / "pg_config"), "--pkglibdir"],
                                  capture_output=True, text=True).stdout.strip() or "/nonexistent")
        preload = "timescaledb" if any(lib.glob("timescaledb*.so")) else ""
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                       f"shared_preload_libraries = '{preload}'\n"
                       "timescaledb.telemetry_level = off\nmax_connections = 50\n")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> PrivateCluster:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w",
                  "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast", down_s: float = 0.0) -> None:
        """Stop (fast: clean; immediate: like a crash, recovery from WAL), wait, start."""
        self.stop(mode)
        time.sleep(down_s)
        self.start()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(load("fleetcare", "admin.sql").create_database.format(
                name=sql.Identifier(name)))
        return self.url(name)

    def close(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
