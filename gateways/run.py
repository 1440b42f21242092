"""One simulation run: fleet → simulator → uplink, streamed day by day as messages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from gateways.fleet import Fleet, build_fleet
from gateways.report import RunStats
from gateways.simulator import BackgroundService, DayRecords, SimConfig, Simulator
from gateways.uplink import STREAMS, Message, Messiness, Uplink


def default_start(days: int, today: date | None = None) -> date:
    """Today minus `days`, so the simulated history ends yesterday (nothing in the future)."""
    return (today or date.today()) - timedelta(days=days)


class SimulationRun:
    """Everything one `fleetcare simulate` run needs; messages() streams the output."""

    def __init__(self, machines: int, days: int, seed: int, start: date | None = None, *,
                 messiness: Messiness | None = None,
                 background: BackgroundService | None = None) -> None:
        self.days = days
        self.seed = seed
        self.start = start or default_start(days)
        self.fleet: Fleet = build_fleet(machines, seed, self.start, days)
        self.sim = Simulator(self.fleet, SimConfig(seed=seed,
                                                    background=background or BackgroundService()),
                             horizon_days=days)
        self.uplink = Uplink(self.fleet, seed, messiness or Messiness(), days=days)
        self.stats = RunStats()
        self.counts: Counter[str] = Counter()

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)

    def messages(self, on_day: Callable[[DayRecords], None] | None = None
                 ) -> Iterator[Message]:
        """Messages in upload order; `on_day` sees each day's records (truth, progress)."""
        for rec in self.sim.run(self.days):
            self.stats.add(rec)
            if on_day is not None:
                on_day(rec)
            yield from self._count(self.uplink.feed(rec))
        yield from self._count(self.uplink.flush(self.end))

    def _count(self, msgs: list[Message]) -> list[Message]:
        for m in msgs:
            name = STREAMS[m.stream]
            self.counts[name if m.variant == 0 else
                        f"{name}_resent" if m.variant == 1 else "malformed"] += 1
            if m.variant == 0:
                self.counts[f"{name}_records"] += m.records
        return msgs
