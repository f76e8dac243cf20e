"""Restricted mean survival time (RMST) per group, with difference and ratio for two groups.

The RMST up to ``tau`` is the area under the Kaplan-Meier curve on ``[0, tau]``; its SE
is the Greenwood-type formula of R ``survival:::survmean`` (what ``print(fit, rmean =
tau)`` shows as ``se(rmean)``), which is also the formula of ``survRM2::rmst2``. When tau
lies beyond the last observed time the last value of the curve is carried forward, as R
does. The two-group contrasts follow ``survRM2``: the difference (second group minus
first) with a normal CI, and the ratio with a CI on the log scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from blinasim.errors import InputError
from blinasim.stats._common import FloatArray, IntArray, factorize, survival_input
from blinasim.stats.km import check_conf, is_real, kaplan_meier


@dataclass(frozen=True)
class RMSTContrast:
    """A two-group RMST contrast (difference or ratio) with CI and two-sided p-value."""

    estimate: float
    std_err: float
    lower: float
    upper: float
    p_value: float


@dataclass(frozen=True)
class RMSTResult:
    """RMST per group; ``difference``/``ratio`` (second group vs first) for two groups.

    For the ratio, ``std_err`` is the SE of the log ratio.
    """

    tau: float
    groups: list[Any]
    n: IntArray
    rmst: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_level: float
    difference: RMSTContrast | None
    ratio: RMSTContrast | None

    def to_frame(self) -> pd.DataFrame:
        """One row per group."""
        return pd.DataFrame(
            {
                "group": self.groups,
                "n": self.n,
                "tau": self.tau,
                "rmst": self.rmst,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
            }
        )


def _rmst_one(time: FloatArray, event: IntArray, tau: float) -> tuple[float, float]:
    """Area under the KM curve up to tau and its variance (R ``survmean``)."""
    km = kaplan_meier(time, event)
    nr = km.n_risk.astype(np.float64)
    ne = km.n_event.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(nr - ne == 0, 0.0, ne / (nr * (nr - ne)))
    keep = km.time <= tau
    if not keep.any():
        return tau, 0.0
    tt = np.concatenate([km.time[keep], [tau]])
    ss = km.survival[keep]
    hh = np.concatenate([hh[keep], [0.0]])
    delta = np.diff(np.concatenate([[0.0], tt]))
    rect = delta * np.concatenate([[1.0], ss])
    tail = np.cumsum(rect[1:][::-1])
    var = float(np.sum(tail**2 * hh[::-1][1:]))
    return float(np.sum(rect)), var


def rmst(
    time: Any, event: Any, tau: float, *, group: Any = None, conf_level: float = 0.95
) -> RMSTResult:
    """Restricted mean survival time up to ``tau``, per group, with SE and CI.

    Args:
        time: follow-up times, >= 0.
        event: 1 = event, 0 = censored.
        tau: truncation time (> 0), same unit as ``time``.
        group: optional group labels; with exactly two, the result carries the difference
            and the ratio (second sorted label vs first).
        conf_level: confidence level of every interval.
    """
    t, e = survival_input(time, event)
    check_conf(conf_level, "plain")
    if not is_real(tau) or not np.isfinite(tau) or tau <= 0:
        raise InputError("a finite number > 0", field="tau", got=tau)
    tau = float(tau)
    if group is None:
        g = np.zeros(len(t), np.int64)
        labels: list[Any] = ["all"]
    else:
        g, labels = factorize(group, "group", len(t))
    k = len(labels)
    est = np.empty(k)
    var = np.empty(k)
    for j in range(k):
        sel = g == j
        est[j], var[j] = _rmst_one(t[sel], e[sel], tau)
    se = np.sqrt(var)
    z = float(norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    diff = ratio = None
    if k == 2:
        d = est[1] - est[0]
        d_se = float(np.sqrt(var[0] + var[1]))
        diff = RMSTContrast(
            estimate=float(d),
            std_err=d_se,
            lower=float(d - z * d_se),
            upper=float(d + z * d_se),
            p_value=float(2.0 * norm.sf(abs(d) / d_se)) if d_se > 0 else np.nan,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = float(np.log(est[1] / est[0]))
            lr_se = float(np.sqrt(var[1] / est[1] ** 2 + var[0] / est[0] ** 2))
        ratio = RMSTContrast(
            estimate=float(np.exp(lr)),
            std_err=lr_se,
            lower=float(np.exp(lr - z * lr_se)),
            upper=float(np.exp(lr + z * lr_se)),
            p_value=float(2.0 * norm.sf(abs(lr) / lr_se)) if lr_se > 0 else np.nan,
        )
    return RMSTResult(
        tau=tau,
        groups=labels,
        n=np.bincount(g, minlength=k).astype(np.int64),
        rmst=est,
        std_err=se,
        lower=est - z * se,
        upper=est + z * se,
        conf_level=float(conf_level),
        difference=diff,
        ratio=ratio,
    )
