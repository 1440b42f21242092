"""From simulated days to database rows: the gateways' uplink, then ingest's direct path.

The direct path (``ingest.direct.ingest_messages``) runs the subscriber's own decode →
validate → write code without a broker; ``tests/test_ingest_faults.py`` shows it stores
the same rows as MQTT. Messages are stamped as received at the end of the simulated
period they were released in (not the wall clock), so everything downstream that keys
on arrival (point-in-time features) sees the simulated calendar.
"""

from __future__ import annotations

import copy
import copyreg
from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg

from gateways.simulator import DayRecords, day_epoch
from gateways.sinks import pairs
from gateways.uplink import Message, Uplink
from ingest.direct import ingest_messages
from ingest.pipeline import Counts, MachineCache

# One transaction per simulated week: the writer recomputes meter resets once per batch,
# so bigger batches cost less per row (and store the same rows).
BATCH_MESSAGES = 50_000


def _rebuild_uplink(state: dict[str, object], encoders: dict[str, type]) -> Uplink:
    uplink = Uplink.__new__(Uplink)
    uplink.__dict__.update(state)
    for name, kind in encoders.items():
        setattr(uplink, name, kind())
    return uplink


def _reduce_uplink(uplink: Uplink) -> tuple[object, tuple[object, ...]]:
    # msgspec encoders cannot be pickled or copied; they hold no state, so a branch (or
    # a worker process) gets a new one.
    state, encoders = {}, {}
    for name, value in vars(uplink).items():
        if type(value).__module__.startswith("msgspec"):
            encoders[name] = type(value)
        else:
            state[name] = value
    return _rebuild_uplink, (state, encoders)


# Lets the gateways' state travel to worker processes and be deep-copied for branches.
copyreg.pickle(Uplink, _reduce_uplink)  # type: ignore[arg-type]


def clone_uplink(uplink: Uplink) -> Uplink:
    """An independent copy of the gateways' state (sequence numbers, buffers, gaps);
    the fleet (read-only) is shared."""
    return copy.deepcopy(uplink, {id(uplink.fleet): uplink.fleet})


def received_at(day_after: object) -> datetime:
    """Midnight (UTC+8) starting `day_after`, as an aware datetime."""
    return datetime.fromtimestamp(day_epoch(day_after), UTC)  # type: ignore[arg-type]


class Publisher:
    """Feeds each simulated day to the gateways and stores what they send."""

    def __init__(self, uplink: Uplink, conn: psycopg.Connection | None) -> None:
        self.uplink = uplink
        self.conn = conn
        self.machines = MachineCache()
        self.counts = Counts()
        self._held: list[Message] = []

    def feed(self, records: Iterable[DayRecords]) -> None:
        """Turn days into messages; they are stored at the next `store`."""
        for rec in records:
            self._held.extend(self.uplink.feed(rec))

    def store(self, until: object) -> Counts:
        """Ingest the held messages as received at midnight before day `until`."""
        msgs, self._held = self._held, []
        if self.conn is None or not msgs:
            return Counts()
        counts = ingest_messages(self.conn, pairs(msgs), batch_messages=BATCH_MESSAGES,
                                 received_at=received_at(until), machines=self.machines)
        self.counts.merge(counts)
        return counts
