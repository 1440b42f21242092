"""The planner metrics, checked by hand on tiny fleets: recall at budget, ties, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import metrics


def _pred(day: str, rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"day": pd.Timestamp(day), "machine_id": m, "component": c, "p": p, "y": y}
         for m, c, p, y in rows])


def test_recall_at_budget_counts_failures_on_the_top_machines() -> None:
    # 100 machines; machine 0 has two risky components that both fail, machine 1 fails.
    rows = [(f"M{i}", "engine", 0.001, 0) for i in range(2, 100)]
    rows += [("M0", "engine", 0.3, 1), ("M0", "cooling", 0.3, 1), ("M1", "engine", 0.5, 1)]
    pred = _pred("2025-03-03", rows)
    # Budget 1 % of 100 = 1 machine: M0 (expected failures 0.6) beats M1 (0.5): 2 of 3.
    assert metrics.recall_at_budget(pred, (0.01,)) == {"0.01": pytest.approx(2 / 3, abs=1e-5)}
    # 2 machines: all three failures.
    assert metrics.recall_at_budget(pred, (0.02,))["0.02"] == 1.0
    # Per component: the engine ranking puts M1 first (0.5), so 1 of 2 engine failures.
    assert metrics.recall_at_budget(pred, (0.01,), component="engine")["0.01"] == 0.5


def test_ties_at_the_cut_off_count_their_expectation() -> None:
    # A rule that scores 10 machines the same, one of them fails; budget 1 of 100.
    rows = [(f"M{i}", "engine", 1.0, int(i == 3)) for i in range(10)]
    rows += [(f"M{i}", "engine", 0.0, 0) for i in range(10, 100)]
    pred = _pred("2025-03-03", rows)
    assert metrics.recall_at_budget(pred, (0.01,))["0.01"] == pytest.approx(0.1)


def test_recall_uses_weekly_decision_days_only() -> None:
    day0 = _pred("2025-03-03", [("M0", "engine", 0.9, 1), ("M1", "engine", 0.1, 0)])
    day1 = _pred("2025-03-04", [("M0", "engine", 0.1, 0), ("M1", "engine", 0.9, 1)])
    day7 = _pred("2025-03-10", [("M0", "engine", 0.1, 1), ("M1", "engine", 0.9, 0)])
    pred = pd.concat([day0, day1, day7])
    assert list(metrics.decision_days(pred["day"])) == [pd.Timestamp("2025-03-03"),
                                                        pd.Timestamp("2025-03-10")]
    # Day 0 caught, day 1 not a decision day, day 7 missed: 1 of 2.
    assert metrics.recall_at_budget(pred, (0.01,))["0.01"] == 0.5


def test_no_failures_ahead_gives_none() -> None:
    pred = _pred("2025-03-03", [("M0", "engine", 0.9, 0)])
    assert metrics.recall_at_budget(pred, (0.02,)) == {"0.02": None}
    assert metrics.pr_auc(np.zeros(3), np.ones(3)) is None


def test_calibration_table_and_brier() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.001, 0.001, 0.7, 0.9])
    table = metrics.calibration_table(y, p)
    assert [(b["n"], b["observed"]) for b in table] == [(2, 0.0), (2, 1.0)]
    assert table[1]["predicted"] == pytest.approx(0.8)
    assert metrics.brier(y, p) == pytest.approx((2 * 0.001**2 + 0.3**2 + 0.1**2) / 4)
    assert metrics.budget_key(0.01) == "0.01" and metrics.budget_key(0.005) == "0.005"
