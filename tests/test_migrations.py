"""Migrations: ordered, recorded, idempotent, safe from several processes, on both backends."""

from __future__ import annotations

import threading

import psycopg
import pytest

from fleetcare import db
from fleetcare.errors import MigrationError
from fleetcare.queries import beside

Q = beside(__file__)


def _schema_shape(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            Q.information_schema_columns_table_name
        ).fetchall()


def test_upgrade_applies_all_in_order_and_is_idempotent(empty_db_url: str) -> None:
    first = db.upgrade(empty_db_url, timescaledb="off")
    assert [m.version for m in first] == sorted(m.version for m in db.load_migrations())
    shape = _schema_shape(empty_db_url)
    assert db.upgrade(empty_db_url, timescaledb="off") == []
    assert _schema_shape(empty_db_url) == shape
    with psycopg.connect(empty_db_url) as conn:
        recorded = [r[0] for r in conn.execute(Q.schema_migrations_version)]
    assert recorded == [m.version for m in first]


def test_concurrent_upgrades_apply_each_migration_once(empty_db_url: str) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(len(db.upgrade(empty_db_url, timescaledb="off")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [0, 0, len(db.load_migrations())]


def test_changed_migration_is_refused(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(Q.update_schema_migrations)
    with pytest.raises(MigrationError, match="was changed after it was applied"):
        db.upgrade(db_url)


def test_hypertables_on_timescaledb_only(backend_db_url: str) -> None:
    with psycopg.connect(backend_db_url) as conn:
        has_ts = conn.execute(Q.value_fleetcare_has_timescaledb).fetchone()[0]
        if has_ts:
            names = {
                r[0]
                for r in conn.execute(
                    Q.timescaledb_information_hypertables_hypertable_name
                )
            }
            assert {"telemetry", "fault_codes"} <= names
        else:
            ext = conn.execute(Q.pg_extension_1)
            assert ext.fetchone() is None
