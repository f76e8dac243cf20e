"""Kaplan-Meier and Nelson-Aalen estimators, matching R ``survival::survfit`` (3.x).

Both are pure functions on arrays returning frozen records. Conventions follow R:

* the table has one row per distinct observed time (event or censoring);
* ``std_err_log`` is R's ``std.err``: the Greenwood standard error on the log scale,
  ``sqrt(sum d / (n (n - d)))`` (``inf`` once the curve reaches 0); ``std_err`` is the
  standard error of S itself, ``S * std_err_log`` (NaN where S = 0, as ``summary.survfit``);
* confidence intervals ``plain``, ``log`` and ``log-log`` as ``survfit``'s ``conf.type``
  (NaN where R gives ``NA``: ``log`` at S = 0, ``log-log`` at S = 0 or 1);
* the median and other quantiles as ``quantile.survfit`` (the midpoint of a flat stretch
  where S equals the probability exactly, within ``sqrt(machine eps)``);
* the Nelson-Aalen cumulative hazard is ``sum d/n`` with variance ``sum d/n^2`` (R's
  ``cumhaz`` and ``std.chaz^2`` with the default ``ctype = 1``).

Unlike ``survfit`` there is no ``aeqSurv`` rounding of nearly equal times: times are
grouped only when exactly equal.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from blinasim.errors import InputError
from blinasim.stats import _kernels
from blinasim.stats._common import FloatArray, IntArray, as_float, survival_input

ConfType = Literal["plain", "log", "log-log"]
_CONF_TYPES = ("plain", "log", "log-log")
_TOL = float(np.sqrt(np.finfo(np.float64).eps))


def is_real(x: object) -> bool:
    """A real number (Python or numpy scalar), not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)


def check_conf(conf_level: float, conf_type: str) -> None:
    """Validate a confidence level in (0, 1) and a confidence-interval type."""
    if not (is_real(conf_level) and 0.0 < float(conf_level) < 1.0):
        raise InputError("a number in (0, 1)", field="conf_level", got=conf_level)
    if conf_type not in _CONF_TYPES:
        raise InputError(f"one of {', '.join(_CONF_TYPES)}", field="conf_type", got=conf_type)


