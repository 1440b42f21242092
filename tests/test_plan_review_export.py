"""What a station receives and how a plan is reviewed: the XLSX a planner opens, the list
of plans, and review states that refuse contradictions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import psycopg
import pytest
from click.testing import CliRunner
from test_plan_db import MONDAY, _world

from app.cli import cli
from fleetcare.queries import beside
from scheduler.service import propose_visit_plan

Q = beside(__file__)


@pytest.fixture
def runner(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FLEETCARE_DATABASE_URL", db_url)
    return CliRunner()


def test_visit_xlsx_is_a_sheet_a_station_can_use(db_url: str, runner: CliRunner,
                                                 tmp_path: Path) -> None:
    _world(db_url)
    out = runner.invoke(cli, ["plan", "visits", "--station", "S1", "--window-start",
                              "2025-03-03", "--export", str(tmp_path)])
    assert out.exit_code == 0, out.output
    book = openpyxl.load_workbook(next(tmp_path.glob("visits_*_S1.xlsx")))
    sheet = book["S1"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True))
            for row in sheet.iter_rows(min_row=2)]
    assert {r["machine_id"] for r in rows} == {"KEY-HIGH", "PUMP"}
    key = next(r for r in rows if r["machine_id"] == "KEY-HIGH")
    # A real date cell, shown as a date; a technician by name; whose machine, where.
    assert isinstance(key["visit_date"], dt.datetime) and key["visit_date"].date() == MONDAY
    assert sheet.cell(row=2, column=header.index("visit_date") + 1).number_format == "yyyy-mm-dd"
    assert key["technician"] in {"S1-T1", "S1-T2"}
    assert key["customer"] == "Big Builder" and key["model"] == "X"
    assert key["site_lat"] == pytest.approx(30.59) and key["site_lon"] > 114.31
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == sheet.dimensions
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDEFG"}
    assert all(w and w >= 8 for w in widths.values()), widths
    summary = {r[0].value: (r[1].value, r[2].value) for r in book["summary"].iter_rows(min_row=2)}
    assert summary["visits"][0] == 2
    assert "longest trip" in summary["unreachable"][1]
    assert all(meaning for _value, meaning in summary.values())
    csv_text = next(tmp_path.glob("visits_*_S1.csv")).read_text("utf-8-sig")
    assert "Big Builder" in csv_text and "2025-03-03" in csv_text


def test_review_states_refuse_contradictions_and_keep_history(db_url: str,
                                                               runner: CliRunner) -> None:
    _world(db_url)
    plan = propose_visit_plan(db_url, window_start=MONDAY, created_by="test")["plan_id"]
    other = propose_visit_plan(db_url, window_start=MONDAY, created_by="test")["plan_id"]

    def review(plan_id: int, action: str) -> tuple[int, str]:
        out = runner.invoke(cli, ["plan", "review", str(plan_id), action, "--actor", "li"])
        return out.exit_code, out.output

    assert review(plan, "approve") == (0, f"plan {plan}: approved\n")
    code, text = review(plan, "reject")
    assert code == 1 and f"plan {plan} is approved: cannot reject it" in text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1
    assert review(plan, "approve")[0] == 1          # approving twice is refused too
    assert review(plan, "done") == (0, f"plan {plan}: done\n")
    assert review(plan, "change")[0] == 1           # done is final
    assert review(other, "done")[0] == 1            # a proposed plan is not done yet
    assert review(other, "change")[0] == 0 and review(other, "approve")[0] == 0
    with psycopg.connect(db_url) as conn:
        history = conn.execute(Q.plan_reviews_action, (plan,)).fetchall()
        status = conn.execute(Q.plans_status,
                              (plan,)).fetchone()
    assert [h[0] for h in history] == ["approve", "done"] and status == ("done",)

    listed = runner.invoke(cli, ["plan", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[1].split()[:3] == [str(other), "visits", "approved"]
    assert lines[2].split()[:3] == [str(plan), "visits", "done"] and " li " in lines[2]


def test_plan_visits_on_an_empty_database_says_why(runner: CliRunner) -> None:
    out = runner.invoke(cli, ["plan", "visits", "--window-start", "2025-03-03"])
    assert out.exit_code == 0, out.output
    assert "no visits planned: the database has no service stations" in out.output
    listed = runner.invoke(cli, ["plan", "list"])
    assert "proposed" in listed.output
