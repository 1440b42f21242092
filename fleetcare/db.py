"""Database access: connections and the forward-only schema migrations."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from fleetcare.errors import MigrationError, TransientError
from fleetcare.queries import load

log = logging.getLogger("fleetcare.db")

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same in every Fleetcare process.
_MIGRATION_LOCK = 0x0F1EE7CA
_Q = load("fleetcare", "db.sql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def connect(url: str, *, autocommit: bool = False, timescaledb: str = "auto") -> psycopg.Connection:
    """Open a psycopg connection, turning 'server not there' into a transient error."""
    try:
        conn = psycopg.connect(
            url,
            autocommit=autocommit,
            application_name="fleetcare",
            # Custom plans always: our statements' best plans depend on their values (time
            # bounds that exclude hypertable chunks, the changed machine-days), and the
            # generic plan PostgreSQL may switch to after a prepared statement's fifth run
            # turned the nightly rollup insert from about 1 s into minutes (measured on a
            # 1,000-machine backtest, the eleventh run on one connection).
            options=f"-c fleetcare.timescaledb={timescaledb} -c plan_cache_mode=force_custom_plan",
        )
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise TransientError(f"cannot connect to the database: {first}") from exc
    return conn


@dataclass(frozen=True)
class Track:
    """A sequence of migrations with its own version table.

    The main track is the product's schema. The simulator's truth (gateways/migrations)
    is a track of its own, so a production database never gets it and the evaluation
    databases get it from versioned migrations all the same.
    """

    packages: tuple[str, ...]
    schema: str | None = None   # where the version table lives (None: the search path)

    @property
    def table(self) -> sql.Identifier:
        return sql.Identifier(*(s for s in (self.schema, "schema_migrations") if s))

    @property
    def regclass(self) -> str:
        return f"{self.schema}.schema_migrations" if self.schema else "schema_migrations"


MAIN = Track(("fleetcare.migrations", "features.migrations", "models.migrations",
              "scheduler.migrations", "ingest.migrations"))
TRUTH = Track(("gateways.migrations",), schema="truth")


def load_migrations(track: Track = MAIN) -> list[Migration]:
    """The migrations of a track: for the main one those shipped in fleetcare/migrations
    and in each stage's migrations/ folder.

    Versions are global across folders, so stages can add tables in their own rooms.
    """
    found: dict[int, Migration] = {}
    for package in track.packages:
        try:
            folder = resources.files(package)
        except ModuleNotFoundError:
            continue
        for entry in folder.iterdir():
            match = _MIGRATION_NAME.match(entry.name)
            if not match:
                continue
            version = int(match.group(1))
            if version in found:
                raise MigrationError(
                    f"two migrations share version {version:04d}: "
                    f"{found[version].name} and {match.group(2)}"
                )
            found[version] = Migration(version, match.group(2), entry.read_text("utf-8"))
    return [found[v] for v in sorted(found)]


def upgrade(url: str, *, timescaledb: str = "auto", track: Track = MAIN) -> list[Migration]:
    """Apply pending migrations in order, each in its own transaction; return those applied.

    Safe to run twice and from several processes at once: an advisory lock serialises
    upgraders, and a changed checksum of an applied migration is refused.
    """
    with connect(url, autocommit=True, timescaledb=timescaledb) as conn:
        return apply(conn, track)


def apply(conn: psycopg.Connection, track: Track = MAIN) -> list[Migration]:
    """`upgrade` on an open connection. On one without autocommit every migration is a
    savepoint and the caller's commit makes them permanent (the simulator's truth track)."""
    migrations = load_migrations(track)
    applied_now: list[Migration] = []
    conn.execute(_Q.lock, (_MIGRATION_LOCK,))
    try:
        # Only when missing: services that log in as a role without CREATE (0900)
        # also run this at start, and with nothing pending they only read.
        exists = conn.execute(_Q.version_table_exists, (track.regclass,)).fetchone()
        if not (exists and exists[0]):
            if track.schema:
                conn.execute(_Q.create_schema.format(schema=sql.Identifier(track.schema)))
            conn.execute(_Q.create_version_table.format(table=track.table))
        done = {row[0]: row[1]
                for row in conn.execute(_Q.applied_checksums.format(table=track.table))}
        for migration in migrations:
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} was changed "
                        "after it was applied; add a new migration instead"
                    )
                continue
            log.info("applying migration %04d_%s", migration.version, migration.name)
            try:
                with conn.transaction():
                    conn.execute(migration.sql)  # type: ignore[arg-type]
                    conn.execute(_Q.record_migration.format(table=track.table),
                                 (migration.version, migration.name, migration.checksum))
            except psycopg.Error as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} failed: "
                    f"{str(exc).strip().splitlines()[0]}"
                ) from exc
            applied_now.append(migration)
    finally:
        conn.execute(_Q.unlock, (_MIGRATION_LOCK,))
    return applied_now


def status(url: str) -> dict[str, Any]:
    """What the database holds: backend, applied migrations, pending ones."""
    with connect(url) as conn:
        version = conn.execute(_Q.server_version).fetchone()[0]  # type: ignore[index]
        tsdb = conn.execute(_Q.timescaledb_version).fetchone()
        exists = conn.execute(_Q.version_table_exists, (MAIN.regclass,)).fetchone()
        applied = (
            [r[0] for r in conn.execute(_Q.applied_versions.format(table=MAIN.table))]
            if exists and exists[0]
            else []
        )
    pending = [m.version for m in load_migrations() if m.version not in applied]
    return {
        "postgresql": version,
        "timescaledb": tsdb[0] if tsdb else None,
        "applied": applied,
        "pending": pending,
    }
