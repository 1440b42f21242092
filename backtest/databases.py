"""Branch databases: one per policy and replication, cloned from the warm-up database.

Every stage (ingest, features, models, scheduler) reads and writes unqualified tables,
so a database per branch isolates branches without touching their code. The warm-up
history is written once and each branch starts as `CREATE DATABASE ... TEMPLATE` of
it, a file copy instead of a re-ingest. The databases live on the server of the
configured (or embedded) URL and are dropped when the run ends.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from fleetcare.queries import load

log = logging.getLogger("fleetcare.backtest.databases")
_ADMIN = load("fleetcare", "admin.sql")

_SAFE = re.compile(r"[^a-z0-9_]")
CLONE_ATTEMPTS = 8


def with_dbname(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)  # type: ignore[arg-type]


def _admin(url: str) -> psycopg.Connection:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    return psycopg.connect(url, autocommit=True, application_name="fleetcare-backtest")


def _server_version(conn: psycopg.Connection) -> int:
    return int(conn.info.server_version)


class Databases:
    """Names and lifecycle of one run's databases (prefix `<base db>_bt_<run id>_`)."""

    def __init__(self, base_url: str, run_id: str | None = None, *, keep: bool = False) -> None:
        self.base_url = base_url
        base = conninfo_to_dict(base_url).get("dbname") or "postgres"
        self.run_id = run_id or secrets.token_hex(3)
        self.prefix = _SAFE.sub("_", f"{base}_bt_{self.run_id}_".lower())[:40]
        self.keep = keep
        self.created: list[str] = []

    def name(self, label: str) -> str:
        return self.prefix + _SAFE.sub("_", label.lower())

    def url(self, label: str) -> str:
        return with_dbname(self.base_url, self.name(label))

    def create(self, label: str, template: str | None = None) -> str:
        """Create database `label` (empty, or a copy of database `template`); its URL."""
        name = self.name(label)
        with _admin(self.base_url) as conn:
            conn.execute(_ADMIN.drop_database.format(name=sql.Identifier(name)))
            if template is None:
                conn.execute(_ADMIN.create_database.format(name=sql.Identifier(name)))
            else:
                # FILE_COPY (PostgreSQL >= 15) copies the template's files after one
                # checkpoint; the default WAL_LOG writes every page through the WAL,
                # several times slower for a warm-up history of hundreds of MB.
                strategy = (sql.SQL(" STRATEGY = FILE_COPY")
                            if _server_version(conn) >= 150000 else sql.SQL(""))
                statement = _ADMIN.clone_database.format(
                    name=sql.Identifier(name), template=sql.Identifier(self.name(template)),
                    strategy=strategy)
                for attempt in range(CLONE_ATTEMPTS):
                    try:
                        conn.execute(statement)
                        break
                    except psycopg.errors.ObjectInUse:
                        # Someone else's session on the template (a monitoring tool, a
                        # clone another process started): it usually goes within seconds.
                        if attempt == CLONE_ATTEMPTS - 1:
                            raise
                        time.sleep(0.5 * (attempt + 1))
        self.created.append(name)
        return with_dbname(self.base_url, name)

    def freeze(self, label: str) -> None:
        """Refuse new connections to database `label`: it is a template from now on.

        Sessions still on it are ended: TimescaleDB's job scheduler stays connected to
        every database with the extension (and a template with a session cannot be
        cloned); with connections refused, its launcher does not come back.
        """
        name = self.name(label)
        with _admin(self.base_url) as conn:
            conn.execute(_ADMIN.refuse_connections.format(name=sql.Identifier(name)))
            conn.execute(_ADMIN.end_sessions, (name,))

    def drop_all(self) -> None:
        if self.keep:
            log.info("keeping backtest databases: %s", ", ".join(self.created))
            return
        with _admin(self.base_url) as conn:
            for name in reversed(self.created):
                conn.execute(_ADMIN.drop_database.format(name=sql.Identifier(name)))
        self.created.clear()


@contextmanager
def run_databases(base_url: str, *, keep: bool = False) -> Iterator[Databases]:
    """The run's databases, dropped on exit (also on errors and Ctrl-C) unless `keep`."""
    dbs = Databases(base_url, keep=keep)
    try:
        yield dbs
    finally:
        try:
            dbs.drop_all()
        except psycopg.Error as exc:  # never hide the run's own error behind cleanup
            log.warning("could not drop backtest databases %s: %s", dbs.created, exc)
