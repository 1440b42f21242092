"""Feature jobs on a tiny hand-made fleet: hand-checked values, point in time, idempotence,
incremental = full rebuild, meter resets and gaps, label censoring. Both backends.

The fleet (times are Asia/Shanghai):
- M1, crawler excavator delivered 2025-03-03, readings 09:00-16:00 (one per engine hour)
  on 3/3, 3/4, 3/5, none on 3/6, 3/7 uploaded late (arrives 3/9 10:00), 3/8 (coolant hot),
  3/9. Hydraulic oil warms 1 °C per day. Faults on 3/4, 3/5 (two), 3/7 (late), a DM2 on
  3/8. A preventive engine service on 3/4 12:00 (engine oil and filter) and a hydraulic
  pump breakdown on 3/8 15:00 whose work order arrives 3/10 09:00.
- M2, tower crane (no engine) delivered 2025-03-01, no data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from importlib import resources

import pandas as pd
import psycopg
import pytest

from features import testing as T
from features.build import build
from features.catalog import DAILY_COLUMNS, FEATURES
from features.frame import load_features, wear_intervals
from fleetcare import catalogue as cat
from fleetcare.queries import beside

Q = beside(__file__)

D = date  # brevity in the tables below
START = datetime(2025, 3, 3)


def _hyd(ts: datetime) -> float:
    """Hydraulic oil temperature rising exactly 1 °C per day of elapsed time."""
    return 60.0 + (ts - START).total_seconds() / 86400.0


def _day(day: date, start: float, **kw: object) -> list[T.Reading]:
    rows = T.working_day("M1", day, start, **kw)  # type: ignore[arg-type]
    for r in rows:
        r.hydraulic_oil_temp_c = _hyd(r.ts)
    return rows


def _master(conn: psycopg.Connection) -> None:
    T.add_master(conn, [("M1", "crawler_excavator", "ZY210", D(2025, 3, 3)),
                        ("M2", "tower_crane", "TC5610", D(2025, 3, 1))], key_account=True)


# What arrives on each day (the leakage and incremental tests feed it day by day).
def _arrivals(conn: psycopg.Connection, day: date) -> None:
    late = datetime(2025, 3, 9, 10)
    if day == D(2025, 3, 3):
        T.add_readings(conn, _day(day, 0))
    elif day == D(2025, 3, 4):
        T.add_readings(conn, _day(day, 8))
        T.add_fault(conn, "M1", datetime(2025, 3, 4, 10), 1638, 16, oc=3)
        T.add_service(conn, "M1", datetime(2025, 3, 4, 12), "preventive", components=["engine"],
                      parts=["engine_oil", "engine_oil_filter"],
                      arrived=datetime(2025, 3, 4, 18))
    elif day == D(2025, 3, 5):
        T.add_readings(conn, _day(day, 16))
        T.add_fault(conn, "M1", datetime(2025, 3, 5, 11), 1638, 16, oc=12)
        T.add_fault(conn, "M1", datetime(2025, 3, 5, 12), 110, 0, oc=1)
    elif day == D(2025, 3, 8):
        T.add_readings(conn, _day(day, 32, coolant_temp_c=101.0))
        T.add_fault(conn, "M1", datetime(2025, 3, 8, 13), 110, 0, oc=2, active=False)
    elif day == D(2025, 3, 9):
        T.add_readings(conn, _day(D(2025, 3, 7), 24, arrived=late))
        T.add_fault(conn, "M1", datetime(2025, 3, 7, 10), 100, 1, arrived=late)
        T.add_readings(conn, _day(day, 40))
    elif day == D(2025, 3, 10):
        T.add_service(conn, "M1", datetime(2025, 3, 8, 15), "breakdown",
                      components=["hydraulic_pump"], arrived=datetime(2025, 3, 10, 9))


DAYS = [D(2025, 3, 1) + timedelta(days=i) for i in range(14)]   # 3/1 .. 3/14


def _fleet(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    _master(conn)
    for day in DAYS:
        _arrivals(conn, day)
    return conn


def _rows(conn: psycopg.Connection, machine: str = "M1") -> dict[date, dict[str, object]]:
    cur = conn.execute(Q.features_daily_row,
                       (machine,))
    names = [c.name for c in cur.description or []]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur}


def test_hand_checked_values(backend_db_url: str) -> None:
    with _fleet(backend_db_url) as conn:
        build(conn, D(2025, 3, 1), D(2025, 3, 14))
        m1 = _rows(conn)
        m2 = _rows(conn, "M2")

    assert min(m1) == D(2025, 3, 3)            # no rows before delivery
    assert min(m2) == D(2025, 3, 1)
    # Use: (day, engine_hours, hours_1d, hours_7d, readings_7d, days_since_reading)
    expected = [
        (D(2025, 3, 3), 8, 8, 8, 8, 0),
        (D(2025, 3, 4), 16, 8, 16, 16, 0),
        (D(2025, 3, 5), 24, 8, 24, 24, 0),
        (D(2025, 3, 6), 24, 0, 24, 24, 1),        # no readings: a gap day
        (D(2025, 3, 7), 24, 0, 24, 24, 2),        # 3/7's readings have not arrived yet
        (D(2025, 3, 8), 40, 16, 40, 32, 0),       # meter 24 -> 40 across the unknown 3/7
        (D(2025, 3, 9), 48, 8, 48, 48, 0),        # the late 3/7 upload is known now
        (D(2025, 3, 10), 48, 0, 40, 40, 1),       # window 3/4..3/10
        (D(2025, 3, 14), 48, 0, 16, 16, 5),       # window 3/8..3/14: the late 3/7 cell is out
    ]
    for day, hours, h1, h7, n7, gap in expected:
        row = m1[day]
        assert (row["engine_hours"], row["hours_1d"], row["hours_7d"], row["readings_7d"],
                row["days_since_reading"]) == (hours, h1, h7, n7, gap), day
    assert m1[D(2025, 3, 9)]["idle_share_7d"] == pytest.approx(0.25)
    assert m1[D(2025, 3, 9)]["load_factor_7d"] == pytest.approx(0.5)
    assert m1[D(2025, 3, 9)]["hours_90d"] == 48
    # Sensors: 8 hot coolant readings of 32 known on 3/8, of 48 on 3/9.
    assert m1[D(2025, 3, 8)]["coolant_hot_share_7d"] == pytest.approx(8 / 32)
    assert m1[D(2025, 3, 9)]["coolant_hot_share_7d"] == pytest.approx(8 / 48)
    assert m1[D(2025, 3, 9)]["coolant_mean_7d"] == pytest.approx((40 * 85 + 8 * 101) / 48)
    assert m1[D(2025, 3, 9)]["hyd_oil_temp_slope_14d"] == pytest.approx(1.0, abs=1e-4)
    assert m1[D(2025, 3, 3)]["hyd_oil_temp_slope_14d"] is None   # 8 readings within hours

    # Faults: (day, all_1d, all_7d, codes_7d, high_oc_7d, new_7d, pump_7d, cooling_7d, engine_7d)
    faults = [
        (D(2025, 3, 4), 1, 1, 1, 0, 1, 1, 0, 0),
        (D(2025, 3, 5), 2, 3, 2, 1, 2, 2, 1, 0),
        (D(2025, 3, 8), 0, 3, 2, 1, 2, 2, 1, 0),    # the DM2 report is not an active code
        (D(2025, 3, 9), 0, 4, 3, 1, 3, 2, 1, 1),    # the late 3/7 code counts from 3/9
        (D(2025, 3, 12), 0, 1, 1, 0, 1, 0, 0, 1),   # window 3/6..3/12 (code new since 3/9)
    ]
    for day, a1, a7, codes, high, new, pump, cooling, engine in faults:
        row = m1[day]
        assert (row["faults_all_1d"], row["faults_all_7d"], row["codes_7d"],
                row["high_oc_codes_7d"], row["new_codes_7d"], row["faults_7d_hydraulic_pump"],
                row["faults_7d_cooling"], row["faults_7d_engine"]) == (
                    a1, a7, codes, high, new, pump, cooling, engine), day
    assert m1[D(2025, 3, 9)]["faults_30d_engine"] == 1

    # Service history. M1 is seen from new, so "never" counts from delivery.
    r3, r4, r9, r10 = (m1[D(2025, 3, d)] for d in (3, 4, 9, 10))
    assert (r3["days_since_service_engine"], r3["hours_since_service_engine"]) == (0, 8)
    assert (r4["days_since_service_engine"], r4["hours_since_service_engine"]) == (0, 4)
    assert r4["part_hours_engine_oil"] == 4 and r4["overdue_h_250"] == 4 - 250
    assert r4["part_hours_fuel_filter"] == 16 and r4["overdue_h_500"] == 16 - 500
    assert r9["days_since_any_service"] == 5 and r9["hours_since_any_service"] == 48 - 12
    # The breakdown of 3/8 is known from 3/10 only; the meter then read 39 h at 15:00.
    assert (r9["days_since_repair_hydraulic_pump"], r9["breakdowns_365d_hydraulic_pump"]) == (6, 0)
    assert (r10["days_since_repair_hydraulic_pump"], r10["hours_since_repair_hydraulic_pump"],
            r10["breakdowns_365d_hydraulic_pump"], r10["breakdowns_all_365d"],
            r10["days_since_any_breakdown"]) == (2, 48 - 39, 1, 1, 2)
    assert r10["days_since_repair_engine"] == 7

    # M2 has no engine, no data: engine features are NULL, counts of what it has are 0.
    m2row = m2[D(2025, 3, 9)]
    assert m2row["engine_hours"] is None and m2row["days_since_reading"] is None
    assert m2row["faults_7d_engine"] is None and m2row["part_hours_engine_oil"] is None
    assert m2row["faults_7d_swing"] == 0 and m2row["readings_7d"] == 0
    assert m2row["days_since_service_swing"] is None     # never seen, so not "from new"


def test_point_in_time_late_upload_leaves_stored_rows(backend_db_url: str) -> None:
    """Rows for past days stay as computed when late data for those days arrives; only
    an explicit rebuild as of now rewrites them (and marks them)."""
    with psycopg.connect(backend_db_url, autocommit=True) as conn:
        _master(conn)
        for day in DAYS[:8]:                      # everything that arrived by 3/8
            _arrivals(conn, day)
        build(conn, D(2025, 3, 1), D(2025, 3, 8))
        before = _rows(conn)
        assert before[D(2025, 3, 7)]["engine_hours"] == 24

        for day in DAYS[8:10]:                    # 3/9 brings the late 3/7 upload
            _arrivals(conn, day)
        result = build(conn)                      # the daily run: days after the watermark
        assert (result.first, result.last) == (D(2025, 3, 9), D(2025, 3, 10))
        after = _rows(conn)
        assert {d: after[d] for d in before} == before
        assert after[D(2025, 3, 9)]["faults_7d_engine"] == 1

        # Building the past days again point in time changes nothing either.
        again = build(conn, D(2025, 3, 3), D(2025, 3, 8))
        assert again.rows_written == 0
        assert {d: r for d, r in _rows(conn).items() if d in before} == before

        # Explicitly restated with everything known now: 3/7 sees its own readings.
        build(conn, D(2025, 3, 7), D(2025, 3, 8), as_of_now=True)
        restated = _rows(conn)
        assert restated[D(2025, 3, 7)]["engine_hours"] == 32
        assert restated[D(2025, 3, 7)]["as_of_now"] is True
        assert restated[D(2025, 3, 8)]["hours_1d"] == 8
        assert restated[D(2025, 3, 6)] == before[D(2025, 3, 6)]
        # ... and the next daily run is still point in time: restated rows are never inputs.
        for day in DAYS[10:]:
            _arrivals(conn, day)
        build(conn)
        assert _rows(conn)[D(2025, 3, 9)] == after[D(2025, 3, 9)]


def test_idempotent_and_watermark(backend_db_url: str) -> None:
    with _fleet(backend_db_url) as conn:
        first = build(conn, D(2025, 3, 1), D(2025, 3, 14))
        assert first.rows_written == 14 + 12
        assert build(conn, D(2025, 3, 1), D(2025, 3, 14)).rows_written == 0
        assert build(conn).first is None          # watermark at 3/14: nothing new
        mark = conn.execute(
            Q.job_watermarks_detail_day
        ).fetchone()
        assert mark == ("2025-03-14",)


def _frame(conn: psycopg.Connection) -> pd.DataFrame:
    return load_features(conn, labels=3, known_until=D(2025, 3, 12)).reset_index(drop=True)


def test_incremental_equals_full_rebuild(backend_db_url: str) -> None:
    """Day-by-day runs as data arrives (late uploads, a meter reset, late work orders)
    give exactly the rows of one full build over the final data."""
    with psycopg.connect(backend_db_url, autocommit=True) as conn:
        _master(conn)
        for day in DAYS:
            _arrivals(conn, day)
            if day == D(2025, 3, 12):            # M1's hour meter is replaced
                T.add_readings(conn, T.working_day("M1", day, -1))   # reads 0..7 h
                T.add_meter_reset(conn, "M1", datetime(2025, 3, 12, 9), 48, 0)
            build(conn, None, day, chunk_days=3)
        daily = _frame(conn)
        conn.execute(Q.truncate)
        conn.execute(Q.delete_job_watermarks)
        build(conn, None, D(2025, 3, 14), workers=2)   # from the first day with data
        full = _frame(conn)
    pd.testing.assert_frame_equal(daily, full, check_exact=True)
    assert len(full) == 12 + 12 and full.day.min() == pd.Timestamp("2025-03-03")


def test_meter_reset_and_gap(backend_db_url: str) -> None:
    with psycopg.connect(backend_db_url, autocommit=True) as conn:
        T.add_master(conn, [("M3", "roller", "YZ18", D(2020, 1, 1))])
        T.add_readings(conn, T.working_day("M3", D(2025, 3, 3), 1000))       # 1001..1008
        T.add_readings(conn, T.working_day("M3", D(2025, 3, 4), 0))          # 1..8 after reset
        T.add_meter_reset(conn, "M3", datetime(2025, 3, 4, 9), 1008, 1)
        T.add_readings(conn, T.working_day("M3", D(2025, 3, 10), 8))         # 9..16, gap before
        build(conn, D(2025, 3, 3), D(2025, 3, 11))
        rows = _rows(conn, "M3")
    # Offset 1007 h: the reset day reads 1008..1015.
    assert [rows[D(2025, 3, d)]["engine_hours"] for d in (3, 4, 5, 10, 11)] == [
        1008, 1015, 1015, 1023, 1023]
    assert rows[D(2025, 3, 4)]["hours_1d"] == 7
    assert rows[D(2025, 3, 10)]["hours_7d"] == 7 + 8      # 3/4..3/10: 3/4 and 3/10 ran
    assert rows[D(2025, 3, 9)]["days_since_reading"] == 5
    assert rows[D(2025, 3, 10)]["idle_share_7d"] == pytest.approx(0.25)
    assert rows[D(2025, 3, 10)]["fuel_rate_30d"] is None     # meter before 30 days unknown
    # Not seen from new (delivered 2020): no service record means "unknown", not "since new".
    assert rows[D(2025, 3, 10)]["hours_since_service_engine"] is None


def test_labels_and_censoring(backend_db_url: str) -> None:
    with _fleet(backend_db_url) as conn:
        build(conn, D(2025, 3, 1), D(2025, 3, 14))
        frame = load_features(conn, labels=3, known_until=D(2025, 3, 9))
    m1 = frame[frame.machine_id == "M1"].set_index("day")
    pump = m1["fails_within_hydraulic_pump"]
    assert pump[pd.Timestamp("2025-03-04")] is False or not pump[pd.Timestamp("2025-03-04")]
    assert bool(pump[pd.Timestamp("2025-03-05")]) is True          # 3/8 in 3/6..3/8
    assert bool(pump[pd.Timestamp("2025-03-07")]) is True          # seen, though past 3/9
    assert pump[pd.Timestamp("2025-03-08")] is pd.NA               # 3/9..3/11: censored
    assert bool(pump[pd.Timestamp("2025-03-06")]) is True
    engine = m1["fails_within_engine"]
    assert bool(engine[pd.Timestamp("2025-03-06")]) is False       # 3/7..3/9 known, none
    assert engine[pd.Timestamp("2025-03-07")] is pd.NA
    m2 = frame[frame.machine_id == "M2"]
    assert m2["fails_within_engine"].isna().all()                  # a tower crane has none
    assert not m2["fails_within_swing"].isna().all()
    assert str(pump.dtype) == "boolean"


def test_frame_types_and_wear_intervals(db_url: str) -> None:
    with _fleet(db_url) as conn:
        build(conn, D(2025, 3, 1), D(2025, 3, 14))
        frame = load_features(conn, machines=["M1"], days=(D(2025, 3, 9), D(2025, 3, 10)))
        picked = load_features(conn, days=[D(2025, 3, 4), D(2025, 3, 9)])
        wear = wear_intervals(conn, known_until=D(2025, 3, 14))
    assert list(frame.columns[:2]) == ["day", "machine_id"]
    assert len(frame) == 2 and list(picked.day.dt.day.unique()) == [4, 9]
    assert str(frame["day"].dtype) == "datetime64[ns]"
    assert str(frame["machine_id"].dtype) == "string"
    for f in FEATURES:
        dtype = frame[f.name].dtype
        if f.kind == "categorical":
            assert isinstance(dtype, pd.CategoricalDtype), f.name
        elif f.kind == "boolean":
            assert dtype == "bool", f.name
        else:
            assert dtype == "float32", f.name
    assert frame.loc[frame.day == "2025-03-09", "engine_hours"].item() == 48
    oil = wear[(wear.machine_id == "M1") & (wear.part == "engine_oil")]
    # Fitted at delivery, changed at 12 h on 3/4, still fitted at 48 h: censored.
    assert list(zip(oil.hours, oil.event, strict=True)) == [(12.0, True), (36.0, False)]
    assert "M2" not in set(wear.machine_id)                   # not seen from new


def test_feature_sql_matches_catalogue_and_schema(db_url: str) -> None:
    names = [f.name for f in FEATURES]
    assert len(names) == len(set(names))
    with psycopg.connect(db_url) as conn:
        table = [r[0] for r in conn.execute(
            Q.information_schema_columns_column_name)]
    assert table == ["day", "machine_id", "as_of_now", *DAILY_COLUMNS]
    for comp in cat.COMPONENTS:
        for generic in ("faults_7d", "faults_30d", "days_since_service", "hours_since_service",
                        "days_since_repair", "hours_since_repair", "breakdowns_365d"):
            assert f"{generic}_{comp}" in names
    assert {n.removeprefix("part_hours_") for n in names if n.startswith("part_hours_")} == set(
        cat.WEAR_PARTS)
    for f in FEATURES:
        assert f.unit and f.meaning, f.name
    # The fleet zone lives in features/days.py only.
    for entry in resources.files("features").joinpath("sql").iterdir():
        assert not re.search(r"Asia/", entry.read_text("utf-8")), entry.name


def test_cli_list() -> None:
    from click.testing import CliRunner

    from app.cli import cli

    result = CliRunner().invoke(cli, ["features", "list"])
    assert result.exit_code == 0, result.output
    assert "hours_since_service_engine" in result.output


def test_chunk_size_does_not_change_rows(db_url: str) -> None:
    """A 150-day synthetic fleet (late uploads, faults, services) built in one chunk, in
    week chunks and in parallel machine shares gives the same rows: windows, the 90-day
    look-up and the late corrections do not depend on where chunks start."""
    from features import synthetic

    start = date(2025, 1, 1)
    with psycopg.connect(db_url, autocommit=True) as conn:
        synthetic.write_master(conn, 30, start)
        synthetic.write_days(conn, 30, start, 0, 149)
        last = start + timedelta(days=149)
        build(conn, None, last)
        one = load_features(conn)
        conn.execute(Q.truncate)
        build(conn, start, last, chunk_days=7)
        weeks = load_features(conn)
        conn.execute(Q.truncate)
        from features import build as build_module

        old = build_module.MAX_GRID_ROWS
        build_module.MAX_GRID_ROWS = 1000            # forces several machine shares
        try:
            build(conn, start, last, workers=2)
        finally:
            build_module.MAX_GRID_ROWS = old
        shares = load_features(conn)
    assert len(one) == 30 * 150
    assert one["hours_90d"].notna().sum() > 0 and one["faults_all_30d"].sum() > 0
    pd.testing.assert_frame_equal(one, weeks, check_exact=True)
    pd.testing.assert_frame_equal(one, shares, check_exact=True)


def test_load_features_on_an_empty_database_is_an_empty_frame(db_url: str) -> None:
    from features.frame import load_features

    frame = load_features(db_url, labels=True)
    assert len(frame) == 0 and "machine_id" in frame.columns
