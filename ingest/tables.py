"""Reading the files `fleetcare import` takes: text encodings, CSV or Parquet tables with
their required columns, AEMP JSON pages. Nothing is stored here: a file that cannot be
read raises ImportFileError before any of its rows is.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fleetcare.errors import TerminalError

# kind -> {column: type}; "seq" may be missing (derived from the row, see derive_seq).
LAYOUTS: dict[str, dict[str, str]] = {
    "telemetry": {
        "machine_id": "str", "seq": "int", "ts": "ts", "sent_at": "ts",
        "engine_hours": "float", "idle_hours": "float", "fuel_used_l": "float",
        "lat": "float", "lon": "float", "coolant_temp_c": "float?",
        "hydraulic_oil_temp_c": "float?", "engine_load_pct": "float?",
        "hydraulic_pressure_bar": "float?",
    },
    "faults": {
        "machine_id": "str", "seq": "int", "ts": "ts", "sent_at": "ts", "spn": "int",
        "fmi": "int", "oc": "int", "active": "bool",
    },
    "service": {
        "machine_id": "str", "seq": "int", "ts": "ts", "sent_at": "ts", "kind": "str",
        "work_order": "str", "components": "list", "parts": "parts", "downtime_h": "float",
        "cost_cny": "float", "engine_hours": "float", "station_id": "str",
        "technician": "str",
    },
}
MACHINE_COLUMNS = ("machine_id", "serial", "model", "product_line", "customer_id",
                   "region_id", "station_id", "delivery_date", "warranty_end", "site_lat",
                   "site_lon")
# Columns a file must have (seq may be missing: derived, see _derive_seq).
REQUIRED: dict[str, tuple[str, ...]] = {
    "telemetry": ("machine_id", "ts", "engine_hours"),
    "faults": ("machine_id", "ts", "spn", "fmi", "oc", "active"),
    "service": ("machine_id", "ts", "kind"),
    "machines": ("machine_id", "model", "product_line", "region_id", "delivery_date"),
}
# Tried in order when no --encoding is given: what Excel and dealer systems write.
DETECTED_ENCODINGS = ("utf-8", "gb18030")


class ImportFileError(TerminalError):
    """A file cannot be imported as it is (unreadable, wrong encoding, missing columns)."""


def decode_text(path: Path, encoding: str | None = None) -> str:
    """The text of ``path``: in ``encoding``, or UTF-8 (BOM or not, also UTF-16 with a
    BOM) else GB18030, the superset of GBK that Excel writes on a Chinese Windows."""
    data = path.read_bytes()
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(f"--encoding {encoding}: unknown encoding "
                                  "(try utf-8, gbk or gb18030)") from None
        try:
            return data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ImportFileError(f"{path}: line {line} is not {encoding} text; give the "
                                  "file's encoding with --encoding") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16").removeprefix("\ufeff")
    for candidate in DETECTED_ENCODINGS:
        try:
            return data.decode(candidate).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    raise ImportFileError(f"{path}: neither UTF-8 nor GBK/GB18030 text; give its encoding "
                          "with --encoding")


def read_table(path: Path, kind: str, encoding: str | None = None
                ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: value}) from CSV (row 2 = first data line) or Parquet.

    The file is opened, decoded and its header checked here, before anything is stored,
    so a corrupt file or a missing column stores nothing and says why in one line.
    """
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImportFileError(f"{path}: not a readable Parquet file ({first}); export it "
                                  "again or check the copy is complete") from None
        _check_columns(path, kind, table.column_names)
        return enumerate(table.to_pylist(), start=1)
    reader = csv.DictReader(io.StringIO(decode_text(path, encoding), newline=""))
    try:
        _check_columns(path, kind, [c.strip() for c in reader.fieldnames or []])
    except csv.Error as exc:
        raise ImportFileError(f"{path}: line 1: not valid CSV ({exc})") from None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for n, row in enumerate(reader, start=2):
                yield n, {k.strip(): v for k, v in row.items() if k is not None}
        except csv.Error as exc:
            raise ImportFileError(
                f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None

    return rows()


def _check_columns(path: Path, kind: str, columns: list[str]) -> None:
    """Refuse a file without the columns its kind needs, naming them."""
    missing = [c for c in REQUIRED.get(kind, ()) if c not in columns]
    if missing:
        known = MACHINE_COLUMNS if kind == "machines" else tuple(LAYOUTS[kind])
        unknown = [c for c in columns if c and c not in known]
        extra = f"; unknown column(s): {', '.join(unknown)}" if unknown else ""
        raise ImportFileError(
            f"{path}: missing column(s) {', '.join(missing)} for {kind}{extra} "
            "(layouts: examples/import/README.md)")


def read_json(path: Path, encoding: str | None) -> Any:
    """An AEMP snapshot document; a truncated or non-JSON file is one line."""
    try:
        return json.loads(decode_text(path, encoding))
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path}: not valid JSON at line {exc.lineno} column "
                              f"{exc.colno} ({exc.msg}); is the file complete?") from None
