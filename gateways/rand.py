"""Deterministic randomness: one generator per (seed, day, purpose), and hashed uniforms.

Common random numbers: the backtest runs the same fleet under different visit policies
and compares them. Every draw that shapes the fleet (hours, defect starts, failure
modes) comes from a generator keyed by (seed, day, purpose) with a shape fixed by the
fleet size, never by the state, so two runs that differ only in visits see the same
numbers. Draws whose count depends on the state (one per fault code, per message) use
a counter-based hash of their identity instead, so they never shift anyone else's.
"""

from __future__ import annotations

import zlib

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def purpose_key(purpose: str) -> int:
    """A stable integer for a purpose name (crc32 is fixed across runs and platforms)."""
    return zlib.crc32(purpose.encode())


def day_rng(seed: int, day_index: int, purpose: str) -> np.random.Generator:
    """The generator for one purpose on one simulated day."""
    return np.random.default_rng([seed & 0xFFFFFFFF, day_index + 100_000, purpose_key(purpose)])


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: a bijective mix with good avalanche, cheap in numpy.
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def hashed_uniform(seed: int, purpose: str, *keys: np.ndarray | int | np.integer) -> np.ndarray:
    """Uniforms in [0, 1) that depend only on (seed, purpose, keys), element-wise."""
    with np.errstate(over="ignore"):
        start = np.uint64((seed * 0x9E3779B1 + purpose_key(purpose)) & 0xFFFFFFFFFFFFFFFF)
        h = _mix(np.asarray(start, dtype=np.uint64))
        for key in keys:
            k = np.asarray(key).astype(np.uint64)
            h = _mix(h ^ (k + _GOLDEN + (h << np.uint64(6)) + (h >> np.uint64(2))))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def poisson_from_uniform(lam: np.ndarray, u: np.ndarray, kmax: int = 20) -> np.ndarray:
    """Poisson counts by inverting the CDF at fixed uniforms (state-dependent rates, CRN)."""
    lam = np.asarray(lam, dtype=np.float64)
    p = np.exp(-lam)
    cdf = p.copy()
    k = np.zeros(lam.shape, dtype=np.int64)
    for i in range(1, kmax + 1):
        more = u >= cdf
        if not more.any():
            break
        k += more
        p = p * lam / i
        cdf = cdf + p
    return k
