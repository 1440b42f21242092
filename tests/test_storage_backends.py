"""The same inserts and queries give the same results on TimescaleDB and plain PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

MASTER = """
INSERT INTO regions VALUES ('east', 'East China', 'growth', 'south', 31.2, 121.5);
INSERT INTO customers VALUES ('C1', 'Acme Build', 'city', true, 'east', NULL);
INSERT INTO stations VALUES ('S1', 'Shanghai', 'east', 31.2, 121.4, 3);
INSERT INTO machines (machine_id, model, product_line, customer_id, region_id, station_id,
                      delivery_date, warranty_end)
VALUES ('M1', 'ZY210', 'crawler_excavator', 'C1', 'east', 'S1', '2024-01-10', '2026-01-10');
"""


def _insert_readings(conn: psycopg.Connection, rows: list[tuple[int, datetime, float]]) -> int:
    cur = conn.cursor()
    cur.executemany(
        """INSERT INTO telemetry (machine_id, seq, ts, arrived_at, engine_hours, coolant_temp_c)
           VALUES ('M1', %s, %s, %s, %s, 85) ON CONFLICT DO NOTHING""",
        [(seq, ts, ts, hours) for seq, ts, hours in rows],
        returning=False,
    )
    return conn.execute("SELECT count(*) FROM telemetry").fetchone()[0]  # type: ignore[index]


def test_same_results_on_both_backends(backend_db_url: str) -> None:
    with psycopg.connect(backend_db_url) as conn:
        conn.execute(MASTER)
        # Out of order and with an exact resend of seq 2: stored once, read back in time order.
        rows = [(3, T0 + timedelta(hours=2), 1002.0), (1, T0, 1000.0),
                (2, T0 + timedelta(hours=1), 1001.0), (2, T0 + timedelta(hours=1), 1001.0)]
        assert _insert_readings(conn, rows) == 3
        ordered = conn.execute(
            "SELECT seq, engine_hours FROM telemetry WHERE machine_id = 'M1' ORDER BY ts"
        ).fetchall()
        assert ordered == [(1, 1000.0), (2, 1001.0), (3, 1002.0)]
        daily = conn.execute(
            """SELECT date_trunc('day', ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
                      max(engine_hours) - min(engine_hours) AS hours, count(*)
               FROM telemetry GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        assert [(str(d), h, n) for d, h, n in daily] == [("2025-03-01", 2.0, 3)]
        conn.execute(
            """INSERT INTO fault_codes (machine_id, seq, ts, arrived_at, spn, fmi, oc, active)
               VALUES ('M1', 1, %(t)s, %(t)s, 110, 0, 1, true),
                      ('M1', 1, %(t)s, %(t)s, 110, 0, 1, true)
               ON CONFLICT DO NOTHING""",
            {"t": T0},
        )
        assert conn.execute("SELECT count(*) FROM fault_codes").fetchone()[0] == 1
        conn.execute(
            """INSERT INTO service_records (machine_id, seq, ts, arrived_at, kind, components,
                                            parts, downtime_h, cost_cny)
               VALUES ('M1', 1, %(t)s, %(t)s, 'breakdown', '{hydraulic_pump}',
                       '[{"part": "seal_kit", "qty": 2}]', 6.5, 12000)""",
            {"t": T0},
        )
        parts = conn.execute(
            """SELECT p->>'part', (p->>'qty')::int FROM service_records,
                      jsonb_array_elements(parts) p"""
        ).fetchall()
        assert parts == [("seal_kit", 2)]
