"""The domain catalogue every stage shares: product lines, components, parts, codes, regions.

Plain constants and frozen dataclasses, no database access. The figures are plausible
values for one maker (docs/domain.md explains them), configuration rather than facts;
the simulator draws its fleet from here, features group fault codes with it, models
and planners read service classes, parts tiers and peak seasons from it.
Component order (``COMPONENTS``) is fixed: arrays indexed by component (truth store,
feature vectors) use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

# --- Components -----------------------------------------------------------------------

ServiceClass = Literal["exceed", "above", "meet", "basic"]
Tier = Literal["A", "B", "C"]


@dataclass(frozen=True)
class Component:
    """A major component; a breakdown names one or more of these."""

    component_id: str
    name: str
    repair_cost_cny: float      # typical emergency repair (labour + parts), before line scale
    repair_downtime_h: float    # typical downtime of a breakdown, before line scale
    nominal_life_hours: float   # hours to an overhaul on a well-serviced machine


COMPONENTS: tuple[str, ...] = (
    "engine", "hydraulic_pump", "main_valve", "swing",
    "travel_drive", "undercarriage", "cooling", "electrical",
)
COMPONENT_INDEX: dict[str, int] = {c: i for i, c in enumerate(COMPONENTS)}

COMPONENT_INFO: dict[str, Component] = {
    c.component_id: c
    for c in (
        Component("engine", "diesel engine", 38_000, 40, 12_000),
        Component("hydraulic_pump", "main hydraulic pump", 45_000, 36, 8_000),
        Component("main_valve", "main control valve and hoses", 22_000, 20, 10_000),
        Component("swing", "swing motor, reducer and bearing", 30_000, 30, 10_000),
        Component("travel_drive", "travel motor and final drive", 28_000, 28, 8_000),
        Component("undercarriage", "tracks, rollers and idlers", 18_000, 16, 5_000),
        Component("cooling", "radiator, fan, water pump", 9_000, 10, 6_000),
        Component("electrical", "battery, alternator, starter, ECU, harness", 6_000, 8, 6_000),
    )
}

# --- Product lines (一品一案) --------------------------------------------------------


@dataclass(frozen=True)
class ProductLine:
    """A product line with its service class and the scale of its use and breakdowns."""

    line_id: str
    name: str
    models: tuple[str, ...]
    service_class: ServiceClass
    hours_per_day: float          # typical operating hours on a working day
    breakdown_cost_scale: float   # multiplies Component.repair_cost_cny
    downtime_scale: float         # multiplies Component.repair_downtime_h
    components: tuple[str, ...]   # in COMPONENTS order
    has_engine: bool = True       # tower cranes run on grid power: no fuel, no coolant
    share: float = 0.0            # share of the fleet (sums to 1)


def _comps(*names: str) -> tuple[str, ...]:
    unknown = set(names) - set(COMPONENTS)
    assert not unknown, unknown
    return tuple(c for c in COMPONENTS if c in names)


_ALL = COMPONENTS
_NO_TRACKS = _comps("engine", "hydraulic_pump", "main_valve", "swing", "travel_drive",
                    "cooling", "electrical")

# Service classes (一品一案, docs/domain.md) from one maker's example; excavators are the
# main products (above), wheeled excavators are taken as the line being phased out
# (basic) — configuration.
PRODUCT_LINES: dict[str, ProductLine] = {
    p.line_id: p
    for p in (
        ProductLine("crawler_excavator", "crawler excavator",
                    ("ZY16", "ZY28", "ZY35", "ZY55", "ZY80", "ZY150", "ZY210", "ZY260", "ZY330"),
                    "above", 8.0, 1.0, 1.0, _ALL, share=0.42),
        ProductLine("wheeled_excavator", "wheeled excavator", ("ZYL40", "ZYL80", "ZYL160"),
                    "basic", 7.0, 0.9, 0.9, _NO_TRACKS, share=0.06),
        ProductLine("wetland_excavator", "wetland excavator", ("ZY80SD", "ZY150SD", "ZY210SD"),
                    "above", 6.5, 1.1, 1.2, _ALL, share=0.04),
        ProductLine("crawler_crane", "crawler crane (telescopic boom)", ("QUY20A", "QUY50A"),
                    "meet", 6.0, 1.4, 1.3, _ALL, share=0.05),
        ProductLine("pump_truck", "concrete pump truck", ("PT37", "PT49", "PT56", "PT62"),
                    "exceed", 6.0, 1.5, 1.2,
                    _comps("engine", "hydraulic_pump", "main_valve", "swing", "cooling",
                           "electrical"), share=0.12),
        ProductLine("trailer_pump", "trailer concrete pump", ("HBT60", "HBT80", "HBT90"),
                    "above", 6.5, 1.0, 1.0,
                    _comps("engine", "hydraulic_pump", "main_valve", "cooling", "electrical"),
                    share=0.06),
        ProductLine("paver", "asphalt paver", ("LTU90", "LTU120"),
                    "exceed", 7.0, 1.3, 1.1,
                    _comps("engine", "hydraulic_pump", "main_valve", "travel_drive",
                           "undercarriage", "cooling", "electrical"), share=0.05),
        ProductLine("milling_machine", "cold milling machine", ("XM100", "XM200"),
                    "exceed", 6.5, 1.4, 1.1,
                    _comps("engine", "hydraulic_pump", "main_valve", "travel_drive",
                           "undercarriage", "cooling", "electrical"), share=0.03),
        ProductLine("roller", "road roller", ("YZ18", "YZ22", "YZ26"),
                    "above", 7.0, 0.7, 0.8,
                    _comps("engine", "hydraulic_pump", "travel_drive", "cooling", "electrical"),
                    share=0.08),
        ProductLine("hdd", "horizontal directional drill", ("XZ200", "XZ450", "XZ680"),
                    "above", 8.0, 1.2, 1.1,
                    _comps("engine", "hydraulic_pump", "main_valve", "travel_drive",
                           "undercarriage", "cooling", "electrical"), share=0.04),
        ProductLine("tower_crane", "tower crane", ("TC5610", "TC6015", "TC7030"),
                    "meet", 9.0, 1.0, 1.5,
                    _comps("swing", "travel_drive", "electrical"), has_engine=False,
                    share=0.05),
    )
}
MODEL_LINE: dict[str, str] = {m: p.line_id for p in PRODUCT_LINES.values() for m in p.models}


def components_of(line_id: str) -> tuple[str, ...]:
    """The major components a product line has, in COMPONENTS order."""
    return PRODUCT_LINES[line_id].components


# --- Parts ---------------------------------------------------------------------------

PartKind = Literal["wear", "key", "repair"]


@dataclass(frozen=True)
class Part:
    """A spare part: price, ABC tier, supply, and (for wear parts) nominal life.

    Tier follows the maker's rule: A expensive key parts, B mid-price or slow-supply
    parts, C cheap fast-wearing consumables.
    """

    part_id: str
    name: str
    component: str | None        # the major component it belongs to; None = attachment
    kind: PartKind
    price_cny: float
    tier: Tier
    outside_supplier: bool       # bought from outside: longer, less certain lead times
    lead_time_days: int
    life_hours: float | None     # nominal life in operating hours (wear and key parts)
    qty: int = 1                 # pieces fitted at one replacement
    hard_to_fit_in_field: bool = False


PARTS: dict[str, Part] = {
    p.part_id: p
    for p in (
        # Wear parts (filters, fluids, teeth, hoses, seals, belts, undercarriage items).
        Part("engine_oil", "engine oil, 20 L", "engine", "wear", 600, "C", False, 2, 500),
        Part("engine_oil_filter", "engine oil filter", "engine", "wear", 120, "C", False, 3, 500),
        Part("fuel_filter", "fuel filter set", "engine", "wear", 180, "C", False, 3, 500),
        Part("air_filter", "air filter element", "engine", "wear", 420, "C", False, 5, 1000),
        Part("hydraulic_return_filter", "hydraulic return filter", "hydraulic_pump", "wear",
             650, "C", False, 5, 1000),
        Part("hydraulic_oil", "hydraulic oil, 200 L", "hydraulic_pump", "wear",
             5200, "B", False, 5, 4000),
        Part("final_drive_oil", "final drive gear oil", "travel_drive", "wear", 700, "C", False,
             3, 2000),
        Part("coolant", "long-life coolant, 20 L", "cooling", "wear", 450, "C", False, 3, 4000),
        Part("fan_belt", "fan belt", "cooling", "wear", 260, "C", False, 4, 2000, 1, True),
        Part("bucket_teeth", "bucket teeth set", None, "wear", 1600, "C", False, 5, 600, 5, True),
        Part("hydraulic_hose", "high-pressure hose assembly", "main_valve", "wear", 900, "C",
             False, 7, 4000, 2, True),
        Part("seal_kit", "cylinder seal kit", "main_valve", "wear", 1300, "C", False, 10, 3000,
             1, True),
        Part("track_roller", "track roller", "undercarriage", "wear", 2600, "B", False, 14,
             4000, 2, True),
        Part("track_shoe", "track shoe set", "undercarriage", "wear", 14_000, "B", True, 30,
             5000, 1, True),
        Part("battery", "battery 24 V", "electrical", "wear", 1200, "C", False, 3, 4000),
        # Key parts A, B, C (docs/domain.md): 100k / 60k / 50k CNY, 12 / 18 / 10 months,
        # A and B from outside suppliers). Life in hours at ~170 h per working month.
        Part("hydraulic_pump_assy", "main pump assembly (key part A)", "hydraulic_pump", "key",
             100_000, "A", True, 45, 2000),
        Part("main_valve_assy", "main control valve (key part B)", "main_valve", "key",
             60_000, "A", True, 40, 3000),
        Part("travel_motor_assy", "travel motor with final drive (key part C)", "travel_drive",
             "key", 50_000, "A", False, 20, 1700),
        # Repair parts used by breakdowns.
        Part("turbocharger", "turbocharger", "engine", "repair", 12_000, "B", True, 21, None),
        Part("injector_set", "fuel injector set", "engine", "repair", 8_500, "B", True, 21, None),
        Part("engine_overhaul_kit", "engine overhaul kit", "engine", "repair", 32_000, "A", True,
             30, None),
        Part("pump_seal_kit", "hydraulic pump seal kit", "hydraulic_pump", "repair", 3_500, "B",
             True, 14, None),
        Part("valve_spool_kit", "valve spool and seal kit", "main_valve", "repair", 4_800, "B",
             False, 10, None),
        Part("swing_motor_assy", "swing motor", "swing", "repair", 42_000, "A", True, 35, None),
        Part("swing_bearing", "slewing ring bearing", "swing", "repair", 28_000, "A", False, 25,
             None),
        Part("travel_motor_seal_kit", "travel motor seal kit", "travel_drive", "repair", 2_800,
             "B", False, 10, None),
        Part("idler", "front idler", "undercarriage", "repair", 6_500, "B", False, 14, None),
        Part("water_pump", "engine water pump", "cooling", "repair", 2_600, "C", False, 7, None),
        Part("radiator", "radiator core", "cooling", "repair", 9_000, "B", False, 14, None),
        Part("alternator", "alternator", "electrical", "repair", 3_200, "C", False, 7, None),
        Part("starter_motor", "starter motor", "electrical", "repair", 3_600, "C", False, 7, None),
        Part("ecu", "engine / machine controller", "electrical", "repair", 15_000, "B", True, 30,
             None),
    )
}

WEAR_PARTS: tuple[str, ...] = tuple(p for p, v in PARTS.items() if v.kind == "wear")
KEY_PARTS: tuple[str, ...] = tuple(p for p, v in PARTS.items() if v.kind == "key")
# Wear parts that only exist on machines with a bucket or tracks.
_BUCKET_LINES = frozenset({"crawler_excavator", "wheeled_excavator", "wetland_excavator"})


def parts_for_component(component: str) -> tuple[str, ...]:
    """Every part (wear, key, repair) that belongs to a component."""
    return tuple(p for p, v in PARTS.items() if v.component == component)


def wear_parts_of(line_id: str) -> tuple[str, ...]:
    """The wear parts a machine of this product line carries."""
    line = PRODUCT_LINES[line_id]
    out = []
    for part_id in WEAR_PARTS:
        part = PARTS[part_id]
        if part.component is None:
            if line_id in _BUCKET_LINES:
                out.append(part_id)
        elif part.component in line.components:
            out.append(part_id)
    return tuple(out)


# --- Maker service intervals and calendar inspections --------------------------------


@dataclass(frozen=True)
class ServiceInterval:
    """A maker hour-interval service: what it replaces and which components it serves."""

    hours: int
    parts: tuple[tuple[str, int], ...]   # (part_id, qty)
    components: tuple[str, ...]          # components whose care this service covers


# Each interval includes everything of the smaller ones (2000 h also does 1000/500/250 h).
SERVICE_INTERVALS: tuple[ServiceInterval, ...] = (
    ServiceInterval(250, (("engine_oil", 1), ("engine_oil_filter", 1)), ("engine",)),
    ServiceInterval(500, (("engine_oil", 1), ("engine_oil_filter", 1), ("fuel_filter", 1)),
                    ("engine",)),
    ServiceInterval(1000, (("engine_oil", 1), ("engine_oil_filter", 1), ("fuel_filter", 1),
                           ("air_filter", 1), ("hydraulic_return_filter", 1),
                           ("final_drive_oil", 1)),
                    ("engine", "hydraulic_pump", "travel_drive")),
    ServiceInterval(2000, (("engine_oil", 1), ("engine_oil_filter", 1), ("fuel_filter", 1),
                           ("air_filter", 1), ("hydraulic_return_filter", 1),
                           ("final_drive_oil", 1), ("hydraulic_oil", 1), ("coolant", 1),
                           ("fan_belt", 1)),
                    ("engine", "hydraulic_pump", "main_valve", "swing", "travel_drive",
                     "cooling")),
)
SERVICE_INTERVAL_HOURS: tuple[int, ...] = tuple(s.hours for s in SERVICE_INTERVALS)


def interval_due(engine_hours: float) -> ServiceInterval:
    """The largest maker interval a service at this hour meter reading counts as."""
    step = round(engine_hours / 250.0) * 250
    chosen = SERVICE_INTERVALS[0]
    for interval in SERVICE_INTERVALS:
        if step > 0 and step % interval.hours == 0:
            chosen = interval
    return chosen


# Today's routine inspections (例行检修): months after delivery, warranty machines only.
CALENDAR_INSPECTION_MONTHS: tuple[int, ...] = (1, 3, 6, 12)
WARRANTY_MONTHS = 12


def add_months(day: date, months: int) -> date:
    """Same day of month `months` later (clamped to the month's last day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def calendar_inspection_dates(delivery: date) -> tuple[date, ...]:
    """The fixed 1/3/6/12-month inspection dates of a machine delivered on `delivery`."""
    return tuple(add_months(delivery, m) for m in CALENDAR_INSPECTION_MONTHS)


# --- SAE J1939 fault codes ------------------------------------------------------------


@dataclass(frozen=True)
class Spn:
    """A J1939 suspect parameter: what it measures and which component family it points at."""

    spn: int
    name: str
    unit: str
    component: str              # COMPONENTS id
    fmis: tuple[int, ...]       # the failure modes this SPN typically reports


# SPNs >= 520192 are manufacturer proprietary (J1939 reserves 520192-524287 for them).
SPNS: dict[int, Spn] = {
    s.spn: s
    for s in (
        Spn(110, "engine coolant temperature", "°C", "cooling", (0, 15, 16)),
        Spn(111, "coolant level", "%", "cooling", (1, 17, 18)),
        Spn(175, "engine oil temperature", "°C", "engine", (0, 15, 16)),
        Spn(100, "engine oil pressure", "kPa", "engine", (1, 17, 18)),
        Spn(98, "engine oil level", "%", "engine", (1, 17, 18)),
        Spn(94, "fuel delivery pressure", "kPa", "engine", (1, 17, 18)),
        Spn(95, "fuel filter differential pressure", "kPa", "engine", (0, 15, 16)),
        Spn(97, "water in fuel indicator", "bit", "engine", (0, 15, 31)),
        Spn(99, "engine oil filter differential pressure", "kPa", "engine", (0, 15, 16)),
        Spn(107, "air filter differential pressure", "kPa", "engine", (0, 15, 16)),
        Spn(190, "engine speed", "rpm", "engine", (0, 2, 16)),
        Spn(168, "battery potential", "V", "electrical", (1, 4, 17, 18)),
        Spn(158, "keyswitch battery potential", "V", "electrical", (1, 4, 17)),
        Spn(627, "power supply", "V", "electrical", (2, 4)),
        Spn(639, "J1939 network", "-", "electrical", (9, 14)),
        Spn(1638, "hydraulic oil temperature", "°C", "hydraulic_pump", (0, 15, 16)),
        Spn(1713, "hydraulic oil filter restriction", "bit", "hydraulic_pump", (0, 15, 31)),
        Spn(2602, "hydraulic oil level", "%", "hydraulic_pump", (1, 17, 18)),
        Spn(520200, "main pump delivery pressure", "bar", "hydraulic_pump", (1, 2, 18)),
        Spn(520201, "pump regulator solenoid current", "mA", "hydraulic_pump", (5, 6)),
        Spn(520210, "main valve pilot pressure", "bar", "main_valve", (1, 2, 18)),
        Spn(520211, "boom/arm spool position", "%", "main_valve", (2, 7)),
        Spn(520220, "swing motor case drain pressure", "bar", "swing", (0, 16)),
        Spn(520221, "swing brake release pressure", "bar", "swing", (1, 7, 18)),
        Spn(520230, "travel motor pressure, left", "bar", "travel_drive", (1, 2, 18)),
        Spn(520231, "final drive oil temperature", "°C", "travel_drive", (0, 16)),
        Spn(520240, "track tension cylinder pressure", "bar", "undercarriage", (1, 17)),
    )
}


def component_of_spn(spn: int) -> str | None:
    """The component family a fault code's SPN points at (None if unknown)."""
    info = SPNS.get(spn)
    return info.component if info else None


def spns_of_component(component: str) -> tuple[int, ...]:
    """The SPNs that point at a component family."""
    return tuple(s for s, v in SPNS.items() if v.component == component)


FMI_MEANING: dict[int, str] = {
    0: "above normal, most severe", 1: "below normal, most severe", 2: "erratic",
    3: "voltage above normal", 4: "voltage below normal", 5: "current below normal",
    6: "current above normal", 7: "mechanical system not responding",
    9: "abnormal update rate", 14: "special instructions",
    15: "above normal, least severe", 16: "above normal, moderately severe",
    17: "below normal, least severe", 18: "below normal, moderately severe",
    31: "condition exists",
}

# --- Regions and seasons --------------------------------------------------------------

Market = Literal["mature", "growth", "opening", "secondary"]
Climate = Literal["north", "south"]
MonthDay = tuple[int, int]


@dataclass(frozen=True)
class Peak:
    """A recurring peak season as a month-day range (inclusive)."""

    name: str
    start: MonthDay
    end: MonthDay

    def contains(self, day: date) -> bool:
        return self.start <= (day.month, day.day) <= self.end

    def start_in(self, year: int) -> date:
        return date(year, *self.start)

    def end_in(self, year: int) -> date:
        return date(year, *self.end)


@dataclass(frozen=True)
class Region:
    """A sales/service region: market maturity, climate, centre and peak seasons."""

    region_id: str
    name: str
    market: Market
    climate: Climate               # north = frozen-ground winter stop
    lat: float
    lon: float
    peaks: tuple[Peak, ...]
    winter_stop: tuple[MonthDay, MonthDay] | None = None   # (from, to), spans new year
    plum_rains: bool = False       # Yangtze basin: wet mid-June to mid-July
    summer_slump: bool = False     # July-August heat and rain cut hours
    fleet_share: float = 0.0       # share of machines sold here (sums to 1)


_SPRING = Peak("spring", (4, 1), (5, 31))
_AUTUMN = Peak("autumn", (9, 1), (11, 30))
_AUTUMN_NORTH = Peak("autumn", (9, 1), (10, 31))
_NORTH_STOP: tuple[MonthDay, MonthDay] = ((12, 1), (3, 5))

REGIONS: dict[str, Region] = {
    r.region_id: r
    for r in (
        Region("south", "South China", "mature", "south", 23.13, 113.26,
               (_SPRING, _AUTUMN), summer_slump=True, fleet_share=0.20),
        Region("beijing", "Beijing", "growth", "north", 39.90, 116.40,
               (_SPRING, _AUTUMN_NORTH), winter_stop=_NORTH_STOP, fleet_share=0.07),
        Region("north_china", "North China", "growth", "north", 38.04, 114.51,
               (_SPRING, _AUTUMN_NORTH), winter_stop=_NORTH_STOP, fleet_share=0.11),
        Region("east", "East China", "growth", "south", 31.23, 120.58,
               (_SPRING, _AUTUMN), plum_rains=True, summer_slump=True, fleet_share=0.17),
        Region("central", "Central China", "growth", "south", 30.59, 114.31,
               (_SPRING, _AUTUMN), plum_rains=True, summer_slump=True, fleet_share=0.11),
        Region("southwest", "Southwest", "growth", "south", 30.57, 104.07,
               (_SPRING, _AUTUMN), summer_slump=True, fleet_share=0.10),
        Region("xinjiang", "Xinjiang", "opening", "north", 43.83, 87.62,
               (Peak("spring", (4, 15), (6, 15)), Peak("autumn", (8, 20), (10, 15))),
               winter_stop=((11, 15), (3, 20)), fleet_share=0.04),
        Region("northeast", "Northeast", "opening", "north", 43.82, 125.32,
               (Peak("spring", (4, 20), (6, 20)), Peak("summer", (7, 1), (8, 31)),
                Peak("autumn", (9, 1), (10, 10))),
               winter_stop=((11, 1), (4, 5)), fleet_share=0.05),
        Region("hunan", "Hunan", "opening", "south", 28.23, 112.94,
               (_SPRING, _AUTUMN), plum_rains=True, summer_slump=True, fleet_share=0.05),
        Region("fujian", "Fujian", "opening", "south", 26.07, 119.30,
               (_SPRING, _AUTUMN), summer_slump=True, fleet_share=0.04),
        Region("northwest", "Northwest", "secondary", "north", 34.34, 108.94,
               (_SPRING, _AUTUMN_NORTH), winter_stop=((11, 25), (3, 10)), fleet_share=0.06),
    )
}

# Spring Festival (Chinese New Year's Day): sites close roughly a week before to two
# or three weeks after.
SPRING_FESTIVAL: dict[int, date] = {
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12),
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10),
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
}
# National public holidays that slow sites down (month-day ranges).
GOLDEN_WEEKS: tuple[tuple[MonthDay, MonthDay], ...] = (((5, 1), (5, 5)), ((10, 1), (10, 7)))


