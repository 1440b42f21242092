"""The simulator against the real database: master data, truth store and its isolation."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from fleetcare.queries import beside
from gateways.master import export_csv, write_master_data
from gateways.run import SimulationRun
from gateways.truth import TruthWriter

Q = beside(__file__)

START = date(2025, 3, 1)
ROOT = Path(__file__).resolve().parents[1]


def test_master_data_is_idempotent(db_url: str, tmp_path: Path) -> None:
    run = SimulationRun(120, 10, 2, START)
    with psycopg.connect(db_url) as conn:
        first = write_master_data(conn, run.fleet)
        again = write_master_data(conn, run.fleet)
        assert first == again
        for table, n in first.items():
            assert conn.execute(Q.count_rows.format(table=sql.Identifier(table))).fetchone()[0] == n
        row = conn.execute(Q.machines_product_line).fetchone()
        m = run.fleet.machines[0]
        assert row == (m.product_line, m.region_id, m.station_id)
    paths = export_csv(run.fleet, tmp_path)
    assert {p.name for p in paths} == {"regions.csv", "region_peaks.csv", "customers.csv",
                                       "stations.csv", "machines.csv"}
    assert len((tmp_path / "machines.csv").read_text().splitlines()) == 121


def test_truth_store_and_direct_ingest(db_url: str) -> None:
    from ingest.direct import ingest_direct

    run = SimulationRun(40, 30, 4, START)
    with psycopg.connect(db_url) as conn:
        write_master_data(conn, run.fleet)
        writer = TruthWriter(conn, [m.machine_id for m in run.fleet.machines])
        writer.begin(4, START, 30, {})
        counts = ingest_direct(db_url, run.messages(writer.write_day))
        writer.write_resets(run.uplink)
        days = conn.execute(Q.truth_machine_days_count
                            ).fetchone()
        assert days[0] == run.stats.machine_days and days[1] == 30
        assert conn.execute(Q.count_truth_failures).fetchone()[0] == sum(
            run.stats.failures.values())
        assert conn.execute(Q.truth_machine_days_array_length_health
                            ).fetchone()[0] == 8
        stored = conn.execute(Q.count_telemetry).fetchone()[0]
    assert stored == run.counts["telemetry_records"]
    assert counts["stored"]["telemetry"] == stored
    # Rewriting the same window replaces it, it does not double it.
    with psycopg.connect(db_url) as conn:
        TruthWriter(conn, [m.machine_id for m in run.fleet.machines]).begin(4, START, 30, {})
        assert conn.execute(Q.count_truth_machine_days).fetchone()[0] == 0


_TRUTH_REF = re.compile(r"\btruth\s*\.|schema\s*=\s*['\"]truth|search_path[^\n]*truth|"
                        r"gateways\.truth|from gateways import truth", re.IGNORECASE)
_ALLOWED = re.compile(r"^(evaluate|oracle)\w*\.(py|sql)$")


def test_no_production_stage_reads_the_truth() -> None:
    """Only models/evaluate*.py and models/oracle*.py may name the truth schema."""
    offenders = []
    for stage in ("ingest", "features", "models", "scheduler"):
        for path in (ROOT / stage).rglob("*"):
            if path.suffix not in (".py", ".sql") or not path.is_file():
                continue
            if stage == "models" and _ALLOWED.match(path.name):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if _TRUTH_REF.search(text):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"production code references the truth store: {offenders}"


def test_production_migrations_never_create_truth() -> None:
    from fleetcare import db

    for m in db.load_migrations():
        assert not re.search(r"\btruth\b", m.sql, re.IGNORECASE), m.name


def test_truth_arrays_flush_underflow_to_zero() -> None:
    """A hazard below real's range must not abort the truth COPY."""
    import numpy as np

    from gateways.truth import _array

    assert _array(np.array([[2.7489e-50, 0.5, np.nan]])) == ["{0,0.5,NULL}"]
