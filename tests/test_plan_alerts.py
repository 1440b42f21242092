"""Alerts between weekly plans and what counts as the last visit, on the real database."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
from psycopg.types.json import Jsonb

from fleetcare import catalogue
from fleetcare.queries import beside
from scheduler import store
from scheduler.service import propose_dispatch, propose_visit_plan

Q = beside(__file__)

MONDAY = date(2025, 3, 3)


def _world(url: str) -> None:
    """One station with three technicians and five quiet machines near it."""
    central = catalogue.REGIONS["central"]
    with psycopg.connect(url) as conn:
        conn.execute(Q.insert_regions, (central.lat, central.lon))
        conn.execute(Q.insert_customers)
        conn.execute(Q.insert_stations)
        for k in range(5):
            conn.execute(
                Q.insert_machines, (f"M{k}", 114.31 + (8 + 3 * k) / 96.0))


def _score(url: str, day: date, risks: dict[str, float]) -> None:
    with psycopg.connect(url) as conn:
        for mid, risk in risks.items():
            conn.execute(Q.insert_risk_scores, (day, mid, risk))


def test_a_risk_jump_mid_week_is_visited_within_two_days_from_held_back_capacity(
        db_url: str) -> None:
    _world(db_url)
    quiet = {f"M{k}": 0.01 for k in range(5)}
    _score(db_url, MONDAY - timedelta(days=1), quiet)
    weekly = propose_visit_plan(db_url, window_start=MONDAY, weeks=1, created_by="test")
    assert weekly["visits"] == 0
    # The weekly plan left the alert share free: 3 technicians x 6 days, 20 % held back.
    assert weekly["tech_days_offered"] == 18 - 4
    # Tuesday night M3's score jumps: Wednesday morning a technician goes.
    tuesday = MONDAY + timedelta(days=1)
    _score(db_url, tuesday, {**quiet, "M3": 0.45})
    wednesday = tuesday + timedelta(days=1)
    out = propose_dispatch(db_url, day=wednesday, created_by="test")
    assert out["alerts"] == 1 and out["visits"] == 1
    with psycopg.connect(db_url) as conn:
        rows = store.read_visits(conn, out["plan_id"])
        params = conn.execute(Q.plans_params,
                              (out["plan_id"],)).fetchone()[0]  # type: ignore[index]
    assert [(r["machine_id"], r["visit_date"]) for r in rows] == [("M3", wednesday.isoformat())]
    assert "inspect" in rows[0]["work"]
    assert params["dispatch"] is True and params["weekly_plan"] == weekly["plan_id"]
    # Wednesday night M1 jumps and M3 stays high: Thursday is no alert morning (the
    # default alert mornings are Wednesday and Friday); Friday morning M1 is visited,
    # two days after its jump was seen; M3 is covered already.
    _score(db_url, wednesday, {**quiet, "M3": 0.45, "M1": 0.5})
    thursday = wednesday + timedelta(days=1)
    assert propose_dispatch(db_url, day=thursday, created_by="test")["plan_id"] is None
    _score(db_url, thursday, {**quiet, "M3": 0.45, "M1": 0.5})
    friday = thursday + timedelta(days=1)
    again = propose_dispatch(db_url, day=friday, created_by="test")
    assert again["alerts"] == 1
    with psycopg.connect(db_url) as conn:
        rows = store.read_visits(conn, again["plan_id"])
    assert [(r["machine_id"], r["visit_date"]) for r in rows] == [("M1", friday.isoformat())]


def test_alert_capacity_is_the_held_back_share_and_runs_out(db_url: str) -> None:
    _world(db_url)
    quiet = {f"M{k}": 0.01 for k in range(5)}
    _score(db_url, MONDAY - timedelta(days=1), quiet)
    propose_visit_plan(db_url, window_start=MONDAY, weeks=1, created_by="test")
    from scheduler.policy import load_policy

    one_day = load_policy().model_copy(update={"alert_share": 0.06,    # 1 of 18 days
                                               "alert_days": (1, 2, 3, 4, 5)})
    day = MONDAY + timedelta(days=1)
    _score(db_url, MONDAY, {**quiet, "M0": 0.5})
    first = propose_dispatch(db_url, day=day, created_by="test", policy=one_day)
    assert first["visits"] == 1 and first["tech_days_used"] == 1
    _score(db_url, day, {**quiet, "M0": 0.5, "M4": 0.6})
    second = propose_dispatch(db_url, day=day + timedelta(days=1), created_by="test",
                              policy=one_day)
    assert second["plan_id"] is None and second["alerts"] == 1
    assert "no alert capacity left" in second["why"]


def test_a_customers_own_oil_change_does_not_lock_a_machine_out(db_url: str) -> None:
    _world(db_url)
    oil = Jsonb([{"part": "engine_oil", "qty": 1}])
    with psycopg.connect(db_url) as conn:
        # M0: the customer's booked oil change; M1: a part fitted on condition;
        # M2: a 保健 inspection by the service network.
        conn.execute(
            Q.insert_service_records,
            (oil, Jsonb([{"part": "bucket_teeth", "qty": 5}])))
        stations = store.load_stations(conn)
        machines = {m.machine_id: m for m in store.load_machines(conn, MONDAY, stations)}
    assert machines["M0"].last_visit is None and machines["M1"].last_visit is None
    assert machines["M2"].last_visit == date(2025, 2, 27)
