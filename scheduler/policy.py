"""Planning policy: the 一品一案 service classes, costs, capacity rules and service levels.

All of it is configuration, not code: defaults below, overridden by a TOML file named in
FLEETCARE_PLANNING_POLICY (any subset of the fields, same names), e.g.::

    visit_cost_cny = 1000
    [service_classes.exceed]
    multiplier = 1.6
    [service_levels]
    A = 0.92
    [product_line_class]
    tower_crane = "above"

Money is CNY; "value" is CNY-equivalent (policy values say what the maker is willing to
spend on a visit for that reason alone).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fleetcare import catalogue
from fleetcare.errors import SettingsError

POLICY_ENV = "FLEETCARE_PLANNING_POLICY"


class ClassPolicy(BaseModel):
    """What one 一品一案 service class means for preventive visits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # basic: emergency service only; no visit for risk or policy reasons. The maker's
    # hour-interval service (which today's rule does on every machine) is still planned
    # when it is due and worth its cost.
    preventive: bool = True
    multiplier: float = Field(default=1.0, ge=0)   # weight on every visit's value
    # A visit by the service network sooner than this after the last one costs
    # `revisit_cost_cny` (falling to 0 at this many days): a cost, never a block.
    min_days_between_visits: int = Field(default=30, ge=0)


def _default_classes() -> dict[str, ClassPolicy]:
    return {
        # exceed (超越): strategic lines, most preventive service, revisited soonest.
        "exceed": ClassPolicy(multiplier=1.4, min_days_between_visits=21),
        "above": ClassPolicy(multiplier=1.15, min_days_between_visits=30),
        "meet": ClassPolicy(multiplier=1.0, min_days_between_visits=45),
        "basic": ClassPolicy(preventive=False, multiplier=1.0, min_days_between_visits=60),
    }


