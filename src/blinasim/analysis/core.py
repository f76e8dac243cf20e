"""The standard two-arm time-to-event analysis of one ADTTE parameter.

Kaplan-Meier by arm with a milestone estimate, (stratified) log-rank test, Cox hazard
ratio (stratified when strata are given), RMST difference, and, when competing causes are
coded, Aalen-Johansen cumulative incidence with Gray's test. The same function analyses
real trial data and simulated trials, so both give one kind of report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blinasim.errors import InputError
from blinasim.stats import (
    CumulativeIncidence,
    KaplanMeier,
    cox_ph,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    logrank_test,
    rmst,
)

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Estimate:
    """A point estimate with standard error and 95% interval."""

    estimate: float
    se: float
    lower: float
    upper: float

    def percent(self) -> str:
        """``"87.9% ± 2.1%"``; the SE is omitted where it is not estimable (S = 0 or 1)."""
        if self.se != self.se:  # NaN
            return f"{self.estimate:.1%} (SE not estimable)"
        return f"{self.estimate:.1%} ± {self.se:.1%}"

    def as_dict(self) -> dict[str, float]:
        """Plain dict (for JSON)."""
        return {"estimate": self.estimate, "se": self.se, "lower": self.lower, "upper": self.upper}


@dataclass(frozen=True, eq=False)
class ArmSummary:
    """One arm: size, events, KM curve and the milestone survival."""

    arm: str
    n: int
    events: int
    km: KaplanMeier
    milestone: Estimate
    median_days: float


@dataclass(frozen=True, eq=False)
class EndpointAnalysis:
    """Everything computed for one endpoint (PARAMCD)."""

    paramcd: str
    control: str
    treatment: str
    milestone_days: float
    tau_days: float
    stratified: bool
    arms: tuple[ArmSummary, ...]
    logrank_chisq: float
    logrank_p: float
    hazard_ratio: Estimate
    hazard_ratio_p: float
    rmst_difference: Estimate
    cif: CumulativeIncidence | None
    cif_milestone: pd.DataFrame | None
    gray_p: dict[int, float]
    by_stratum: dict[str, dict[str, Estimate]]
    data: pd.DataFrame

    def arm(self, name: str) -> ArmSummary:
        """The summary of arm ``name``."""
        for a in self.arms:
            if a.arm == name:
                return a
        raise KeyError(name)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (proportions for survival, days for times)."""
        out: dict[str, Any] = {
            "paramcd": self.paramcd,
            "control": self.control,
            "treatment": self.treatment,
            "milestone_days": self.milestone_days,
            "n": {a.arm: a.n for a in self.arms},
            "events": {a.arm: a.events for a in self.arms},
            "milestone_survival": {a.arm: a.milestone.as_dict() for a in self.arms},
            "milestone_survival_by_stratum": {
                s: {arm: e.as_dict() for arm, e in d.items()} for s, d in self.by_stratum.items()
            },
            "median_days": {a.arm: a.median_days for a in self.arms},
            "logrank": {
                "chisq": self.logrank_chisq,
                "p": self.logrank_p,
                "stratified": self.stratified,
            },
            "hazard_ratio": {**self.hazard_ratio.as_dict(), "p": self.hazard_ratio_p},
            "rmst_difference_days": {**self.rmst_difference.as_dict(), "tau_days": self.tau_days},
        }
        if self.cif_milestone is not None:
            out["cumulative_incidence_milestone"] = self.cif_milestone.to_dict(orient="records")
            out["gray_p"] = {str(k): v for k, v in self.gray_p.items()}
        return out


def _milestone(km: KaplanMeier, t: float) -> Estimate:
    at = km.at([t])
    return Estimate(
        float(at.survival[0]), float(at.std_err[0]), float(at.lower[0]), float(at.upper[0])
    )


