"""`fleetcare import`: example files, a file with bad rows, and importing twice."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from click.testing import CliRunner
from psycopg import sql
from test_ingest_helpers import count

from fleetcare.queries import beside
from ingest.importer import import_file

Q = beside(__file__)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "import"


def _regions(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(Q.insert_regions)


def _snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(Q.table_rows.format(table=sql.Identifier(t))).fetchall()
                for t in ("machines", "telemetry", "fault_codes", "service_records",
                          "meter_resets")} | {
            "dead_letters": conn.execute(
                Q.dead_letters_source).fetchall()}


def _import_all(url: str) -> dict[str, dict]:
    return {kind: import_file(url, kind, EXAMPLES / name) for kind, name in (
        ("machines", "machines.csv"), ("telemetry", "telemetry.csv"), ("faults", "faults.csv"),
        ("service", "service.csv"), ("aemp", "aemp_snapshot.json"))}


def test_example_files_import_and_a_second_import_changes_nothing(db_url: str) -> None:
    _regions(db_url)
    first = _import_all(db_url)
    assert first["machines"]["stored"] == 3
    assert first["telemetry"] == {
        "rows": 7, "stored": 7, "duplicates": 0, "dead_letters": {}, "meter_resets": 1,
        "streams": {"telemetry": {"rows": 7, "stored": 7, "duplicates": 0, "dead_letters": 0}},
        "arrival": {"event_time": 3}, "unknown": {}}
    assert first["faults"]["stored"] == 3 and first["service"]["stored"] == 2
    # AEMP: one by id, one mapped by serial number, one unknown machine.
    assert first["aemp"]["stored"] == 2
    assert first["aemp"]["dead_letters"] == {"unknown_machine": 1}
    with psycopg.connect(db_url) as conn:
        parts, comps, source = conn.execute(
            Q.service_records_parts
        ).fetchone()
        assert parts == [{"part": "oil_filter", "qty": 1}, {"part": "fuel_filter", "qty": 2}]
        assert comps == ["engine", "cooling"] and source == "import"
        # The meter was replaced between readings 3 and 4: hours stay monotonic.
        hours = [r[0] for r in conn.execute(
            Q.telemetry_hours_hours)]
        assert hours == sorted(hours) and len(hours) == 5
        fuel = conn.execute(Q.telemetry_fuel_used_l).fetchone()[0]
        assert abs(fuel - 2400 * 3.785411784) < 0.01
    before = _snapshot(db_url)
    second = _import_all(db_url)
    assert all(r["stored"] == 0 for r in second.values())
    after = _snapshot(db_url)
    after["dead_letters"] = after["dead_letters"][:len(before["dead_letters"])]
    assert after == before


def test_file_with_bad_rows_stores_the_good_ones_and_names_each_bad_row(db_url: str) -> None:
    _regions(db_url)
    import_file(db_url, "machines", EXAMPLES / "machines.csv")
    result = import_file(db_url, "telemetry", EXAMPLES / "telemetry_bad_rows.csv")
    assert result["rows"] == 9 and result["stored"] == 2
    assert result["dead_letters"] == {"schema": 4, "impossible_value": 1,
                                      "unknown_machine": 1, "future_ts": 1}
    with psycopg.connect(db_url) as conn:
        details = [r[0] for r in conn.execute(
            Q.dead_letters_detail)]
    assert all(d.startswith("row ") for d in details), details
    assert sorted(int(d.split()[1].rstrip(":")) for d in details) == [3, 4, 5, 6, 7, 8, 9]
    again = import_file(db_url, "telemetry", EXAMPLES / "telemetry_bad_rows.csv")
    assert again["stored"] == 0 and again["duplicates"] == 2
    assert count(db_url, Q.count_telemetry) == 2


def test_parquet_and_machines_with_unknown_references(db_url: str, tmp_path: Path) -> None:
    _regions(db_url)
    bad_machines = tmp_path / "machines.csv"
    bad_machines.write_text(
        (EXAMPLES / "machines.csv").read_text()
        + "HX00009,,ZY80,crawler_excavator,,nowhere,,2022-01-01,,,\n"
        + "HX00010,,,crawler_excavator,,ex-east,,2022-01-01,,,\n")
    result = import_file(db_url, "machines", bad_machines)
    assert result["stored"] == 3
    assert result["dead_letters"] == {"unknown_reference": 1, "schema": 1}
    parquet = tmp_path / "telemetry.parquet"
    pq.write_table(pacsv.read_csv(EXAMPLES / "telemetry.csv"), parquet)
    assert import_file(db_url, "telemetry", parquet)["stored"] == 7
    assert import_file(db_url, "telemetry", EXAMPLES / "telemetry.csv")["duplicates"] == 7


def test_import_command(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    from app.cli import cli

    _regions(db_url)
    monkeypatch.setenv("FLEETCARE_DATABASE_URL", db_url)
    runner = CliRunner()
    out = runner.invoke(cli, ["import", "machines", str(EXAMPLES / "machines.csv")])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["import", "telemetry", str(EXAMPLES / "telemetry.csv"), "--json"])
    assert out.exit_code == 0, out.output
    assert '"stored": 7' in out.output
