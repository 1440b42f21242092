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

    preventive: bool = True           # basic: emergency service only, never planned
    multiplier: float = Field(default=1.0, ge=0)   # weight on every visit's value
    min_days_between_visits: int = Field(default=30, ge=0)


def _default_classes() -> dict[str, ClassPolicy]:
    return {
        # exceed (超越): strategic lines, most preventive service, revisited soonest.
        "exceed": ClassPolicy(multiplier=1.4, min_days_between_visits=21),
        "above": ClassPolicy(multiplier=1.15, min_days_between_visits=30),
        "meet": ClassPolicy(multiplier=1.0, min_days_between_visits=45),
        "basic": ClassPolicy(preventive=False, multiplier=0.0, min_days_between_visits=365),
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
    # because it drives satisfaction and repurchase (DOMAIN: service quality).
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
    # which keeps the machine's components in their serviced state (DOMAIN: 保健 folds in
    # the due service). Worth a visit on its own: a little above visit_cost_cny.
    interval_service_value: float = Field(default=1500.0, ge=0)
    interval_service_due_h: float = Field(default=200.0, gt=0)  # 80 % of the 250 h interval
    # wear part "due" if due by visit + this
    due_lookahead_days: int = Field(default=21, ge=0)
    # Visiting in the customer's own busy months stops a working machine: avoid.
    customer_peak_factor: float = Field(default=0.4, ge=0, le=1)
    region_peak_factor: float = Field(default=0.8, ge=0, le=1)

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

    @field_validator("workdays")
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
