"""ISO 15143-3 (AEMP 2.0) fleet snapshots: pages, fields and fault codes as import rows.

A snapshot page is ``Fleet.Equipment[]`` with ``Fleet.Links`` pointing at the next page.
Each equipment entry gives one telemetry reading (hour meter, idle hours, cumulative fuel,
location) and one fault row per entry of its fault-code list (``CodeIdentifier``
"SPN-FMI"). Every leaf field of an entry is accounted for: it lands in a column, serves to
identify the machine or time the row, or is counted as having no home in our tables.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LITRES_PER_US_GALLON = 3.785411784

# Leaf field (lower-case path) -> the column it lands in.
LANDS: dict[str, str] = {
    "cumulativeoperatinghours.hour": "telemetry.engine_hours",
    "cumulativeidlehours.hour": "telemetry.idle_hours",
    "fuelused.fuelconsumed": "telemetry.fuel_used_l",
    "location.latitude": "telemetry.lat",
    "location.longitude": "telemetry.lon",
}
# Leaf fields that identify the machine, time the reading or qualify another field.
USED: frozenset[str] = frozenset({
    "equipmentheader.equipmentid", "equipmentheader.serialnumber", "equipmentheader.pin",
    "cumulativeoperatinghours.datetime", "cumulativeidlehours.datetime",
    "fuelused.datetime", "fuelused.fuelunits", "location.datetime",
})
# Keys of an equipment entry that hold its fault codes (a list, or {"FaultCode": [...]}).
FAULT_KEYS = ("faultcodes", "faultcode", "cautioncodes", "cautioncode")


@dataclass
class SnapshotRow:
    """One row from a snapshot: its stream and record, or why it cannot be one."""

    label: str                       # "page 2 equipment 3" (+ " fault 1")
    stream: str                      # telemetry / faults
    record: dict[str, Any] | None
    error: str | None = None         # set: the row is a dead letter naming the field


@dataclass
class FieldLedger:
    """Where every leaf field of the snapshot went."""

    landed: Counter[str] = field(default_factory=Counter)     # column -> fields
    used: Counter[str] = field(default_factory=Counter)       # identification / time
    no_home: Counter[str] = field(default_factory=Counter)    # field path -> count
    seen: int = 0
    pages: list[str] = field(default_factory=list)
    links_not_followed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"seen": self.seen, "landed": dict(self.landed), "used": sum(self.used.values()),
                "no_home": dict(sorted(self.no_home.items())), "pages": self.pages,
                "links_not_followed": self.links_not_followed}


def lower_keys(obj: Any) -> Any:
    """AEMP 2.0 JSON is written with varying key case (Equipment / equipment)."""
    if isinstance(obj, dict):
        return {str(k).lower().lstrip("@"): lower_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [lower_keys(v) for v in obj]
    return obj


def pages(path: Path, ledger: FieldLedger,
          read: Callable[[Path], Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(page name, lower-cased Fleet object) of a snapshot file and the pages its ``next``
    links name (resolved beside it), or of every ``*.json`` file of a folder in name order."""
    if path.is_dir():
        queue = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json")
        follow = False
    else:
        queue, follow = [path], True
    seen: set[Path] = set()
    while queue:
        page = queue.pop(0)
        if page.resolve() in seen:
            continue
        seen.add(page.resolve())
        doc = lower_keys(read(page) if read else json.loads(page.read_text("utf-8")))
        fleet = doc.get("fleet", doc) if isinstance(doc, dict) else {}
        ledger.pages.append(page.name)
        yield page.name, fleet
        if not follow:
            continue
        for link in fleet.get("links") or []:
            if not isinstance(link, dict) or str(link.get("rel", "")).lower() != "next":
                continue
            target = _local_page(page, str(link.get("href", "")))
            if target is None:
                ledger.links_not_followed.append(str(link.get("href")))
            elif target.resolve() not in seen:
                queue.append(target)


def _local_page(current: Path, href: str) -> Path | None:
    """The file a ``next`` link names: a path relative to the current page, or the last
    segment of a portal URL saved beside it (with or without ``.json``)."""
    if not href:
        return None
    name = urlsplit(href).path if "://" in href else href
    candidates = [current.parent / name] if "://" not in href else []
    last = name.rstrip("/").rsplit("/", 1)[-1]
    candidates += [current.parent / last, current.parent / f"{last}.json"]
    return next((c for c in candidates if c.is_file()), None)


def _leaves(obj: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v, prefix)
    else:
        yield prefix


def _bad_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None
    except ValueError:
        return True


def _fault_list(eq: dict[str, Any]) -> tuple[str | None, list[Any]]:
    for key in FAULT_KEYS:
        value = eq.get(key)
        if value is None:
            continue
        if isinstance(value, dict):
            inner = next((v for v in value.values() if isinstance(v, list)), [value])
            return key, inner
        return key, value if isinstance(value, list) else [value]
    return None, []


