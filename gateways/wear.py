"""Parameters of the hidden wear-and-failure process (the truth only the simulator knows).

The model is a delay-time (P-F interval) model on top of Weibull wear:
- each component has an effective age that grows with operating hours times a stress
  factor (load, heat, abrasive ground, overdue fluids and filters, a hidden per-unit
  frailty); preventive service and repairs take some of that age back;
- a defect starts at a Weibull hazard in effective age (plus an early-life hazard for
  the few units built with a defect);
- a started defect runs to failure over a P-F interval of operating hours; most are
  gradual (weeks, with drifting sensors and, for many, rising fault codes), some are
  sudden (hours, no warning). An inspection during the interval can find and fix it.
"""

from __future__ import annotations

import numpy as np

from fleetcare import catalogue as cat

C = len(cat.COMPONENTS)
P = len(cat.WEAR_PARTS)


def _by_component(values: dict[str, float]) -> np.ndarray:
    return np.array([values[c] for c in cat.COMPONENTS], dtype=np.float64)


def _part(part_id: str) -> int:
    return cat.WEAR_PARTS.index(part_id)


# Weibull scale (effective hours) and shape of defect initiation per component.
ETA = _by_component({
    "engine": 10_000, "hydraulic_pump": 7_500, "main_valve": 10_000, "swing": 12_000,
    "travel_drive": 9_000, "undercarriage": 6_500, "cooling": 8_000, "electrical": 10_000,
})
BETA = _by_component({
    "engine": 2.2, "hydraulic_pump": 2.0, "main_valve": 1.8, "swing": 2.0,
    "travel_drive": 2.0, "undercarriage": 2.5, "cooling": 1.8, "electrical": 1.3,
})
# Components whose wear follows engine/hydraulic load more than linearly.
LOAD_EXPONENT = _by_component({
    "engine": 1.5, "hydraulic_pump": 1.5, "main_valve": 1.2, "swing": 1.2,
    "travel_drive": 1.0, "undercarriage": 0.5, "cooling": 1.0, "electrical": 0.3,
})
# Heat above 28 °C ambient speeds these up (per °C).
HEAT_SENSITIVITY = _by_component({
    "engine": 0.03, "hydraulic_pump": 0.04, "main_valve": 0.02, "swing": 0.0,
    "travel_drive": 0.0, "undercarriage": 0.0, "cooling": 0.05, "electrical": 0.02,
})
ABRASIVE_EXPONENT = _by_component({
    "engine": 0.3, "hydraulic_pump": 0.2, "main_valve": 0.0, "swing": 0.0,
    "travel_drive": 0.8, "undercarriage": 1.2, "cooling": 0.3, "electrical": 0.0,
})
# Wear parts whose neglect (wear beyond 1 = past nominal life) stresses a component.
LINKED_PARTS: dict[str, tuple[str, ...]] = {
    "engine": ("engine_oil", "engine_oil_filter", "fuel_filter", "air_filter"),
    "hydraulic_pump": ("hydraulic_return_filter", "hydraulic_oil"),
    "main_valve": ("hydraulic_hose", "seal_kit", "hydraulic_oil"),
    "swing": (),
    "travel_drive": ("final_drive_oil",),
    "undercarriage": ("track_roller", "track_shoe"),
    "cooling": ("coolant", "fan_belt"),
    "electrical": ("battery",),
}
LINK = np.zeros((C, P))
for _c, _parts in LINKED_PARTS.items():
    for _p in _parts:
        LINK[cat.COMPONENT_INDEX[_c], _part(_p)] = 1.0
OVERDUE_GAIN = 0.9          # stress + 90 % per nominal life a linked part is overdue
MAX_STRESS = 5.0
FRAILTY_SIGMA = 0.35        # hidden unit-to-unit spread of wear rate

# Early life: share of units built with a defect, and its hazard per hour.
DEFECT_SHARE = 0.02
DEFECT_HAZARD = 1 / 250.0

# P-F interval: sudden share, gradual log-normal median (operating hours) and spread.
SUDDEN_SHARE = 0.3
SUDDEN_MAX_H = 6.0
PF_MEDIAN_H = 100.0
PF_SIGMA = 0.7
SYMPTOMATIC_SHARE = 0.65    # gradual defects that raise related fault codes

# Fault code rates per operating hour.
PRECURSOR_RATE = 0.22       # x progress^2 while a symptomatic defect runs
BENIGN_RATE = 0.0015        # related code with nothing wrong (loose connector, cold start)
BACKGROUND_RATE = 0.025     # codes that mean nothing for any component
BACKGROUND_CODES: tuple[tuple[int, int], ...] = (
    (639, 9), (639, 14), (168, 4), (627, 4), (97, 15), (190, 2), (158, 17), (168, 17),
)

# How much age each kind of work takes back (multiplier on effective age).
AFTER_REPAIR = 0.35          # breakdown repair of the failed component
AFTER_KEY_PART = 0.05        # when the repair replaced the key assembly
AFTER_SERVICE = 0.9          # hour-interval service, components it covers
AFTER_INSPECTION_FIX = 0.5   # a defect found and fixed at an inspection
# Chance an inspection finds a running defect: symptomatic / silent gradual / sudden.
DETECT_SYMPTOMATIC = 0.75
DETECT_SILENT = 0.4
WEAR_REPLACE_AT = 0.8        # wear parts a visit replaces (share of nominal life used)

# Parts replaced on condition by the customer (not part of hour-interval services).
ON_CONDITION_PARTS: tuple[str, ...] = (
    "bucket_teeth", "hydraulic_hose", "seal_kit", "track_roller", "track_shoe", "battery",
)
INTERVAL_PARTS: frozenset[str] = frozenset(
    p for s in cat.SERVICE_INTERVALS for p, _ in s.parts
)
PART_LIFE = np.array([cat.PARTS[p].life_hours or 1e9 for p in cat.WEAR_PARTS])
# Parts that wear faster on abrasive ground.
PART_ABRASIVE = np.array(
    [1.0 if p in ("bucket_teeth", "air_filter", "track_roller", "track_shoe") else 0.0
     for p in cat.WEAR_PARTS]
)


def gradual_pf(z: np.ndarray) -> np.ndarray:
    """A gradual defect's P-F interval (operating hours) from standard normal draws z.

    Log-normal, floored at SUDDEN_MAX_H (3e-5 of the draws) so that a gradual defect
    always runs longer than any sudden one and the two modes never overlap.
    """
    return np.maximum(np.exp(np.log(PF_MEDIAN_H) + PF_SIGMA * z), SUDDEN_MAX_H)


def cum_hazard(age: np.ndarray) -> np.ndarray:
    """Weibull cumulative hazard of defect initiation at effective age (M, C)."""
    return (np.maximum(age, 0.0) / ETA) ** BETA


def hazard_rate(age: np.ndarray) -> np.ndarray:
    """Weibull hazard per effective hour at effective age (M, C)."""
    a = np.maximum(age, 1.0)
    return BETA / ETA * (a / ETA) ** (BETA - 1)


def erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf, scipy is not a dep."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-x * x)
    return sign * y


def pf_cdf(hours: np.ndarray) -> np.ndarray:
    """P(P-F interval <= hours), sudden and gradual modes together."""
    h = np.maximum(hours, 1e-9)
    gradual = 0.5 * (1 + erf((np.log(h) - np.log(PF_MEDIAN_H)) / (PF_SIGMA * np.sqrt(2))))
    sudden = np.clip(h / SUDDEN_MAX_H, 0, 1)
    return SUDDEN_SHARE * sudden + (1 - SUDDEN_SHARE) * gradual
