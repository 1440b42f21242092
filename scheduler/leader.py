"""Leader election and per-job locks with PostgreSQL advisory locks.

A session-level advisory lock lives exactly as long as the connection that took it, so a
leader that crashes or loses the network releases leadership by itself: no lease
timeouts to tune, no stale rows to clean up.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from fleetcare.queries import load

log = logging.getLogger("fleetcare.scheduler.leader")
_Q = load("scheduler", "leader.sql")

LEADER_LOCK_NAME = "fleetcare.scheduler.leader"


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (same in every process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    """Holds (or tries to hold) the scheduler leader lock on its own connection."""

    def __init__(self, url: str, name: str = LEADER_LOCK_NAME) -> None:
        self.url = url
        self.key = lock_key(name)
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Become leader if nobody is; True when this process holds the lock."""
        with self._lock:
            if self._conn is not None:
                return True
            try:
                conn = psycopg.connect(self.url, autocommit=True,
                                       application_name="fleetcare-scheduler-leader")
            except psycopg.OperationalError as exc:
                log.warning("leader election: cannot connect: %s", str(exc).strip()[:200])
                return False
            got = conn.execute(_Q.try_lock, (self.key,)).fetchone()
            if got and got[0]:
                self._conn = conn
                return True
            conn.close()
            return False

    def still_held(self) -> bool:
        """Check the lock's connection is alive; if not, leadership is already gone."""
        with self._lock:
            if self._conn is None:
                return False
            try:
                self._conn.execute(_Q.ping)
                return True
            except psycopg.Error:
                log.warning("leader connection lost: giving up leadership")
                self._close()
                return False

    def release(self) -> None:
        with self._lock:
            if self._conn is not None:
                # If the connection is gone, the lock went with it.
                with contextlib.suppress(psycopg.Error):
                    self._conn.execute(_Q.unlock, (self.key,))
                self._close()

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


@contextmanager
def job_lock(conn: psycopg.Connection, job: str) -> Iterator[bool]:
    """Hold a per-job advisory lock while the body runs; yields False if someone else has it.

    The leader lock already keeps scheduled runs to one process; this also keeps a manual
    `fleetcare jobs run` and a scheduled run (or a just-deposed leader's last run) apart.
    """
    key = lock_key("fleetcare.job:" + job)
    got = conn.execute(_Q.try_lock, (key,)).fetchone()
    held = bool(got and got[0])
    try:
        yield held
    finally:
        if held:
            conn.execute(_Q.unlock, (key,))
