"""Health check of the scheduler: is some process holding the leader lock?

`python -m scheduler.health` (database from FLEETCARE_DATABASE_URL, password from
PGPASSWORD as in compose) exits 0 when a scheduler leader holds its advisory lock, else
1 with one line. One query on pg_locks; no table of the pipeline is read.
"""

from __future__ import annotations

import os
import sys

import psycopg

from fleetcare import queries
from scheduler.leader import LEADER_LOCK_NAME, lock_key

_Q = queries.load("scheduler", "leader.sql")


def leader_alive(url: str, name: str = LEADER_LOCK_NAME) -> bool:
    """True if a session holds the scheduler's leader lock on this database."""
    key = lock_key(name) & 0xFFFFFFFFFFFFFFFF  # the lock's 64 bits, as pg_locks splits them
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(_Q.leader_held, {"hi": key >> 32, "lo": key & 0xFFFFFFFF}).fetchone()
    return bool(row and row[0])


def main() -> int:
    url = os.environ.get("FLEETCARE_DATABASE_URL")
    if not url:
        print("scheduler unhealthy: FLEETCARE_DATABASE_URL is not set", file=sys.stderr)
        return 1
    try:
        alive = leader_alive(url)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"scheduler unhealthy: database unreachable ({first})", file=sys.stderr)
        return 1
    if not alive:
        print("scheduler unhealthy: no scheduler holds the leader lock", file=sys.stderr)
        return 1
    print("scheduler ok: a leader holds the lock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
