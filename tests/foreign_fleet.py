"""A small fleet that is not ours, written as the files its service department would bring.

Another maker's excavators and loaders in two European regions, two years of history:
daily hour-meter readings from a telematics archive (no sensors, no ``seq``, no
``sent_at``), J1939 codes with the maker's own proprietary SPNs, preventive services and
breakdowns naming the maker's own components, no wear-part records, a catalogue that
names those components and codes, and a three-page ISO 15143-3 snapshot with fault codes.
Breakdowns follow a hidden hazard that grows with hours since the component's last
service and with its recent fault codes, so there is something to learn.

``write_fleet`` returns the files and the counts a correct import must report.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

START = date(2023, 1, 1)
DAYS = 730
END = START + timedelta(days=DAYS - 1)
# The maker's components, each with its own proprietary SPNs and service interval (h).
COMPONENTS = {
    "Motor": ((521001, 521002), 500),
    "Hydraulikpumpe": ((521101, 521102), 1000),
    "Fahrantrieb": ((521201,), 1000),
    "Elektrik": ((521301,), 2000),
}
REGIONS = (("eu-north", "Nordic", 60.17, 24.94, "spring:05-01..06-30;autumn:09-01..10-31"),
           ("eu-south", "Iberia", 40.42, -3.70, "spring:03-15..05-31;autumn:09-15..11-15"))


@dataclass
class ForeignFleet:
    """The files written and what importing them must report."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    machines: int = 0
    telemetry_rows: int = 0
    fault_rows: int = 0            # rows in the faults file
    fault_duplicates: int = 0      # exact repeats inside the file
    same_second_pairs: int = 0     # distinct codes of one machine at the same second
    service_rows: int = 0
    breakdowns: int = 0
    snapshot_equipment: int = 0
    snapshot_faults: int = 0
    catalogue_spns: int = 0


