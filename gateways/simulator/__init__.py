"""The fleet simulator: a day-by-day state machine over numpy arrays (machines x components).

`Simulator.step()` advances one day and returns that day's records (telemetry, fault
codes, service work orders) plus the truth (failures, health, hazard). Publishing is a
separate step (gateways.uplink turns records into messages). A backtest drives the
same object: `apply_visit()` queues a visit for a day, `snapshot()`/`restore()` and
`copy()` branch the fleet, and every draw that shapes the fleet uses common random
numbers (see gateways.rand), so runs that differ only in visits stay comparable.

Where things are:

- `engine`: the `Simulator` (public API) and `step()`, which runs a day in order;
  hours worked, stress and the progress of defects are computed there.
- `state`: `SimState` (what a day changes), `Traits` (fixed traits), the records.
- `maintenance`: technician visits (`apply_visit`) and breakdown repairs.
- `customers`: the maker's warranty inspections and what customers do by themselves.
- `records`: fault codes, telemetry and the truth of one day.
"""

from gateways.simulator.engine import Simulator
from gateways.simulator.maintenance import VISIT_ACTIONS
from gateways.simulator.state import (
    CN_TZ,
    COMPONENTS,
    BackgroundService,
    DayRecords,
    SimConfig,
    SimState,
    Traits,
    VisitResult,
    day_epoch,
)

__all__ = [
    "CN_TZ", "COMPONENTS", "VISIT_ACTIONS", "BackgroundService", "DayRecords", "Traits",
    "SimConfig", "SimState", "Simulator", "VisitResult", "day_epoch",
]
