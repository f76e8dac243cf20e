"""Royston-Parmar flexible parametric survival models on the cumulative-hazard scale.

``log H(t) = eta(x) = gamma_0 + gamma_1 x + sum_j gamma_{j+1} v_j(x)``, ``x = log t``, with
the restricted cubic spline basis of Royston and Parmar (2002) as R ``flexsurvspline``
(``scale = "hazard"``) builds it: ``v_j(x) = (x - k_j)_+^3 - l_j (x - k_min)_+^3 - (1 - l_j)
(x - k_max)_+^3``, ``l_j = (k_max - k_j)/(k_max - k_min)``; boundary knots at the smallest and
largest log event time, ``k`` internal knots at the quantiles ``j/(k+1)`` of the log event
times (R ``quantile`` type 7). ``k = 0`` is the Weibull model. Then ``S = exp(-e^eta)`` and
``f = S e^eta eta'(x) / t``; the log-likelihood, its gradient and Hessian are closed form,
and the fit is Newton-Raphson with step halving from the Weibull fit. flexsurv is not
installable here: the golden values (tests/golden/spline.json, scripts/golden/spline.R)
come from R optim/nlminb on the same likelihood, written out from these formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from blinasim.errors import InputError
from blinasim.stats._common import FloatArray, as_float, survival_input
from blinasim.stats.parametric import fit_parametric


def _basis(x: FloatArray, knots: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The basis ``(1, x, v_1..v_k)`` at ``x`` and its derivative in x."""
    kmin, kmax = float(knots[0]), float(knots[-1])
    inner = knots[1:-1]
    b = [np.ones_like(x), x]
    db = [np.zeros_like(x), np.ones_like(x)]

    def cube(u: FloatArray) -> FloatArray:
        return np.maximum(u, 0.0) ** 3

    def sq(u: FloatArray) -> FloatArray:
        return np.maximum(u, 0.0) ** 2

    for kj in inner:
        lam = (kmax - kj) / (kmax - kmin)
        b.append(cube(x - kj) - lam * cube(x - kmin) - (1 - lam) * cube(x - kmax))
        db.append(3.0 * (sq(x - kj) - lam * sq(x - kmin) - (1 - lam) * sq(x - kmax)))
    return np.column_stack(b), np.column_stack(db)


def _r_quantile7(x: FloatArray, p: FloatArray) -> FloatArray:
    """R ``quantile(x, p)`` (type 7, linear interpolation)."""
    return np.asarray(np.quantile(x, p, method="linear"), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SplineFit:
    """A fitted Royston-Parmar model (``gamma`` as flexsurvspline's ``gamma0..``)."""

    knots: FloatArray
    gamma: FloatArray
    var: FloatArray
    loglik: float
    aic: float
    bic: float
    n: int
    n_events: int
    converged: bool

    def survival(self, times: Any, conf_level: float = 0.95) -> pd.DataFrame:
        """S(t) = exp(-exp(eta(log t))) with a 95% interval from the normal eta (S(0) = 1).

        eta is linear in gamma, so its variance ``b' V b`` is exact (the delta method on the
        log(-log S) scale, as for :class:`blinasim.stats.parametric.ParametricFit`).
        """
        t = as_float(np.atleast_1d(times), "times", nonnegative=True)
        with np.errstate(divide="ignore"):
            b, _ = _basis(np.log(np.maximum(t, 1e-300)), self.knots)
        eta = b @ self.gamma
        half = float(norm.ppf(0.5 + conf_level / 2.0)) * np.sqrt(
            np.einsum("ij,jk,ik->i", b, self.var, b)
        )
        pos = t > 0
        return pd.DataFrame(
            {
                "time": t,
                "survival": np.where(pos, np.exp(-np.exp(eta)), 1.0),
                "lower": np.where(pos, np.exp(-np.exp(eta + half)), 1.0),
                "upper": np.where(pos, np.exp(-np.exp(eta - half)), 1.0),
            }
        )


def _fgh(
    gamma: FloatArray, b: FloatArray, db: FloatArray, e: FloatArray, logt: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """Negative log-likelihood, gradient and Hessian."""
    eta = b @ gamma
    deta = db @ gamma
    if np.any(deta[e == 1] <= 0):
        return float("inf"), np.zeros_like(gamma), np.eye(len(gamma))
    h = np.exp(eta)
    ll = float(np.sum(e * (eta + np.log(np.where(e == 1, deta, 1.0)) - logt)) - np.sum(h))
    inv = np.where(e == 1, 1.0 / deta, 0.0)
    grad = (e @ b) + (inv @ db) - (h @ b)
    hess = -(b.T * h) @ b - (db.T * (e * inv * inv)) @ db
    return -ll, -grad, -hess


def fit_spline(time: Any, event: Any, *, k: int = 1) -> SplineFit:
    """Fit a Royston-Parmar model with ``k`` internal knots (see the module docstring)."""
    t, e_int = survival_input(time, event)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k <= 10:
        raise InputError("a whole number of internal knots in 0..10", field="k", got=k)
    if (t <= 0).any():
        raise InputError("times > 0 (log T)", field="time", got=float(t[t <= 0][0]))
    if e_int.sum() < k + 2:
        raise InputError(f"at least {k + 2} events for {k} knots", field="event")
    e = e_int.astype(np.float64)
    logt = np.log(t)
    knots = _r_quantile7(logt[e_int == 1], np.linspace(0.0, 1.0, k + 2))
    b, db = _basis(logt, knots)
    w = fit_parametric(t, e_int, "weibull")
    sigma = float(np.exp(w.coef[1]))
    gamma = np.zeros(k + 2)
    gamma[0], gamma[1] = -w.coef[0] / sigma, 1.0 / sigma
    f0, g, hmat = _fgh(gamma, b, db, e, logt)
    converged = False
    for _ in range(200):
        try:
            step = np.linalg.solve(hmat, g)
        except np.linalg.LinAlgError:
            break
        frac = 1.0
        while frac > 1e-12:
            f1, g1, h1 = _fgh(gamma - frac * step, b, db, e, logt)
            if f1 <= f0 + 1e-13 * abs(f0):
                break
            frac /= 2.0
        else:
            break
        gamma = gamma - frac * step
        done = np.max(np.abs(frac * step) / np.maximum(np.abs(gamma), 1.0)) < 1e-11
        f0, g, hmat = f1, g1, h1
        if done:
            converged = True
            break
    try:
        var = np.asarray(np.linalg.inv(hmat), dtype=np.float64)
    except np.linalg.LinAlgError:
        var = np.full_like(hmat, np.nan)
    ll = -f0
    p = len(gamma)
    return SplineFit(
        knots=knots,
        gamma=gamma,
        var=var,
        loglik=float(ll),
        aic=float(-2.0 * ll + 2.0 * p),
        bic=float(-2.0 * ll + p * np.log(len(t))),
        n=len(t),
        n_events=int(e.sum()),
        converged=converged,
    )


__all__ = ["SplineFit", "fit_spline"]
