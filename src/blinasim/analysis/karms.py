"""More than two arms: each experimental arm against the control arm.

R's analysis of a k-arm trial, one function: a Cox model with the arm as a factor and the
control as reference (``coxph(Surv(t, e) ~ factor(arm) + strata(s))``: one hazard ratio per
arm, all from one fit), a pairwise (stratified) log-rank test of each arm against the
control on the two arms' patients only, with the p-values adjusted for multiplicity by
Holm's step-down method (R ``p.adjust(method = "holm")``, as ``survminer::pairwise_survdiff``),
and the RMST difference of each arm against the control at one horizon common to every arm.
The k-sample log-rank test of all arms together (chi-square with k - 1 df, R ``survdiff``)
is :func:`blinasim.stats.logrank_test` and lives with the rest of the endpoint analysis.

An arm without events has no finite hazard ratio (the partial likelihood has its maximum at
0): it is reported as not estimable and left out of the Cox fit, which is the limit of the
fit with it (its patients leave every risk set's weighted sum) for the other arms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from blinasim.analysis.estimate import Estimate
from blinasim.stats import cox_ph, logrank_test, rmst
from blinasim.stats.multiplicity import holm

MULTIPLICITY = "Holm"


@dataclass(frozen=True)
class ArmComparison:
    """One experimental arm against the control arm."""

    arm: str
    hazard_ratio: Estimate
    hazard_ratio_p: float
    logrank_chisq: float
    logrank_p: float
    logrank_p_holm: float
    logrank_note: str
    rmst_difference: Estimate

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {
            "arm": self.arm,
            "hazard_ratio": {**self.hazard_ratio.as_dict(), "p": self.hazard_ratio_p},
            "logrank": {
                "chisq": self.logrank_chisq,
                "p": self.logrank_p,
                "p_holm": self.logrank_p_holm,
                **({"not_estimable": self.logrank_note} if self.logrank_note else {}),
            },
            "rmst_difference_days": self.rmst_difference.as_dict(),
        }


def common_horizon(time: np.ndarray, arm: np.ndarray, tau_days: float) -> float:
    """``tau_days`` cut to the shortest last follow-up of any arm (each RMST is defined)."""
    return min(tau_days, min(float(time[arm == a].max()) for a in np.unique(arm)))


def _cox(
    time: np.ndarray,
    event: np.ndarray,
    arm: np.ndarray,
    fitted: Sequence[str],
    strata: np.ndarray | None,
) -> dict[str, tuple[Estimate, float]]:
    """Hazard ratio (with its Wald p) of each arm in ``fitted`` against the control."""
    rows = np.isin(arm, list(fitted))
    x = pd.DataFrame({a: (arm[rows] == a).astype(np.float64) for a in fitted[1:]})
    fit = cox_ph(time[rows], event[rows], x, strata=None if strata is None else strata[rows])
    return {
        a: (
            Estimate(
                float(fit.hr[j]), float(fit.se[j]), float(fit.hr_lower[j]), float(fit.hr_upper[j])
            ),
            float(fit.p[j]),
        )
        for j, a in enumerate(fitted[1:])
    }


def compare_to_control(
    time: np.ndarray,
    event: np.ndarray,
    arm: np.ndarray,
    *,
    control: str,
    treatments: Sequence[str],
    strata: np.ndarray | None,
    tau_days: float,
) -> tuple[tuple[ArmComparison, ...], float]:
    """Each of ``treatments`` against ``control`` (see the module docstring).

    Returns the comparisons (in the order of ``treatments``) and the RMST horizon used.
    """
    events = {a: int(event[arm == a].sum()) for a in (control, *treatments)}
    hrs: dict[str, tuple[Estimate, float]] = {}
    if events[control] > 0:
        with_events = [a for a in treatments if events[a] > 0]
        if with_events:
            hrs = _cox(time, event, arm, [control, *with_events], strata)
    chisq: list[float] = []
    p: list[float] = []
    notes: list[str] = []
    for a in treatments:
        sel = (arm == control) | (arm == a)
        if event[sel].sum() == 0:
            chisq.append(float("nan"))
            p.append(float("nan"))
            notes.append(f"no events in arms {control} and {a}")
            continue
        lr = logrank_test(
            time[sel], event[sel], arm[sel] == a, strata=None if strata is None else strata[sel]
        )
        chisq.append(float(lr.chisq))
        p.append(float(lr.p_value))
        notes.append("")
    p_holm = holm(np.asarray(p, dtype=np.float64))
    tau = common_horizon(time, arm, tau_days)
    order = [control, *treatments]
    position = {a: i for i, a in enumerate(order)}
    codes = np.array([position[a] for a in arm], dtype=np.int64)
    rm = rmst(time, event, tau, group=codes)
    z = float(norm.ppf(0.975))
    out = []
    for j, a in enumerate(treatments, start=1):
        d = float(rm.rmst[j] - rm.rmst[0])
        se = float(np.sqrt(rm.std_err[j] ** 2 + rm.std_err[0] ** 2))
        if a in hrs:
            hr, hr_p = hrs[a]
        else:
            why = f"no events in arm {control if events[control] == 0 else a}"
            hr, hr_p = Estimate.missing(why), float("nan")
        out.append(
            ArmComparison(
                arm=a,
                hazard_ratio=hr,
                hazard_ratio_p=hr_p,
                logrank_chisq=chisq[j - 1],
                logrank_p=p[j - 1],
                logrank_p_holm=float(p_holm[j - 1]),
                logrank_note=notes[j - 1],
                rmst_difference=Estimate(d, se, d - z * se, d + z * se),
            )
        )
    return tuple(out), tau


__all__ = ["MULTIPLICITY", "ArmComparison", "common_horizon", "compare_to_control"]
