"""The standard two-arm time-to-event analysis of one ADTTE parameter.

Kaplan-Meier by arm with a milestone estimate, (stratified) log-rank test, Cox hazard
ratio (stratified when strata are given), RMST difference, and, when competing causes are
coded, Aalen-Johansen cumulative incidence with Gray's test. The same function analyses
real trial data and simulated trials, so both give one kind of report.

A quantity the data cannot estimate is never printed as a number: a milestone past an
arm's last follow-up (a Kaplan-Meier curve is not defined there), a hazard ratio or
log-rank test without events carry ``not estimable: <why>`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blinasim.analysis.arms import ControlArm, resolve_control
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
from blinasim.units import DAYS_PER_YEAR


@dataclass(frozen=True)
class Estimate:
    """A point estimate with standard error and 95% interval.

    ``note`` says why there is no estimate (the numbers are then NaN).
    """

    estimate: float
    se: float
    lower: float
    upper: float
    note: str = ""

    @classmethod
    def missing(cls, why: str) -> Estimate:
        """No estimate, because ``why``."""
        nan = float("nan")
        return cls(nan, nan, nan, nan, why)

    @property
    def estimable(self) -> bool:
        """False when the data cannot give this estimate."""
        return not self.note

    def flag(self) -> str:
        """``"not estimable: <why>"``."""
        return f"not estimable: {self.note}"

    def percent(self) -> str:
        """``"87.9% ± 2.1%"``; the SE is omitted where it is not estimable (S = 0 or 1)."""
        if self.note:
            return self.flag()
        if self.se != self.se:  # NaN
            return f"{self.estimate:.1%} (SE not estimable)"
        return f"{self.estimate:.1%} ± {self.se:.1%}"

    def interval(self, fmt: str = ".1%", sep: str = " to ") -> str:
        """``"85.1% to 90.2%"``, or the reason there is none."""
        if self.note:
            return self.flag()
        if not (math.isfinite(self.lower) and math.isfinite(self.upper)):
            return "–"  # e.g. S = 1 with no events: no Greenwood interval
        return f"{self.lower:{fmt}}{sep}{self.upper:{fmt}}"

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON); ``not_estimable`` gives the reason when there is none."""
        out: dict[str, Any] = {
            "estimate": self.estimate,
            "se": self.se,
            "lower": self.lower,
            "upper": self.upper,
        }
        if self.note:
            out["not_estimable"] = self.note
        return out


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
    control_reason: str
    milestone_days: float
    tau_days: float
    stratified: bool
    arms: tuple[ArmSummary, ...]
    logrank_chisq: float
    logrank_p: float
    logrank_note: str
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
            "control_reason": self.control_reason,
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
                **({"not_estimable": self.logrank_note} if self.logrank_note else {}),
            },
            "hazard_ratio": {**self.hazard_ratio.as_dict(), "p": self.hazard_ratio_p},
            "rmst_difference_days": {**self.rmst_difference.as_dict(), "tau_days": self.tau_days},
        }
        if self.cif_milestone is not None:
            out["cumulative_incidence_milestone"] = self.cif_milestone.to_dict(orient="records")
            out["gray_p"] = {str(k): v for k, v in self.gray_p.items()}
        return out


def years_text(days: float) -> str:
    """Days as years for a message, rounded down: 766 -> ``"2.09 years"``."""
    y = np.floor(days / DAYS_PER_YEAR * 100) / 100
    return f"{y:.2f}".rstrip("0").rstrip(".") + " years"


def _milestone(km: KaplanMeier, t: float, last_followup: float) -> Estimate:
    """KM survival at ``t``; not estimable past the last follow-up (unless S already hit 0)."""
    at = km.at([t])
    s = float(at.survival[0])
    if t > last_followup and s > 0:
        return Estimate.missing(f"last follow-up {years_text(last_followup)}")
    return Estimate(s, float(at.std_err[0]), float(at.lower[0]), float(at.upper[0]))


def rmst_horizon(time: np.ndarray, group: np.ndarray, tau_days: float) -> float:
    """The RMST horizon: ``tau_days`` cut to the shorter arm's last follow-up.

    The one definition of the horizon (survRM2's default, which refuses a tau past the
    shorter arm's last time): every RMST difference of the package uses it. ``group`` is
    0 (control) or 1 (treatment); both must be present.
    """
    last = min(float(time[group == g].max()) for g in (0, 1))
    return min(tau_days, last)


def rmst_difference(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, tau_days: float
) -> tuple[float, Estimate]:
    """Horizon (:func:`rmst_horizon`) and RMST difference, treatment (1) minus control (0)."""
    tau = rmst_horizon(time, group, tau_days)
    rm = rmst(time, event, tau, group=group)
    assert rm.difference is not None  # two groups
    return tau, Estimate(
        rm.difference.estimate, rm.difference.std_err, rm.difference.lower, rm.difference.upper
    )


