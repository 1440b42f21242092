"""Today's rules as planner inputs, so every policy shares the same capacity and routing.

The backtest plans the calendar rule (inspections 1, 3, 6, 12 months after delivery,
warranty machines only) and the hour-interval rule (service at every 250 h step) with
the same `plan_visits` as the predictive policy: these helpers turn machines into
candidates with a fixed `priority` and the dates the rule allows, and drop the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta

from fleetcare import catalogue
from scheduler.problem import Machine

# Above the default visit cost (1,200 CNY), so every due visit is worth making; the
# small per-day term makes the planner serve the longest-waiting machines first.
BASE_PRIORITY = 3000.0
# What today's rules do on site: the routine inspection changes worn parts; the hour
# rule's visit is the interval service with an inspection and worn parts.
INSPECTION_WORK = frozenset({"inspect", "replace_wear"})
SERVICE_WORK = frozenset({"inspect", "service", "replace_wear"})


def calendar_rule_machines(machines: Sequence[Machine], window_start: date, weeks: int = 4,
                           *, early_days: int = 7, late_days: int = 14,
                           priority: float = BASE_PRIORITY) -> list[Machine]:
    """Warranty machines with a 1/3/6/12-month inspection due in the window (or overdue
    by at most `late_days`), allowed from `early_days` before the due date."""
    end = window_start + timedelta(days=7 * weeks)
    out = []
    for m in machines:
        for due in catalogue.calendar_inspection_dates(m.delivery_date):
            if m.warranty_end is not None and due > m.warranty_end:
                continue
            if m.last_visit is not None and m.last_visit >= due - timedelta(days=early_days):
                continue   # this inspection was done
            if due - timedelta(days=early_days) < end and due + timedelta(days=late_days) >= \
                    window_start:
                wait = max(0, (window_start - due).days)
                out.append(replace(m, priority=priority + 50.0 * wait,
                                   earliest=due - timedelta(days=early_days),
                                   latest=due + timedelta(days=late_days),
                                   work=INSPECTION_WORK))
                break
    return out


def hours_rule_machines(machines: Sequence[Machine], window_start: date, weeks: int = 4, *,
                        hours_now: Mapping[str, float], hours_per_day: Mapping[str, float],
                        last_service_hours: Mapping[str, float], step: float = 250.0,
                        priority: float = BASE_PRIORITY) -> list[Machine]:
    """Machines whose next 250 h service falls due before the window ends.

    Due hours = the first multiple of `step` above the last service; the due date follows
    from the machine's hours per day. Overdue machines come first (priority grows with
    the hours overdue) and may be visited any day of the window.
    """
    end = window_start + timedelta(days=7 * weeks)
    out = []
    for m in machines:
        now = hours_now.get(m.machine_id)
        if now is None:
            continue
        last = last_service_hours.get(m.machine_id, 0.0)
        due_at = (math.floor(last / step) + 1) * step
        rate = max(hours_per_day.get(m.machine_id, 0.0), 1e-6)
        days_to_due = (due_at - now) / rate
        due = window_start + timedelta(days=max(0, math.ceil(days_to_due)))
        if due >= end:
            continue
        overdue_h = max(0.0, now - due_at)
        out.append(replace(m, priority=priority + 5.0 * overdue_h, earliest=due, latest=None,
                           work=SERVICE_WORK))
    return out