def snapshot_rows(path: Path, known: set[str], serials: dict[str, str],
                  ledger: FieldLedger, read: Callable[[Path], Any] | None = None
                  ) -> Iterator[SnapshotRow]:
    """Telemetry and fault rows of a snapshot (and its linked pages), with the ledger filled.

    The machine is the header's EquipmentID if known, else the machine whose serial equals
    SerialNumber or PIN. ``snapshotTime`` is each row's sent_at (its arrival).
    """
    for page, fleet in pages(path, ledger, read):
        snapshot = fleet.get("snapshottime")
        for n, eq in enumerate(fleet.get("equipment") or [], start=1):
            label = f"{page} equipment {n}"
            if not isinstance(eq, dict):
                ledger.seen += 1
                ledger.no_home["(not an object)"] += 1
                yield SnapshotRow(label, "telemetry", None, "equipment entry is not an object")
                continue
            header = eq.get("equipmentheader") or {}
            machine_id = header.get("equipmentid")
            if machine_id not in known:
                for key in ("serialnumber", "pin"):
                    if header.get(key) in serials:
                        machine_id = serials[header[key]]
                        break
            fault_key, faults = _fault_list(eq)
            for leaf in _leaves({k: v for k, v in eq.items() if k != fault_key}):
                ledger.seen += 1
                if leaf in LANDS:
                    ledger.landed[LANDS[leaf]] += 1
                elif leaf in USED:
                    ledger.used[leaf] += 1
                else:
                    ledger.no_home[leaf] += 1
            hours = eq.get("cumulativeoperatinghours") or {}
            if hours:
                yield _telemetry(label, machine_id, eq, hours, snapshot)
            for k, code in enumerate(faults, start=1):
                yield _fault(f"{label} fault {k}", machine_id, code, snapshot, ledger)


def _telemetry(label: str, machine_id: Any, eq: dict[str, Any], hours: dict[str, Any],
               snapshot: Any) -> SnapshotRow:
    if _bad_time(hours.get("datetime")):
        return SnapshotRow(label, "telemetry", {"machine_id": machine_id},
                           f"CumulativeOperatingHours.datetime {hours.get('datetime')!r} is "
                           "not an RFC 3339 date-time with offset")
    record: dict[str, Any] = {"machine_id": machine_id, "ts": hours.get("datetime"),
                              "engine_hours": hours.get("hour")}
    idle = eq.get("cumulativeidlehours") or {}
    if idle.get("hour") is not None:
        record["idle_hours"] = idle["hour"]
    fuel = eq.get("fuelused") or {}
    if fuel.get("fuelconsumed") is not None:
        litres = fuel["fuelconsumed"]
        units = str(fuel.get("fuelunits", "litre")).lower()
        if units.startswith("gal") and isinstance(litres, (int, float)):
            litres = round(litres * LITRES_PER_US_GALLON, 3)
        record["fuel_used_l"] = litres
    loc = eq.get("location") or {}
    if loc.get("latitude") is not None and loc.get("longitude") is not None:
        record["lat"], record["lon"] = loc["latitude"], loc["longitude"]
    if snapshot:
        record["sent_at"] = snapshot
    return SnapshotRow(label, "telemetry", {k: v for k, v in record.items() if v is not None})


def _fault(label: str, machine_id: Any, code: Any, snapshot: Any,
           ledger: FieldLedger) -> SnapshotRow:
    """A fault row from ``{"CodeIdentifier": "SPN-FMI", "datetime": ..., ...}``."""
    if not isinstance(code, dict):
        ledger.seen += 1
        ledger.no_home["faultcodes.(not an object)"] += 1
        return SnapshotRow(label, "faults", None, "fault code entry is not an object")
    fields = dict(code)
    ledger.seen += len(list(_leaves(fields)))
    ident = fields.pop("codeidentifier", None)
    when = fields.pop("datetime", None)
    occurrences = fields.pop("occurrencecount", None)
    active = fields.pop("active", True)
    for leaf in _leaves(fields):
        ledger.no_home[f"faultcodes.{leaf}"] += 1
    ledger.landed["faults.spn_fmi"] += ident is not None
    ledger.used["faultcodes.datetime"] += when is not None
    ledger.landed["faults.oc"] += occurrences is not None
    ledger.landed["faults.active"] += "active" in code
    spn_fmi = str(ident or "").split("-")
    if len(spn_fmi) != 2 or not all(p.strip().isdigit() for p in spn_fmi):
        return SnapshotRow(label, "faults", {"machine_id": machine_id},
                           f"CodeIdentifier {ident!r} is not SPN-FMI (e.g. '110-0')")
    if _bad_time(when):
        return SnapshotRow(label, "faults", {"machine_id": machine_id},
                           f"FaultCodes.datetime {when!r} is not an RFC 3339 date-time "
                           "with offset")
    record: dict[str, Any] = {
        "machine_id": machine_id, "ts": when, "spn": int(spn_fmi[0]), "fmi": int(spn_fmi[1]),
        "oc": occurrences if occurrences is not None else 1, "active": active}
    if snapshot:
        record["sent_at"] = snapshot
    return SnapshotRow(label, "faults", record)
