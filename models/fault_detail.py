"""Which J1939 codes lie behind a fault-count reason: "SPN 1638 FMI 16 seen 14 times".

The features count a component family's active codes; a planner wants the codes. For the
few scored rows whose reasons name a fault count, this reads the machine's active codes of
that family in the same window, point in time (known by the end of the scored day, like
the features), and adds the most frequent SPN/FMI to the reason's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from fleetcare import catalogue as cat
from fleetcare import queries

_FAULT_FEATURE = re.compile(r"^faults_(\d+)d_(\w+)$")

_Q = queries.load("models", "fault_detail.sql")


def fault_reasons(reasons: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
    """(component, window days) of every fault-count reason in `reasons`."""
    out = []
    for r in reasons:
        m = _FAULT_FEATURE.match(str(r.get("feature", "")))
        if m and m.group(2) in cat.COMPONENTS:
            out.append((m.group(2), int(m.group(1))))
    return out


def add_codes(conn: Any, day: date, rows: list[tuple[str, list[dict[str, Any]]]]) -> int:
    """Append the top SPN/FMI to each fault-count reason of (machine_id, reasons) rows.

    Returns how many reasons were given codes. Reasons are changed in place.
    """
    from features.days import end_of

    wanted = [(mid, r) for mid, rs in rows for r in rs if fault_reasons([r])]
    if not wanted:
        return 0
    windows = {fault_reasons([r])[0][1] for _, r in wanted}
    machines = sorted({mid for mid, _ in wanted})
    until = end_of(day)
    counts: dict[tuple[int, str], dict[tuple[int, int], int]] = {}
    for days in windows:
        params = {"machines": machines, "since": end_of(day - timedelta(days=days)),
                  "until": until, "spns": sorted(cat.SPNS)}
        for mid, spn, fmi, n in conn.execute(_Q.codes, params).fetchall():
            counts.setdefault((days, mid), {})[(spn, fmi)] = int(n)
    done = 0
    for mid, reason in wanted:
        component, days = fault_reasons([reason])[0]
        codes = {k: n for k, n in counts.get((days, mid), {}).items()
                 if cat.component_of_spn(k[0]) == component}
        if not codes:
            continue
        (spn, fmi), n = max(codes.items(), key=lambda kv: (kv[1], -kv[0][0]))
        name = cat.SPNS[spn].name
        how = cat.FMI_MEANING.get(fmi, "")
        reason["text"] += (f"; mostly SPN {spn} {name}, FMI {fmi}"
                           + (f" ({how})" if how else "")
                           + f": {n} time{'s' if n != 1 else ''}")
        done += 1
    return done
