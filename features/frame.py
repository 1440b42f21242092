"""Features (and labels) as a pandas DataFrame, read in bulk: COPY to CSV parsed by pyarrow.

One row per machine and day: ``day`` (datetime64), ``machine_id`` (string), the context
columns, the stored daily features, and with ``labels=H`` one ``fails_within_<component>``
column per component (nullable boolean: NA = censored or no such component). Column kinds
and units are in ``features.catalog.FEATURES``. Label columns look into the future by
definition; everything else is point in time.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeAlias

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from features.build import watermark_day
from features.catalog import BY_NAME, DAILY_COLUMNS, label_column
from features.days import FLEET_TZ_NAME
from fleetcare import catalogue as cat
from fleetcare import db, queries

DEFAULT_HORIZON_D = 30

Days: TypeAlias = "date | tuple[date, date] | Sequence[date] | pd.DatetimeIndex | None"

_Q = queries.load("features", "frame.sql")


def _days(conn: psycopg.Connection,
          days: Days) -> tuple[date | None, date | None, list[date] | None]:
    if days is None:
        row = conn.execute(_Q.day_span).fetchone()
        return (row[0], row[1], None) if row else (None, None, None)
    if isinstance(days, datetime):
        days = days.date()
    if isinstance(days, date):
        return days, days, None
    if isinstance(days, tuple) and len(days) == 2 and all(isinstance(d, date) for d in days):
        return _as_date(days[0]), _as_date(days[1]), None
    listed = sorted({_as_date(d) for d in days})
    return (listed[0], listed[-1], listed) if listed else (None, None, None)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def _arrow_type(name: str) -> pa.DataType:
    if name == "day":
        return pa.date32()
    if name == "machine_id":
        return pa.string()
    if name.startswith("fails_within_"):
        return pa.bool_()
    feature = BY_NAME[name]
    if feature.kind == "categorical":
        return pa.dictionary(pa.int32(), pa.string())
    if feature.kind == "boolean":
        return pa.bool_()
    return pa.float32()


def _read_csv(conn: psycopg.Connection, query: sql.Composable, params: dict[str, Any],
              columns: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    buf = io.BytesIO()
    copy_sql = _Q.copy_csv.format(query=query)
    with conn.cursor() as cur, cur.copy(copy_sql, params) as copy:
        for chunk in copy:
            buf.write(chunk)
    if not buf.tell():
        # pyarrow refuses an empty CSV; no rows is a normal answer (e.g. a new fleet).
        return pa.schema([(c, types.get(c, pa.string())) for c in columns]).empty_table()
    buf.seek(0)
    return pacsv.read_csv(
        buf,
        read_options=pacsv.ReadOptions(column_names=columns),
        parse_options=pacsv.ParseOptions(newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], true_values=["t"], false_values=["f"],
            strings_can_be_null=True, quoted_strings_can_be_null=False,
        ),
    )


def load_features(conn_or_url: psycopg.Connection | str, machines: Iterable[str] | None = None,
                  days: Days = None, labels: bool | int = False, *,
                  known_until: date | None = None) -> pd.DataFrame:
    """Features for `machines` (default all) on `days` (a date, (first, last), a list of
    dates, or None for every built day); with `labels` (True = 30 days, or an int H) the
    label columns "component fails within H days after the day".

    `known_until` is the last day whose future is known for labels (default: the last day
    the features job has built); a label whose window reaches past it and saw no failure
    is NA (right-censored), never False.
    """
    if isinstance(conn_or_url, str):
        with db.connect(conn_or_url) as conn:
            return load_features(conn, machines, days, labels, known_until=known_until)
    conn = conn_or_url
    horizon = DEFAULT_HORIZON_D if labels is True else int(labels) if labels else 0
    first, last, day_set = _days(conn, days)
    context = [f.name for f in BY_NAME.values() if f.source == "context"]
    label_cols = [label_column(c) for c in cat.COMPONENTS] if horizon else []
    columns = ["day", "machine_id", *context, *DAILY_COLUMNS, *label_cols]
    if first is None or last is None:
        return _empty(columns)
    if horizon and known_until is None:
        known_until = watermark_day(conn) or last
    frame_sql = _Q.frame
    daily = sql.SQL(", ").join(sql.SQL("f.{}").format(sql.Identifier(c)) for c in DAILY_COLUMNS)
    if horizon:
        one = _Q.label_column
        labels_sql: sql.Composable = sql.SQL("").join(
            sql.SQL(",\n       {} AS {}").format(
                one.format(component=sql.Literal(c)), sql.Identifier(label_column(c)))
            for c in cat.COMPONENTS
        )
        join_sql: sql.Composable = _Q.label_join
    else:
        labels_sql = sql.SQL("")
        join_sql = sql.SQL("")
    query = frame_sql.format(daily=daily, labels=labels_sql, label_join=join_sql)
    params = {"first": first, "last": last, "day_set": day_set,
              "machines": sorted(machines) if machines is not None else None,
              "tz": FLEET_TZ_NAME, "horizon_d": horizon, "known_until": known_until}
    types = {c: _arrow_type(c) for c in columns}
    table = _read_csv(conn, query, params, columns, types)
    return _to_pandas(table, label_cols)


def _to_pandas(table: pa.Table, label_cols: list[str]) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    frame["day"] = pd.to_datetime(frame["day"]).astype("datetime64[ns]")
    for col in label_cols:
        frame[col] = frame[col].astype("boolean")
    for col in frame.columns:
        meta = BY_NAME.get(col)
        if meta is not None and meta.kind == "boolean":
            frame[col] = frame[col].fillna(False).astype(bool)
    return frame


def _empty(columns: list[str]) -> pd.DataFrame:
    types = {c: _arrow_type(c) for c in columns}
    table = pa.table({c: pa.array([], type=t) for c, t in types.items()})
    return _to_pandas(table, [c for c in columns if c.startswith("fails_within_")])


def wear_intervals(conn_or_url: psycopg.Connection | str, machines: Iterable[str] | None = None,
                   *, known_until: date | None = None) -> pd.DataFrame:
    """Wear-part life intervals for survival models, one row per fitted part:
    machine_id, part, start_day, end_day, hours (engine hours the part ran), event
    (True = replaced, False = still fitted at `known_until`: right-censored), and the
    machine's product_line, model, region_id, segment."""
    if isinstance(conn_or_url, str):
        with db.connect(conn_or_url) as conn:
            return wear_intervals(conn, machines, known_until=known_until)
    conn = conn_or_url
    if known_until is None:
        known_until = watermark_day(conn)
        if known_until is None:
            row = conn.execute(_Q.day_span).fetchone()
            known_until = row[1] if row and row[1] else date.today()
    columns = ["machine_id", "part", "start_day", "end_day", "hours", "event", "product_line",
               "model", "region_id", "segment"]
    cat_type = pa.dictionary(pa.int32(), pa.string())
    types = {"machine_id": pa.string(), "part": cat_type, "start_day": pa.date32(),
             "end_day": pa.date32(), "hours": pa.float32(), "event": pa.bool_(),
             "product_line": cat_type, "model": cat_type, "region_id": cat_type,
             "segment": cat_type}
    params = {"tz": FLEET_TZ_NAME, "known_until": known_until,
              "machines": sorted(machines) if machines is not None else None}
    table = _read_csv(conn, _Q.wear_intervals,
                      params, columns, types)
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    for col in ("start_day", "end_day"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame
