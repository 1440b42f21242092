"""What one backtest run is: fleet, season, seeds, capacity and which policies compete."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

# The four policies the issue compares, in report order; "oracle" (perfect information,
# from the simulator's truth) is an optional fifth, a ceiling for the learned model.
POLICIES: tuple[str, ...] = ("reactive", "calendar", "hours", "predictive")
ALL_POLICIES: tuple[str, ...] = (*POLICIES, "oracle")
# The rules today's practice uses; the bar compares predictive with the better of them.
RULE_POLICIES: tuple[str, ...] = ("calendar", "hours")


@dataclass(frozen=True)
class BacktestConfig:
    """One closed-loop backtest.

    `seed` draws the fleet and its warm-up history; replication r (r = 0..seeds-1) runs
    the backtest season with simulator seed `seed + r`, the same for every policy, so
    within a replication the fleets differ only by policy (common random numbers) and
    across replications the season's randomness (hours, defect starts, failure modes,
    fault codes) is drawn afresh. `tech_days` is the technician-days per station and
    week every policy may spend on 保健 visits.
    """

    machines: int = 1000
    weeks: int = 26
    seeds: int = 3
    start: date = date(2025, 3, 3)
    seed: int = 7
    warmup_days: int = 364
    tech_days: int = 1
    policies: tuple[str, ...] = POLICIES
    method: str = "mip"               # visit planner: HiGHS MIP (greedy fallback) or greedy
    workers: int = 2                  # processes running branches side by side
    horizon_d: int = 30               # risk horizon of the learned model
    keep_databases: bool = False
    # Check before every decision that the branch database holds nothing received after
    # the night before (a full scan per week: for tests and audits).
    audit: bool = False
    # models.risk.TrainConfig fields for the warm-up's training (tests make it small).
    train: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.policies) - set(ALL_POLICIES)
        if unknown:
            raise ValueError(f"unknown policies {sorted(unknown)}; known: {ALL_POLICIES}")
        if self.machines < 1 or self.weeks < 1 or self.seeds < 1:
            raise ValueError("machines, weeks and seeds must be at least 1")
        if self.tech_days < 0:
            raise ValueError("tech_days must not be negative")
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

    def replication_seeds(self) -> list[int]:
        return [self.seed + r for r in range(self.seeds)]
