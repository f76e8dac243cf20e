"""Mixture cure models: a cured fraction and a parametric survival for the others.

``S(t) = pi + (1 - pi) S_u(t)``, with ``pi`` the cured fraction and ``S_u`` an exponential,
Weibull, log-normal or log-logistic survival (the accelerated-failure-time families of
:mod:`blinasim.stats.parametric`: ``log T = mu + sigma W``). This is R ``flexsurvcure``'s
mixture model with its logit link for ``pi`` (``theta``). ``coef`` is ``(logit pi, mu,
log sigma)`` (no ``log sigma`` for the exponential); intercept only. Fitted by maximum
likelihood (BFGS on a central-difference gradient, then Newton steps on a differenced
Hessian); ``var`` is the inverse observed information. flexsurvcure is not installable here:
the golden values (tests/golden/cure.json, scripts/golden/cure.R) come from R nlminb/optim
on the same closed-form likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from blinasim.errors import InputError
from blinasim.stats._common import FloatArray, as_float, survival_input
from blinasim.stats.parametric import _aft_terms, _hessian, _num_grad, fit_parametric

LATENT = ("exponential", "weibull", "lognormal", "loglogistic")


@dataclass(frozen=True, eq=False)
class CureFit:
    """A fitted mixture cure model."""

    latent: str
    names: tuple[str, ...]
    coef: FloatArray
    var: FloatArray
    cured_fraction: float
    loglik: float
    aic: float
    bic: float
    n: int
    n_events: int
    converged: bool

    def survival(self, times: Any) -> pd.DataFrame:
        """S(t) = pi + (1 - pi) S_u(t) (point estimates)."""
        t = as_float(np.atleast_1d(times), "times", nonnegative=True)
        pi = float(special.expit(self.coef[0]))
        mu = float(self.coef[1])
        s = 1.0 if self.latent == "exponential" else float(np.exp(self.coef[2]))
        with np.errstate(divide="ignore"):
            z = (np.log(t) - mu) / s
        su = np.where(t > 0, np.exp(_aft_terms(self.latent, z)[1]), 1.0)
        return pd.DataFrame({"time": t, "survival": pi + (1.0 - pi) * su})


def _loglik(latent: str, theta: FloatArray, logt: FloatArray, e: FloatArray) -> float:
    log_pi = -np.logaddexp(0.0, -theta[0])  # log expit
    log_1mpi = -np.logaddexp(0.0, theta[0])
    mu = theta[1]
    log_s = 0.0 if latent == "exponential" else theta[2]
    z = (logt - mu) / np.exp(log_s)
    lg, lgb, _, _ = _aft_terms(latent, z)
    ev = log_1mpi + lg - log_s - logt
    ce = np.logaddexp(log_pi, log_1mpi + lgb)
    return float(np.sum(np.where(e == 1, ev, ce)))


def fit_cure(time: Any, event: Any, latent: str = "weibull") -> CureFit:
    """Fit a mixture cure model with the given latent distribution (see the module docstring)."""
    t, e_int = survival_input(time, event)
    if latent not in LATENT:
        raise InputError(f"one of {', '.join(LATENT)}", field="latent", got=latent)
    if (t <= 0).any():
        raise InputError("times > 0 (log T)", field="time", got=float(t[t <= 0][0]))
    if e_int.sum() < 2:
        raise InputError("at least two events", field="event", got=int(e_int.sum()))
    e = e_int.astype(np.float64)
    logt = np.log(t)
    base = fit_parametric(t, e_int, latent)
    km_tail = 1.0 - e.sum() / len(t)  # a rough start: the share without an event
    start = np.concatenate([[special.logit(min(max(km_tail / 2.0, 0.05), 0.95))], base.coef])

    def nll(theta: FloatArray) -> float:
        v = -_loglik(latent, theta, logt, e)
        return v if np.isfinite(v) else 1e300

    def grad(theta: FloatArray) -> FloatArray:
        return _num_grad(nll, theta, 1e-7)

    res = optimize.minimize(nll, start, jac=grad, method="BFGS", options={"gtol": 1e-8})
    theta = np.asarray(res.x, dtype=np.float64)
    for _ in range(4):
        try:
            step = np.linalg.solve(_hessian(grad, theta, 1e-4), grad(theta))
        except np.linalg.LinAlgError:
            break
        if nll(theta - step) > nll(theta):
            break
        theta = theta - step
    try:
        var = np.asarray(np.linalg.inv(_hessian(grad, theta, 1e-4)), dtype=np.float64)
    except np.linalg.LinAlgError:
        var = np.full((len(theta), len(theta)), np.nan)
    ll = -nll(theta)
    p = len(theta)
    names = ("logit(cured)", "mu") + (() if latent == "exponential" else ("log(sigma)",))
    return CureFit(
        latent=latent,
        names=names,
        coef=theta,
        var=var,
        cured_fraction=float(special.expit(theta[0])),
        loglik=float(ll),
        aic=float(-2.0 * ll + 2.0 * p),
        bic=float(-2.0 * ll + p * np.log(len(t))),
        n=len(t),
        n_events=int(e.sum()),
        converged=bool(np.max(np.abs(grad(theta))) < 1e-3 and np.all(np.isfinite(var))),
    )


__all__ = ["LATENT", "CureFit", "fit_cure"]
