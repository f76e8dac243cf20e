"""Second malignancy in first remission and death after it.

Second malignant neoplasms (SMN) arise at a constant hazard from diagnosis while in first
remission (10-year cumulative incidence 1.18%) and are followed by a mixture cure model,
``S(t) = pi + (1 - pi) exp(-lambda t)`` with ``lambda = ln 2 / median_uncured`` and ``pi``
chosen so that ``S(5 years)`` is the published 5-year OS after an SMN.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from blinasim.model import _draws
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def cure_fraction(os5: FloatArray | float, median_uncured_days: float) -> FloatArray:
    """Long-term survivor fraction ``pi`` giving 5-year survival ``os5``."""
    tail = math.exp(-math.log(2.0) / median_uncured_days * 5.0 * DAYS_PER_YEAR)
    return np.clip((np.asarray(os5, dtype=np.float64) - tail) / (1.0 - tail), 0.0, 1.0)


def smn_day(
    ids: IntArray, *, seed: int, ap: AfterRelapseParams, cache: _draws.ChunkDraws | None = None
) -> FloatArray:
    """Day of a second malignancy at constant hazard from diagnosis (may exceed any horizon)."""
    rate = -math.log1p(-ap.smn_cumulative_incidence_10y) / (10.0 * DAYS_PER_YEAR)
    u = _draws.uniforms(seed, "competing.second_malignancy", ids, cache=cache)
    return np.asarray(-np.log(u) / rate, dtype=np.float64)


def death_after_smn_day(
    ids: IntArray,
    smn: FloatArray,
    *,
    seed: int,
    ap: AfterRelapseParams,
    cache: _draws.ChunkDraws | None = None,
) -> FloatArray:
    """Day of death after a second malignancy (inf: survivor)."""
    u = _draws.uniforms(seed, "after_relapse.death_after_smn", ids, k=2, cache=cache)
    s = np.asarray(smn, dtype=np.float64)
    pi = cure_fraction(ap.smn_os5, ap.median_survival_uncured_days)
    # only the children with a second malignancy (others: inf)
    on = np.flatnonzero(np.isfinite(s))
    delay = -np.log(u[on, 1]) * ap.median_survival_uncured_days / math.log(2.0)
    out = np.full(s.shape, np.inf)
    out[on] = np.where(u[on, 0] < pi, np.inf, s[on] + delay)
    return out
