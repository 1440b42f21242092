"""Great-circle distances between stations and machine sites."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_KM = 6371.0088

FloatArray = NDArray[np.float64]


def haversine_km(lat1: FloatArray | float, lon1: FloatArray | float,
                 lat2: FloatArray | float, lon2: FloatArray | float) -> FloatArray:
    """Great-circle distance in km (broadcasts over arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dlmb = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def pairwise_km(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """All pairwise great-circle distances between points, km."""
    return haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
