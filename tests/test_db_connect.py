"""Connections from fleetcare.db.connect plan every statement for its own values."""

from __future__ import annotations

from fleetcare import db
from fleetcare.queries import beside

Q = beside(__file__)


def test_prepared_statements_keep_custom_plans(db_url: str) -> None:
    # PostgreSQL may switch a prepared statement to a generic plan after five runs; ours
    # depend on their values (chunk exclusion by time bounds), so we always plan anew.
    with db.connect(db_url) as conn:
        conn.execute(Q.prepare_probe)
        for _ in range(12):
            conn.execute(Q.run_probe)
        plan = "\n".join(r[0] for r in conn.execute(Q.explain_probe))
    assert "no_such_rel" in plan and "$1" not in plan
