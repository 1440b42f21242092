"""A maker's catalogue as files: its own components and fault codes, checked and stored.

A catalogue folder holds two CSV files (UTF-8, header row), documented in
docs/bring-your-own-fleet.md:

* ``components.csv``: component_id, name, family, interval_h. ``component_id`` is the
  name the maker's work orders use; ``family`` is one of the built-in component families
  (fleetcare/catalogue.py ``COMPONENTS``) that features, labels and models work on;
  ``interval_h`` the maker's service interval for it (optional).
* ``fault_codes.csv``: spn, name, component. ``component`` is a component of
  components.csv or a built-in family.

Every problem is reported with the file, line and field; nothing is stored unless the
whole catalogue is valid. The built-in catalogue is the default and stays in force; an
import replaces the previously imported rows (`fleetcare catalogue import DIR`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import psycopg

from fleetcare import catalogue as cat
from fleetcare.clikit import settings_of
from fleetcare.errors import TerminalError
from fleetcare.queries import load

FILES = {"components": "components.csv", "fault_codes": "fault_codes.csv"}
COLUMNS = {"components": ("component_id", "name", "family", "interval_h"),
           "fault_codes": ("spn", "name", "component")}
REQUIRED = {"components": ("component_id", "name", "family"),
            "fault_codes": ("spn", "name", "component")}
_ID = re.compile(r"^[^\s;,][^;,]{0,63}$")

_Q = load("fleetcare", "catalogue.sql")


class CatalogueError(TerminalError):
    """The catalogue files are not valid; the message names file, line and field."""


@dataclass(frozen=True)
class MakerCatalogue:
    """The imported part of the catalogue."""

    components: list[tuple[str, str, str, int | None]]   # id, name, family, interval_h
    fault_codes: list[tuple[int, str, str]]               # spn, name, component


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        yield 1, {name: "" for name in (reader.fieldnames or [])}
        for n, row in enumerate(reader, start=2):
            yield n, {(k or "").strip(): (v or "").strip() for k, v in row.items()}


def read_folder(folder: Path) -> MakerCatalogue:
    """Read and check a catalogue folder; raises CatalogueError listing every problem."""
    errors: list[str] = []
    components: list[tuple[str, str, str, int | None]] = []
    codes: list[tuple[int, str, str]] = []
    if not folder.is_dir():
        raise CatalogueError(f"{folder}: not a folder (expected {', '.join(FILES.values())})")
    comp_path = folder / FILES["components"]
    code_path = folder / FILES["fault_codes"]
    if not comp_path.exists() and not code_path.exists():
        raise CatalogueError(f"{folder}: neither {FILES['components']} nor "
                             f"{FILES['fault_codes']} is there")
    seen: set[str] = set()
    if comp_path.exists():
        for n, row in _rows(comp_path):
            if n == 1:
                errors += _header(comp_path, row, "components")
                continue
            where = f"{comp_path} line {n}"
            if missing := [f for f in REQUIRED["components"] if not row.get(f)]:
                errors.append(f"{where}, field {missing[0]}: required")
                continue
            cid, family = row["component_id"], row["family"]
            if not _ID.match(cid):
                errors.append(f"{where}, field component_id: {cid!r} must be 1-64 characters "
                              "without ';' or ','")
            elif cid in seen:
                errors.append(f"{where}, field component_id: {cid!r} appears twice")
            if family not in cat.COMPONENT_INDEX:
                errors.append(f"{where}, field family: {family!r} is not a component family "
                              f"({', '.join(cat.COMPONENTS)})")
            interval: int | None = None
            if row.get("interval_h"):
                try:
                    interval = int(row["interval_h"])
                    if interval <= 0:
                        raise ValueError
                except ValueError:
                    errors.append(f"{where}, field interval_h: {row['interval_h']!r} is not a "
                                  "whole number of hours > 0")
            seen.add(cid)
            components.append((cid, row["name"], family, interval))
    spns: set[int] = set()
    if code_path.exists():
        for n, row in _rows(code_path):
            if n == 1:
                errors += _header(code_path, row, "fault_codes")
                continue
            where = f"{code_path} line {n}"
            if missing := [f for f in REQUIRED["fault_codes"] if not row.get(f)]:
                errors.append(f"{where}, field {missing[0]}: required")
                continue
            try:
                spn = int(row["spn"])
                if not 0 <= spn <= 524287:
                    raise ValueError
            except ValueError:
                errors.append(f"{where}, field spn: {row['spn']!r} is not a J1939 SPN "
                              "(0-524287)")
                continue
            if spn in spns:
                errors.append(f"{where}, field spn: {spn} appears twice")
            comp = row["component"]
            if comp not in seen and comp not in cat.COMPONENT_INDEX:
                errors.append(f"{where}, field component: {comp!r} is neither in "
                              f"{FILES['components']} nor a built-in family")
            spns.add(spn)
            codes.append((spn, row["name"], comp))
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CatalogueError(errors[0] + more)
    return MakerCatalogue(components, codes)


def _header(path: Path, row: dict[str, str], kind: str) -> list[str]:
    missing = [c for c in REQUIRED[kind] if c not in row]
    unknown = [c for c in row if c not in COLUMNS[kind]]
    out = []
    if missing:
        out.append(f"{path} line 1: missing column(s) {', '.join(missing)}")
    if unknown:
        out.append(f"{path} line 1: unknown column(s) {', '.join(unknown)} "
                   f"(expected {', '.join(COLUMNS[kind])})")
    return out


def store(conn: psycopg.Connection, maker: MakerCatalogue) -> dict[str, int]:
    """Replace the imported catalogue rows with `maker` in one transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_Q.clear_fault_codes)
        cur.execute(_Q.clear_components)
        cur.executemany(_Q.add_component, maker.components)
        cur.executemany(_Q.add_fault_code, maker.fault_codes)
    return {"components": len(maker.components), "fault_codes": len(maker.fault_codes)}


