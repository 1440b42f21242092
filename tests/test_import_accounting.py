"""Import that accounts for every row: content keys, arrival, ISO 15143-3 pages and fields,
master data in any order."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from click.testing import CliRunner

from fleetcare.queries import beside
from ingest.importer import import_file

Q = beside(__file__)

REGIONS = ("region_id,name,lat,lon,peaks\n"
           "r-north,North,45.0,10.0,spring:04-01..05-31;autumn:09-01..10-31\n")
STATIONS = "station_id,name,region_id,lat,lon,technicians\nst-1,Depot,r-north,45.1,10.1,3\n"
CUSTOMERS = "customer_id,name,segment,key_account,region_id\nc-1,Quarry Co,mining,yes,r-north\n"
MACHINES = ("machine_id,serial,model,product_line,customer_id,region_id,station_id,"
            "delivery_date\n"
            "M1,S-1,X200,crawler_excavator,c-1,r-north,st-1,2022-01-10\n"
            "M2,S-2,X200,crawler_excavator,c-1,r-north,st-1,2022-03-01\n")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _master(db_url: str, tmp_path: Path) -> None:
    for kind, text in (("regions", REGIONS), ("customers", CUSTOMERS),
                       ("stations", STATIONS), ("machines", MACHINES)):
        import_file(db_url, kind, _write(tmp_path, f"{kind}.csv", text))


def test_master_data_in_any_order_and_missing_reference_says_what_to_import(
        db_url: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from app.cli import cli

    files = {k: _write(tmp_path, f"{k}.csv", t) for k, t in (
        ("regions", REGIONS), ("customers", CUSTOMERS), ("stations", STATIONS),
        ("machines", MACHINES))}
    # Machines alone first: every row names a region that is not there yet.
    result = import_file(db_url, "machines", files["machines"])
    assert result["rows"] == 2 and result["dead_letters"] == {"unknown_reference": 2}
    with psycopg.connect(db_url) as conn:
        detail = conn.execute(Q.first_dead_letter_detail).fetchone()[0]
    assert "import" in detail and "first" in detail, detail
    monkeypatch.setenv("FLEETCARE_DATABASE_URL", db_url)
    out = CliRunner().invoke(cli, ["import", "machines", str(files["machines"]), "stations",
                                   str(files["stations"]), "regions", str(files["regions"]),
                                   "customers", str(files["customers"])])
    assert out.exit_code == 0, out.output
    lines = [ln for ln in out.output.splitlines() if not ln.startswith(" ")]
    assert [ln.split(" (")[1].split(")")[0] for ln in lines] == [
        "regions", "customers", "stations", "machines"]
    assert "2 rows in = 2 stored + 0 already there + 0 dead letters" in lines[-1]
    with psycopg.connect(db_url) as conn:
        assert conn.execute(Q.count_region_peaks).fetchone()[0] == 2
        assert conn.execute(Q.stations_technicians).fetchone()[0] == 3
        assert conn.execute(Q.customers_key_account).fetchone()[0] is True
    again = import_file(db_url, "regions", files["regions"])
    assert (again["stored"], again["duplicates"]) == (0, 1)


def test_rows_without_seq_never_merge_and_archives_arrive_at_event_time(
        db_url: str, tmp_path: Path) -> None:
    _master(db_url, tmp_path)
    faults = _write(tmp_path, "faults.csv", (
        "machine_id,ts,spn,fmi,oc,active\n"
        "M1,2023-05-01T10:00:00+00:00,110,0,1,true\n"
        "M1,2023-05-01T10:00:00+00:00,100,1,1,true\n"     # same second, another code
        "M1,2023-05-01T10:00:00+00:00,110,0,1,true\n"     # the first row again
        "M2,2023-05-01T10:00:00+00:00,999999,0,1,true\n"  # SPN out of range
        "M1,2023-05-02T10:00:00+00:00,520999,3,1,true\n"))  # a code we do not know
    result = import_file(db_url, "faults", faults)
    assert result["streams"] == {"faults": {"rows": 5, "stored": 3, "duplicates": 1,
                                            "dead_letters": 1}}
    assert result["unknown"] == {"spn": {"rows": 1, "distinct": 1, "examples": [520999]}}
    assert result["arrival"] == {"event_time": 5}
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(Q.fault_codes_spn).fetchall()
    assert rows == [(100, True), (110, True), (520999, True)]
    assert import_file(db_url, "faults", faults)["duplicates"] == 4
    service = _write(tmp_path, "service.csv", (
        "machine_id,ts,kind,components\n"
        "M1,2023-06-01T08:00:00+00:00,breakdown,Hydraulikpumpe\n"))
    told = import_file(db_url, "service", service, arrived_at=__import__("datetime").datetime(
        2024, 1, 1, tzinfo=__import__("datetime").UTC))
    assert told["arrival"] == {"given": 1} and told["stored"] == 1
    assert told["unknown"]["component"]["examples"] == ["Hydraulikpumpe"]
    with psycopg.connect(db_url) as conn:
        arrived = conn.execute(Q.service_records_arrived_at_date).fetchone()[0]
    assert str(arrived) == "2024-01-01"


def _page(n: int, equipment: list[dict], next_href: str | None) -> dict:
    links = [{"rel": "self", "href": f"https://portal.example/Fleet/{n}"}]
    if next_href:
        links.append({"rel": "next", "href": next_href})
    return {"Fleet": {"version": "2", "snapshotTime": "2023-05-04T00:00:00Z", "Links": links,
                      "Equipment": equipment}}


def _equipment(serial: str, hours: float, when: str, faults: list[dict] | None = None) -> dict:
    eq = {"EquipmentHeader": {"OEMName": "Other Maker", "Model": "X200", "SerialNumber": serial},
          "CumulativeOperatingHours": {"datetime": when, "Hour": hours},
          "FuelUsedLast24": {"datetime": when, "FuelUnits": "litre", "FuelConsumed": 80.5},
          "AverageLoadFactorLast24": {"datetime": when, "Percent": 61}}
    if faults is not None:
        eq["FaultCodes"] = faults
    return eq


def test_iso_snapshot_follows_links_lands_fault_codes_and_counts_every_field(
        db_url: str, tmp_path: Path) -> None:
    _master(db_url, tmp_path)
    pages = [
        _page(1, [_equipment("S-1", 100.0, "2023-05-03T10:00:00Z", [
            {"CodeIdentifier": "110-0", "datetime": "2023-05-03T09:00:00Z",
             "CodeSeverity": "high"},
            {"CodeIdentifier": "100-1", "datetime": "2023-05-03T09:00:00Z"}])],
              "https://portal.example/Fleet/2"),
        _page(2, [_equipment("S-2", 50.0, "2023-05-03T11:00:00Z"),
                  _equipment("S-2", 51.0, "03/05/2023 12:00")], "3.json"),
        _page(3, [_equipment("S-1", 101.0, "2023-05-03T12:00:00Z",
                             [{"CodeIdentifier": "bogus", "datetime": "2023-05-03T09:00:00Z"}])],
              None),
    ]
    for n, page in enumerate(pages, start=1):
        (tmp_path / ("snapshot.json" if n == 1 else f"{n}.json")).write_text(
            json.dumps(page))
    result = import_file(db_url, "aemp", tmp_path / "snapshot.json")
    assert result["fields"]["pages"] == ["snapshot.json", "2.json", "3.json"]
    assert result["streams"] == {
        "telemetry": {"rows": 4, "stored": 3, "duplicates": 0, "dead_letters": 1},
        "faults": {"rows": 3, "stored": 2, "duplicates": 0, "dead_letters": 1}}
    fields = result["fields"]
    assert fields["seen"] == (sum(fields["landed"].values()) + fields["used"]
                              + sum(fields["no_home"].values()))
    assert fields["no_home"]["fuelusedlast24.fuelconsumed"] == 4
    assert fields["no_home"]["averageloadfactorlast24.percent"] == 4
    assert fields["no_home"]["faultcodes.codeseverity"] == 1
    assert fields["landed"]["faults.spn_fmi"] == 3
    with psycopg.connect(db_url) as conn:
        codes = conn.execute(Q.fault_codes_machine_id).fetchall()
        details = [r[0] for r in conn.execute(Q.dead_letter_details)]
    assert codes == [("M1", 100, 1, 1, True), ("M1", 110, 0, 1, True)]
    assert any("CumulativeOperatingHours.datetime" in d for d in details), details
    assert any("CodeIdentifier 'bogus'" in d for d in details), details
    # A folder of the same pages imports the same rows: all already there.
    folder = import_file(db_url, "aemp", tmp_path)
    assert folder["stored"] == 0 and folder["duplicates"] == 5
