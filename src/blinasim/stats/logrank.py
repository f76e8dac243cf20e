"""k-sample (stratified) log-rank and Fleming-Harrington G-rho tests, as R ``survdiff``.

Within each stratum, at each distinct event time, every group contributes observed and
expected deaths weighted by ``S(t-)^rho``, where S is the Kaplan-Meier estimate of the
pooled data of that stratum just before ``t``; observed, expected and the hypergeometric
covariance are summed over strata. The chi-square drops the first group with positive
expected count and solves the remaining (k-1) x (k-1) system, exactly as ``survdiff``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from blinasim.errors import InputError
from blinasim.stats import _kernels
from blinasim.stats._common import FloatArray, IntArray, factorize, survival_input
from blinasim.stats.km import is_real


@dataclass(frozen=True)
class LogRankResult:
    """Result of :func:`logrank_test`.

    ``observed``/``expected`` are per group (weighted by ``S(t-)^rho`` when rho != 0, as
    R), ``variance`` the covariance matrix of ``observed - expected``. ``z`` is defined
    for two groups only (NaN otherwise): ``(O - E) / sqrt(V)`` of the *second* group
    label, so z > 0 means more events than expected in the second group.
    """

    groups: list[Any]
    n: IntArray
    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    chisq: float
    df: int
    p_value: float
    z: float
    rho: float
    n_strata: int

    def to_frame(self) -> pd.DataFrame:
        """One row per group: n, observed, expected, (O-E)^2/E, (O-E)^2/V."""
        oe = self.observed - self.expected
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame(
                {
                    "group": self.groups,
                    "n": self.n,
                    "observed": self.observed,
                    "expected": self.expected,
                    "oe2_over_e": oe**2 / self.expected,
                    "oe2_over_v": oe**2 / np.diag(self.variance),
                }
            )


def cell_layout(code: IntArray, time: FloatArray, n_cells: int) -> tuple[FloatArray, IntArray]:
    """Times grouped by cell code (an O(n) counting sort), sorted within each cell.

    Returns the grouped times and the segment offsets (length ``n_cells + 1``).
    """
    buf = np.empty_like(time)
    offsets = np.empty(n_cells + 1, np.int64)
    everyone = np.ones(len(time), dtype=bool)
    _kernels.cell_layout(time, code, everyone, n_cells, buf, offsets, False)
    for c in np.flatnonzero(np.diff(offsets) > 1):
        buf[offsets[c] : offsets[c + 1]].sort()  # numpy's (SIMD) sort
    return buf, offsets


def _sums(
    t: FloatArray, e: IntArray, g: IntArray, s: IntArray, k: int, n_strata: int, rho: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Observed, expected and covariance summed over strata (see ``_kernels``)."""
    code = (s * k + g) * 2 + e
    n_cells = 2 * k * n_strata
    n = len(t)
    top = float(t.max())
    if n >= 4096 and (top + 1.0) * n_cells <= 4.0 * n:
        # integer-valued times (e.g. days) in a small range: O(n) counting, no sort
        ti = t.astype(np.int64)
        if np.array_equal(ti, t):
            counts = np.bincount(ti * n_cells + code, minlength=(int(top) + 1) * n_cells)
            counts = counts.reshape(-1, n_cells)
            counts = counts[counts.any(axis=1)]
            res: tuple[FloatArray, FloatArray, FloatArray] = _kernels.logrank_counts(
                counts, k, n_strata, rho
            )
            return res
    buf, offsets = cell_layout(code, t, n_cells)
    res = _kernels.logrank_cells(buf, offsets, k, n_strata, rho)
    return res


def _check_rho(rho: float) -> float:
    if not is_real(rho) or not np.isfinite(rho) or rho < 0:
        raise InputError("a finite number >= 0", field="rho", got=rho)
    return float(rho)


def chisq_from_sums(obs: FloatArray, exp: FloatArray, var: FloatArray) -> tuple[float, int, float]:
    """``(chisq, df, z)`` from summed O, E, V (R ``survdiff``'s reduction).

    df is the number of groups with positive expected count minus one; without two such
    groups there is nothing to test: chisq = 0, df = 0 (R would report df = -1 or 0).
    """
    k = len(obs)
    if k == 2:
        z, c = _kernels.two_group_stat(obs, exp, var)
        df = max(int((exp > 0).sum()) - 1, 0)
        if df < 1:
            return 0.0, df, 0.0
        return float(c), df, float(z)
    keep = exp > 0
    df = max(int(keep.sum()) - 1, 0)
    if df < 1:
        return 0.0, df, np.nan
    d = (obs - exp)[keep][1:]
    v = var[np.ix_(keep, keep)][1:, 1:]
    try:
        sol = np.linalg.solve(v, d)
    except np.linalg.LinAlgError:
        sol = np.linalg.pinv(v) @ d
    return float(sol @ d), df, np.nan


def logrank_test(
    time: Any, event: Any, group: Any, *, strata: Any = None, rho: float = 0.0
) -> LogRankResult:
    """Log-rank (rho = 0) or Fleming-Harrington G-rho test of k groups, optionally stratified.

    Args:
        time: follow-up times, >= 0.
        event: 1 = event, 0 = censored.
        group: group labels (any sortable type); groups are ordered as sorted labels.
        strata: optional stratum labels; the statistic sums over strata.
        rho: G-rho weight exponent; 0 = log-rank, 1 = Peto-Peto/Wilcoxon-like.

    Returns:
        A :class:`LogRankResult` agreeing with R ``survdiff(Surv(time, event) ~ group +
        strata(strata), rho = rho)``.
    """
    t, e = survival_input(time, event)
    rho = _check_rho(rho)
    g, labels = factorize(group, "group", len(t))
    if len(labels) < 2:
        raise InputError("at least two groups", field="group", got=f"{len(labels)} group")
    if strata is None:
        s = np.zeros(len(t), np.int64)
        n_strata = 1
    else:
        s, slabels = factorize(strata, "strata", len(t))
        n_strata = len(slabels)
    k = len(labels)
    obs, exp, var = _sums(t, e, g, s, k, n_strata, rho)
    chisq, df, z = chisq_from_sums(obs, exp, var)
    p = float(chi2.sf(chisq, df)) if df >= 1 else 1.0
    return LogRankResult(
        groups=labels,
        n=np.bincount(g, minlength=len(labels)).astype(np.int64),
        observed=obs,
        expected=exp,
        variance=var,
        chisq=chisq,
        df=df,
        p_value=p,
        z=z,
        rho=rho,
        n_strata=n_strata,
    )
