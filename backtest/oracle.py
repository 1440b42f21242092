"""The perfect-information policy: the 保健 planner on the simulator's own risk.

A ceiling, not a product: it shows how much of the gap to perfect knowledge the
learned model closes. It plans exactly like the predictive policy (same planner, same
value model, same capacity, the same alerts between weekly plans) but its risks are the
simulator's true 30-day failure probabilities of the last simulated day, which only this
module and the accounting read (tests/test_backtest_isolation.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import psycopg

from backtest import queries
from backtest.policies import Decision, Planned, Predictive, Week
from backtest.stock import StockKey
from fleetcare import catalogue as cat
from gateways.simulator import DayRecords
from scheduler.policy import PlanningPolicy
from scheduler.problem import Machine, Station

HORIZON_D = 30   # the truth's risk30


class Oracle(Predictive):
    name = "oracle"

    def __init__(self, planning: PlanningPolicy, method: str = "mip",
                 machine_ids: list[str] | None = None) -> None:
        super().__init__(planning, method)
        self.machine_ids = machine_ids or []
        self._risk: dict[str, dict[str, float]] = {}

    def decide(self, conn: psycopg.Connection | None, week: Week,
               stock: dict[StockKey, tuple[int, int]]) -> Decision:
        # No features or scoring: the truth is the score.
        decision = Planned.decide(self, conn, week, stock)
        self._visited = {mid: day for mid, day, _ in decision.visits}
        return decision

    def fresh_machines(self, conn: psycopg.Connection, day: Week, stations: list[Station],
                       decision: Decision) -> list[Machine]:
        from scheduler import store

        machines = store.load_machines(conn, day.as_of, stations)
        conn.commit()
        return self._true(machines)

    def _true(self, machines: list[Machine]) -> list[Machine]:
        return [replace(m, risks=self._risk.get(m.machine_id, {}), risk_reasons={},
                        horizon_d=HORIZON_D) for m in machines]

    def observe(self, rec: DayRecords) -> None:
        """Keep the latest day's true risks (the loop calls this after every day)."""
        truth = rec.truth
        risk = np.nan_to_num(truth["risk30"], nan=0.0)
        self._risk = {
            self.machine_ids[int(i)]: {c: float(risk[k, j]) for j, c in enumerate(cat.COMPONENTS)
                                       if risk[k, j] > 0}
            for k, i in enumerate(truth["machine"])}

    def candidates(self, conn: psycopg.Connection, week: Week, machines: list[Machine],
                   hours: dict[str, queries.ServiceHours], decision: Decision
                   ) -> list[Machine]:
        return super().candidates(conn, week, self._true(machines), hours, decision)