def analyze_endpoint(
    df: pd.DataFrame,
    *,
    paramcd: str,
    milestone_days: float = 3 * DAYS_PER_YEAR,
    tau_days: float | None = None,
    control: str | None = None,
) -> EndpointAnalysis:
    """Analyse one parameter of a validated ADTTE table with exactly two arms.

    ``control`` is the reference arm (default: the first in sorted order). The hazard
    ratio and the RMST difference are treatment versus control. ``tau_days`` defaults to
    the milestone, cut to the shorter arm's last follow-up.
    """
    d = df[df["PARAMCD"] == paramcd].reset_index(drop=True)
    if d.empty:
        raise InputError(f"rows with PARAMCD {paramcd}", field="PARAMCD")
    arms = sorted(d["ARM"].unique())
    if len(arms) != 2:
        raise InputError("exactly two arms", field="ARM", got=arms)
    if control is None:
        control = arms[0]
    if control not in arms:
        raise InputError(f"a control arm among {arms}", field="control", got=control)
    treatment = next(a for a in arms if a != control)
    time = d["AVAL"].to_numpy(dtype=np.float64)
    event = d["EVENT"].to_numpy(dtype=np.int64)
    trt = (d["ARM"] == treatment).to_numpy(dtype=np.int64)
    strata = d["STRATUM"].to_numpy() if "STRATUM" in d.columns else None
    stratified = strata is not None and len(np.unique(strata)) > 1

    summaries = []
    for arm in (control, treatment):
        m = (d["ARM"] == arm).to_numpy()
        km = kaplan_meier(time[m], event[m])
        summaries.append(
            ArmSummary(
                arm=arm,
                n=int(m.sum()),
                events=int(event[m].sum()),
                km=km,
                milestone=_milestone(km, milestone_days),
                median_days=float(km.median().time),
            )
        )
    lr = logrank_test(time, event, trt, strata=strata if stratified else None)
    if event.sum() == 0:
        hr = Estimate(float("nan"), float("nan"), float("nan"), float("nan"))
        hr_p = float("nan")
    else:
        cox = cox_ph(time, event, trt.astype(np.float64), strata=strata if stratified else None)
        hr = Estimate(
            float(cox.hr[0]), float(cox.se[0]), float(cox.hr_lower[0]), float(cox.hr_upper[0])
        )
        hr_p = float(cox.p[0])
    last = min(float(time[trt == g].max()) for g in (0, 1))
    tau = min(tau_days if tau_days is not None else milestone_days, last)
    rm = rmst(time, event, tau, group=trt)
    assert rm.difference is not None  # two groups
    rdiff = Estimate(
        rm.difference.estimate, rm.difference.std_err, rm.difference.lower, rm.difference.upper
    )

    by_stratum: dict[str, dict[str, Estimate]] = {}
    if strata is not None:
        for s in sorted(np.unique(strata)):
            by_stratum[str(s)] = {}
            for arm in (control, treatment):
                m = (strata == s) & (d["ARM"] == arm).to_numpy()
                if m.any():
                    by_stratum[str(s)][arm] = _milestone(
                        kaplan_meier(time[m], event[m]), milestone_days
                    )

    cif = None
    cif_ms = None
    gray: dict[int, float] = {}
    if "CAUSE" in d.columns and (d["CAUSE"] > 0).any():
        cause = d["CAUSE"].to_numpy(dtype=np.int64)
        cif = cumulative_incidence(time, cause, group=d["ARM"].to_numpy())
        cif_ms = cif.at([milestone_days]).to_frame()
        for k in cif.causes:
            gray[int(k)] = float(
                gray_test(time, cause, d["ARM"].to_numpy(), cause_of_interest=int(k)).p
            )
    return EndpointAnalysis(
        paramcd=paramcd,
        control=control,
        treatment=treatment,
        milestone_days=milestone_days,
        tau_days=tau,
        stratified=stratified,
        arms=tuple(summaries),
        logrank_chisq=float(lr.chisq),
        logrank_p=float(lr.p_value),
        hazard_ratio=hr,
        hazard_ratio_p=hr_p,
        rmst_difference=rdiff,
        cif=cif,
        cif_milestone=cif_ms,
        gray_p=gray,
        by_stratum=by_stratum,
        data=d,
    )