def spring_festival(year: int) -> date:
    """Chinese New Year's Day of a year (2019-2028; outside that, an approximate Feb 5)."""
    return SPRING_FESTIVAL.get(year, date(year, 2, 5))


def in_peak(region_id: str, day: date) -> bool:
    """Whether `day` lies in one of the region's peak seasons."""
    return any(p.contains(day) for p in REGIONS[region_id].peaks)


def peak_of(region_id: str, day: date) -> Peak | None:
    """The peak season `day` lies in, if any."""
    for peak in REGIONS[region_id].peaks:
        if peak.contains(day):
            return peak
    return None


def next_peak_start(region_id: str, day: date) -> date:
    """The first day of the region's next peak season starting after `day`."""
    starts = sorted(
        p.start_in(y) for y in (day.year, day.year + 1) for p in REGIONS[region_id].peaks
    )
    return next(s for s in starts if s > day)


def days_to_next_peak(region_id: str, day: date) -> int:
    """0 inside a peak season, else days until the next one starts."""
    return 0 if in_peak(region_id, day) else (next_peak_start(region_id, day) - day).days


def in_winter_stop(region_id: str, day: date) -> bool:
    """Whether frozen ground stops most work in the region on `day`."""
    stop = REGIONS[region_id].winter_stop
    if stop is None:
        return False
    md = (day.month, day.day)
    return md >= stop[0] or md <= stop[1]


def in_spring_festival(day: date) -> bool:
    """Sites closed for Spring Festival: 7 days before to 15 days after New Year's Day."""
    for year in (day.year, day.year + 1):
        sf = spring_festival(year)
        if sf - timedelta(days=7) <= day <= sf + timedelta(days=15):
            return True
    return False


# --- Customers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A customer segment: share of sales, how hard it works machines, how abrasive."""

    segment_id: str
    name: str
    share: float          # share of customers (city + railway ≈ half of sales)
    intensity: float      # hours multiplier against the product line's typical day
    abrasiveness: float   # ground abrasiveness: wears teeth, tracks, filters


SEGMENTS: dict[str, Segment] = {
    s.segment_id: s
    for s in (
        Segment("city", "city construction", 0.28, 1.0, 1.0),
        Segment("railway", "railway", 0.22, 1.15, 1.3),
        Segment("water", "water conservancy", 0.14, 0.95, 1.2),
        Segment("municipal", "municipal works", 0.14, 0.85, 0.9),
        Segment("highway", "highway", 0.14, 1.1, 1.2),
        Segment("mining", "quarry and mining", 0.08, 1.3, 1.8),
    )
}