def write_fleet(folder: Path, machines: int = 60, seed: int = 20) -> ForeignFleet:
    """Write the fleet's files under `folder` (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = ForeignFleet(folder, machines=machines)

    def write(name: str, header: list[str], rows: list[list[object]]) -> Path:
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
        out.files[name] = path
        return path

    write("regions.csv", ["region_id", "name", "lat", "lon", "peaks"],
          [list(r) for r in REGIONS])
    write("stations.csv", ["station_id", "name", "region_id", "lat", "lon", "technicians"],
          [["ST-N1", "Helsinki depot", "eu-north", 60.2, 24.9, 3],
           ["ST-S1", "Madrid depot", "eu-south", 40.4, -3.7, 4]])
    write("customers.csv", ["customer_id", "name", "segment", "key_account", "region_id"],
          [["C-N1", "Nordic Rock", "mining", "yes", "eu-north"],
           ["C-S1", "Obras Sur", "city", "no", "eu-south"]])
    mrows, specs = [], []
    for i in range(machines):
        region = REGIONS[i % 2][0]
        line = "wheel_loader_x" if i % 3 == 0 else "excavator_x"
        delivered = START - timedelta(days=int(rng.integers(60, 900)))
        mrows.append([f"FX{i:04d}", f"OM-{i:05d}", "L90" if line == "wheel_loader_x" else "E220",
                      line, "C-N1" if region == "eu-north" else "C-S1", region,
                      "ST-N1" if region == "eu-north" else "ST-S1", delivered.isoformat(),
                      (delivered + timedelta(days=730)).isoformat(), "", ""])
        specs.append((f"FX{i:04d}", float(rng.uniform(5.0, 9.0)),
                      float(rng.uniform(300, 3000))))
    write("machines.csv", ["machine_id", "serial", "model", "product_line", "customer_id",
                           "region_id", "station_id", "delivery_date", "warranty_end",
                           "site_lat", "site_lon"], mrows)
    (folder / "catalogue").mkdir(exist_ok=True)
    write("catalogue/components.csv", ["component_id", "name", "family", "interval_h"],
          [["Motor", "Dieselmotor", "engine", 500],
           ["Hydraulikpumpe", "Hauptpumpe", "hydraulic_pump", 1000],
           ["Fahrantrieb", "Fahrantrieb und Endantrieb", "travel_drive", 1000],
           ["Elektrik", "Elektrik und Steuergerät", "electrical", 2000]])
    code_rows = [[spn, f"{comp} code {spn}", comp] for comp, (spns, _) in COMPONENTS.items()
                 for spn in spns]
    out.catalogue_spns = len(code_rows)
    write("catalogue/fault_codes.csv", ["spn", "name", "component"], code_rows)

    tel, faults, service = [], [], []
    final: dict[str, float] = {}
    for machine_id, per_day, hours0 in specs:
        hours = hours0
        last_service = {c: hours0 - rng.uniform(0, iv) for c, (_, iv) in COMPONENTS.items()}
        pending: dict[str, int] = {}   # component -> days until a coming breakdown
        for d in range(DAYS):
            day = START + timedelta(days=d)
            working = day.weekday() < 6 and rng.random() > 0.1
            if working:
                hours += per_day * float(rng.uniform(0.7, 1.2))
            noon = datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)
            tel.append([machine_id, noon.isoformat(), round(hours, 1)])
            for comp, (spns, interval) in COMPONENTS.items():
                over = (hours - last_service[comp]) / interval
                if comp in pending:
                    pending[comp] -= 1
                    # A coming breakdown shows itself in the maker's codes first.
                    if rng.random() < 0.35:
                        at = noon + timedelta(minutes=int(rng.integers(0, 300)))
                        faults.append([machine_id, at.isoformat(), int(rng.choice(spns)), 1,
                                       int(rng.integers(1, 20)), "true"])
                    if pending[comp] <= 0:
                        del pending[comp]
                        at = noon + timedelta(hours=3)
                        service.append([machine_id, at.isoformat(), "breakdown", comp,
                                        round(float(rng.uniform(8, 40)), 1)])
                        last_service[comp] = hours
                    continue
                hazard = 0.0009 * math.exp(1.3 * max(over, 0.0))
                if working and rng.random() < hazard:
                    pending[comp] = int(rng.integers(5, 20))
                elif rng.random() < 0.0015:   # background noise codes
                    at = noon + timedelta(minutes=int(rng.integers(0, 300)))
                    faults.append([machine_id, at.isoformat(), int(rng.choice(spns)), 2, 1,
                                   "false"])
            due = [c for c, (_, iv) in COMPONENTS.items() if hours - last_service[c] >= iv]
            if due and working and rng.random() < 0.25:
                at = noon + timedelta(hours=5)
                service.append([machine_id, at.isoformat(), "preventive", ";".join(due), 4.0])
                for c in due:
                    last_service[c] = hours
        final[machine_id] = hours
    # Two distinct codes of one machine at the same second, and one exact repeat.
    first = faults[0]
    faults.append([first[0], first[1], 521999 if first[2] != 521999 else 521998, 3, 1, "true"])
    out.same_second_pairs = 1
    faults.append(list(first))
    out.fault_duplicates = 1
    out.telemetry_rows, out.fault_rows, out.service_rows = len(tel), len(faults), len(service)
    out.breakdowns = sum(1 for s in service if s[2] == "breakdown")
    write("telemetry.csv", ["machine_id", "ts", "engine_hours"], tel)
    write("faults.csv", ["machine_id", "ts", "spn", "fmi", "oc", "active"], faults)
    write("service.csv", ["machine_id", "ts", "kind", "components", "downtime_h"], service)
    _snapshot(folder, out, [(m, final[m]) for m, _, _ in specs])
    return out


def _snapshot(folder: Path, out: ForeignFleet, specs: list[tuple[str, float]]) -> None:
    """Three pages linked by ``next``; serial numbers identify the machines; the last
    day's hour meter, a daily fuel figure (no home) and fault codes in ``FaultCodes``."""
    snap = folder / "iso"
    snap.mkdir(exist_ok=True)
    chunks = [specs[0:4], specs[4:8], specs[8:12]]
    when = datetime(END.year, END.month, END.day, 20, 0, tzinfo=UTC).isoformat()
    for n, chunk in enumerate(chunks, start=1):
        equipment = []
        for k, (machine_id, hours) in enumerate(chunk):
            serial = f"OM-{int(machine_id[2:]):05d}"
            eq = {"EquipmentHeader": {"OEMName": "Other Maker", "SerialNumber": serial},
                  "CumulativeOperatingHours": {"datetime": when, "Hour": round(hours + 0.5, 1)},
                  "FuelUsedLast24": {"datetime": when, "FuelUnits": "litre",
                                     "FuelConsumed": 75.0}}
            if k % 2 == 0:
                eq["FaultCodes"] = [{"CodeIdentifier": "521001-1", "datetime": when,
                                     "CodeSeverity": "2"}]
                out.snapshot_faults += 1
            equipment.append(eq)
            out.snapshot_equipment += 1
        links = [{"rel": "self", "href": f"https://portal.example/Fleet/{n}"}]
        if n < len(chunks):
            links.append({"rel": "next", "href": f"https://portal.example/Fleet/{n + 1}"})
        taken = datetime(END.year, END.month, END.day, 21, 0, tzinfo=UTC).isoformat()
        page = {"Fleet": {"version": "2", "snapshotTime": taken, "Links": links,
                          "Equipment": equipment}}
        (snap / ("snapshot.json" if n == 1 else f"{n}.json")).write_text(json.dumps(page))
    out.files["iso"] = snap / "snapshot.json"
