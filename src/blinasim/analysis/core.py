"""The standard time-to-event analysis of one ADTTE parameter, two arms or more.

Kaplan-Meier by arm with a milestone estimate, (stratified) log-rank test, Cox hazard
ratio (stratified when strata are given), RMST difference, and, when competing causes are
coded, Aalen-Johansen cumulative incidence with Gray's test. With more than two arms the
log-rank test is the k-sample test (k - 1 df) and each experimental arm is compared with
the control (:mod:`blinasim.analysis.karms`: hazard ratios from one Cox model, pairwise
log-rank tests with Holm's adjustment, RMST differences). The same function analyses
real trial data and simulated trials, so both give one kind of report.

A quantity the data cannot estimate is never printed as a number: a milestone past an
arm's last follow-up (a Kaplan-Meier curve is not defined there), a hazard ratio or
log-rank test without events carry ``not estimable: <why>`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blinasim.analysis.arms import ControlArm, resolve_control
from blinasim.analysis.estimate import Estimate
from blinasim.analysis.karms import MULTIPLICITY, ArmComparison, compare_to_control
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
    treatments: tuple[str, ...] = ()
    comparisons: tuple[ArmComparison, ...] = ()
    logrank_df: int = 1
    nph: dict[str, Any] | None = None
    extrapolation: dict[str, Any] | None = None

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
        }
        if self.comparisons:
            out["treatments"] = list(self.treatments)
            out["logrank"]["df"] = self.logrank_df
            out["multiplicity"] = MULTIPLICITY
            out["rmst_tau_days"] = self.tau_days
            out["comparisons"] = [c.as_dict() for c in self.comparisons]
        else:
            out["hazard_ratio"] = {**self.hazard_ratio.as_dict(), "p": self.hazard_ratio_p}
            out["rmst_difference_days"] = {
                **self.rmst_difference.as_dict(),
                "tau_days": self.tau_days,
            }
        if self.nph is not None:
            out["nonproportional_hazards"] = self.nph
        if self.extrapolation is not None:
            out["parametric_fits"] = self.extrapolation
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
    """Analyse one parameter of a validated ADTTE table with two or more arms.

    ``control`` is the reference arm: a name, a resolved :class:`ControlArm`, or None to
    recognise it from the arm labels (an :class:`InputError` asks for it otherwise). The
    hazard ratio and the RMST difference are treatment versus control. ``tau_days``
    defaults to the milestone, cut to the shorter arm's last follow-up (with more than two
    arms: the shortest of all arms'). With more than two arms ``treatment`` names the
    experimental arms together, ``treatments`` lists them (sorted) and ``comparisons``
    holds each against the control; the two-arm fields ``hazard_ratio`` and
    ``rmst_difference`` then say why they are not given.
    """
    d = df[df["PARAMCD"] == paramcd].reset_index(drop=True)
    if d.empty:
        raise InputError(f"rows with PARAMCD {paramcd}", field="PARAMCD")
    arms = sorted(d["ARM"].unique())
    if len(arms) < 2:
        raise InputError("at least two arms", field="ARM", got=arms)
    ref = (
        control
        if isinstance(control, ControlArm)
        else resolve_control(d, arms, control, arm_column=str(df.attrs.get("arm_column", "ARM")))
    )
    if ref.arm not in arms:
        raise InputError(f"a control arm among {arms}", field="--control", got=ref.arm)
    control_arm = ref.arm
    treatments = tuple(a for a in arms if a != control_arm)
    order = (control_arm, *treatments)
    time = d["AVAL"].to_numpy(dtype=np.float64)
    event = d["EVENT"].to_numpy(dtype=np.int64)
    arm_labels = d["ARM"].to_numpy()
    position = {a: i for i, a in enumerate(order)}
    code = np.array([position[a] for a in arm_labels], dtype=np.int64)
    strata = d["STRATUM"].to_numpy() if "STRATUM" in d.columns else None
    stratified = strata is not None and len(np.unique(strata)) > 1
    fit_strata = strata if stratified else None

    summaries = [
        _arm_summary(arm, time, event, code == i, milestone_days) for i, arm in enumerate(order)
    ]
    lr_note = "" if event.sum() > 0 else f"no events in {paramcd}"
    lr_df = len(order) - 1
    if lr_note:
        lr_chisq, lr_p = float("nan"), float("nan")
    else:
        lr = logrank_test(time, event, code, strata=fit_strata)
        lr_chisq, lr_p, lr_df = float(lr.chisq), float(lr.p_value), int(lr.df)
    horizon = tau_days if tau_days is not None else milestone_days
    comparisons: tuple[ArmComparison, ...] = ()
    if len(treatments) > 1:
        treatment = ", ".join(treatments)
        comparisons, tau = compare_to_control(
            time,
            event,
            arm_labels,
            control=control_arm,
            treatments=treatments,
            strata=fit_strata,
            tau_days=horizon,
        )
        why = "more than two arms: one estimate per arm (comparisons)"
        hr, hr_p, rdiff = Estimate.missing(why), float("nan"), Estimate.missing(why)
    else:
        treatment = treatments[0]
        hr, hr_p = _hazard_ratio(time, event, code, fit_strata, summaries, paramcd)
        tau, rdiff = rmst_difference(time, event, code, horizon)

    by_stratum: dict[str, dict[str, Estimate]] = {}
    if strata is not None:
        for s in sorted(np.unique(strata)):
            by_stratum[str(s)] = {}
            for i, arm in enumerate(order):
                m = (strata == s) & (code == i)
                if m.any():
                    by_stratum[str(s)][arm] = _milestone(
                        kaplan_meier(time[m], event[m]), milestone_days, float(time[m].max())
                    )
    cif, cif_ms, gray = _competing(d, time, milestone_days)
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
        treatments=treatments if comparisons else (),
        comparisons=comparisons,
        logrank_df=lr_df,
    )


def _arm_summary(
    arm: str, time: np.ndarray, event: np.ndarray, m: np.ndarray, milestone_days: float
) -> ArmSummary:
    km = kaplan_meier(time[m], event[m])
    return ArmSummary(
        arm=arm,
        n=int(m.sum()),
        events=int(event[m].sum()),
        km=km,
        milestone=_milestone(km, milestone_days, float(time[m].max())),
        median_days=float(km.median().time),
    )


def _hazard_ratio(
    time: np.ndarray,
    event: np.ndarray,
    trt: np.ndarray,
    strata: np.ndarray | None,
    summaries: list[ArmSummary],
    paramcd: str,
) -> tuple[Estimate, float]:
    """Two arms: the Cox hazard ratio of arm code 1 against 0 and its Wald p."""
    no_events = [a.arm for a in summaries if a.events == 0]
    if event.sum() == 0:
        return Estimate.missing(f"no events in {paramcd}"), float("nan")
    if no_events:
        # the Cox likelihood has no maximum: the estimate would run off to 0 or infinity
        return Estimate.missing(f"no events in arm {no_events[0]}"), float("nan")
    cox = cox_ph(time, event, trt.astype(np.float64), strata=strata)
    hr = Estimate(
        float(cox.hr[0]), float(cox.se[0]), float(cox.hr_lower[0]), float(cox.hr_upper[0])
    )
    return hr, float(cox.p[0])


def _competing(
    d: pd.DataFrame, time: np.ndarray, milestone_days: float
) -> tuple[CumulativeIncidence | None, pd.DataFrame | None, dict[int, float]]:
    """Aalen-Johansen CIFs by arm, their milestone values and Gray's test per cause."""
    gray: dict[int, float] = {}
    if "CAUSE" not in d.columns or not (d["CAUSE"] > 0).any():
        return None, None, gray
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
    return cif, cif_ms, gray
