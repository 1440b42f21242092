"""Export stored plans to CSV and XLSX, one file pair per station (what stations receive)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

VISIT_COLUMNS = ["visit_date", "technician", "trip", "stop", "machine_id", "value_cny",
                 "avoided_cny", "travel_km", "work", "trip_days", "reasons", "parts"]
PARTS_COLUMNS = ["part", "tier", "season", "season_start", "season_end", "demand_mean",
                 "demand_sd", "service_level", "target_stock", "on_hand", "on_order",
                 "order_qty", "needed_by", "lead_time_days", "order_by", "late",
                 "unit_price_cny", "order_value_cny", "naive_qty"]


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
                stem: str) -> list[Path]:
    """Write `<stem>_<station>.csv` and `.xlsx` for every station in `rows`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    frame = pd.DataFrame([{k: _flatten(v) for k, v in r.items()} for r in rows])
    if frame.empty:
        return written
    # Yuan to the yuan, km and counts to one decimal: what a station reads.
    frame = frame.round({c: 0 for c in frame.columns if c.endswith("_cny")})
    frame = frame.round({c: 1 for c in ("travel_km", "demand_mean", "demand_sd")
                         if c in frame.columns})
    for station, part in frame.groupby("station_id", sort=True):
        table = part[[c for c in columns if c in part.columns]].reset_index(drop=True)
        base = out_dir / f"{stem}_{station}"
        # utf-8-sig: Excel opens Chinese text in a CSV correctly only with the BOM.
        table.to_csv(base.with_suffix(".csv"), index=False, encoding="utf-8-sig")
        table.to_excel(base.with_suffix(".xlsx"), index=False, sheet_name=str(station)[:31],
                       engine="openpyxl")
        written += [base.with_suffix(".csv"), base.with_suffix(".xlsx")]
    return written
