"""Discounting in closed form: a factor at a time point and the integral of a spell.

Times are in days from the economic origin; a rate ``r`` is per year (``DAYS_PER_YEAR``).

- ``continuous``: the factor at ``t`` years is ``(1 + r) ** -t = exp(-delta t)`` with
  ``delta = log(1 + r)``; a constant rate ``c`` per year over ``[a, b]`` years is worth
  ``c (exp(-delta a) - exp(-delta b)) / delta``.
- ``annual``: the factor is constant within each year since the origin, ``(1 + r) **
  -floor(t)`` (year 0 undiscounted), and the spell integral sums those steps exactly
  through ``G(t) = (1 - v**K) / (1 - v) + (t - K) v**K`` with ``v = 1 / (1 + r)``,
  ``K = floor(t)``.

:class:`Discounter` gives both, vectorized; with ``r = 0`` it counts plain years (the
undiscounted totals). No cycles: the integrals are exact for any event times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
Mode = Literal["continuous", "annual"]
MODES: tuple[Mode, ...] = ("continuous", "annual")
MIN_RATE = 1e-12
"""Rates below this are no discounting (their closed forms lose all precision)."""


@dataclass(frozen=True)
class Discounter:
    """Discount factors and spell integrals at ``rate`` per year (``mode``: see module)."""

    rate: float
    mode: Mode = "continuous"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and 0.0 <= self.rate < 1.0):
            raise ValueError(f"a discount rate in [0, 1), got {self.rate}")
        if self.mode not in MODES:
            raise ValueError(f"a discounting mode in {MODES}, got {self.mode!r}")

    @property
    def delta(self) -> float:
        """Continuous rate per year, ``log(1 + rate)``."""
        return math.log1p(self.rate)

    def factor(self, day: ArrayLike) -> FloatArray:
        """Factor of a point event at ``day`` (days from the origin; ``inf`` gives 0)."""
        t = np.maximum(np.asarray(day, dtype=np.float64), 0.0) / DAYS_PER_YEAR
        if self.rate < MIN_RATE:
            return np.where(np.isfinite(t), 1.0, 0.0)
        if self.mode == "continuous":
            return np.exp(-self.delta * t)
        return np.exp(-self.delta * np.floor(t))

    def cumulative(self, day: ArrayLike) -> FloatArray:
        """``G(day)``: discounted years from the origin to ``day`` (``inf`` allowed)."""
        t = np.maximum(np.asarray(day, dtype=np.float64), 0.0) / DAYS_PER_YEAR
        if self.rate < MIN_RATE:
            return t
        d = self.delta
        if self.mode == "continuous":
            return -np.expm1(-d * t) / d
        fin = np.isfinite(t)
        tt = np.where(fin, t, 0.0)
        k = np.floor(tt)
        vk = np.where(fin, np.exp(-d * k), 0.0)
        head = np.where(fin, -np.expm1(-d * k), 1.0) / -math.expm1(-d)  # sum of v**j, j < K
        return np.asarray(head + (tt - k) * vk, dtype=np.float64)

    def spell(self, start: ArrayLike, end: ArrayLike) -> FloatArray:
        """Discounted years of ``[start, end)`` (0 where ``end <= start``)."""
        a = np.asarray(start, dtype=np.float64)
        b = np.asarray(end, dtype=np.float64)
        ga, gb = np.broadcast_arrays(self.cumulative(a), self.cumulative(b))
        out = np.zeros(ga.shape)
        np.subtract(gb, ga, out=out, where=np.broadcast_to(b > a, ga.shape))
        return out


def discounters(rate: float, mode: Mode) -> tuple[Discounter, Discounter]:
    """``(discounted, undiscounted)`` pair at ``rate``."""
    return Discounter(rate, mode), Discounter(0.0, mode)
