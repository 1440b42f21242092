"""What one backtest run is: fleet, season, seeds, capacity and which policies compete."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

# The four policies the issue compares, in report order; "oracle" (perfect information,
# from the simulator's truth) is an optional fifth, a ceiling for the learned model.
POLICIES: tuple[str, ...] = ("reactive", "calendar", "hours", "predictive")
ALL_POLICIES: tuple[str, ...] = (*POLICIES, "oracle")
# The rules today's practice uses; the bar compares predictive with the better of them.
RULE_POLICIES: tuple[str, ...] = ("calendar", "hours")
# `--ablation`: the predictive policy with one piece of the planner switched off each,
# as planning-policy fields (what each piece is, in scheduler.policy).
ABLATIONS: dict[str, dict[str, object]] = {
    "reach": {"max_trip_days": 1},              # day trips only
    "alerts": {"alert_share": 0.0},             # weekly plans only, no daily dispatch
    "work": {"work_choice": False},             # every visit does the same work
    "practice": {"good_practice": False},       # lock-outs, discounts, no hour-rule service
    "campaign": {"pre_peak_weeks": 0},          # no pre-peak wear-part campaign
}
ABLATION_PREFIX = "predictive_no_"


def ablation_policies() -> tuple[str, ...]:
    return tuple(ABLATION_PREFIX + k for k in ABLATIONS)


def ablation_of(policy: str) -> str | None:
    """The switch an ablation policy turns off (None: not an ablation)."""
    if policy.startswith(ABLATION_PREFIX) and policy[len(ABLATION_PREFIX):] in ABLATIONS:
        return policy[len(ABLATION_PREFIX):]
    return None
# Working days of a technician's week (the planner's Mon-Sat).
WORKDAYS = 6
# The warm-up trains like `fleetcare train` but thinner, to fit the run's time budget:
# one day per machine-week (neighbouring days are near-copies), the single-model variant,
# no feature screening, and fewer calibration rows watched by early stopping. On the
# 1,000-machine warm-up this trains ~8x faster than the defaults with the same held-out
# PR-AUC (0.18).
FAST_TRAINING: dict[str, object] = {"variant": "single", "screen": False, "stride_d": 7,
                                    "max_val_rows": 50_000, "max_calib_rows": 200_000}


@dataclass(frozen=True)
class BacktestConfig:
    """One closed-loop backtest.

    `seed` draws the fleet and its warm-up history; replication r (r = 0..seeds-1) runs
    the backtest season with simulator seed `first_seed + r` (`first_seed` defaults to
    `seed`), the same for every policy, so
    within a replication the fleets differ only by policy (common random numbers) and
    across replications the season's randomness (hours, defect starts, failure modes,
    fault codes) is drawn afresh.

    Capacity: every policy may spend the same technician-days per station and week on
    保健 visits: `tech_days` if given, else `preventive_share` of the station's
    technicians x working days (the share the scheduler's own benchmark assumes; the
    rest answers breakdown calls and customer bookings).
    """

    machines: int = 1000
    weeks: int = 26
    seeds: int = 3
    start: date = date(2025, 3, 3)
    seed: int = 7
    first_seed: int | None = None
    warmup_days: int = 364
    tech_days: int | None = None
    preventive_share: float = 1 / 3
    policies: tuple[str, ...] = POLICIES
    method: str = "mip"               # visit planner: HiGHS MIP (greedy fallback) or greedy
    workers: int = 2                  # processes running branches side by side
    horizon_d: int = 30               # risk horizon of the learned model
    keep_databases: bool = False
    # Check before every decision that the branch database holds nothing received after
    # the night before (a full scan per week: for tests and audits).
    audit: bool = False
    # models.risk.TrainConfig fields for the warm-up's training (tests make it smaller).
    train: dict[str, Any] = field(default_factory=lambda: dict(FAST_TRAINING))

    def __post_init__(self) -> None:
        unknown = {p for p in self.policies if p not in ALL_POLICIES and ablation_of(p) is None}
        if unknown:
            raise ValueError(f"unknown policies {sorted(unknown)}; known: "
                             f"{', '.join((*ALL_POLICIES, *ablation_policies()))}")
        if self.machines < 1 or self.weeks < 1 or self.seeds < 1:
            raise ValueError("machines, weeks and seeds must be at least 1")
        if (self.tech_days is not None and self.tech_days < 0) or not (
                0 <= self.preventive_share <= 1):
            raise ValueError("tech_days must not be negative, preventive_share in [0, 1]")
        if self.warmup_days < 7 * 8:
            raise ValueError("the warm-up needs at least 8 weeks of history")

    @property
    def warmup_start(self) -> date:
        return self.start - timedelta(days=self.warmup_days)

    @property
    def end(self) -> date:
        """The first day after the backtest season."""
        return self.start + timedelta(days=7 * self.weeks)

    @property
    def sim_days(self) -> int:
        """Days the simulator must cover: warm-up and season."""
        return self.warmup_days + 7 * self.weeks

    def capacity(self, technicians: int) -> int:
        """Technician-days per week a station with `technicians` gives 保健 visits."""
        if self.tech_days is not None:
            return self.tech_days
        return int(round(self.preventive_share * technicians * WORKDAYS))

    def capacity_text(self) -> str:
        if self.tech_days is not None:
            return f"{self.tech_days} technician-day(s) per station and week"
        return (f"{self.preventive_share:.0%} of each station's technician-days "
                f"(technicians x {WORKDAYS} days a week)")

    def replication_seeds(self) -> list[int]:
        first = self.seed if self.first_seed is None else self.first_seed
        return [first + r for r in range(self.seeds)]
