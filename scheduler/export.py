"""Export stored plans to CSV and XLSX, one file pair per station (what stations receive).

The XLSX is what a station opens: dates are date cells, technicians have names, each
visit says whose machine it is and where, columns are wide enough to read, the header
stays in view and has filters, and a second sheet explains every count of the summary.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from fleetcare import queries

VISIT_COLUMNS = ["visit_date", "technician", "trip", "stop", "machine_id", "model",
                 "customer", "site_lat", "site_lon", "work", "trip_days", "value_cny",
                 "avoided_cny", "travel_km", "reasons", "parts"]
PARTS_COLUMNS = ["part", "tier", "season", "season_start", "season_end", "demand_mean",
                 "demand_sd", "service_level", "target_stock", "on_hand", "on_order",
                 "order_qty", "needed_by", "lead_time_days", "order_by", "late",
                 "unit_price_cny", "order_value_cny", "naive_qty"]
DATE_COLUMNS = {"visit_date", "season_start", "season_end", "needed_by", "order_by"}

# What each figure of a plan's summary means, for the people who read it.
SUMMARY_MEANINGS: dict[str, str] = {
    "window_start": "first day of the plan",
    "window_end": "last day of the plan",
    "method": "how visits were chosen: mip = optimal per station (HiGHS), greedy = fast "
              "heuristic",
    "visits": "machines visited in the window",
    "trips": "technician trips (one technician, one or more stops; most take one day, a "
             "remote site's several)",
    "stations": "stations planned",
    "value_cny": "expected value of the visits: avoided breakdown cost plus the value of "
                 "due services and wear parts",
    "avoided_cny": "expected breakdown and downtime cost the visits avoid",
    "objective_cny": "value minus travel and labour cost (what the planner maximised)",
    "gap": "how far the solver's plan may be from the best possible (0 = proven best)",
    "solve_s": "seconds the planner took",
    "travel_km": "road kilometres driven by all technicians",
    "unreachable": "machines worth a visit that no technician can reach, serve and return "
                   "from even on the longest trip the policy allows (max_trip_days working "
                   "days, a night's lodging between them); left to breakdown service",
    "multi_day_trips": "trips to remote sites that take more than one working day",
    "lodging_nights": "nights technicians stay away on those trips (paid as lodging)",
    "tech_days_used": "technician-days the visits take (a multi-day trip counts each day)",
    "tech_days_offered": "technician-days the stations offered this plan for 保健 visits",
    "tech_days_unused": "offered technician-days the plan leaves free",
    "unused_because": "why days were left free: the planner sends a technician only where "
                      "a visit is worth more than it costs",
    "work": "visits by what they do: inspect (find running defects), service (the due "
            "hour-interval service), replace_wear (due wear parts)",
    "tech_days_by_station": "technician-days used per station",
    "today": "date the parts plan was made",
    "lines": "station and part pairs planned",
    "order_lines": "pairs with something to order",
    "order_value_cny": "value of all orders",
    "late_lines": "orders whose order-by date has passed: expedite them",
    "target_value_cny": "value of the target stock at all stations",
    "naive_target_value_cny": "value of 'the same as last season' stock, for comparison",
    "naive_mean_fill": "share of demand 'the same as last season' would have covered",
    "planned_mean_fill": "share of demand the planned stock covers (service level)",
}

_Q = queries.load("scheduler", "export.sql")


def technician_name(station_id: str, index: int) -> str:
    """A station's technician by index, named as the station's work orders name them."""
    return f"{station_id}-T{index + 1}"


def with_visit_details(conn: psycopg.Connection, rows: Sequence[dict[str, Any]]
                       ) -> list[dict[str, Any]]:
    """Visit rows with the technician's name, the machine's model, customer and site."""
    ids = sorted({r["machine_id"] for r in rows})
    details = {r[0]: r[1:] for r in conn.execute(_Q.visit_details, (ids,))} if ids else {}
    out = []
    for r in rows:
        model, customer, lat, lon, _station = details.get(r["machine_id"],
                                                          (None, None, None, None, None))
        out.append({**r, "technician": technician_name(r["station_id"], int(r["technician"])),
                    "model": model, "customer": customer, "site_lat": lat, "site_lon": lon})
    return out


def _flatten(value: Any) -> Any:
    """Lists in one cell: reasons joined by '; ', parts as 'part x qty'."""
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return "; ".join(f"{p.get('part')} x{p.get('qty')}" for p in value)
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def export_rows(rows: Sequence[dict[str, Any]], columns: list[str], out_dir: Path,
                stem: str, summary: dict[str, Any] | None = None) -> list[Path]:
    """Write `<stem>_<station>.csv` and `.xlsx` for every station in `rows`.

    With `summary`, the XLSX gets a second sheet with each figure and what it means.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    frame = pd.DataFrame([{k: _flatten(v) for k, v in r.items()} for r in rows])
    if frame.empty:
        return written
    # Yuan to the yuan, km and counts to one decimal: what a station reads.
    frame = frame.round({c: 0 for c in frame.columns if c.endswith("_cny")})
    frame = frame.round({c: 1 for c in ("travel_km", "demand_mean", "demand_sd")
                         if c in frame.columns})
    for column in DATE_COLUMNS & set(frame.columns):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    for station, part in frame.groupby("station_id", sort=True):
        table = part[[c for c in columns if c in part.columns]].reset_index(drop=True)
        base = out_dir / f"{stem}_{station}"
        # utf-8-sig: Excel opens Chinese text in a CSV correctly only with the BOM.
        table.to_csv(base.with_suffix(".csv"), index=False, encoding="utf-8-sig")
        write_xlsx(table, base.with_suffix(".xlsx"), str(station), summary)
        written += [base.with_suffix(".csv"), base.with_suffix(".xlsx")]
    return written


def write_xlsx(table: pd.DataFrame, path: Path, sheet: str,
               summary: dict[str, Any] | None = None) -> Path:
    """One sheet a station can work with: date cells, widths, frozen header, filters."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append(list(table.columns))
    for row in table.itertuples(index=False):
        ws.append([None if isinstance(v, float) and v != v else v for v in row])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for j, column in enumerate(table.columns, start=1):
        letter = get_column_letter(j)
        if column in DATE_COLUMNS:
            for cell in ws[letter][1:]:
                cell.number_format = "yyyy-mm-dd"
        longest = max([len(str(column)),
                       *(len(_shown(v)) for v in table[column].head(500))])
        ws.column_dimensions[letter].width = min(max(longest + 2, 8), 60)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    if summary:
        notes = book.create_sheet("summary")
        notes.append(["figure", "value", "meaning"])
        for cell in notes[1]:
            cell.font = Font(bold=True)
        for key, value in summary.items():
            if isinstance(value, dict | list):
                continue
            notes.append([key, value, SUMMARY_MEANINGS.get(key, "")])
        for letter, width in (("A", 24), ("B", 14), ("C", 100)):
            notes.column_dimensions[letter].width = width
        notes.freeze_panes = "A2"
    book.save(path)
    return path


def _shown(value: Any) -> str:
    if isinstance(value, date):
        return "2025-01-01"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return "" if value is None else str(value)
