"""Numbers of a prediction from matched twins: estimates, 95% intervals, icons, curves.

Each posterior draw ``d`` gives an estimate ``p_d`` from its ``n_d`` matched twins. The
estimate is the pooled share over every matched twin (the draws weighted by ``n_d``: with
the same number of candidates per draw, ``n_d`` is proportional to how likely the draw
makes the child's MRD readouts, so this is the posterior given the child's readouts too).
The 95% interval is the 2.5-97.5% weighted quantiles of the per-draw estimates after their
Monte Carlo noise is taken out: each ``p_d`` is pulled toward the pooled value by
``sqrt(1 - mc / between)``, where ``between`` is the weighted variance of the ``p_d`` and
``mc`` the mean Monte Carlo variance (``var_d / n_d``), so that the interval reflects
parameter uncertainty rather than the finite number of twins; the interval is then widened
by 1.96 Monte Carlo standard errors of the pooled estimate (``sqrt(sum w_d^2 var_d / n_d)``).
:func:`largest_remainder` turns shares into whole counts out of 100 that sum to exactly 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval (shares in [0, 1], or differences in [-1, 1])."""

    estimate: float
    lower: float
    upper: float

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        """``{estimate, lower, upper}`` rounded to ``digits``."""
        return {
            "estimate": round(self.estimate, digits),
            "lower": round(self.lower, digits),
            "upper": round(self.upper, digits),
        }


def _weighted_quantile(x: FloatArray, w: FloatArray, q: float) -> float:
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    c = np.cumsum(ws) - 0.5 * ws
    c /= ws.sum()
    return float(np.interp(q, c, xs))


def interval(
    means: FloatArray,
    mc_vars: FloatArray,
    n: FloatArray,
    weights: FloatArray | None = None,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> Interval:
    """Pooled estimate and 95% interval from per-draw means, MC variances and twin counts.

    ``weights``: each draw's weight (default: its twin count ``n``); the interval is kept
    within ``bounds`` (shares: 0 to 1; differences of shares: -1 to 1). Draws without twins
    (``n == 0``) are left out. Raises ``ValueError`` if none has twins.
    """
    keep = n > 0
    if not keep.any():
        raise ValueError("no draw has a matched twin")
    wt = n if weights is None else np.asarray(weights, dtype=np.float64)
    m, v, w = means[keep], mc_vars[keep], wt[keep].astype(np.float64)
    w = w / w.sum()
    est = float(np.sum(w * m))
    between = float(np.sum(w * (m - est) ** 2))
    mc = float(np.sum(w * v))
    k = math.sqrt(max(0.0, 1.0 - mc / between)) if between > 0 else 0.0
    shrunk = est + k * (m - est)
    # plus the Monte Carlo error of the pooled estimate itself
    pad = 1.96 * math.sqrt(float(np.sum(w * w * v)))
    lo = _weighted_quantile(shrunk, w, 0.025) - pad
    hi = _weighted_quantile(shrunk, w, 0.975) + pad
    lo, hi = max(min(lo, est), bounds[0]), min(max(hi, est), bounds[1])
    return Interval(estimate=est, lower=lo, upper=hi)


def share_interval(values: list[NDArray[np.bool_]], weights: FloatArray | None = None) -> Interval:
    """Interval of a share: one boolean array of matched twins per draw."""
    n = np.array([v.size for v in values], dtype=np.float64)
    means = np.array([v.mean() if v.size else 0.0 for v in values])
    mc = np.where(n > 0, means * (1.0 - means) / np.maximum(n, 1.0), 0.0)
    return interval(means, mc, n, weights)


def difference_interval(values: list[FloatArray], weights: FloatArray | None = None) -> Interval:
    """Interval of a paired difference: per draw, each twin's (-1, 0, +1) difference."""
    n = np.array([v.size for v in values], dtype=np.float64)
    means = np.array([v.mean() if v.size else 0.0 for v in values])
    mc = np.array([v.var() / v.size if v.size > 1 else 0.0 for v in values])
    return interval(means, mc, n, weights, bounds=(-1.0, 1.0))


def curve_band(
    days: list[FloatArray], at_days: FloatArray, weights: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Survival ``P(event day > t)`` at ``at_days``: estimate, lower, upper (per draw: days)."""
    k = at_days.size
    n = np.array([d.size for d in days], dtype=np.float64)
    surv = np.zeros((len(days), k))
    for j, d in enumerate(days):
        if d.size:
            s = np.sort(d)
            surv[j] = 1.0 - np.searchsorted(s, at_days, side="right") / d.size
    est, lo, hi = np.zeros(k), np.zeros(k), np.zeros(k)
    for i in range(k):
        m = surv[:, i]
        mc = np.where(n > 0, m * (1.0 - m) / np.maximum(n, 1.0), 0.0)
        iv = interval(m, mc, n, weights)
        est[i], lo[i], hi[i] = iv.estimate, iv.lower, iv.upper
    return est, lo, hi


def largest_remainder(shares: dict[str, float], total: int = 100) -> dict[str, int]:
    """Whole counts out of ``total`` proportional to ``shares`` that sum to ``total``.

    Hamilton's method: floor each quota, then give the remaining units to the largest
    remainders (ties: the order of ``shares``). Shares must be >= 0 with a positive sum.
    """
    keys = list(shares)
    x = np.array([shares[k] for k in keys], dtype=np.float64)
    if (x < 0).any() or not np.isfinite(x).all() or x.sum() <= 0:
        raise ValueError(f"shares must be >= 0 with a positive sum, got {shares}")
    quota = x / x.sum() * total
    base = np.floor(quota).astype(np.int64)
    left = total - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:left]] += 1
    return {k: int(base[i]) for i, k in enumerate(keys)}
