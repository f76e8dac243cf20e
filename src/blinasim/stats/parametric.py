"""Parametric survival models for extrapolation (NICE DSU TSD 14; R ``flexsurv``).

Six distributions fitted by maximum likelihood to right-censored data:

* ``exponential``, ``weibull``, ``lognormal``, ``loglogistic``: accelerated failure time
  models ``log T = x'beta + sigma W`` exactly as R ``survival::survreg`` (W standard
  extreme-value, normal or logistic; sigma = 1 for the exponential), with covariates;
  ``coef`` is ``(beta..., log sigma)`` (survreg's ``coefficients`` and ``log(scale)``) and
  ``var`` survreg's ``var``. flexsurv's Weibull has shape ``1/sigma`` and scale
  ``exp(beta_0)``.
* ``gompertz``: flexsurv's ``h(t) = b exp(a t)``, ``S(t) = exp(-(b/a)(e^{a t} - 1))``; ``coef``
  is ``(a, log b)``; a < 0 gives a plateau (a cured fraction ``exp(b/a)``).
* ``gengamma``: flexsurv's generalized gamma (Prentice 1974) with ``mu``, ``sigma``, ``Q``;
  ``coef`` is ``(mu, log sigma, Q)``. Q = 1 is the Weibull, Q = 0 the log-normal (the fit
  needs Q away from 0: near 0 the density's terms overflow, as flexsurv's).

Gompertz and generalized gamma are intercept-only. The golden values
(tests/golden/parametric.json, scripts/golden/parametric.R) are survreg's for the AFT
models and, flexsurv not being installable here, R ``nlminb``/``optim`` on flexsurv's
published densities for the other two. ``var`` is the inverse of the observed information
(analytic for the AFT models and the Gompertz, second differences for the generalized
gamma); AIC ``-2 loglik + 2p``, BIC ``-2 loglik + p log(n)``.
Predictions (:meth:`ParametricFit.survival`, ``hazard``, ``restricted_mean``) carry
delta-method 95% intervals (survival on the log(-log) scale; flexsurv's default is
simulation from the estimates' normal distribution instead).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special
from scipy.stats import norm

from blinasim.errors import InputError
from blinasim.stats import _parametric_kernels as _pk
from blinasim.stats._common import FloatArray, as_float, survival_input
from blinasim.stats.cox import _design

AFT = ("exponential", "weibull", "lognormal", "loglogistic")
_LOG_SQRT_2PI = 0.5 * float(np.log(2.0 * np.pi))
DISTRIBUTIONS = (*AFT, "gompertz", "gengamma")

Objective = Callable[[FloatArray], tuple[float, FloatArray]]


def _aft_terms(dist: str, z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Log g(z), log Gbar(z) and their derivatives in z for the error distribution W."""
    if dist in ("exponential", "weibull"):
        ez = np.exp(z)
        return z - ez, -ez, 1.0 - ez, -ez
    if dist == "lognormal":
        logpdf = -0.5 * z * z - _LOG_SQRT_2PI
        logsf = special.log_ndtr(-z)
        return logpdf, logsf, -z, -np.exp(logpdf - logsf)
    f = special.expit(z)
    return z - 2.0 * np.logaddexp(0.0, z), -np.logaddexp(0.0, z), 1.0 - 2.0 * f, -f


_AFT_CODE = {"exponential": 0, "weibull": 0, "lognormal": 1, "loglogistic": 2}


