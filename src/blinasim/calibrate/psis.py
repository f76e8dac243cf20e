"""Pareto-smoothed importance sampling (PSIS) for stage 2 of the calibration.

Vehtari, Simpson, Gelman, Yao and Gabry, "Pareto smoothed importance sampling", JMLR 2024:
the largest importance ratios are replaced by expected order statistics of a generalized
Pareto fit (Zhang and Stephens, Technometrics 2009), whose shape ``k`` diagnoses whether the
estimates are reliable (``k < min(1 - 1/log10(S), 0.7)`` with ``S`` draws); then
systematic resampling to an equally weighted ensemble.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from blinasim import rng

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
MAX_PARETO_K = 0.7
"""PSIS reliability threshold cap (Vehtari et al. 2024: estimates unreliable above 0.7)."""


def pareto_k_threshold(draws: int) -> float:
    """``min(1 - 1 / log10(S), 0.7)``: the largest reliable k-hat with ``S`` draws (PSIS)."""
    if draws <= 10:
        return 0.0
    return min(1 - 1 / math.log10(draws), MAX_PARETO_K)


# --- Pareto-smoothed importance sampling --------------------------------------------------


@dataclass(frozen=True)
class GPDFit:
    """Generalized Pareto fit: shape ``k`` and scale ``sigma`` (location 0)."""

    k: float
    sigma: float


def gpd_fit(x: FloatArray) -> GPDFit:
    """Zhang & Stephens (2009) estimate of a generalized Pareto, with PSIS's prior on k.

    ``x``: positive exceedances over the threshold, sorted ascending. The shape estimate
    is shrunk towards 0.5 as if by 10 pseudo-observations (Vehtari et al. 2024, appendix).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    m = 30 + int(math.sqrt(n))
    b = 1 - np.sqrt(m / (np.arange(1, m + 1, dtype=np.float64) - 0.5))
    b /= 3 * x[int(n / 4 + 0.5) - 1]
    b += 1 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    log_lik = n * (np.log(-b / k) - k - 1)  # profile log likelihood of each b
    w = np.exp(log_lik - special.logsumexp(log_lik))
    keep = w >= 10 * np.finfo(float).eps
    w, b = w[keep], b[keep]
    w /= w.sum()
    b_post = float(np.sum(b * w))
    k_post = float(np.log1p(-b_post * x).mean())
    sigma = -k_post / b_post
    shape = (n * k_post + 10 * 0.5) / (n + 10)
    return GPDFit(k=shape, sigma=sigma)


def gpd_quantile(p: FloatArray, fit: GPDFit) -> FloatArray:
    """Quantiles of the generalized Pareto at probabilities ``p`` in (0, 1)."""
    if abs(fit.k) < np.finfo(float).eps:
        return np.asarray(-fit.sigma * np.log1p(-p), dtype=np.float64)
    return np.asarray(fit.sigma * np.expm1(-fit.k * np.log1p(-p)) / fit.k, dtype=np.float64)


@dataclass(frozen=True)
class PSISResult:
    """Pareto-smoothed importance weights and their diagnostics."""

    log_weights: FloatArray
    """Smoothed log weights, normalized (``logsumexp == 0``; ``-inf`` for failed draws)."""
    pareto_k: float
    """Fitted GPD shape of the largest weights (``inf`` if too few draws to fit)."""
    tail_length: int
    ess: float
    """Kish effective sample size ``1 / sum(w^2)`` of the smoothed normalized weights."""
    ess_raw: float
    """The same for the raw weights."""

    @property
    def weights(self) -> FloatArray:
        """Normalized smoothed weights (sum to 1)."""
        return np.exp(self.log_weights)


def _kish(lw: FloatArray) -> float:
    w = np.exp(lw - special.logsumexp(lw))
    return float(1 / np.sum(w**2))


def psis(log_weights: FloatArray) -> PSISResult:
    """Pareto-smooth raw log importance weights (any additive constant)."""
    lw_in = np.asarray(log_weights, dtype=np.float64)
    ok = np.isfinite(lw_in)
    out = np.full(lw_in.shape, -np.inf)
    s = int(ok.sum())
    if s == 0:
        return PSISResult(out, math.inf, 0, 0.0, 0.0)
    x = lw_in[ok] - lw_in[ok].max()
    raw = _kish(x)
    m = math.ceil(min(0.2 * s, 3 * math.sqrt(s)))
    order = np.argsort(x, kind="stable")
    k = math.inf
    tail_len = 0
    if m < s:
        cut = max(float(x[order[-m - 1]]), math.log(np.finfo(float).tiny))
        tail = np.flatnonzero(x > cut)
        tail_len = int(tail.size)
        if tail_len > 4:
            tail = tail[np.argsort(x[tail], kind="stable")]
            exc = np.exp(x[tail]) - math.exp(cut)
            fit = gpd_fit(exc)
            k = fit.k
            if math.isfinite(k) and fit.sigma > 0:
                p = (np.arange(tail_len, dtype=np.float64) + 0.5) / tail_len
                x[tail] = np.log(gpd_quantile(p, fit) + math.exp(cut))
                x = np.minimum(x, 0.0)  # never above the largest raw weight
    x -= special.logsumexp(x)
    out[ok] = x
    return PSISResult(out, float(k), tail_len, _kish(x), raw)


def systematic_resample(weights: FloatArray, n: int, seed: int) -> IntArray:
    """``n`` indices by systematic resampling of normalized ``weights`` (named stream)."""
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    u0 = float(rng.uniforms(seed, "calibrate.importance.resample", 0, 1)[0])
    pos = (u0 + np.arange(n)) / n
    return np.asarray(np.searchsorted(cum, pos, side="right"), dtype=np.int64)
