"""Branch databases: a frozen warm-up database can be cloned whoever was still on it."""

from __future__ import annotations

import psycopg
from conftest import ADMIN_URL

from backtest.databases import Databases
from fleetcare.queries import beside

Q = beside(__file__)


def test_freeze_ends_lingering_sessions_so_clones_work() -> None:
    dbs = Databases(ADMIN_URL)
    try:
        url = dbs.create("warm")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(Q.create_t)
            conn.execute(Q.insert_t)
        # A session that stays, as TimescaleDB's job scheduler does on every database
        # with the extension: CREATE DATABASE ... TEMPLATE refuses a template in use.
        lingering = psycopg.connect(url, autocommit=True)
        dbs.freeze("warm")
        clone = dbs.create("branch", template="warm")
        with psycopg.connect(clone) as conn:
            assert conn.execute(Q.count_t).fetchone() == (2,)
        assert _ended(lingering)
        lingering.close()
    finally:
        dbs.drop_all()


def _ended(conn: psycopg.Connection) -> bool:
    try:
        conn.execute(Q.ping)
    except psycopg.OperationalError:
        return True
    return False
