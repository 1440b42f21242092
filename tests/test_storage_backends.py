"""The same inserts and queries give the same results on TimescaleDB and plain PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from fleetcare.queries import beside

Q = beside(__file__)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

MASTER = Q.insert_regions


def _insert_readings(conn: psycopg.Connection, rows: list[tuple[int, datetime, float]]) -> int:
    cur = conn.cursor()
    cur.executemany(
        Q.insert_telemetry,
        [(seq, ts, ts, hours) for seq, ts, hours in rows],
        returning=False,
    )
    return conn.execute(Q.count_telemetry).fetchone()[0]  # type: ignore[index]


def test_same_results_on_both_backends(backend_db_url: str) -> None:
    with psycopg.connect(backend_db_url) as conn:
        conn.execute(MASTER)
        # Out of order and with an exact resend of seq 2: stored once, read back in time order.
        rows = [(3, T0 + timedelta(hours=2), 1002.0), (1, T0, 1000.0),
                (2, T0 + timedelta(hours=1), 1001.0), (2, T0 + timedelta(hours=1), 1001.0)]
        assert _insert_readings(conn, rows) == 3
        ordered = conn.execute(
            Q.telemetry_seq
        ).fetchall()
        assert ordered == [(1, 1000.0), (2, 1001.0), (3, 1002.0)]
        daily = conn.execute(
            Q.telemetry_date_trunc_day
        ).fetchall()
        assert [(str(d), h, n) for d, h, n in daily] == [("2025-03-01", 2.0, 3)]
        conn.execute(
            Q.insert_fault_codes,
            {"t": T0},
        )
        assert conn.execute(Q.count_fault_codes).fetchone()[0] == 1
        conn.execute(
            Q.insert_service_records,
            {"t": T0},
        )
        parts = conn.execute(
            Q.service_records_p_part
        ).fetchall()
        assert parts == [("seal_kit", 2)]