def active(conn: psycopg.Connection) -> dict[str, list[dict[str, Any]]]:
    """The active catalogue: built-in components and SPNs, then the imported ones (an
    imported SPN replaces the built-in one of the same number)."""
    comps = [{"component_id": c, "name": i.name, "family": c, "interval_h": None,
              "source": "built-in"} for c, i in cat.COMPONENT_INFO.items()]
    comps += [{"component_id": r[0], "name": r[1], "family": r[2], "interval_h": r[3],
               "source": "imported"} for r in conn.execute(_Q.components)]
    imported = {r[0]: r for r in conn.execute(_Q.fault_codes)}
    codes = [{"spn": s.spn, "name": s.name, "component": s.component, "source": "built-in"}
             for s in cat.SPNS.values() if s.spn not in imported]
    codes += [{"spn": r[0], "name": r[1], "component": r[2], "source": "imported"}
              for r in imported.values()]
    return {"components": comps, "fault_codes": sorted(codes, key=lambda c: c["spn"])}


def export(conn: psycopg.Connection, folder: Path) -> list[Path]:
    """Write the active catalogue as the files `read_folder` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    data = active(conn)
    out = []
    for kind, rows in data.items():
        path = folder / FILES[kind]
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS[kind])
            for row in rows:
                if kind == "components" and row["source"] == "built-in":
                    continue  # built-in families are implied; the file holds the maker's
                writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS[kind]])
        out.append(path)
    return out


@click.group("catalogue")
def catalogue_group() -> None:
    """The catalogue of components and fault codes: built-in, plus a maker's own files."""


@catalogue_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def show_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the active catalogue's components and fault codes with their source."""
    import json

    from fleetcare.db import connect
    from fleetcare.runtime import services

    with services(settings_of(ctx)) as svc, connect(svc.db) as conn:
        data = active(conn)
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"components ({len(data['components'])}):")
    for c in data["components"]:
        click.echo(f"  {c['component_id']:<20} family {c['family']:<15} {c['source']:<9} "
                   f"{c['name']}")
    click.echo(f"fault codes ({len(data['fault_codes'])}):")
    for c in data["fault_codes"]:
        click.echo(f"  SPN {c['spn']:<7} -> {c['component']:<20} {c['source']:<9} {c['name']}")


@catalogue_group.command("import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def import_cmd(ctx: click.Context, folder: Path) -> None:
    """Check FOLDER's components.csv and fault_codes.csv and make them the imported part
    of the active catalogue (replacing an earlier import). Run `fleetcare features build
    --rebuild-as-of-now` afterwards to restate features built before."""
    from fleetcare.db import connect
    from fleetcare.runtime import services

    maker = read_folder(folder)
    with services(settings_of(ctx)) as svc, connect(svc.db, autocommit=True) as conn:
        counts = store(conn, maker)
    click.echo(f"catalogue imported from {folder}: {counts['components']} components, "
               f"{counts['fault_codes']} fault codes (with the built-in "
               f"{len(cat.COMPONENTS)} families and {len(cat.SPNS)} codes)")


@catalogue_group.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def export_cmd(ctx: click.Context, folder: Path) -> None:
    """Write the active catalogue to FOLDER as files `catalogue import` reads."""
    from fleetcare.db import connect
    from fleetcare.runtime import services

    with services(settings_of(ctx)) as svc, connect(svc.db) as conn:
        paths = export(conn, folder)
    click.echo("wrote " + ", ".join(str(p) for p in paths))
