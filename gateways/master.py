"""Fleet master data: upsert into regions, region_peaks, customers, stations, machines; CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg

from fleetcare import catalogue as cat
from fleetcare import queries
from gateways.fleet import Fleet

_SQL = queries.load("gateways", "master.sql")
COLUMNS = {
    "regions": ("region_id", "name", "market", "climate", "lat", "lon"),
    "region_peaks": ("region_id", "name", "start_month", "start_day", "end_month", "end_day"),
    "customers": ("customer_id", "name", "segment", "key_account", "region_id", "peak_months"),
    "stations": ("station_id", "name", "region_id", "lat", "lon", "technicians"),
    "machines": ("machine_id", "serial", "model", "product_line", "customer_id", "region_id",
                 "station_id", "delivery_date", "warranty_end", "site_lat", "site_lon"),
}


def master_rows(fleet: Fleet) -> dict[str, list[tuple]]:
    """The rows of each master table, in foreign-key order."""
    return {
        "regions": [(r.region_id, r.name, r.market, r.climate, r.lat, r.lon)
                    for r in cat.REGIONS.values()],
        "region_peaks": [(r.region_id, p.name, *p.start, *p.end)
                         for r in cat.REGIONS.values() for p in r.peaks],
        "customers": [(c.customer_id, c.name, c.segment, c.key_account, c.region_id,
                       list(c.peak_months) if c.peak_months else None)
                      for c in fleet.customers],
        "stations": [(s.station_id, s.name, s.region_id, s.lat, s.lon, s.technicians)
                     for s in fleet.stations],
        "machines": [(m.machine_id, m.serial, m.model, m.product_line, m.customer_id,
                      m.region_id, m.station_id, m.delivery_date, m.warranty_end, m.site_lat,
                      m.site_lon) for m in fleet.machines],
    }


def write_master_data(conn: psycopg.Connection, fleet: Fleet) -> dict[str, int]:
    """Upsert the fleet's master data in one transaction (idempotent); rows per table."""
    counts = {}
    with conn.transaction(), conn.cursor() as cur:
        for table, rows in master_rows(fleet).items():
            cur.executemany(_SQL[table], rows)
            counts[table] = len(rows)
    return counts


def export_csv(fleet: Fleet, directory: Path) -> list[Path]:
    """Write one CSV per master table (header row; arrays as {1,2,3})."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, rows in master_rows(fleet).items():
        path = directory / f"{table}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS[table])
            for row in rows:
                w.writerow(["{" + ",".join(map(str, v)) + "}" if isinstance(v, list) else
                            ("" if v is None else v) for v in row])
        paths.append(path)
    return paths