class PlanningPolicy(BaseModel):
    """Every knob of the visit and parts planners, with defaults for one maker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- 一品一案 ------------------------------------------------------------------------
    service_classes: dict[str, ClassPolicy] = Field(default_factory=_default_classes)
    # Override a product line's class from the catalogue (strategy changes, not code).
    product_line_class: dict[str, str] = Field(default_factory=dict)

    # -- value of a visit --------------------------------------------------------------
    # Customer's lost output per hour a machine stands broken; the maker counts it
    # because it drives satisfaction and repurchase (docs/domain.md, service quality).
    downtime_cost_per_h: float = Field(default=500.0, ge=0)
    key_account_downtime_weight: float = Field(default=1.5, ge=0)
    # Share of impending failures a 保健 visit finds and fixes (inspection is not perfect).
    effectiveness: float = Field(default=0.7, ge=0, le=1)
    # Risk over the horizon that remains right after a visit (the well-serviced baseline).
    risk_floor: float = Field(default=0.02, ge=0, le=1)
    # Breakdowns in the peak season cost more downtime (the customer cannot wait).
    peak_downtime_multiplier: float = Field(default=1.6, ge=1)
    warranty_value: float = Field(default=600.0, ge=0)        # maker pays warranty repairs
    key_account_value: float = Field(default=1500.0, ge=0)
    warranty_end_value: float = Field(default=2500.0, ge=0)   # last chance to fix under warranty
    warranty_end_days: int = Field(default=60, ge=0)
    end_of_life_value: float = Field(default=1500.0, ge=0)    # the owner is about to buy again
    end_of_life_years: float = Field(default=8.0, gt=0)
    end_of_life_hours: float = Field(default=15000.0, gt=0)
    first_month_value: float = Field(default=6000.0, ge=0)    # the one fixed visit planners keep
    first_month_days: int = Field(default=45, ge=1)
    due_service_value: float = Field(default=800.0, ge=0)     # wear parts due, changed on the visit
    # The hour-interval service (oil, filters) is due: a 保健 visit does it on the spot,
    # which keeps the machine's components in their serviced state (docs/domain.md: a
    # 保健 visit does what is due anyway). Worth a visit on its own: a little above visit_cost_cny.
    interval_service_value: float = Field(default=1500.0, ge=0)
    interval_service_due_h: float = Field(default=200.0, gt=0)  # 80 % of the 250 h interval
    # wear part "due" if due by visit + this
    due_lookahead_days: int = Field(default=21, ge=0)
    # What the maker's hour rule does on every machine: the service is due when the
    # meter reaches the next multiple of `interval_step_h` above the last service, by
    # the end of the window at the machine's recent hours per day. The value grows with
    # the hours overdue (stale oil and filters stress the engine and pumps), capped.
    interval_step_h: float = Field(default=250.0, gt=0)
    overdue_service_value_per_h: float = Field(default=5.0, ge=0)
    interval_service_value_cap: float = Field(default=6000.0, ge=0)
    # Visiting in the customer's own busy months takes a working machine off its job for
    # the visit's hours: a cost (CNY) the visit's value must beat, not a discount on it.
    customer_peak_visit_cost: float = Field(default=600.0, ge=0)
    region_peak_visit_cost: float = Field(default=0.0, ge=0)
    # Cost of a revisit within the class's min_days_between_visits of the last visit by
    # the service network, falling linearly to 0 at that many days.
    revisit_cost_cny: float = Field(default=1500.0, ge=0)

    # Rules of thumb as costs, the hour rule's service inside the policy, "last visit"
    # a visit by the service network. Off: the planner as it was before (hard lock-out
    # after a visit, busy-month discounts, basic class never visited) - for ablation.
    good_practice: bool = True

    # -- the work a visit does ---------------------------------------------------------
    # Each visit chooses its work: inspect (finds running defects) when the risk it
    # addresses is worth at least this much, the interval service when it is due,
    # wear parts when they are due; a visit that is there anyway always inspects.
    work_choice: bool = True
    inspect_min_avoided_cny: float = Field(default=300.0, ge=0)
    service_hours: float = Field(default=1.5, ge=0)             # on site, on top of visit_hours

    # -- pre-peak campaign -------------------------------------------------------------
    # In the weeks before a region's peak season, wear parts that fall due before the
    # peak ends are changed now (the parts plan stocks them for the peak), so no worn
    # part stresses a machine in its busiest weeks. Risk needs no extra weight here:
    # a visit's avoided cost already counts the peak's dearer downtime.
    pre_peak_weeks: int = Field(default=4, ge=0)

    # -- alerts between weekly plans ---------------------------------------------------
    # Share of each station's weekly technician-days the weekly plan leaves for visits
    # dispatched the next day when a machine's risk jumps; unused alert days are not
    # carried over. An alert: the machine's highest component risk is at least
    # `alert_min_risk` and `alert_jump` times what the weekly plan saw.
    alert_share: float = Field(default=0.2, ge=0, le=1)
    # Mornings (weekday numbers) that get alert visits, from the night before's scores;
    # Monday's is the weekly plan's. Wednesday and Friday: with Monday's plan, a jump seen
    # any night is acted on within two working days. Each alert morning costs a night's
    # features and scoring in the backtest; (1, 2, 3, 4, 5) dispatches every morning.
    alert_days: tuple[int, ...] = (2, 4)
    alert_min_risk: float = Field(default=0.15, ge=0, le=1)
    alert_jump: float = Field(default=1.5, ge=1)

    # -- capacity and travel -----------------------------------------------------------
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5)     # Mon-Sat (date.weekday())
    day_hours: float = Field(default=9.0, gt=0)                # a technician-day, travel included
    visit_hours: float = Field(default=1.5, gt=0)              # on site per machine
    max_visits_per_day: int = Field(default=4, ge=1)
    speed_kmh: float = Field(default=50.0, gt=0)
    road_factor: float = Field(default=1.3, ge=1)              # road km per straight-line km
    cluster_radius_km: float = Field(default=10.0, gt=0)       # machines this close share a trip
    visit_cost_cny: float = Field(default=1200.0, ge=0)        # labour and consumables per visit
    travel_cost_per_km: float = Field(default=2.0, ge=0)
    # Machines beyond a day's round trip get trips of up to this many consecutive
    # technician-days (1: day trips only), with a night's lodging between days.
    max_trip_days: int = Field(default=3, ge=1, le=6)
    lodging_cost_per_night: float = Field(default=350.0, ge=0)

    # -- parts -----------------------------------------------------------------------
    # Cheap fast-wearing parts (C) must never be missing; expensive ones (A) are held
    # leaner and expedited when needed.
    service_levels: dict[str, float] = Field(
        default_factory=lambda: {"A": 0.90, "B": 0.95, "C": 0.98})
    # outside suppliers: longer, less sure
    outside_lead_factor: float = Field(default=1.5, ge=1)
    receiving_days: int = Field(default=3, ge=0)               # goods in, checked, on the shelf
    # P(a breakdown uses a wear part of it)
    breakdown_part_use: float = Field(default=0.3, ge=0, le=1)
    carry_repair_risk: float = Field(default=0.25, ge=0, le=1)  # bring repair parts above this risk
    carry_max_price: float = Field(default=10000.0, ge=0)      # ... if they fit in the van's budget

    # -- solver ----------------------------------------------------------------------
    mip_rel_gap: float = Field(default=0.01, gt=0, lt=1)
    station_time_limit_s: float = Field(default=20.0, gt=0)

    @field_validator("service_levels")
    @classmethod
    def _levels(cls, value: dict[str, float]) -> dict[str, float]:
        missing = {"A", "B", "C"} - set(value)
        if missing:
            raise ValueError(f"service level missing for tier(s) {sorted(missing)}")
        if not all(0.5 <= v < 1 for v in value.values()):
            raise ValueError("service levels must lie in [0.5, 1)")
        return value

    @field_validator("workdays", "alert_days")
    @classmethod
    def _workdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or not all(0 <= d <= 6 for d in value):
            raise ValueError("workdays are weekday numbers 0 (Mon) to 6 (Sun)")
        return tuple(sorted(set(value)))

    def service_class(self, product_line: str) -> str:
        """The 一品一案 class of a product line (override, else catalogue, else 'meet')."""
        if product_line in self.product_line_class:
            return self.product_line_class[product_line]
        line = catalogue.PRODUCT_LINES.get(product_line)
        return line.service_class if line else "meet"

    def class_policy(self, product_line: str) -> ClassPolicy:
        return self.service_classes.get(self.service_class(product_line), ClassPolicy())


def load_policy(path: str | Path | None = None) -> PlanningPolicy:
    """Defaults, overridden by the TOML file `path` (or FLEETCARE_PLANNING_POLICY)."""
    path = path or os.environ.get(POLICY_ENV) or None
    data: dict[str, object] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{POLICY_ENV}: cannot read {path}: {exc}") from exc
    if "service_classes" in data and isinstance(data["service_classes"], dict):
        # Merge per class so a file may change one field of one class.
        base = {k: v.model_dump() for k, v in _default_classes().items()}
        for name, fields in data["service_classes"].items():
            base.setdefault(name, {}).update(fields)
        data["service_classes"] = base
    if "service_levels" in data and isinstance(data["service_levels"], dict):
        data["service_levels"] = {"A": 0.90, "B": 0.95, "C": 0.98, **data["service_levels"]}
    try:
        return PlanningPolicy(**data)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"planning policy {where}: {first['msg']}") from None