def confidence_band(
    surv: FloatArray, std_err_log: FloatArray, conf_level: float, conf_type: str
) -> tuple[FloatArray, FloatArray]:
    """Pointwise CI of S from the log-scale SE, exactly as R's ``survfit_confint``."""
    z = float(norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    p = np.asarray(surv, dtype=np.float64)
    se = np.asarray(std_err_log, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * p * z
            lower = np.maximum(p - se2, 0.0)
            upper = np.minimum(p + se2, 1.0)
        elif conf_type == "log":
            # R: exp(log(p) -/+ z se), i.e. p / k and p * k with k = exp(z se)
            xx = np.where(p == 0.0, np.nan, p)
            k = np.exp(z * se)
            lower = xx / k
            upper = np.minimum(xx * k, 1.0)
        else:
            # R: exp(-exp(log(-log p) -/+ z se / log p)) = exp(-L k), exp(-L / k)
            # with L = -log p and k = exp(z se / L): one log and three exp
            xx = np.where((p == 0.0) | (p == 1.0), np.nan, p)
            neg_log = -np.log(xx)
            k = np.exp(z * se / neg_log)
            lower = np.exp(-neg_log * k)
            upper = np.exp(-neg_log / k)
    return lower, upper


def std_err_of_surv(surv: FloatArray, std_err_log: FloatArray) -> FloatArray:
    """SE of S: ``S * std_err_log``; NaN where S = 0 (R's ``summary.survfit``)."""
    with np.errstate(invalid="ignore"):
        out = surv * std_err_log
    return np.where(surv == 0.0, np.nan, out)


def _approx_right(x: FloatArray, y: FloatArray, v: float) -> float:
    """R ``approx(x, y, v, method="constant", f=1)`` (rule 1), NaN pairs dropped."""
    ok = ~np.isnan(x)
    x, y = x[ok], y[ok]
    if len(x) == 0 or v < x[0] or v > x[-1]:
        return np.nan
    return float(y[int(np.searchsorted(x, v, side="left"))])


def _findq(x: FloatArray, y: FloatArray, p: float, tol: float = _TOL) -> float:
    """R ``survival:::findq``: where the increasing step function ``y`` first reaches p."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = float(x[-1])
    keep = ~pd.Series(y).duplicated().to_numpy()  # R duplicated(): NaN repeats too
    x, y = x[keep], y[keep]
    n = len(y)
    idx = np.arange(n, dtype=np.float64)
    i1 = _approx_right(y + tol, idx, p)
    i2 = _approx_right(y - tol, idx, p)

    def xs(i: float) -> float:
        return np.nan if np.isnan(i) else float(x[int(i)])

    quant = (xs(i1) + xs(i2)) / 2.0
    if p == 0.0:
        quant = float(x[0])
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < tol:
        quant = (xs(i1) + xmax) / 2.0
    return quant


@dataclass(frozen=True)
class SurvivalAt:
    """Kaplan-Meier estimate at requested times (see :meth:`KaplanMeier.at`)."""

    time: FloatArray
    n_risk: IntArray
    survival: FloatArray
    std_err: FloatArray
    std_err_log: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_level: float
    conf_type: str

    def to_frame(self) -> pd.DataFrame:
        """One row per requested time."""
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "survival": self.survival,
                "std_err": self.std_err,
                "std_err_log": self.std_err_log,
                "lower": self.lower,
                "upper": self.upper,
            }
        )


@dataclass(frozen=True)
class Quantile:
    """A survival-time quantile with its confidence interval (NaN when not reached)."""

    probability: float
    time: float
    lower: float
    upper: float
    conf_level: float


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier curve: one row per distinct observed time.

    ``std_err`` is the SE of S (Greenwood); ``std_err_log`` is R's ``std.err`` (SE of
    log S). ``lower``/``upper`` are the pointwise ``conf_level`` interval of type
    ``conf_type``.
    """

    time: FloatArray
    n_risk: IntArray
    n_event: IntArray
    n_censor: IntArray
    survival: FloatArray
    std_err: FloatArray
    std_err_log: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_level: float
    conf_type: str
    n: int

    def to_frame(self) -> pd.DataFrame:
        """The survival table (like ``summary(survfit(...), censored = TRUE)``)."""
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "survival": self.survival,
                "std_err": self.std_err,
                "std_err_log": self.std_err_log,
                "lower": self.lower,
                "upper": self.upper,
            }
        )

    def at(self, times: Any) -> SurvivalAt:
        """S, its SE and CI at arbitrary times: the right-continuous step function.

        Before the first observed time S = 1 with SE 0 and CI (1, 1); after the last one
        the last value is carried forward (R ``summary(fit, times, extend = TRUE)``).
        ``n_risk`` is the number still at risk at each time (time >= t).
        """
        t = as_float(np.atleast_1d(np.asarray(times, dtype=np.float64)), "times", nonnegative=True)
        idx = np.searchsorted(self.time, t, side="right") - 1
        before = idx < 0
        j = np.maximum(idx, 0)
        surv = np.where(before, 1.0, self.survival[j])
        se_log = np.where(before, 0.0, self.std_err_log[j])
        se = np.where(before, 0.0, self.std_err[j])
        lower, upper = confidence_band(surv, se_log, self.conf_level, self.conf_type)
        # before the first observed time R (survfit0) reports the interval (1, 1)
        lower = np.where(before, 1.0, lower)
        upper = np.where(before, 1.0, upper)
        # number at risk at t: those with time >= t (0 beyond the last time)
        k = np.searchsorted(self.time, t, side="left")
        n_risk = np.concatenate([self.n_risk, np.zeros(1, np.int64)])[k]
        return SurvivalAt(
            time=t,
            n_risk=n_risk,
            survival=surv,
            std_err=se,
            std_err_log=se_log,
            lower=lower,
            upper=upper,
            conf_level=self.conf_level,
            conf_type=self.conf_type,
        )

    def quantile(self, probability: float = 0.5) -> Quantile:
        """Time at which S first falls to ``1 - probability``, with CI (R quantile.survfit).

        The CI comes from the times at which the pointwise confidence limits cross the
        same level. NaN where a curve never gets there.
        """
        if not (is_real(probability) and 0.0 <= float(probability) <= 1.0):
            raise InputError("a number in [0, 1]", field="probability", got=probability)
        p = float(probability)
        x = np.concatenate([[0.0], self.time])

        def q(curve: FloatArray) -> float:
            return _findq(x, np.concatenate([[0.0], 1.0 - curve]), p)

        return Quantile(
            probability=p,
            time=q(self.survival),
            lower=q(self.lower),
            upper=q(self.upper),
            conf_level=self.conf_level,
        )

    def median(self) -> Quantile:
        """Median survival time with CI (R ``quantile.survfit(fit, 0.5)``)."""
        return self.quantile(0.5)


