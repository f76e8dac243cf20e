"""Numba kernels for the Cox model: one O(n p^2) pass per Newton step after one sort.

The data are sorted by stratum, then ascending time (``order(strata, time)`` as in R's
``coxph.fit``); ``strata_end[i] == 1`` marks the last row of each stratum. The kernels
follow R survival's ``coxfit6.c`` (log-likelihood, score, information; Breslow and Efron
ties) and ``coxscore2.c`` (score residuals), but build the risk-set sums as reverse
cumulative sums and the residuals' cumulative hazards as forward sums, so both are linear in
n. The small dense linear algebra (``cholesky2`` / ``chsolve2`` / generalized inverse) follows
R's tolerance rule for deciding that a pivot is zero.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@njit(cache=True)
def cox_iteration(
    time: FloatArray,
    status: NDArray[np.int64],
    x: FloatArray,
    weights: FloatArray,
    strata_end: NDArray[np.int64],
    efron: bool,
    beta: FloatArray,
) -> tuple[float, FloatArray, FloatArray]:  # pragma: no cover - compiled
    """Log partial likelihood, score vector and information matrix at ``beta``."""
    n, nvar = x.shape
    u = np.zeros(nvar)
    imat = np.zeros((nvar, nvar))
    a = np.zeros(nvar)
    a2 = np.zeros(nvar)
    cmat = np.zeros((nvar, nvar))
    cmat2 = np.zeros((nvar, nvar))
    loglik = 0.0
    denom = 0.0
    person = n - 1
    while person >= 0:
        if strata_end[person] == 1:
            denom = 0.0
            for i in range(nvar):
                a[i] = 0.0
                for j in range(nvar):
                    cmat[i, j] = 0.0
        dtime = time[person]
        ndead = 0
        deadwt = 0.0
        denom2 = 0.0
        while person >= 0 and time[person] == dtime:
            zbeta = 0.0
            for i in range(nvar):
                zbeta += beta[i] * x[person, i]
            risk = np.exp(zbeta) * weights[person]
            if status[person] == 0:
                denom += risk
                for i in range(nvar):
                    xi = risk * x[person, i]
                    a[i] += xi
                    for j in range(i + 1):
                        cmat[i, j] += xi * x[person, j]
            else:
                ndead += 1
                deadwt += weights[person]
                denom2 += risk
                loglik += weights[person] * zbeta
                for i in range(nvar):
                    u[i] += weights[person] * x[person, i]
                    xi = risk * x[person, i]
                    a2[i] += xi
                    for j in range(i + 1):
                        cmat2[i, j] += xi * x[person, j]
            person -= 1
            if person >= 0 and strata_end[person] == 1:
                break
        if ndead > 0:
            if (not efron) or ndead == 1:
                denom += denom2
                loglik -= deadwt * np.log(denom)
                for i in range(nvar):
                    a[i] += a2[i]
                    mean = a[i] / denom
                    u[i] -= deadwt * mean
                    for j in range(i + 1):
                        cmat[i, j] += cmat2[i, j]
                        imat[j, i] += deadwt * (cmat[i, j] - mean * a[j]) / denom
            else:
                wtave = deadwt / ndead
                for _k in range(ndead):
                    denom += denom2 / ndead
                    loglik -= wtave * np.log(denom)
                    for i in range(nvar):
                        a[i] += a2[i] / ndead
                        mean = a[i] / denom
                        u[i] -= wtave * mean
                        for j in range(i + 1):
                            cmat[i, j] += cmat2[i, j] / ndead
                            imat[j, i] += wtave * (cmat[i, j] - mean * a[j]) / denom
            for i in range(nvar):
                a2[i] = 0.0
                for j in range(nvar):
                    cmat2[i, j] = 0.0
    for i in range(nvar):
        for j in range(i):
            imat[i, j] = imat[j, i]
    return loglik, u, imat


@njit(cache=True)
def score_residuals(
    time: FloatArray,
    status: NDArray[np.int64],
    x: FloatArray,
    weights: FloatArray,
    strata_end: NDArray[np.int64],
    efron: bool,
    eta: FloatArray,
) -> FloatArray:  # pragma: no cover - compiled
    """Unweighted score residuals (R ``residuals(fit, "score")``), rows in sorted order.

    For a tied set of ``d`` deaths the Efron form splits the hazard into ``d`` steps with
    the deaths down-weighted by ``k/d`` in step ``k``; a death's own exposure at its time is
    weighted by ``1 - k/d`` and its event term is ``x - mean_k(xbar_k)``, as in R.
    """
    n, nvar = x.shape
    resid = np.zeros((n, nvar))
    # per tied block (in backward order): hazard totals at that time
    blk_lo = np.empty(n, dtype=np.int64)
    blk_hi = np.empty(n, dtype=np.int64)
    blk_h = np.zeros(n)  # sum_k hazard_k  (for rows at risk that are not deaths here)
    blk_hd = np.zeros(n)  # sum_k (1 - k/d) hazard_k  (for the deaths here)
    blk_hx = np.zeros((n, nvar))
    blk_hxd = np.zeros((n, nvar))
    blk_m = np.zeros((n, nvar))  # event mean: mean over k of xbar_k
    a = np.zeros(nvar)
    a2 = np.zeros(nvar)
    nb = 0
    denom = 0.0
    person = n - 1
    while person >= 0:
        if strata_end[person] == 1:
            denom = 0.0
            for j in range(nvar):
                a[j] = 0.0
        hi = person
        dtime = time[person]
        deaths = 0
        e_denom = 0.0
        meanwt = 0.0
        for j in range(nvar):
            a2[j] = 0.0
        while person >= 0 and time[person] == dtime:
            risk = np.exp(eta[person]) * weights[person]
            denom += risk
            for j in range(nvar):
                a[j] += risk * x[person, j]
            if status[person] == 1:
                deaths += 1
                e_denom += risk
                meanwt += weights[person]
                for j in range(nvar):
                    a2[j] += risk * x[person, j]
            person -= 1
            if person >= 0 and strata_end[person] == 1:
                break
        blk_lo[nb] = person + 1
        blk_hi[nb] = hi
        if deaths > 0:
            if deaths < 2 or not efron:
                hazard = meanwt / denom
                blk_h[nb] = hazard
                blk_hd[nb] = hazard
                for j in range(nvar):
                    xbar = a[j] / denom
                    blk_hx[nb, j] = hazard * xbar
                    blk_hxd[nb, j] = hazard * xbar
                    blk_m[nb, j] = xbar
            else:
                mw = meanwt / deaths
                for dd in range(deaths):
                    downwt = dd / deaths
                    tden = denom - downwt * e_denom
                    hazard = mw / tden
                    blk_h[nb] += hazard
                    blk_hd[nb] += hazard * (1.0 - downwt)
                    for j in range(nvar):
                        mean = (a[j] - downwt * a2[j]) / tden
                        blk_hx[nb, j] += hazard * mean
                        blk_hxd[nb, j] += hazard * (1.0 - downwt) * mean
                        blk_m[nb, j] += mean / deaths
        nb += 1
    # forward pass over blocks (blocks were found last-to-first)
    cum_h = 0.0
    cum_hx = np.zeros(nvar)
    for b in range(nb - 1, -1, -1):
        lo = blk_lo[b]
        hi = blk_hi[b]
        if lo == 0 or strata_end[lo - 1] == 1:
            cum_h = 0.0
            for j in range(nvar):
                cum_hx[j] = 0.0
        for i in range(lo, hi + 1):
            r = np.exp(eta[i])
            if status[i] == 1:
                for j in range(nvar):
                    resid[i, j] = (x[i, j] - blk_m[b, j]) - r * (
                        x[i, j] * (cum_h + blk_hd[b]) - (cum_hx[j] + blk_hxd[b, j])
                    )
            else:
                for j in range(nvar):
                    resid[i, j] = -r * (x[i, j] * (cum_h + blk_h[b]) - (cum_hx[j] + blk_hx[b, j]))
        cum_h += blk_h[b]
        for j in range(nvar):
            cum_hx[j] += blk_hx[b, j]
    return resid


def cholesky2(matrix: FloatArray, toler: float) -> tuple[FloatArray, FloatArray, int]:
    """LDL' factorization with R's ``cholesky2`` rule for zero pivots.

    Returns the unit lower-triangular factor, the diagonal (0 where the column is deemed
    redundant: pivot below ``toler`` times the largest diagonal) and the rank.
    """
    n = matrix.shape[0]
    m = np.array(matrix, dtype=np.float64, copy=True)
    diag_max = max(0.0, float(np.max(np.diag(m)))) if n else 0.0
    if diag_max == 0.0 or not np.isfinite(diag_max):
        return np.eye(n), np.zeros(n), 0
    eps = diag_max * toler
    rank = 0
    for i in range(n):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            m[i, i] = 0.0
            m[i + 1 :, i] = 0.0
        else:
            rank += 1
            for j in range(i + 1, n):
                temp = m[j, i] / pivot
                m[j, i] = temp
                m[j, j] -= temp * temp * pivot
                m[j + 1 :, j] -= temp * m[j + 1 :, i]
    lower = np.tril(m, -1) + np.eye(n)
    return lower, np.diag(m).copy(), rank


def chsolve2(lower: FloatArray, diag: FloatArray, y: FloatArray) -> FloatArray:
    """Solve ``(L D L') b = y`` as R's ``chsolve2`` (zero pivots give zero components)."""
    n = len(y)
    b = np.array(y, dtype=np.float64, copy=True)
    for i in range(n):
        b[i] -= float(np.dot(b[:i], lower[i, :i]))
    for i in range(n - 1, -1, -1):
        if diag[i] == 0.0:
            b[i] = 0.0
        else:
            b[i] = b[i] / diag[i] - float(np.dot(b[i + 1 :], lower[i + 1 :, i]))
    return b


def chinv2(lower: FloatArray, diag: FloatArray) -> FloatArray:
    """Generalized inverse ``L'^-1 D^- L^-1`` with redundant rows/columns set to 0 (R)."""
    n = len(diag)
    linv = np.linalg.inv(lower)
    dinv = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 0.0)
    out: FloatArray = (linv.T * dinv) @ linv
    zero = diag == 0
    out[zero, :] = 0.0
    out[:, zero] = 0.0
    return out.reshape(n, n)
