"""The trial statisticians' estimates of one simulated trial, made from its ADTTE.

At the reported data cut, on the DFS rows of the ADTTE: Kaplan-Meier DFS at the milestone
by arm, the Cox hazard ratio and the log-rank test (stratified when the design's primary
test is), and the RMST difference with :func:`blinasim.analysis.core.rmst_difference`, so
its horizon is the package's one definition (the design's ``rmst_tau_years``, or the
milestone, cut to the shorter arm's last follow-up). Every statistic is the single
definition in :mod:`blinasim.stats`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from blinasim.analysis.core import rmst_difference, rmst_horizon
from blinasim.stats import cox_ph, kaplan_meier, logrank_test
from blinasim.trial.design import TrialDesign
from blinasim.units import DAYS_PER_YEAR


@dataclasses.dataclass(frozen=True)
class Estimates:
    """Final estimates at the reported data cut (DFS from randomization)."""

    data_cut: dt.date
    milestone_years: float
    dfs_milestone: dict[str, float]
    dfs_milestone_se: dict[str, float]
    hazard_ratio: float
    hazard_ratio_lower: float
    hazard_ratio_upper: float
    rmst_tau_years: float
    rmst_difference_days: float
    rmst_difference_se: float
    logrank_z: float
    logrank_p: float
    events: dict[str, int]

    def to_frame(self) -> pd.DataFrame:
        """Long table of the estimates: quantity, group, value."""
        rows: list[tuple[str, str, float]] = []
        for arm, v in self.dfs_milestone.items():
            rows.append((f"DFS at {self.milestone_years:g} years", arm, v))
            rows.append(
                (f"SE of DFS at {self.milestone_years:g} years", arm, self.dfs_milestone_se[arm])
            )
        rows += [
            ("hazard ratio (Cox, stratified)", "", self.hazard_ratio),
            ("hazard ratio lower 95%", "", self.hazard_ratio_lower),
            ("hazard ratio upper 95%", "", self.hazard_ratio_upper),
            (
                f"RMST difference (days) to {self.rmst_tau_years:g} years",
                "",
                self.rmst_difference_days,
            ),
            ("SE of RMST difference (days)", "", self.rmst_difference_se),
            ("stratified log-rank z", "", self.logrank_z),
            ("stratified log-rank p (two-sided)", "", self.logrank_p),
        ]
        rows += [("DFS events", arm, float(v)) for arm, v in self.events.items()]
        return pd.DataFrame(rows, columns=["quantity", "group", "value"])


def trial_estimates(design: TrialDesign, adtte: pd.DataFrame, data_cut: dt.date) -> Estimates:
    """The estimates of a trial from the DFS rows of its ADTTE (NaN where not estimable)."""
    labels = [design.allocation.control.label, design.allocation.experimental.label]
    dfs = adtte[adtte["PARAMCD"] == "DFS"]
    t = dfs["AVAL"].to_numpy(dtype=np.float64)
    e = 1 - dfs["CNSR"].to_numpy(dtype=np.int64)
    armc = (dfs["TRT01P"] == labels[1]).to_numpy().astype(np.int64)
    strat = dfs["STRATUM"].to_numpy()
    two_arms = len(set(armc.tolist())) == 2
    milestone = design.primary.milestone_years * DAYS_PER_YEAR
    surv: dict[str, float] = {}
    surv_se: dict[str, float] = {}
    events: dict[str, int] = {}
    for a, lab in enumerate(labels):
        sel = armc == a
        events[lab] = int(e[sel].sum())
        if sel.any():
            at = kaplan_meier(t[sel], e[sel]).at(milestone)
            surv[lab] = float(at.survival[0])
            surv_se[lab] = float(at.std_err[0])
        else:
            surv[lab] = surv_se[lab] = float("nan")
    use_strata = design.primary.test == "stratified_logrank" or (
        design.primary.weighted and design.primary.stratified
    )
    hr = lo = hi = float("nan")
    if e.sum() > 0 and two_arms:
        cox = cox_ph(t, e, armc.astype(np.float64), strata=strat if use_strata else None)
        hr, lo, hi = float(cox.hr[0]), float(cox.hr_lower[0]), float(cox.hr_upper[0])
    tau = (design.primary.rmst_tau_years or design.primary.milestone_years) * DAYS_PER_YEAR
    rm_diff = rm_se = float("nan")
    if two_arms:
        tau = rmst_horizon(t, armc, tau)
        if tau > 0:
            _, rm = rmst_difference(t, e, armc, tau)
            rm_diff, rm_se = rm.estimate, rm.se
    lz = lp = float("nan")
    if two_arms:
        lr = logrank_test(t, e, armc, strata=strat if use_strata else None)
        lz, lp = -float(lr.z), float(lr.p_value)
    return Estimates(
        data_cut=data_cut,
        milestone_years=design.primary.milestone_years,
        dfs_milestone=surv,
        dfs_milestone_se=surv_se,
        hazard_ratio=hr,
        hazard_ratio_lower=lo,
        hazard_ratio_upper=hi,
        rmst_tau_years=tau / DAYS_PER_YEAR,
        rmst_difference_days=float(rm_diff),
        rmst_difference_se=float(rm_se),
        logrank_z=lz,
        logrank_p=lp,
        events=events,
    )


__all__ = ["Estimates", "trial_estimates"]
