"""Shared fixtures: real PostgreSQL (with and without TimescaleDB) and a real Mosquitto.

Each test gets its own database cloned from a migrated template (CREATE DATABASE ...
TEMPLATE), so tests are isolated and migrations run once per schema version.
Set FLEETCARE_TEST_DATABASE_URL to point at another server (default: the local one).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from fleetcare import db
from fleetcare.queries import beside, load

ADMIN = load("fleetcare", "admin.sql")
Q = beside(__file__)

ADMIN_URL = os.environ.get(
    "FLEETCARE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# In CI a missing TimescaleDB is a failure, not a skip.
REQUIRE_TIMESCALEDB = os.environ.get("FLEETCARE_REQUIRE_TIMESCALEDB") == "1"


def url_for(database: str) -> str:
    """The admin URL with another database name."""
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(parts._replace(path="/" + database))


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.exit(f"test database server not reachable at {ADMIN_URL}: {exc}", returncode=3)


def timescaledb_available() -> bool:
    with _admin() as conn:
        row = conn.execute(Q.timescaledb_installed).fetchone()
        preload = conn.execute(Q.preload_libraries).fetchone()
    return bool(row) and "timescaledb" in (preload[0] if preload else "")


def _migrations_hash() -> str:
    digest = hashlib.sha256()
    for m in db.load_migrations():
        digest.update(f"{m.version}:{m.checksum}".encode())
    return digest.hexdigest()[:10]


_templates: dict[str, str] = {}


def template_for(backend: str) -> str:
    """Name of a migrated template database for 'timescaledb' or 'postgres' (made once)."""
    if backend in _templates:
        return _templates[backend]
    name = f"fctmpl_{'ts' if backend == 'timescaledb' else 'pg'}_{_migrations_hash()}"
    with _admin() as conn:
        exists = conn.execute(ADMIN.database_exists, (name,)).fetchone()
        if not exists:
            build = name + "_build"
            conn.execute(ADMIN.drop_database.format(name=sql.Identifier(build)))
            conn.execute(ADMIN.create_database.format(name=sql.Identifier(build)))
            db.upgrade(url_for(build), timescaledb="auto" if backend == "timescaledb" else "off")
            conn.execute(ADMIN.rename_database.format(name=sql.Identifier(build),
                                                      new_name=sql.Identifier(name)))
        # TimescaleDB's background workers connect to every database with the extension;
        # a template nobody may connect to can always be cloned.
        conn.execute(ADMIN.make_template.format(name=sql.Identifier(name)))
    _templates[backend] = name
    return name


def _fresh_database(backend: str) -> Iterator[str]:
    template = template_for(backend)
    name = f"fct_{uuid.uuid4().hex[:12]}"
    for attempt in range(20):
        try:
            with _admin() as conn:
                conn.execute(ADMIN.clone_database.format(
                    name=sql.Identifier(name), template=sql.Identifier(template),
                    strategy=sql.SQL("")))
            break
        except psycopg.errors.ObjectInUse:
            # Another test process is cloning the same template right now.
            if attempt == 19:
                raise
            time.sleep(0.25)
    try:
        yield url_for(name)
    finally:
        with _admin() as conn:
            conn.execute(ADMIN.drop_database.format(name=sql.Identifier(name)))


def _check_backend(backend: str) -> None:
    if backend == "timescaledb" and not timescaledb_available():
        if REQUIRE_TIMESCALEDB:
            pytest.fail("TimescaleDB is required (FLEETCARE_REQUIRE_TIMESCALEDB=1) but not loaded")
        pytest.skip("TimescaleDB not installed/preloaded on the test server")


@pytest.fixture(params=["timescaledb", "postgres"])
def backend_db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh migrated database, once on TimescaleDB and once on plain PostgreSQL."""
    _check_backend(request.param)
    yield from _fresh_database(request.param)


@pytest.fixture
def db_url() -> Iterator[str]:
    """A fresh migrated database on TimescaleDB when available, else plain PostgreSQL."""
    backend = "timescaledb" if (REQUIRE_TIMESCALEDB or timescaledb_available()) else "postgres"
    _check_backend(backend)
    yield from _fresh_database(backend)


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    name = f"fct_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(ADMIN.create_database.format(name=sql.Identifier(name)))
    try:
        yield url_for(name)
    finally:
        with _admin() as conn:
            conn.execute(ADMIN.drop_database.format(name=sql.Identifier(name)))
