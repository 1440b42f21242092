"""The simulated fleet's master data: regions, stations, customers and machines.

Real fleets come from the maker's sales and service-network records, so this is drawn
once from the seed and written to the master tables, not sent over MQTT. Besides the
rows, the Fleet carries per-machine numpy arrays the simulator vectorises over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from fleetcare import catalogue as cat
from gateways.seasons import REGION_IDS

LINE_IDS: tuple[str, ...] = tuple(cat.PRODUCT_LINES)
SEGMENT_IDS: tuple[str, ...] = tuple(cat.SEGMENTS)
WEAR_PARTS: tuple[str, ...] = cat.WEAR_PARTS
# How many machines one service station looks after, and technicians per station.
MACHINES_PER_STATION = 60
# Severe duty (mining, railway cuttings): the maker's manual asks for 250 h oil changes.
SEVERE_SEGMENTS = frozenset({"mining", "railway"})


@dataclass(frozen=True)
class Station:
    station_id: str
    name: str
    region_id: str
    lat: float
    lon: float
    technicians: int


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    segment: str
    key_account: bool
    region_id: str
    peak_months: tuple[int, ...] | None
    does_interval_service: bool      # books the maker's hour-interval services
    accepts_inspections: bool        # lets the maker do calendar inspections in warranty
    intensity: float                 # hours multiplier of this customer's sites


@dataclass(frozen=True)
class Machine:
    machine_id: str
    serial: str
    model: str
    product_line: str
    customer_id: str
    region_id: str
    station_id: str
    delivery_date: date
    warranty_end: date
    site_lat: float
    site_lon: float


@dataclass
class Fleet:
    """Master data plus the per-machine arrays (index i = machines[i])."""

    seed: int
    start: date
    stations: list[Station]
    customers: list[Customer]
    machines: list[Machine]
    # Per-machine arrays, filled by build_fleet.
    line: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    region: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    customer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    station: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    delivery_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # vs start
    base_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))   # h on a working day
    load: np.ndarray = field(default_factory=lambda: np.zeros(0))         # mean engine load %
    size: np.ndarray = field(default_factory=lambda: np.zeros(0))         # model size factor
    abrasive: np.ndarray = field(default_factory=lambda: np.zeros(0))     # ground abrasiveness
    severe: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    station_km: np.ndarray = field(default_factory=lambda: np.zeros(0))   # site to station
    has_comp: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))  # (M, C)
    has_part: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))  # (M, P)
    has_engine: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @property
    def size_n(self) -> int:
        return len(self.machines)

    def index_of(self, machine_id: str) -> int:
        """Array index of a machine id (ids are M000001, M000002, ...)."""
        i = int(machine_id[1:]) - 1
        if not (0 <= i < len(self.machines)) or self.machines[i].machine_id != machine_id:
            raise KeyError(machine_id)
        return i


def machine_id(index: int) -> str:
    return f"M{index + 1:06d}"


def _km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    # Equirectangular distance: fine at the scale of one region.
    x = np.radians(lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    y = np.radians(lat2 - lat1)
    return 6371.0 * np.hypot(x, y)


def build_fleet(n_machines: int, seed: int, start: date, days: int) -> Fleet:
    """Draw a fleet of n machines from the catalogue; deterministic for (n, seed, start).

    About 85 % were delivered 0-6 years before `start`; the rest are delivered during the
    simulated period, so early-life failures and 1/3/6/12-month inspections occur.
    """
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 7_000_001])
    region_share = np.array([cat.REGIONS[r].fleet_share for r in REGION_IDS])

    # Stations: one per ~60 machines in a region, at least one per region.
    stations: list[Station] = []
    station_region: list[int] = []
    expected = n_machines * region_share
    for r, rid in enumerate(REGION_IDS):
        area = cat.REGIONS[rid]
        for k in range(max(1, int(round(expected[r] / MACHINES_PER_STATION)))):
            lat = area.lat + (rng.normal(0, 0.8) if k else 0.0)
            lon = area.lon + (rng.normal(0, 1.0) if k else 0.0)
            stations.append(Station(f"S-{rid}-{k + 1:02d}", f"{area.name} station {k + 1}",
                                    rid, round(lat, 4), round(lon, 4),
                                    int(rng.integers(3, 9))))
            station_region.append(r)
    st_lat = np.array([s.lat for s in stations])
    st_lon = np.array([s.lon for s in stations])
    st_reg = np.array(station_region)

    # Customers: a few key accounts own many machines; most customers own one to three.
    seg_share = np.array([cat.SEGMENTS[s].share for s in SEGMENT_IDS])
    n_customers = max(1, int(n_machines / 3.0))
    customers: list[Customer] = []
    cust_region = rng.choice(len(REGION_IDS), n_customers, p=region_share)
    cust_seg = rng.choice(len(SEGMENT_IDS), n_customers, p=seg_share)
    key = rng.random(n_customers) < 0.08
    cust_weight = np.where(key, rng.uniform(8, 20, n_customers), rng.uniform(0.6, 1.6, n_customers))
    for c in range(n_customers):
        rid = REGION_IDS[cust_region[c]]
        peaks = None
        if key[c] or rng.random() < 0.3:
            # The customer's own busy months: the region's peaks, shifted a little.
            shift = int(rng.integers(-1, 2))
            months = sorted({(m - 1 + shift) % 12 + 1
                             for p in cat.REGIONS[rid].peaks
                             for m in range(p.start[0], p.end[0] + 1)})
            peaks = tuple(months)
        segment = SEGMENT_IDS[cust_seg[c]]
        customers.append(Customer(
            customer_id=f"C{c + 1:05d}", name=f"{cat.SEGMENTS[segment].name.title()} Co. {c + 1}",
            segment=segment, key_account=bool(key[c]), region_id=rid, peak_months=peaks,
            does_interval_service=bool(rng.random() < (0.8 if key[c] else 0.45)),
            accepts_inspections=bool(rng.random() < 0.7),
            intensity=float(np.clip(rng.lognormal(0, 0.2), 0.6, 1.6)),
        ))

    # Machines.
    line_share = np.array([cat.PRODUCT_LINES[p].share for p in LINE_IDS])
    line = rng.choice(len(LINE_IDS), n_machines, p=line_share)
    owner = rng.choice(n_customers, n_machines, p=cust_weight / cust_weight.sum())
    region = cust_region[owner]
    new = rng.random(n_machines) < 0.15
    delivery_day = np.where(
        new, rng.integers(0, max(1, days - 30), n_machines), -rng.integers(30, 6 * 365, n_machines)
    )
    centre_lat = np.array([cat.REGIONS[REGION_IDS[r]].lat for r in region])
    centre_lon = np.array([cat.REGIONS[REGION_IDS[r]].lon for r in region])
    site_lat = centre_lat + rng.normal(0, 1.0, n_machines)
    site_lon = centre_lon + rng.normal(0, 1.2, n_machines)
    # Nearest station of the region.
    station = np.empty(n_machines, np.int64)
    station_km = np.empty(n_machines)
    for i in range(n_machines):
        cand = np.flatnonzero(st_reg == region[i])
        dist = _km(site_lat[i], site_lon[i], st_lat[cand], st_lon[cand])
        j = int(np.argmin(dist))
        station[i], station_km[i] = cand[j], dist[j]
    model_pos = rng.random(n_machines)
    seg_of = np.array([SEGMENT_IDS.index(customers[o].segment) for o in owner])
    machines: list[Machine] = []
    size = np.empty(n_machines)
    for i in range(n_machines):
        pl = cat.PRODUCT_LINES[LINE_IDS[line[i]]]
        k = min(int(model_pos[i] * len(pl.models)), len(pl.models) - 1)
        size[i] = 0.6 + 1.0 * k / max(1, len(pl.models) - 1)
        delivered = start + timedelta(days=int(delivery_day[i]))
        cust = customers[owner[i]]
        warranty = cat.add_months(delivered, cat.WARRANTY_MONTHS * (2 if cust.key_account else 1))
        machines.append(Machine(
            machine_id=machine_id(i), serial=f"{pl.models[k]}-{seed % 1000:03d}{i + 1:06d}",
            model=pl.models[k], product_line=pl.line_id, customer_id=cust.customer_id,
            region_id=REGION_IDS[region[i]], station_id=stations[station[i]].station_id,
            delivery_date=delivered, warranty_end=warranty,
            site_lat=round(float(site_lat[i]), 5), site_lon=round(float(site_lon[i]), 5),
        ))
    seg_intensity = np.array([cat.SEGMENTS[s].intensity for s in SEGMENT_IDS])[seg_of]
    seg_abrasive = np.array([cat.SEGMENTS[s].abrasiveness for s in SEGMENT_IDS])[seg_of]
    line_hours = np.array([cat.PRODUCT_LINES[p].hours_per_day for p in LINE_IDS])[line]
    cust_int = np.array([c.intensity for c in customers])[owner]
    comps = cat.COMPONENTS
    has_comp = np.array([[c in cat.PRODUCT_LINES[LINE_IDS[ln]].components for c in comps]
                         for ln in range(len(LINE_IDS))])[line]
    has_part = np.array([[p in cat.wear_parts_of(LINE_IDS[ln]) for p in WEAR_PARTS]
                         for ln in range(len(LINE_IDS))])[line]
    has_engine = np.array([cat.PRODUCT_LINES[p].has_engine for p in LINE_IDS])[line]

    return Fleet(
        seed=seed, start=start, stations=stations, customers=customers, machines=machines,
        line=line, region=region, customer=owner, station=station, delivery_day=delivery_day,
        base_hours=0.85 * line_hours * seg_intensity * cust_int
        * rng.lognormal(0, 0.15, n_machines),
        load=np.clip(rng.normal(55, 8, n_machines) * np.sqrt(seg_intensity), 25, 90),
        size=size,
        abrasive=seg_abrasive * rng.lognormal(0, 0.2, n_machines),
        severe=np.isin(seg_of, [SEGMENT_IDS.index(s) for s in SEVERE_SEGMENTS]),
        station_km=station_km, has_comp=has_comp, has_part=has_part, has_engine=has_engine,
    )
