"""Run statistics from the records stream: hours, failures, and how fault codes relate."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from fleetcare import catalogue as cat
from gateways.simulator import DayRecords

_SPN_COMPONENT = {s: cat.COMPONENT_INDEX[v.component] for s, v in cat.SPNS.items()}
WINDOW_S = 14 * 86400


@dataclass
class RunStats:
    """Accumulates over days; call summary() at the end."""

    machine_days: int = 0
    hours: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)
    service: Counter[str] = field(default_factory=Counter)
    _codes: list[np.ndarray] = field(default_factory=list)     # (machine, component, ts)
    _fails: list[tuple[int, int, float]] = field(default_factory=list)

    def add(self, rec: DayRecords) -> None:
        self.machine_days += len(rec.truth["machine"])
        self.hours += float(rec.truth["hours"].sum())
        for f in rec.failures:
            self.failures[f["component"]] += 1
            self.causes[f["cause"]] += 1
            self._fails.append((f["machine"], cat.COMPONENT_INDEX[f["component"]], f["ts"]))
        for s in rec.service:
            self.service[s["kind"]] += 1
        fl = rec.faults
        if len(fl["machine"]):
            comp = np.array([_SPN_COMPONENT.get(int(s), -1) for s in fl["spn"]])
            self._codes.append(np.stack([fl["machine"], comp, fl["ts"]], axis=1).astype(float))

    def precursor_share(self) -> tuple[float, float]:
        """(share of failures with a related code in the 14 days before,
        share of related codes followed by no failure of that component within 14 days)."""
        if not self._fails:
            return 0.0, 1.0
        codes = np.concatenate(self._codes) if self._codes else np.zeros((0, 3))
        key = codes[:, 0] * 16 + codes[:, 1]
        order = np.lexsort((codes[:, 2], key))
        key, ts = key[order], codes[order, 2]
        fk = np.array([m * 16 + c for m, c, _ in self._fails], float)
        ft = np.array([t for _, _, t in self._fails])
        # For each failure: any code of the same machine+component in [t - 14 d, t).
        lo = np.searchsorted(key * 1e10 + ts, fk * 1e10 + ft - WINDOW_S)
        hi = np.searchsorted(key * 1e10 + ts, fk * 1e10 + ft)
        preceded = float(np.mean(hi > lo))
        forder = np.lexsort((ft, fk))
        fk_s, ft_s = fk[forder], ft[forder]
        nxt = np.searchsorted(fk_s * 1e10 + ft_s, key * 1e10 + ts)
        followed = np.zeros(len(key), bool)
        ok = nxt < len(fk_s)
        followed[ok] = (fk_s[nxt[ok]] == key[ok]) & (ft_s[nxt[ok]] - ts[ok] <= WINDOW_S)
        related = codes[order, 1] >= 0
        spurious = float(1 - followed[related].mean()) if related.any() else 1.0
        return preceded, spurious

    def summary(self) -> dict:
        preceded, spurious = self.precursor_share()
        n_fail = sum(self.failures.values())
        kh = self.hours / 1000 if self.hours else float("nan")
        return {
            "machine_days": self.machine_days,
            "operating_hours": round(self.hours),
            "failures": n_fail,
            "failures_per_machine_year": round(n_fail / max(self.machine_days, 1) * 365, 3),
            "failures_per_1000h": {c: round(self.failures[c] / kh, 4) for c in cat.COMPONENTS},
            "failures_per_1000h_total": round(n_fail / kh, 4),
            "failure_causes": dict(self.causes),
            "preceded_by_related_code_14d": round(preceded, 3),
            "related_codes_without_failure_14d": round(spurious, 3),
            "service_records": dict(self.service),
        }
