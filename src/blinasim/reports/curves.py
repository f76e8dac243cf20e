"""Survival and cumulative-incidence curves of a report, from the rows of a results table.

The one place where Kaplan-Meier and Aalen-Johansen estimates become
:class:`~blinasim.reports.figures.StepCurve` records (the run, analysis and compare reports
all draw through here), with the y-axis floor every survival figure uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.reports.figures import StepCurve
from blinasim.stats import cumulative_incidence, kaplan_meier
from blinasim.units import DAYS_PER_YEAR

GRID_DAYS = np.linspace(0.0, 5 * DAYS_PER_YEAR, 121)
CENSOR_TICKS_MAX = 3000


def km_curves(
    data: pd.DataFrame,
    *,
    group: str,
    time: str,
    event: str,
    order: Sequence[str] | None = None,
    replicate: str | None = None,
    band: str = "confidence",
    censor_ticks: bool = False,
) -> list[StepCurve]:
    """One Kaplan-Meier curve per ``group`` level of ``data``.

    ``band``: ``"confidence"`` (95% pointwise, log-log), ``"predictive"`` (the 2.5%-97.5%
    quantiles of the per-``replicate`` curves: the spread of one trial's curve; the
    confidence band when there is one replicate) or ``"none"``. With ``replicate`` the
    numbers at risk are per replicate (the pooled count divided by the replicates).
    """
    levels = list(order) if order is not None else sorted(map(str, data[group].unique()))
    n_rep = max(int(data[replicate].nunique()), 1) if replicate else 1
    out = []
    for lv in levels:
        d = data[data[group].astype(str) == lv]
        if d.empty:
            continue
        t = d[time].to_numpy(dtype=np.float64)
        e = d[event].to_numpy(dtype=np.int64)
        km = kaplan_meier(t, e)
        lower: NDArray[np.float64] | None = km.lower
        upper: NDArray[np.float64] | None = km.upper
        if band == "predictive" and replicate and n_rep > 1:
            per = [
                kaplan_meier(g[time].to_numpy(np.float64), g[event].to_numpy(np.int64))
                .at(GRID_DAYS)
                .survival
                for _, g in d.groupby(replicate)
            ]
            q = np.quantile(np.vstack(per), [0.025, 0.975], axis=0)
            idx = np.clip(np.searchsorted(GRID_DAYS, km.time, side="right") - 1, 0, None)
            lower, upper = q[0][idx], q[1][idx]
        elif band == "none":
            lower = upper = None
        censored = t[e == 0]
        out.append(
            StepCurve(
                label=lv,
                time=km.time,
                value=km.survival,
                lower=lower,
                upper=upper,
                censor_times=censored
                if censor_ticks and len(censored) <= CENSOR_TICKS_MAX
                else None,
                at_risk_time=t,
                at_risk_weight=1.0 / n_rep,
            )
        )
    return out


def cif_curves(
    data: pd.DataFrame,
    *,
    group: str,
    time: str,
    cause: str,
    names: Mapping[int, str],
) -> list[StepCurve]:
    """Aalen-Johansen cumulative incidence of each cause in ``names``, by ``group``.

    Causes not in ``names`` still compete (they are events, not censorings) but are not drawn.
    """
    cif = cumulative_incidence(
        data[time].to_numpy(np.float64),
        data[cause].to_numpy(np.int64),
        group=data[group].astype(str).to_numpy(),
    )
    return [
        StepCurve(label=f"{c.group}: {names[int(c.cause)]}", time=c.time, value=c.estimate)
        for c in cif.curves
        if int(c.cause) in names
    ]


def survival_floor(curves: Sequence[StepCurve], *, xmax_days: float, step: float = 0.05) -> float:
    """A y-axis floor below every curve and band up to ``xmax_days`` (a multiple of step)."""
    lows = []
    for c in curves:
        keep = c.time <= xmax_days
        for arr in (c.value, c.lower):
            if arr is not None and keep.any():
                v = np.asarray(arr)[keep]
                v = v[np.isfinite(v)]
                if len(v):
                    lows.append(float(v.min()))
    lo = min(lows, default=1.0)
    return float(max(0.0, np.floor((lo - step / 2) / step) * step))


def incidence_ceiling(curves: Sequence[StepCurve]) -> float:
    """A y-axis top above every cumulative-incidence curve (at most 1)."""
    top = max((float(c.value.max()) for c in curves if len(c.value)), default=0.05)
    return float(min(1.0, max(0.02, top * 1.25)))


__all__ = [
    "DAYS_PER_YEAR",
    "GRID_DAYS",
    "cif_curves",
    "incidence_ceiling",
    "km_curves",
    "survival_floor",
]