@dataclass(frozen=True)
class NelsonAalen:
    """Nelson-Aalen cumulative hazard, one row per distinct observed time."""

    time: FloatArray
    n_risk: IntArray
    n_event: IntArray
    cumhaz: FloatArray
    variance: FloatArray
    std_err: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """The cumulative-hazard table."""
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "cumhaz": self.cumhaz,
                "variance": self.variance,
                "std_err": self.std_err,
            }
        )


def _table(time: Any, event: Any) -> tuple[Any, ...]:
    t, e = survival_input(time, event)
    n = len(t)
    res: tuple[Any, ...]
    top = float(t.max())
    if n >= 4096 and top <= 4 * n:
        # integer-valued times (e.g. days) in a small range: O(n) counting, no sort
        ti = t.astype(np.int64)
        if np.array_equal(ti, t):
            counts = np.bincount(ti * 2 + e, minlength=2 * (int(top) + 1)).reshape(-1, 2)
            seen = np.flatnonzero(counts.any(axis=1))
            res = _kernels.km_from_counts(
                seen.astype(np.float64), counts[seen, 1].copy(), counts[seen, 0].copy()
            )
            return (n, *res)
    died = e == 1
    res = _kernels.km_table(np.sort(t[died]), np.sort(t[~died]))
    return (n, *res)


def kaplan_meier(
    time: Any, event: Any, *, conf_level: float = 0.95, conf_type: ConfType = "log-log"
) -> KaplanMeier:
    """Kaplan-Meier estimate of survival with Greenwood SE and pointwise CI.

    Args:
        time: follow-up times, >= 0 (numpy, list, pandas or polars).
        event: 1 = event, 0 = censored (booleans accepted).
        conf_level: confidence level of the pointwise interval.
        conf_type: ``"plain"``, ``"log"`` or ``"log-log"`` (R ``conf.type``).

    Returns:
        A :class:`KaplanMeier` record; ``.at(times)``, ``.median()``, ``.to_frame()``.
    """
    check_conf(conf_level, conf_type)
    n, times, n_risk, n_event, n_censor, surv, gw = _table(time, event)
    se_log = np.sqrt(gw)
    lower, upper = confidence_band(surv, se_log, conf_level, conf_type)
    return KaplanMeier(
        time=times,
        n_risk=n_risk,
        n_event=n_event,
        n_censor=n_censor,
        survival=surv,
        std_err=std_err_of_surv(surv, se_log),
        std_err_log=se_log,
        lower=lower,
        upper=upper,
        conf_level=float(conf_level),
        conf_type=conf_type,
        n=n,
    )


def nelson_aalen(time: Any, event: Any) -> NelsonAalen:
    """Nelson-Aalen cumulative hazard ``sum d/n`` with variance ``sum d/n^2``.

    Tied events count as ``d/n`` (R ``survfit`` default ``ctype = 1``; lifelines with
    ``nelson_aalen_smoothing=False``). ``std_err`` equals R's ``std.chaz``.
    """
    _n, times, n_risk, n_event, _nc, _s, _gw = _table(time, event)
    ch, vch = _kernels.nelson_aalen_sums(n_risk, n_event)
    return NelsonAalen(
        time=times,
        n_risk=n_risk,
        n_event=n_event,
        cumhaz=ch,
        variance=vch,
        std_err=np.sqrt(vch),
    )
