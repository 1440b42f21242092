"""A seeded synthetic planning instance: stations, machines and scores, no database.

For `fleetcare bench plan` and tests at fleet scale before (or without) a pipeline run.
Shaped like the real network: stations spread over the catalogue's regions by fleet
share; machines sit on job sites (several machines per site, most sites within a
city's reach of the station, some far out); key accounts own the bigger sites; most
machines carry low risk and a minority has one degrading component; wear parts sit at
every point of their life.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from fleetcare import catalogue
from scheduler.problem import Machine, PeakRange, Station, WearDue
from scheduler.value import catalogue_peaks

_REASON_TEXT = {
    "engine": ("engine oil pressure below normal 5 times this week (SPN 100 FMI 18)",
               "coolant temperature trend +5 °C over 30 days"),
    "hydraulic_pump": ("hydraulic oil temperature trend +6 °C over 30 days",
                       "SPN 1638 FMI 16 seen 14 times this week"),
    "main_valve": ("pilot pressure erratic (SPN 520210 FMI 2)",),
    "swing": ("swing motor case drain pressure high 3 days in a row",),
    "travel_drive": ("final drive oil temperature trend +8 °C over 30 days",),
    "undercarriage": ("track tension low (SPN 520240 FMI 17) after 4,800 h on tracks",),
    "cooling": ("coolant level low (SPN 111 FMI 17) twice this week",),
    "electrical": ("battery voltage low at start (SPN 168 FMI 4) 6 times",),
}


@dataclass
class Instance:
    stations: list[Station]
    machines: list[Machine]
    peaks: dict[str, list[PeakRange]]
    window_start: date


def _offset(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    dlat = km * np.cos(bearing) / 111.0
    dlon = km * np.sin(bearing) / (111.0 * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def synthetic_instance(machines: int = 10_000, stations: int = 50, seed: int = 7,
                       window_start: date = date(2025, 3, 3),
                       technicians: tuple[int, int] = (1, 3),
                       preventive_share: float = 1 / 3) -> Instance:
    """Generate a reproducible instance (same seed, same instance).

    `preventive_share` is the share of technician-days a station keeps for 保健 visits
    (the rest answers breakdown calls): tech_days_per_week = technicians x 6 x share.
    """
    rng = np.random.default_rng(seed)
    regions = list(catalogue.REGIONS.values())
    shares = np.array([r.fleet_share for r in regions])
    region_of_station = rng.choice(len(regions), size=stations, p=shares / shares.sum())
    out_st: list[Station] = []
    for k in range(stations):
        r = regions[region_of_station[k]]
        lat, lon = _offset(r.lat, r.lon, float(rng.uniform(0, 250)),
                           float(rng.uniform(0, 2 * np.pi)))
        techs = int(rng.integers(technicians[0], technicians[1] + 1))
        out_st.append(Station(f"S{k:03d}", lat, lon, techs, r.region_id,
                              max(1, round(techs * 6 * preventive_share))))

    weights = rng.lognormal(0.0, 0.35, size=stations)
    per_station = np.floor(weights / weights.sum() * machines).astype(int)
    per_station[: machines - per_station.sum()] += 1

    lines = list(catalogue.PRODUCT_LINES.values())
    line_p = np.array([p.share for p in lines])
    line_p /= line_p.sum()
    out_m: list[Machine] = []
    mid = 0
    for st, count in zip(out_st, per_station, strict=True):
        n_sites = max(1, int(count / 3.5))
        site_of = rng.integers(0, n_sites, size=count)
        band = rng.choice(3, size=n_sites, p=[0.6, 0.3, 0.1])
        dist = np.where(band == 0, rng.uniform(2, 35, n_sites),
                        np.where(band == 1, rng.uniform(35, 90, n_sites),
                                 rng.uniform(90, 150, n_sites)))
        bearing = rng.uniform(0, 2 * np.pi, n_sites)
        site_xy = [_offset(st.lat, st.lon, float(d), float(b)) for d, b in zip(dist, bearing,
                                                                               strict=True)]
        # Key accounts own the big sites; each site is one customer.
        site_size = np.bincount(site_of, minlength=n_sites)
        key_site = rng.random(n_sites) < np.clip(0.05 + 0.06 * site_size, 0, 0.6)
        region = catalogue.REGIONS[st.region_id]
        peak_months = sorted({p.start[0] for p in region.peaks} | {p.end[0] for p in region.peaks})
        site_peaks = [tuple(sorted(rng.choice(peak_months, size=min(2, len(peak_months)),
                                              replace=False).tolist()))
                      if rng.random() < 0.4 else () for _ in range(n_sites)]
        for j in range(count):
            site = int(site_of[j])
            lat, lon = _offset(*site_xy[site], float(rng.uniform(0, 0.8)),
                               float(rng.uniform(0, 2 * np.pi)))
            line = lines[int(rng.choice(len(lines), p=line_p))]
            age_days = int(rng.exponential(3.2 * 365)) % (10 * 365)
            delivery = window_start - timedelta(days=age_days)
            warranty_end = catalogue.add_months(delivery, catalogue.WARRANTY_MONTHS)
            hours = age_days / 365.25 * line.hours_per_day * 220 * float(rng.uniform(0.6, 1.3))
            risks = {c: float(rng.beta(0.6, 40)) for c in line.components}
            reasons: dict[str, tuple[str, ...]] = {}
            if rng.random() < 0.12 + 0.02 * min(age_days / 365, 8):
                bad = line.components[int(rng.integers(len(line.components)))]
                risks[bad] = float(rng.beta(2.0, 4.0))
                reasons[bad] = _REASON_TEXT.get(bad, ())
            hpd = line.hours_per_day * 0.8
            wear = []
            for part in catalogue.wear_parts_of(line.line_id):
                life = catalogue.PARTS[part].life_hours or 1000.0
                used = float(rng.uniform(0, 1.15 * life))
                left = life - used
                wear.append(WearDue(part, left, window_start + timedelta(days=int(left / hpd))
                                    if left > 0 else window_start, left - 0.2 * life, used))
            visited = rng.random() < 0.5
            out_m.append(Machine(
                machine_id=f"M{mid:05d}", station_id=st.station_id, product_line=line.line_id,
                lat=lat, lon=lon, delivery_date=delivery, region_id=st.region_id,
                warranty_end=warranty_end, customer_id=f"{st.station_id}-C{site}",
                key_account=bool(key_site[site]), customer_peak_months=site_peaks[site],
                risks=risks, risk_reasons=reasons, horizon_d=30, wear=tuple(wear),
                last_visit=window_start - timedelta(days=int(rng.integers(1, 150)))
                if visited and age_days > 150 else None,
                engine_hours=hours))
            mid += 1
    return Instance(out_st, out_m, catalogue_peaks(), window_start)
