"""Parametric models per arm, for extrapolation beyond the follow-up (NICE DSU TSD 14).

Each arm of an endpoint is fitted with the six distributions of
:mod:`blinasim.stats.parametric` (exponential, Weibull, log-normal, log-logistic, Gompertz,
generalized gamma; the first four as R survreg, the last two with flexsurv's
parameterisations), a Royston-Parmar model with one internal knot
(:mod:`blinasim.stats.spline`) and a Weibull mixture cure model (:mod:`blinasim.stats.cure`;
point estimates only). The report shows, per arm and distribution, AIC and BIC (lower is
better supported by the data; a difference under ~2 is no real difference) and the
survival each predicts at the milestone and at twice the milestone, with 95% intervals.
Fit statistics say how well a curve describes the observed follow-up, not whether its
extrapolation is plausible: that needs clinical judgement and external data (TSD 14).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from blinasim.errors import InputError
from blinasim.stats.cure import fit_cure
from blinasim.stats.parametric import DISTRIBUTIONS, fit_parametric
from blinasim.stats.spline import fit_spline


def extrapolation_fits(
    data: pd.DataFrame,
    *,
    arms: tuple[str, ...],
    milestone_days: float,
    horizon_days: float | None = None,
) -> dict[str, Any]:
    """Per arm: each fit's AIC, BIC and survival at the milestone and at the horizon.

    The horizon is ``blinasim analyze --extrapolate YEARS`` (default: twice the milestone).
    """
    horizons = [milestone_days, horizon_days if horizon_days else 2.0 * milestone_days]
    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    for arm in arms:
        d = data[data["ARM"] == arm]
        time = d["AVAL"].to_numpy(dtype=np.float64)
        event = d["EVENT"].to_numpy(dtype=np.int64)
        if event.sum() < 2 or (time <= 0).any():
            notes[arm] = "fewer than 2 events" if event.sum() < 2 else "times of 0 (log T)"
            continue
        for dist in DISTRIBUTIONS:
            try:
                fit = fit_parametric(time, event, dist)
            except InputError as exc:
                notes[f"{arm} {dist}"] = exc.expected
                continue
            row: dict[str, Any] = {
                "arm": arm,
                "distribution": dist,
                "aic": fit.aic,
                "bic": fit.bic,
                "converged": fit.converged,
            }
            s = fit.survival(horizons)
            for j, h in enumerate(("milestone", "horizon")):
                row[f"{h}_survival"] = float(s["survival"].iloc[j])
                row[f"{h}_lower"] = float(s["lower"].iloc[j])
                row[f"{h}_upper"] = float(s["upper"].iloc[j])
            rows.append(row)
        for name, fitter in EXTRA_MODELS:
            try:
                extra = fitter(time, event)
            except InputError as exc:
                notes[f"{arm} {name}"] = exc.expected
                continue
            frame = extra.survival(horizons)
            sv = frame["survival"]
            row = {
                "arm": arm,
                "distribution": name,
                "aic": extra.aic,
                "bic": extra.bic,
                "converged": extra.converged,
            }
            for j, h in enumerate(("milestone", "horizon")):
                row[f"{h}_survival"] = float(sv.iloc[j])
                for side in ("lower", "upper"):  # the cure model has no interval here
                    row[f"{h}_{side}"] = (
                        float(frame[side].iloc[j]) if side in frame else float("nan")
                    )
            rows.append(row)
    return {"horizons_days": horizons, "fits": rows, "not_fitted": notes}


def _spline1(time: np.ndarray, event: np.ndarray) -> Any:
    return fit_spline(time, event, k=1)


def _cure_weibull(time: np.ndarray, event: np.ndarray) -> Any:
    return fit_cure(time, event, "weibull")


# Royston-Parmar with one internal knot (with intervals) and the Weibull mixture cure model
# (point estimates only)
EXTRA_MODELS = (("Royston-Parmar, 1 knot", _spline1), ("Weibull mixture cure", _cure_weibull))


__all__ = ["extrapolation_fits"]