class _AFTLikelihood:
    """Negative log-likelihood, gradient and Hessian of an AFT model (numba, one pass).

    The last evaluation is cached: Newton asks for the value, then the Hessian, at one point.
    """

    def __init__(self, dist: str, t: FloatArray, e: FloatArray, x: FloatArray) -> None:
        self.code = _AFT_CODE[dist]
        self.fixed = dist == "exponential"
        self.logt = np.ascontiguousarray(np.log(t))
        self.e = np.ascontiguousarray(e.astype(np.int64))
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self._key: bytes | None = None
        self._val: tuple[float, FloatArray, FloatArray] = (0.0, np.zeros(0), np.zeros((0, 0)))

    def _eval(self, theta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        th = np.ascontiguousarray(theta, dtype=np.float64)
        key = th.tobytes()
        if key != self._key:
            f, g, h = _pk.aft_fgh(self.code, self.logt, self.e, self.x, th, self.fixed)
            self._key, self._val = key, (float(f), g, h)
        return self._val

    def objective(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Negative log-likelihood and its gradient (a huge value where it is not finite)."""
        f, g, _ = self._eval(theta)
        return (f, g) if np.isfinite(f) else (1e300, np.zeros_like(g))

    def hessian(self, theta: FloatArray) -> FloatArray:
        """Hessian of the negative log-likelihood."""
        return self._eval(theta)[2]


def _gompertz_hessian(t: FloatArray) -> Callable[[FloatArray], FloatArray]:
    """Hessian of the Gompertz negative log-likelihood (analytic; series near a = 0)."""

    def h(theta: FloatArray) -> FloatArray:
        a, b = float(theta[0]), float(np.exp(theta[1]))
        if abs(a) * float(t.max()) < 1e-6:
            q = t + a * t**2 / 2.0 + a**2 * t**3 / 6.0
            qa = t**2 / 2.0 + a * t**3 / 3.0
            qaa = t**3 / 3.0 + a * t**4 / 4.0
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                ea = np.exp(a * t)
                q = np.expm1(a * t) / a
                qa = (t * ea - q) / a
                qaa = (t * t * ea - 2.0 * qa) / a
        return b * np.array([[np.sum(qaa), np.sum(qa)], [np.sum(qa), np.sum(q)]])

    return h


def _gompertz_objective(t: FloatArray, e: FloatArray) -> Objective:
    def f(theta: FloatArray) -> tuple[float, FloatArray]:
        a, log_b = float(theta[0]), float(theta[1])
        b = np.exp(log_b)
        at = a * t
        if abs(a) * float(t.max()) < 1e-6:  # series of (e^{at} - 1)/a and its a-derivative
            q = t + a * t**2 / 2.0 + a**2 * t**3 / 6.0
            dq = t**2 / 2.0 + a * t**3 / 3.0
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                q = np.expm1(at) / a
                dq = (t * np.exp(at) - q) / a
        ll = float(np.sum(e * (log_b + at)) - b * np.sum(q))
        grad = np.array([np.sum(e * t) - b * np.sum(dq), np.sum(e) - b * np.sum(q)])
        if not (np.isfinite(ll) and np.isfinite(grad).all()):
            return 1e300, np.zeros(2)  # a line-search step too far: rejected
        return -ll, -grad

    return f


def _gengamma_loglik(theta: FloatArray, t: FloatArray, e: FloatArray) -> float:
    mu, log_s, q = float(theta[0]), float(theta[1]), float(theta[2])
    if abs(q) < 1e-6:
        return float("-inf")  # the Q != 0 formulas break down (see the module docstring)
    # far from the optimum exp() overflows: the log-likelihood is then -inf (or nan), which
    # the optimizer treats as a step to reject
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        s = np.exp(log_s)
        w = (np.log(t) - mu) / s
        qi = 1.0 / q**2
        u = qi * np.exp(q * w)
        logf = -np.log(s * t) + np.log(abs(q)) + qi * np.log(qi) + qi * (q * w - np.exp(q * w))
        logf = logf - special.gammaln(qi)
        surv = special.gammaincc(qi, u) if q > 0 else special.gammainc(qi, u)
        logsurv = np.log(surv)
        total = float(np.sum(np.where(e == 1, logf, logsurv)))
    return total if math.isfinite(total) else float("-inf")


def _num_grad(fn: Callable[[FloatArray], float], theta: FloatArray, h: float) -> FloatArray:
    g = np.empty(len(theta))
    for j in range(len(theta)):
        step = h * max(1.0, abs(float(theta[j])))
        up, dn = theta.copy(), theta.copy()
        up[j] += step
        dn[j] -= step
        g[j] = (fn(up) - fn(dn)) / (2.0 * step)
    return g


def _hessian(grad: Callable[[FloatArray], FloatArray], theta: FloatArray, h: float) -> FloatArray:
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        step = h * max(1.0, abs(float(theta[j])))
        up, dn = theta.copy(), theta.copy()
        up[j] += step
        dn[j] -= step
        hess[:, j] = (grad(up) - grad(dn)) / (2.0 * step)
    return (hess + hess.T) / 2.0


_INVALID = 1e299
"""Objectives at or above this are the invalid-region sentinel (1e300), not a likelihood."""


@dataclass(frozen=True, eq=False)
class ParametricFit:
    """A fitted parametric survival model (see the module docstring for ``coef``)."""

    distribution: str
    names: tuple[str, ...]
    coef: FloatArray
    var: FloatArray
    loglik: float
    aic: float
    bic: float
    n: int
    n_events: int
    converged: bool
    covariates: tuple[str, ...]

    def _x(self, x: Any) -> FloatArray:
        k = len(self.covariates)
        row = np.zeros(k) if x is None else np.atleast_1d(np.asarray(x, dtype=np.float64))
        if row.shape != (k,):
            raise InputError(
                f"{k} covariate value(s) {list(self.covariates)}", field="x", got=row.tolist()
            )
        return np.concatenate([[1.0], row])

    def _log_surv(self, theta: FloatArray, t: FloatArray, xrow: FloatArray) -> FloatArray:
        d = self.distribution
        if d in AFT:
            beta = theta[: len(xrow)]
            s = 1.0 if d == "exponential" else float(np.exp(theta[-1]))
            z = (np.log(np.maximum(t, 1e-300)) - float(xrow @ beta)) / s
            return np.where(t > 0, _aft_terms(d, z)[1], 0.0)
        if d == "gompertz":
            a, b = float(theta[0]), float(np.exp(theta[1]))
            return -b * (t if abs(a) < 1e-12 else np.expm1(a * t) / a)
        mu, s, q = float(theta[0]), float(np.exp(theta[1])), float(theta[2])
        w = (np.log(np.maximum(t, 1e-300)) - mu) / s
        u = np.exp(q * w) / q**2
        surv = special.gammaincc(1 / q**2, u) if q > 0 else special.gammainc(1 / q**2, u)
        with np.errstate(divide="ignore"):
            return np.where(t > 0, np.log(surv), 0.0)

    def _interval(
        self, fn: Callable[[FloatArray], FloatArray], level: float
    ) -> tuple[FloatArray, FloatArray]:
        # where S is 0 or 1 to machine precision the transform is infinite: NaN interval
        with np.errstate(invalid="ignore", over="ignore"):
            est = fn(self.coef)
            jac = np.empty((len(est), len(self.coef)))
            for j in range(len(self.coef)):
                step = 1e-6 * max(1.0, abs(float(self.coef[j])))
                up, dn = self.coef.copy(), self.coef.copy()
                up[j] += step
                dn[j] -= step
                jac[:, j] = (fn(up) - fn(dn)) / (2.0 * step)
            se = np.sqrt(np.einsum("ij,jk,ik->i", jac, self.var, jac))
        half = np.where(np.isfinite(est), se * float(norm.ppf(0.5 + level / 2.0)), np.nan)
        return est, half

    def survival(self, times: Any, x: Any = None, conf_level: float = 0.95) -> pd.DataFrame:
        """S(t) with a delta-method interval on the log(-log S) scale."""
        t = as_float(np.atleast_1d(times), "times", nonnegative=True)
        xrow = self._x(x)

        def cloglog(theta: FloatArray) -> FloatArray:
            with np.errstate(divide="ignore"):
                return np.log(-np.minimum(self._log_surv(theta, t, xrow), -1e-300))

        c, half = self._interval(cloglog, conf_level)
        return pd.DataFrame(
            {
                "time": t,
                "survival": np.exp(self._log_surv(self.coef, t, xrow)),
                "lower": np.exp(-np.exp(c + half)),
                "upper": np.exp(-np.exp(c - half)),
            }
        )

    def hazard(self, times: Any, x: Any = None) -> FloatArray:
        """h(t) = -d log S / dt (central differences of the closed-form log S)."""
        t = as_float(np.atleast_1d(times), "times", nonnegative=True)
        xrow = self._x(x)
        h = 1e-6 * np.maximum(t, 1.0)
        lo = np.maximum(t - h, 0.0)
        return np.asarray(
            -(self._log_surv(self.coef, t + h, xrow) - self._log_surv(self.coef, lo, xrow))
            / (t + h - lo),
            dtype=np.float64,
        )

    def restricted_mean(self, tau: float, x: Any = None, conf_level: float = 0.95) -> pd.DataFrame:
        """Restricted mean survival to ``tau`` (integral of S) with a delta-method interval."""
        if not (np.isfinite(tau) and tau > 0):
            raise InputError("a finite number > 0", field="tau", got=tau)
        xrow = self._x(x)

        def rm(theta: FloatArray) -> FloatArray:
            val = integrate.quad(
                lambda u: float(np.exp(self._log_surv(theta, np.array([u]), xrow))[0]),
                0.0,
                float(tau),
                limit=200,
                epsabs=1e-12,
                epsrel=1e-12,
            )[0]
            return np.array([val])

        est, half = self._interval(rm, conf_level)
        return pd.DataFrame(
            {"tau": [float(tau)], "rmst": est, "lower": est - half, "upper": est + half}
        )


def _newton(
    obj: Objective, hessian: Callable[[FloatArray], FloatArray], start: FloatArray
) -> FloatArray | None:
    """Newton-Raphson with step halving (as survreg), with the analytic Hessian.

    None when it fails (a Hessian that is not positive definite): the caller uses BFGS.
    """
    theta = start.copy()
    f0, g = obj(theta)
    for _ in range(100):
        hess = hessian(theta)
        try:
            np.linalg.cholesky(hess)
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            return None
        frac = 1.0
        while frac > 1e-12:
            new = theta - frac * step
            f1, g1 = obj(new)
            if f1 <= f0 + 1e-13 * abs(f0):  # rounding at the optimum is not an ascent
                break
            frac /= 2.0
        else:
            return None
        done = bool(np.max(np.abs(frac * step) / np.maximum(np.abs(new), 1.0)) < 1e-11)
        theta, f0, g = new, f1, g1
        if done:
            return theta
    return None


def fit_parametric(
    time: Any, event: Any, distribution: str, *, covariates: Any = None
) -> ParametricFit:
    """Fit one of :data:`DISTRIBUTIONS` by maximum likelihood (see the module docstring)."""
    t, e_int = survival_input(time, event)
    if distribution not in DISTRIBUTIONS:
        raise InputError(
            f"one of {', '.join(DISTRIBUTIONS)}", field="distribution", got=distribution
        )
    if (t <= 0).any():
        raise InputError("times > 0 (log T)", field="time", got=float(t[t <= 0][0]))
    if e_int.sum() == 0:
        raise InputError("at least one event", field="event", got="no events")
    e = e_int.astype(np.float64)
    n = len(t)
    cov_names: tuple[str, ...] = ()
    x = np.ones((n, 1))
    if covariates is not None:
        if distribution not in AFT:
            raise InputError("no covariates (intercept-only)", field=f"{distribution} covariates")
        xc, cov_names = _design(covariates, n)
        x = np.column_stack([np.ones(n), xc])
    rate = float(e.sum() / t.sum())
    exact: Callable[[FloatArray], FloatArray] | None = None
    obj: Objective
    if distribution in AFT:
        lik = _AFTLikelihood(distribution, t, e, x)
        obj, exact = lik.objective, lik.hessian
        start = np.zeros(x.shape[1] + (distribution != "exponential"))
        start[0] = -np.log(rate)
        names = ("(Intercept)", *cov_names) + (
            () if distribution == "exponential" else ("log(scale)",)
        )
    elif distribution == "gompertz":
        obj, exact = _gompertz_objective(t, e), _gompertz_hessian(t)
        start = np.array([0.0, np.log(rate)])
        names = ("shape", "log(rate)")
    else:
        w = fit_parametric(t, e_int, "weibull")
        start = np.array([w.coef[0], w.coef[1], 1.0])

        def gg(theta: FloatArray) -> float:
            v = -_gengamma_loglik(theta, t, e)
            return v if np.isfinite(v) else 1e300

        def obj_gg(theta: FloatArray) -> tuple[float, FloatArray]:
            return gg(theta), _num_grad(gg, theta, 1e-6)

        obj = obj_gg

        names = ("mu", "log(sigma)", "Q")

    def grad(th: FloatArray) -> FloatArray:
        return obj(th)[1]

    theta = _newton(obj, exact, start) if exact is not None else None
    if theta is None:  # no analytic gradient, or Newton failed: BFGS, then a Newton polish
        res = optimize.minimize(
            obj, start, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000}
        )
        theta = np.asarray(res.x, dtype=np.float64)
        f0 = obj(theta)[0]
        for _ in range(5):
            try:
                step = np.linalg.solve(_hessian(grad, theta, 1e-5), grad(theta))
            except np.linalg.LinAlgError:
                break
            cand = theta - step
            f1 = obj(cand)[0]
            # a polish step that leaves the valid region or worsens the fit is refused (a
            # generalized gamma on a few events can jump to Q ~ 200, an invalid likelihood)
            if not (f1 < _INVALID and f1 <= f0 + 1e-9 * max(1.0, abs(f0))):
                break
            theta, f0 = cand, f1
            if np.max(np.abs(step)) < 1e-12:
                break
    hess = exact(theta) if exact is not None else _hessian(grad, theta, 1e-4)
    try:
        var = np.asarray(np.linalg.inv(hess), dtype=np.float64)
    except np.linalg.LinAlgError:
        var = np.full_like(hess, np.nan)
    ll = -obj(theta)[0]
    p = len(theta)
    g_final = grad(theta)
    converged = bool(
        np.isfinite(ll) and -ll < _INVALID and np.max(np.abs(g_final)) < 1e-4 * max(1.0, abs(ll))
    )
    return ParametricFit(
        distribution=distribution,
        names=names,
        coef=theta,
        var=var,
        loglik=float(ll),
        aic=float(-2.0 * ll + 2.0 * p),
        bic=float(-2.0 * ll + p * np.log(n)),
        n=n,
        n_events=int(e.sum()),
        converged=converged,
        covariates=cov_names,
    )


__all__ = ["AFT", "DISTRIBUTIONS", "ParametricFit", "fit_parametric"]
