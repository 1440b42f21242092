"""Planning against the real database: inputs from scores, proposed plans, CLI, exports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from fleetcare import catalogue
from fleetcare.queries import beside
from scheduler.config import SchedulerSettings
from scheduler.jobs import JobContext, run_job
from scheduler.service import propose_parts_plan, propose_visit_plan

Q = beside(__file__)

SCORED = date(2025, 3, 2)
MONDAY = date(2025, 3, 3)


def _world(url: str) -> None:
    """Two stations in Central China, a key account and a small customer, scores, stock."""
    central = catalogue.REGIONS["central"]
    with psycopg.connect(url) as conn:
        conn.execute(Q.insert_regions, (central.lat, central.lon))
        for p in central.peaks:
            conn.execute(Q.insert_region_peaks,
                         (p.name, *p.start, *p.end))
        conn.execute(Q.insert_customers)
        conn.execute(Q.insert_stations)
        machines = [
            # id, station, customer, line, delivered, warranty end, km east of the station
            ("KEY-HIGH", "S1", "KEY", "crawler_excavator", "2021-05-01", "2022-05-01", 20),
            ("OLD-LOW", "S1", "SMALL", "crawler_excavator", "2021-05-01", "2022-05-01", 8),
            ("PUMP", "S1", "SMALL", "pump_truck", "2023-02-01", "2024-02-01", 15),
            ("S2-RISKY", "S2", "SMALL", "roller", "2022-08-01", "2023-08-01", 10),
        ]
        for mid, sid, cust, line, delivered, wend, km in machines:
            lat, lon = conn.execute(Q.stations_lat,
                                    (sid,)).fetchone()  # type: ignore[misc]
            conn.execute(
                Q.insert_machines,
                (mid, line, cust, sid, delivered, wend, lat, lon + km / 96.0))
        risks = {"KEY-HIGH": {"hydraulic_pump": 0.45, "engine": 0.03},
                 "OLD-LOW": {"hydraulic_pump": 0.01, "engine": 0.01},
                 "PUMP": {"engine": 0.30, "main_valve": 0.05},
                 "S2-RISKY": {"travel_drive": 0.40}}
        for mid, comps in risks.items():
            for comp, risk in comps.items():
                reasons = [{"feature": "hyd_oil_temp_trend_30d", "value": 6.1,
                            "contribution": 0.2,
                            "text": f"{comp} signal trend +6 over 30 days"}] if risk > 0.2 else []
                # An older score that must be ignored in favour of the latest one.
                conn.execute(Q.older_risk,
                             (date(2025, 2, 20), mid, comp, 0.99))
                conn.execute(Q.latest_risk,
                             (SCORED, mid, comp, risk, Jsonb(reasons)))
        for mid in ("KEY-HIGH", "OLD-LOW", "PUMP"):
            conn.execute(Q.insert_wear_forecasts,
                         (SCORED, mid, SCORED, SCORED, mid))
        # Last spring's usage at S1, for "same as last season".
        conn.execute(Q.past_work_orders,
                     (Jsonb([{"part": "engine_oil", "qty": 1}]),
                      Jsonb([{"part": "engine_oil", "qty": 2},
                             {"part": "hydraulic_return_filter", "qty": 1}])))
        conn.execute(Q.insert_station_stock)


def test_visit_plan_from_database_scores_is_stored_as_proposed(db_url: str) -> None:
    _world(db_url)
    result = propose_visit_plan(db_url, window_start=MONDAY, weeks=4, created_by="test")
    with psycopg.connect(db_url) as conn:
        kind, status, ws, we, by = conn.execute(
            Q.plans_kind, (result["plan_id"],)).fetchone()  # type: ignore[misc]
        rows = conn.execute(Q.plan_visits_machine_id,
                            (result["plan_id"],)).fetchall()
    assert (kind, status, ws, we, by) == ("visits", "proposed", MONDAY, date(2025, 3, 30),
                                          "test")
    visited = {r[0]: r for r in rows}
    assert set(visited) == {"KEY-HIGH", "PUMP", "S2-RISKY"}   # OLD-LOW: not worth a visit
    assert result["visits"] == 3
    key = visited["KEY-HIGH"]
    assert key[1] == "S1" and key[2] == MONDAY
    assert "hydraulic_pump signal trend +6 over 30 days" in key[3]
    assert "key account" in key[3]
    assert {"part": "engine_oil", "qty": 1, "why": "overdue by 40 h"} in key[4]
    assert visited["S2-RISKY"][1] == "S2"


def test_plan_commands_json_export_and_review(db_url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import cli

    _world(db_url)
    monkeypatch.setenv("FLEETCARE_DATABASE_URL", db_url)
    runner = CliRunner()
    out = runner.invoke(cli, ["plan", "visits", "--station", "S1", "--window-start",
                              "2025-03-03", "--json", "--export", str(tmp_path)])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert {v["machine_id"] for v in doc["visits"]} == {"KEY-HIGH", "PUMP"}
    assert {v["station_id"] for v in doc["visits"]} == {"S1"}
    plan_id = doc["plan_id"]
    csv_file = tmp_path / f"visits_{plan_id}_S1.csv"
    assert sorted(Path(p).name for p in doc["exported"]) == [csv_file.name,
                                                             f"visits_{plan_id}_S1.xlsx"]
    assert csv_file.read_text("utf-8-sig").splitlines()[0].startswith("visit_date,technician")
    sheet = openpyxl.load_workbook(tmp_path / f"visits_{plan_id}_S1.xlsx").active
    assert sheet is not None and sheet.max_row == 3   # header + two visits

    out = runner.invoke(cli, ["plan", "parts", "--station", "S1", "--today", "2025-03-03",
                              "--json", "--export", str(tmp_path)])
    assert out.exit_code == 0, out.output
    parts = json.loads(out.output)
    oil = next(p for p in parts["parts"] if p["part"] == "engine_oil")
    # Last year 3 March - 31 May: the April breakdown's two (the 1 March visit is earlier).
    assert oil["naive_qty"] == 2 and oil["on_hand"] == 1
    # The two planned S1 visits change overdue oil: at least two pieces for sure.
    assert oil["target_stock"] >= 2 and oil["order_qty"] == oil["target_stock"] - 1
    assert (tmp_path / f"parts_{parts['plan_id']}_S1.xlsx").exists()

    out = runner.invoke(cli, ["plan", "review", str(plan_id), "approve", "--actor", "alice",
                              "--comment", "ok for March"])
    assert out.exit_code == 0 and "approved" in out.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute(Q.plans_status,
                            (plan_id,)).fetchone() == ("approved",)
        assert conn.execute(Q.plan_reviews_actor,
                            (plan_id,)).fetchall() == [("alice", "approve", "ok for March")]
    out = runner.invoke(cli, ["plan", "show", str(plan_id), "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["status"] == "approved"


def test_parts_plan_uses_the_visit_plan_and_last_season(db_url: str) -> None:
    _world(db_url)
    visits = propose_visit_plan(db_url, window_start=MONDAY, created_by="test")
    # A newer plan for S2 alone must not hide S1's visits from the parts planner.
    only_s2 = propose_visit_plan(db_url, window_start=MONDAY, created_by="test", station="S2")
    result = propose_parts_plan(db_url, today=MONDAY, created_by="test")
    with psycopg.connect(db_url) as conn:
        params = conn.execute(Q.plans_params,
                              (result["plan_id"],)).fetchone()[0]  # type: ignore[index]
        rows = conn.execute(
            Q.plan_parts_station_id,
            (result["plan_id"],)).fetchall()
    assert params["visit_plan"] == [visits["plan_id"], only_s2["plan_id"]]
    s1 = next(r for r in rows if r[0] == "S1")
    # Two planned visits in S1 replace overdue engine oil from 3 March on.
    assert s1[2] == MONDAY and s1[3] == date(2025, 2, 26) and s1[4] == 5
    assert s1[5] == 2


def test_scheduled_planning_jobs_write_plans(db_url: str) -> None:
    _world(db_url)
    ctx = JobContext(db_url, SchedulerSettings(), today=MONDAY)
    visits = run_job(ctx, "visit_plan_weekly")
    assert visits.outcome == "ok", visits.error
    assert visits.counts["visits"] == 3 and visits.counts["plan_id"]
    parts = run_job(JobContext(db_url, SchedulerSettings(parts_lookahead_days=40),
                               today=MONDAY), "parts_plan_monthly")
    assert parts.outcome == "ok" and parts.counts["lines"] > 0
    far = run_job(JobContext(db_url, SchedulerSettings(parts_lookahead_days=10),
                             today=MONDAY), "parts_plan_monthly")
    assert far.outcome == "ok" and far.counts["plan_id"] is None   # peak 29 days away


def test_demo_step_proposes_both_plans_and_summarises_per_station(db_url: str) -> None:
    from scheduler.demo import demo_lines, plan_for_demo

    _world(db_url)
    result = plan_for_demo(db_url)   # as of the latest scores: 2 March 2025
    assert result["as_of"] == "2025-03-02"
    assert result["visits"]["visits"] == 3 and result["parts"]["plan_id"] is not None
    assert set(result["stations"]) == {"S1", "S2"}
    assert result["stations"]["S1"]["visits"] == 2
    assert result["stations"]["S1"]["parts_order_cny"] > 0
    text = "\n".join(demo_lines(result))
    assert "3 visits" in text and "S2" in text


def test_hours_since_the_last_oil_service_come_from_the_database(db_url: str) -> None:
    from scheduler import store

    _world(db_url)
    with psycopg.connect(db_url) as conn:
        # OLD-LOW: oil changed at 700 h, meter now 930 h. PUMP: never serviced, 120 h.
        conn.execute(
            Q.insert_telemetry)  # after as_of
        conn.execute(Q.oil_change_old_low,
                     (Jsonb([{"part": "engine_oil", "qty": 1}]),))
        machines = {m.machine_id: m for m in store.load_machines(
            conn, SCORED, store.load_stations(conn))}
    assert machines["OLD-LOW"].hours_since_service == pytest.approx(230.0)
    assert machines["PUMP"].hours_since_service == pytest.approx(120.0)
    assert machines["KEY-HIGH"].hours_since_service is None   # no meter reading yet
