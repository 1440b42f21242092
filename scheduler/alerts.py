"""Alerts between weekly plans: which machines to send a technician to tomorrow morning.

The weekly plan leaves a share of each station's technician-days free
(`PlanningPolicy.alert_share`). Each night, after the day's data is in and scored, a
machine whose highest component risk has jumped since the plan saw it (at least
`alert_min_risk`, and `alert_jump` times what the plan saw) and that no visit of this
week covers is an alert; the alerts are planned for the next working day on what the
week has left. A gradual defect runs to failure in about twenty days, so waiting for
next week's plan loses a good share of the ones a fresh score catches.

Pure functions, like the planners; `scheduler.service.propose_dispatch` and the
backtest's predictive policy call them with what they know.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date

from scheduler.policy import PlanningPolicy
from scheduler.problem import Machine, PeakRange, Station, VisitPlan


def top_risk(m: Machine) -> float:
    """A machine's highest component risk (0 without scores)."""
    return max(m.risks.values(), default=0.0)


def alert_machines(machines: Sequence[Machine], seen: Mapping[str, float],
                   covered: Collection[str], policy: PlanningPolicy) -> list[Machine]:
    """Machines whose risk jumped since `seen` (machine -> top risk the plan saw) and
    that no visit of the week covers (`covered`), highest risk first."""
    out = []
    for m in machines:
        if m.machine_id in covered:
            continue
        risk = top_risk(m)
        if risk >= policy.alert_min_risk and risk >= policy.alert_jump * seen.get(m.machine_id,
                                                                                  0.0):
            out.append(m)
    return sorted(out, key=lambda m: -top_risk(m))


def last_alert_day(day: date, policy: PlanningPolicy) -> bool:
    """Whether `day` is the week's last alert morning: what alerts have not used of the
    held-back share is then offered to the best remaining visits (backfill), so the
    week's technician-days are not left idle for want of alerts."""
    later = [d for d in policy.alert_days if d in policy.workdays and d > day.weekday()]
    return not later


def dispatch_candidates(machines: Sequence[Machine], alerts: Sequence[Machine],
                        covered: Collection[str], day: date, policy: PlanningPolicy
                        ) -> list[Machine]:
    """The alerts, and on the week's last alert morning every machine the week has not
    covered (the planner still visits only what is worth its cost, alerts first by value)."""
    if not last_alert_day(day, policy):
        return list(alerts)
    return [m for m in machines if m.machine_id not in covered]


def dispatch_plan(stations: Sequence[Station], alerts: Sequence[Machine], day: date,
                  days_left: Mapping[str, int], policy: PlanningPolicy, *,
                  method: str = "mip",
                  peaks: Mapping[str, Sequence[PeakRange]] | None = None) -> VisitPlan:
    """Plan the alert visits for `day` alone on each station's `days_left`."""
    from scheduler.visits import plan_visits

    one_day = policy.model_copy(update={"workdays": (day.weekday(),)})
    capped = [replace(s, tech_days_per_week=int(days_left.get(s.station_id, 0)))
              for s in stations]
    plan = plan_visits(capped, list(alerts), day, 1, policy=one_day, method=method,
                       peaks=peaks)
    plan.visits = [replace(v, dispatched=True) for v in plan.visits]
    return plan


def weekly_share(station: Station, policy: PlanningPolicy) -> tuple[int, int]:
    """(technician-days for the weekly plan, technician-days held for alerts) of a week."""
    total = (station.tech_days_per_week if station.tech_days_per_week is not None
             else station.technicians * len(policy.workdays))
    held = int(round(policy.alert_share * total))
    return total - held, held
