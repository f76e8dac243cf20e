"""Accrual over calendar time: a piecewise-constant enrolment rate.

Enrolment day ``i`` (days from the study start) is ``Lambda^-1(S_i)`` where ``Lambda`` is
the cumulative enrolment intensity and ``S_i`` the operational arrival time: the sum of
``i + 1`` unit exponential gaps (``process: poisson``) or ``i`` (``process: uniform``,
evenly spaced arrivals). The gaps come from per-patient uniforms (the trial engine passes
those of its ``trial.patient`` stream), so patient ``i``'s day does not depend on how many
patients are drawn.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from blinasim import rng
from blinasim.trial.design import Accrual
from blinasim.units import DAYS_PER_MONTH

FloatArray = NDArray[np.float64]


def _knots(accrual: Accrual) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Period starts (days), rates (per day) and cumulative intensity at the starts."""
    starts = [0.0]
    rates = []
    for p in accrual.periods:
        rates.append(p.rate_per_month / DAYS_PER_MONTH)
        if p.months is not None:
            starts.append(starts[-1] + p.months * DAYS_PER_MONTH)
    if len(starts) > len(rates):  # the last period is closed: keep its rate after it
        starts = starts[: len(rates)]
    s = np.asarray(starts, dtype=np.float64)
    r = np.asarray(rates, dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(np.diff(s) * r[:-1])])
    return s, r, cum


def cumulative_intensity(accrual: Accrual, day: FloatArray | float) -> FloatArray:
    """Expected number enrolled by ``day`` (days from the start)."""
    s, r, cum = _knots(accrual)
    d = np.asarray(day, dtype=np.float64)
    j = np.clip(np.searchsorted(s, d, side="right") - 1, 0, len(s) - 1)
    return np.asarray(cum[j] + (d - s[j]) * r[j], dtype=np.float64)


def inverse_intensity(accrual: Accrual, x: FloatArray) -> FloatArray:
    """Day at which the cumulative intensity reaches ``x``."""
    s, r, cum = _knots(accrual)
    j = np.clip(np.searchsorted(cum, x, side="right") - 1, 0, len(s) - 1)
    return np.asarray(s[j] + (x - cum[j]) / r[j], dtype=np.float64)


def enrollment_days(
    accrual: Accrual,
    n: int,
    *,
    seed: int,
    replicate: int,
    uniforms: FloatArray | None = None,
) -> FloatArray:
    """Enrolment days (from the study start) of the first ``n`` patients, increasing.

    ``uniforms`` (one per patient) replaces the draws of the ``trial.accrual`` stream.
    """
    if accrual.process == "uniform":
        op = np.arange(n, dtype=np.float64)
    else:
        u = rng.uniforms(seed, "trial.accrual", 0, n, replicate) if uniforms is None else uniforms
        op = np.cumsum(-np.log1p(-u))
    return inverse_intensity(accrual, op)


__all__ = ["cumulative_intensity", "enrollment_days", "inverse_intensity"]
