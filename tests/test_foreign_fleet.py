"""A fleet that is not ours, end to end through the commands a new user runs:
import (master data in any order, history, a three-page ISO 15143-3 snapshot) →
catalogue import → features build → train → evaluate → score → plan, with exact counts.

The fleet (tests/foreign_fleet.py) names its own components and fault codes, has no
sensor readings and no wear-part records, two codes of one machine at the same second,
and an archive without arrival times.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from foreign_fleet import COMPONENTS, DAYS, END, START, write_fleet

from app.cli import cli
from fleetcare.queries import beside

Q = beside(__file__)

MACHINES = 40
SENSOR_INPUTS = ("coolant_mean_7d", "hyd_oil_temp_mean_7d", "hyd_pressure_mean_7d",
                 "load_factor_7d", "part_hours_engine_oil")


def _run(args: list[str]) -> str:
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output + repr(out.exception)
    assert "Traceback" not in out.output
    return out.output


def _json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.timeout(1800)  # two years of 40 machines through every stage: minutes
def test_foreign_fleet_end_to_end(db_url: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("FLEETCARE_DATABASE_URL", db_url)
    monkeypatch.setenv("FLEETCARE_DATA_DIR", str(tmp_path / "data"))
    fleet = write_fleet(tmp_path / "fleet", machines=MACHINES)
    f = fleet.files

    # -- import: master data named in reverse order, history, the snapshot ----------------
    out = _json_lines(_run([
        "import", "machines", str(f["machines.csv"]), "stations", str(f["stations.csv"]),
        "customers", str(f["customers.csv"]), "regions", str(f["regions.csv"]),
        "telemetry", str(f["telemetry.csv"]), "faults", str(f["faults.csv"]),
        "service", str(f["service.csv"]), "aemp", str(f["iso"]), "--json"]))
    by_kind = {r["kind"]: r for r in out}
    print("import summaries:", json.dumps(out))  # shown with -s: the note quotes them
    assert [r["kind"] for r in out] == ["regions", "customers", "stations", "machines",
                                        "telemetry", "faults", "service", "aemp"]
    for kind, n in (("regions", 2), ("customers", 2), ("stations", 2), ("machines", MACHINES)):
        assert (by_kind[kind]["rows"], by_kind[kind]["stored"]) == (n, n), kind
    assert by_kind["telemetry"]["streams"] == {"telemetry": {
        "rows": MACHINES * DAYS, "stored": MACHINES * DAYS, "duplicates": 0,
        "dead_letters": 0}}
    assert by_kind["telemetry"]["arrival"] == {"event_time": MACHINES * DAYS}
    # Two codes at the same second both stored; the one exact repeat is "already there".
    assert by_kind["faults"]["streams"] == {"faults": {
        "rows": fleet.fault_rows, "stored": fleet.fault_rows - fleet.fault_duplicates,
        "duplicates": fleet.fault_duplicates, "dead_letters": 0}}
    assert by_kind["faults"]["unknown"]["spn"]["distinct"] == 7   # 6 of the maker + 1 odd
    assert by_kind["service"]["stored"] == fleet.service_rows
    assert sorted(by_kind["service"]["unknown"]["component"]["examples"]) == sorted(COMPONENTS)
    iso = by_kind["aemp"]
    assert iso["streams"] == {
        "telemetry": {"rows": 12, "stored": 12, "duplicates": 0, "dead_letters": 0},
        "faults": {"rows": fleet.snapshot_faults, "stored": fleet.snapshot_faults,
                   "duplicates": 0, "dead_letters": 0}}
    fields = iso["fields"]
    assert fields["pages"] == ["snapshot.json", "2.json", "3.json"]
    assert fields["seen"] == (sum(fields["landed"].values()) + fields["used"]
                              + sum(fields["no_home"].values()))
    assert sum(fields["no_home"].values()) == 4 * 12 + fleet.snapshot_faults
    with psycopg.connect(db_url) as conn:
        assert conn.execute(Q.count_dead_letters).fetchone()[0] == 0
        assert conn.execute(Q.count_fault_codes).fetchone()[0] == (
            fleet.fault_rows - fleet.fault_duplicates + fleet.snapshot_faults)
        # An archive without sent_at arrived when its events happened.
        assert conn.execute(Q.telemetry_count
                            ).fetchone()[0] == 12   # the snapshot's: at snapshotTime

    # -- the maker's catalogue, then the same history counts for its components ----------
    assert "4 components, 6 fault codes" in _run(
        ["catalogue", "import", str(fleet.folder / "catalogue")])
    shown = json.loads(_run(["catalogue", "show", "--json"]))
    assert sum(c["source"] == "imported" for c in shown["components"]) == 4
    assert sum(c["source"] == "imported" for c in shown["fault_codes"]) == 6
    again = _json_lines(_run(["import", "faults", str(f["faults.csv"]), "--json"]))[0]
    assert again["stored"] == 0 and again["unknown"]["spn"]["distinct"] == 1

    # -- features ---------------------------------------------------------------------------
    built = json.loads(_run(["features", "build", "--to", END.isoformat(), "--json"]))
    assert built["rows_written"] == MACHINES * DAYS
    assert built["first"] == START.isoformat()
    with psycopg.connect(db_url) as conn:
        mapped = conn.execute(
            Q.feat_spn_components_count
        ).fetchone()[0]
        breakdowns = conn.execute(
            Q.features_daily_sum_breakdowns_all_365d,
            (END,)).fetchone()[0]
    assert mapped == 6
    assert breakdowns > 0

    # -- train: a model on what the fleet reports, the empty inputs named -----------------
    trained = _run(["train", "--variant", "single"])
    assert "left out" in trained
    assert all(name in trained for name in SENSOR_INPUTS)
    with psycopg.connect(db_url) as conn:
        features, metrics = conn.execute(
            Q.model_versions_features).fetchone()
    assert not set(SENSOR_INPUTS) & set(features)
    assert set(SENSOR_INPUTS) <= set(metrics["left_out"])
    assert metrics["train_failures"] >= 20

    # -- evaluate: rules that rank nothing are not applicable; the ratio is against the
    # best applicable one ----------------------------------------------------------------
    evaluation = json.loads(_run(["evaluate", "--json", "--no-oracle"]))
    print("train:", trained)
    print("evaluate --json:", json.dumps(evaluation))
    rules = {r: evaluation[r] for r in ("calendar_rule", "hours_rule", "fault_rule")
             if r in evaluation}
    applicable = [r for r, v in rules.items() if v.get("applicable")]
    assert "fault_rule" in applicable
    bars = evaluation["meta"]["bars"]
    assert bars["best_rule_pr_auc"] in applicable
    assert evaluation["model"]["pr_auc"] > evaluation[bars["best_rule_pr_auc"]]["pr_auc"]

    # -- score and plan ----------------------------------------------------------------------
    scored = json.loads(_run(["score", "--json"]))
    assert scored["machines"] == MACHINES
    plan = json.loads(_run(["plan", "visits", "--window-start", "2025-01-06", "--weeks", "1",
                            "--method", "greedy", "--json"]))
    assert plan["plan_id"] >= 1