def analyze_endpoint(
    df: pd.DataFrame,
    *,
    paramcd: str,
    milestone_days: float = 3 * DAYS_PER_YEAR,
    tau_days: float | None = None,
    control: str | ControlArm | None = None,
) -> EndpointAnalysis:
    """Analyse one parameter of a validated ADTTE table with exactly two arms.

    ``control`` is the reference arm: a name, a resolved :class:`ControlArm`, or None to
    recognise it from the arm labels (an :class:`InputError` asks for it otherwise). The
    hazard ratio and the RMST difference are treatment versus control. ``tau_days``
    defaults to the milestone, cut to the shorter arm's last follow-up.
    """
    d = df[df["PARAMCD"] == paramcd].reset_index(drop=True)
    if d.empty:
        raise InputError(f"rows with PARAMCD {paramcd}", field="PARAMCD")
    arms = sorted(d["ARM"].unique())
    if len(arms) != 2:
        raise InputError("exactly two arms", field="ARM", got=arms)
    ref = (
        control
        if isinstance(control, ControlArm)
        else resolve_control(d, arms, control, arm_column=str(df.attrs.get("arm_column", "ARM")))
    )
    if ref.arm not in arms:
        raise InputError(f"a control arm among {arms}", field="--control", got=ref.arm)
    control_arm = ref.arm
    treatment = next(a for a in arms if a != control_arm)
    time = d["AVAL"].to_numpy(dtype=np.float64)
    event = d["EVENT"].to_numpy(dtype=np.int64)
    trt = (d["ARM"] == treatment).to_numpy(dtype=np.int64)
    strata = d["STRATUM"].to_numpy() if "STRATUM" in d.columns else None
    stratified = strata is not None and len(np.unique(strata)) > 1

    summaries = []
    for arm in (control_arm, treatment):
        m = (d["ARM"] == arm).to_numpy()
        km = kaplan_meier(time[m], event[m])
        summaries.append(
            ArmSummary(
                arm=arm,
                n=int(m.sum()),
                events=int(event[m].sum()),
                km=km,
                milestone=_milestone(km, milestone_days, float(time[m].max())),
                median_days=float(km.median().time),
            )
        )
    lr_note = "" if event.sum() > 0 else f"no events in {paramcd}"
    if lr_note:
        lr_chisq, lr_p = float("nan"), float("nan")
    else:
        lr = logrank_test(time, event, trt, strata=strata if stratified else None)
        lr_chisq, lr_p = float(lr.chisq), float(lr.p_value)
    no_events = [a.arm for a in summaries if a.events == 0]
    if event.sum() == 0:
        hr = Estimate.missing(f"no events in {paramcd}")
        hr_p = float("nan")
    elif no_events:
        # the Cox likelihood has no maximum: the estimate would run off to 0 or infinity
        hr = Estimate.missing(f"no events in arm {no_events[0]}")
        hr_p = float("nan")
    else:
        cox = cox_ph(time, event, trt.astype(np.float64), strata=strata if stratified else None)
        hr = Estimate(
            float(cox.hr[0]), float(cox.se[0]), float(cox.hr_lower[0]), float(cox.hr_upper[0])
        )
        hr_p = float(cox.p[0])
    tau, rdiff = rmst_difference(
        time, event, trt, tau_days if tau_days is not None else milestone_days
    )

    by_stratum: dict[str, dict[str, Estimate]] = {}
    if strata is not None:
        for s in sorted(np.unique(strata)):
            by_stratum[str(s)] = {}
            for arm in (control_arm, treatment):
                m = (strata == s) & (d["ARM"] == arm).to_numpy()
                if m.any():
                    by_stratum[str(s)][arm] = _milestone(
                        kaplan_meier(time[m], event[m]), milestone_days, float(time[m].max())
                    )

    cif = None
    cif_ms = None
    gray: dict[int, float] = {}
    if "CAUSE" in d.columns and (d["CAUSE"] > 0).any():
        cause = d["CAUSE"].to_numpy(dtype=np.int64)
        cif = cumulative_incidence(time, cause, group=d["ARM"].to_numpy())
        cif_ms = cif.at([milestone_days]).to_frame()
        groups = d["ARM"].to_numpy()
        last_by_arm = {str(g): float(time[groups == g].max()) for g in np.unique(groups)}
        notes = [
            f"last follow-up {years_text(last_by_arm[str(g)])}"
            if milestone_days > last_by_arm[str(g)]
            else ""
            for g in cif_ms["group"]
        ]
        cif_ms["not_estimable"] = notes
        past = np.array([bool(x) for x in notes])
        for col in ("estimate", "std_err", "variance"):
            if col in cif_ms.columns:
                cif_ms.loc[past, col] = float("nan")
        for k in cif.causes:
            gray[int(k)] = float(
                gray_test(time, cause, d["ARM"].to_numpy(), cause_of_interest=int(k)).p
            )
    return EndpointAnalysis(
        paramcd=paramcd,
        control=control_arm,
        treatment=treatment,
        control_reason=ref.reason,
        milestone_days=milestone_days,
        tau_days=tau,
        stratified=stratified,
        arms=tuple(summaries),
        logrank_chisq=lr_chisq,
        logrank_p=lr_p,
        logrank_note=lr_note,
        hazard_ratio=hr,
        hazard_ratio_p=hr_p,
        rmst_difference=rdiff,
        cif=cif,
        cif_milestone=cif_ms,
        gray_p=gray,
        by_stratum=by_stratum,
        data=d,
    )
