"""What one simulated trial produces: its looks, CONSORT flow and ADaM ADTTE data.

:func:`trial_result` turns a trial's patients and its monitoring (one row of a
:class:`~blinasim.trial.looks.BlockOutcome`) into a :class:`TrialResult`: the looks up to
the decision, the data cut of the report, who crossed over (the same rule as the batched
path, :func:`~blinasim.trial.looks.crossover_eligible`), the CONSORT counts and the ADTTE
rows. The estimates are not made here: :attr:`TrialResult.estimates` computes them from
the ADTTE on first use (:func:`blinasim.trial.estimates.trial_estimates`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.io.adam import adtte_frame
from blinasim.trial.design import TrialDesign
from blinasim.trial.estimates import Estimates, trial_estimates
from blinasim.trial.looks import (
    DECISION_EFFICACY,
    DECISION_FUTILITY,
    DECISION_HARM,
    DECISION_LABELS,
    BlockOutcome,
    BoundaryCache,
    crossover_eligible,
    look_schedule,
)
from blinasim.trial.patients import SimulatedPatients
from blinasim.trial.sources.base import CAUSE_LABELS

BoolArray = NDArray[np.bool_]


@dataclasses.dataclass(frozen=True)
class LookResult:
    """One analysis of one trial."""

    index: int
    name: str
    date: dt.date
    day: float
    events: int
    n_randomized: int
    information_fraction: float
    z: float
    critical_value: float
    futility_bound: float
    nominal_p: float
    decision: str


@dataclasses.dataclass(frozen=True)
class Consort:
    """CONSORT flow counts of one trial."""

    screened: int
    enrolled: int
    by_risk_group: dict[str, int]
    reached_randomization: int
    randomized: dict[str, int]
    not_randomized_closed: int
    crossed_over: int
    lost_to_follow_up: dict[str, int]

    def to_frame(self) -> pd.DataFrame:
        """Long table: stage, group, count."""
        rows: list[tuple[str, str, int]] = [
            ("screened", "", self.screened),
            ("enrolled", "", self.enrolled),
        ]
        rows += [("risk group", k, v) for k, v in self.by_risk_group.items()]
        rows.append(("reached randomization", "", self.reached_randomization))
        rows.append(("not randomized (randomization closed)", "", self.not_randomized_closed))
        rows += [("randomized", k, v) for k, v in self.randomized.items()]
        rows.append(("crossed over", "", self.crossed_over))
        rows += [("lost to follow-up", k, v) for k, v in self.lost_to_follow_up.items()]
        return pd.DataFrame(rows, columns=["stage", "group", "count"])


@dataclasses.dataclass(frozen=True)
class TrialResult:
    """One simulated trial: ADaM ADTTE data, CONSORT, looks, decision, data cut.

    :attr:`estimates` (computed from ``adtte`` on first use, then kept) are the
    trial statisticians' estimates at the reported data cut.
    """

    design_name: str
    design_hash: str
    seed: int
    adtte: pd.DataFrame
    consort: Consort
    looks: tuple[LookResult, ...]
    decision: str
    stopped_early: bool
    data_cut: dt.date
    design: TrialDesign

    @functools.cached_property
    def estimates(self) -> Estimates:
        """DFS at the milestone, Cox HR, RMST difference and log-rank test of the ADTTE."""
        return trial_estimates(self.design, self.adtte, self.data_cut)

    def looks_frame(self) -> pd.DataFrame:
        """One row per look."""
        return pd.DataFrame([dataclasses.asdict(lk) for lk in self.looks])

    def estimates_frame(self) -> pd.DataFrame:
        """Long table of the estimates: quantity, group, value."""
        return self.estimates.to_frame()


def _date(design: TrialDesign, day: float) -> dt.date:
    return design.accrual.start_date + dt.timedelta(days=math.floor(day))


def trial_result(
    design: TrialDesign,
    seed: int,
    pts: SimulatedPatients,
    out: BlockOutcome,
    cache: BoundaryCache,
) -> TrialResult:
    """The result of one trial from its patients and its monitoring (a 1-trial block)."""
    arms = (design.allocation.control, design.allocation.experimental)
    labels = [a.label for a in arms]
    sched = look_schedule(design, pts)
    gs = cache.bounds(sched.events, int(sched.events[-1]))
    looks = []
    last = int(out.stop_look[0])
    for k in range(last + 1):
        name = design.analyses[k].name if k < len(design.analyses) else f"look {k + 1}"
        if k == sched.cut_day.size - 1 and k < len(design.analyses) - 1:
            name += " (administrative end)"
        looks.append(
            LookResult(
                index=k + 1,
                name=name,
                date=_date(design, float(out.look_day[0, k])),
                day=float(out.look_day[0, k]),
                events=int(out.look_events[0, k]),
                n_randomized=int(out.look_n[0, k]),
                information_fraction=float(gs.information_rates[k]),
                z=float(out.z[0, k]),
                critical_value=float(out.critical[0, k]),
                futility_bound=float(out.futility[0, k]),
                nominal_p=float(0.5 * math.erfc(float(out.z[0, k]) / math.sqrt(2.0))),
                decision=DECISION_LABELS[int(out.decision[0, k])],
            )
        )
    early = bool(out.early_stop[0])
    final_dec = int(out.decision[0, last])
    if final_dec == DECISION_EFFICACY:
        decision = f"reject H0 (efficacy) at look {last + 1}"
    elif final_dec == DECISION_FUTILITY:
        decision = f"stop for futility at look {last + 1}"
    elif final_dec == DECISION_HARM:
        decision = f"stop for harm at look {last + 1}"
    else:
        decision = "do not reject H0"
    stop_day = float(out.duration_days[0])
    report_day = float(out.report_day[0])
    # which randomized patients are in the report, who crossed over
    closed = early and design.early_stop.stop_randomization
    keep = ~(closed & (pts.rand_day > stop_day)) & (pts.rand_day < report_day)
    crossed = crossover_eligible(
        design,
        pts.rand_day[None, :],
        pts.arm[None, :],
        pts.stratum[None, :],
        pts.dfs[None, :],
        pts.ltfu[None, :],
        keep[None, :],
        np.array([stop_day]),
        np.array([early]),
    )[0]
    adtte = _adtte(design, pts, keep, crossed, stop_day, report_day, labels)
    rg_counts = np.bincount(pts.risk_group, minlength=len(pts.risk_group_names))
    randomized = {lab: int(((pts.arm == a) & keep).sum()) for a, lab in enumerate(labels)}
    lost = {}
    for a, lab in enumerate(labels):
        sel = keep & (pts.arm == a)
        follow = report_day - pts.rand_day[sel]
        lost[lab] = int(((pts.ltfu[sel] < follow) & (pts.ltfu[sel] < pts.dfs[sel])).sum())
    consort = Consort(
        screened=pts.screened,
        enrolled=int(pts.enroll_day.size),
        by_risk_group={n: int(c) for n, c in zip(pts.risk_group_names, rg_counts, strict=True)},
        reached_randomization=pts.n_randomized,
        randomized=randomized,
        not_randomized_closed=int((~keep & (pts.rand_day > stop_day)).sum()),
        crossed_over=int(crossed.sum()),
        lost_to_follow_up=lost,
    )
    return TrialResult(
        design_name=design.name,
        design_hash=design.design_hash(),
        seed=seed,
        adtte=adtte,
        consort=consort,
        looks=tuple(looks),
        decision=decision,
        stopped_early=early,
        data_cut=_date(design, report_day),
        design=design,
    )


def _adtte(
    design: TrialDesign,
    pts: SimulatedPatients,
    keep: BoolArray,
    crossed: BoolArray,
    stop_day: float,
    report_day: float,
    labels: list[str],
) -> pd.DataFrame:
    """ADaM ADTTE rows (DFS, OS, EFS) of the randomized patients in the report."""
    idx = np.flatnonzero(keep)
    follow = report_day - pts.rand_day[idx]
    ltfu = pts.ltfu[idx]
    cross_t = np.where(crossed[idx], stop_day - pts.rand_day[idx], np.inf)
    limit = np.minimum(np.minimum(follow, ltfu), cross_t)
    reason = np.where(
        cross_t <= np.minimum(follow, ltfu),
        "CROSSOVER",
        np.where(ltfu < follow, "LOST TO FOLLOW-UP", "DATA CUTOFF"),
    )
    dfs = pts.dfs[idx]
    death = pts.death[idx]
    ev_dfs = dfs <= limit
    ev_os = death <= limit
    delay = pts.rand_delay[idx]
    start = design.accrual.start_date
    co = design.allocation
    return adtte_frame(
        study=design.name,
        patient=pts.patient[idx],
        arm=np.where(pts.arm[idx] == 1, labels[1], labels[0]),
        armcd=np.where(pts.arm[idx] == 1, co.experimental.id, co.control.id),
        stratum=np.asarray(pts.strata, dtype=object)[pts.stratum[idx]],
        start_date=start,
        rand_day=pts.rand_day[idx],
        enroll_day=pts.rand_day[idx] - delay,
        dfs_time=np.where(ev_dfs, dfs, limit),
        dfs_event=ev_dfs,
        dfs_desc=np.array([CAUSE_LABELS[int(c)] for c in pts.dfs_cause[idx]], dtype=object),
        os_time=np.where(ev_os, death, limit),
        os_event=ev_os,
        censor_reason=reason,
    )


__all__ = ["Consort", "LookResult", "TrialResult", "trial_result"]
