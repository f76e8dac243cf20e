"""Simulating one trial: accrual, randomization, follow-up, interim looks, the report.

The same code path serves :func:`run_trial` (one trial, patient-level ADaM data and full
estimates) and :func:`blinasim.trial.replicate` (many trials, operating
characteristics): :func:`simulate_patients` draws a trial's patients, and
:func:`evaluate_block` runs the group-sequential monitoring of a block of trials with the
batched statistics of :mod:`blinasim.stats` (replicates x patients arrays).

Calendar times are days from the study start; patient times are days from randomization.
The primary statistic is the (stratified) log-rank ``Z = -(O - E)/sqrt(V)`` of the
experimental arm: positive favours the experimental arm.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.stats import (
    kaplan_meier,
    km_survival_at_batched,
    logrank_test,
    logrank_test_batched,
    rmst,
)
from blinasim.stats.cox import cox_ph
from blinasim.trial.accrual import cumulative_intensity, enrollment_days, inverse_intensity
from blinasim.trial.design import DAYS_PER_YEAR, TrialDesign
from blinasim.trial.monitoring import GroupSequentialDesign, group_sequential_design
from blinasim.trial.randomization import stratified_assignments, stratified_assignments_many
from blinasim.trial.sources import OutcomeSource, ParametricOutcomes, outcome_source
from blinasim.trial.sources.base import (
    CAUSE_LABELS,
    PATIENT_DRAWS,
    U_ACCRUAL,
    U_DFS,
    U_LTFU,
    U_REACH,
    U_RISK,
    Enrollees,
    patient_uniforms,
)
from blinasim.trial.sources.parametric import risk_groups_from_uniforms

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

DECISION_CONTINUE = 0
DECISION_EFFICACY = 1
DECISION_FUTILITY = 2
DECISION_HARM = 3
DECISION_LABELS = {
    DECISION_CONTINUE: "continue",
    DECISION_EFFICACY: "efficacy",
    DECISION_FUTILITY: "futility",
    DECISION_HARM: "harm",
}


# ---------------------------------------------------------------------------------------
# Patients of one simulated trial


@dataclasses.dataclass(frozen=True)
class SimulatedPatients:
    """The patients of one simulated trial (truth, before any data cut).

    Enrolled patients (index = order of enrolment): ``enroll_day``, ``risk_group``;
    ``screened`` counts the children screened to enrol them.
    Randomized patients, in order of randomization: ``patient`` (enrolment index),
    ``stratum``, ``arm`` (0 control, 1 experimental), ``rand_day`` (calendar),
    ``dfs``/``death``/``ltfu`` (days from randomization, ``inf`` = never) and
    ``dfs_cause``.
    """

    replicate: int
    strata: tuple[str, ...]
    risk_group_names: tuple[str, ...]
    screened: int
    enroll_day: FloatArray
    risk_group: IntArray
    patient: IntArray
    stratum: IntArray
    arm: IntArray
    rand_day: FloatArray
    rand_delay: FloatArray
    dfs: FloatArray
    dfs_cause: IntArray
    death: FloatArray
    ltfu: FloatArray

    @property
    def n_randomized(self) -> int:
        """Number randomized."""
        return int(self.patient.size)

    def dfs_event_days(self) -> FloatArray:
        """Calendar day of each observable DFS event (``inf`` if censored by loss first)."""
        seen = self.dfs <= self.ltfu
        return np.where(seen, self.rand_day + self.dfs, np.inf)


def _randomization_share(design: TrialDesign) -> float:
    return sum(
        g.fraction * g.randomized_fraction for g in design.population.risk_groups if g.randomized
    )


def _initial_enrollees(design: TrialDesign) -> int:
    """How many enrollees to draw first (enough in almost every trial)."""
    acc = design.accrual
    if acc.target_randomized is not None:
        share = max(_randomization_share(design), 0.01)
        return math.ceil(acc.target_randomized / share * 1.08) + 64
    assert acc.stop_date is not None
    stop = float((acc.stop_date - acc.start_date).days)
    return math.ceil(float(cumulative_intensity(acc, stop)) * 1.08) + 64


def simulate_patients(
    design: TrialDesign, source: OutcomeSource, *, seed: int, replicate: int
) -> SimulatedPatients:
    """Draw the patients of trial ``replicate``: accrual, risk groups, randomization, times."""
    acc = design.accrual
    admin_end = design.max_follow_up_years * DAYS_PER_YEAR
    n = _initial_enrollees(design)
    if acc.stop_date is not None:
        stop = float((acc.stop_date - acc.start_date).days)
    while True:
        # per-patient uniforms: accrual gap, loss to follow-up (columns of PATIENT_STREAM)
        u = patient_uniforms(seed, replicate, n)
        days = enrollment_days(acc, n, seed=seed, replicate=replicate, uniforms=u[:, U_ACCRUAL])
        enr = source.enroll(n, seed=seed, replicate=replicate)
        if acc.target_randomized is not None:
            idx = np.flatnonzero(enr.randomizable)
            if idx.size >= acc.target_randomized:
                n_enrolled = int(idx[acc.target_randomized - 1]) + 1
                break
        else:
            if days[-1] >= stop:
                n_enrolled = int(np.searchsorted(days, stop, side="left"))
                break
        if days[-1] > admin_end * 4:
            raise RuntimeError("accrual never reaches its target: check the design's rates")
        n *= 2
    return _assemble(design, source, enr, days, u[:, 1], n_enrolled, seed=seed, replicate=replicate)


def _assemble(
    design: TrialDesign,
    source: OutcomeSource,
    enr: Enrollees,
    days: FloatArray,
    u_ltfu: FloatArray,
    n_enrolled: int,
    *,
    seed: int,
    replicate: int,
) -> SimulatedPatients:
    strata = source.strata
    stratum_all = enr.stratum[:n_enrolled]
    sel = np.flatnonzero(stratum_all >= 0)
    rand_day = days[sel] + enr.randomization_delay[sel]
    order = np.argsort(rand_day, kind="stable")
    patient = sel[order].astype(np.int64)
    rand_day = rand_day[order]
    stratum = stratum_all[patient]
    arm = stratified_assignments(
        stratum, len(strata), design.allocation, seed=seed, replicate=replicate
    )
    times = source.outcomes(patient, stratum, arm, seed=seed, replicate=replicate)
    rate = design.loss_to_follow_up.rate_per_year
    if rate > 0:
        ltfu = -np.log1p(-u_ltfu[patient]) / rate * DAYS_PER_YEAR
    else:
        ltfu = np.full(patient.size, np.inf)
    return SimulatedPatients(
        replicate=replicate,
        strata=strata,
        risk_group_names=enr.risk_group_names,
        screened=int(enr.screened[n_enrolled - 1])
        if enr.screened is not None and n_enrolled > 0
        else n_enrolled,
        enroll_day=days[:n_enrolled].copy(),
        risk_group=enr.risk_group[:n_enrolled].copy(),
        patient=patient,
        stratum=stratum.astype(np.int64),
        arm=arm.astype(np.int64),
        rand_day=rand_day,
        rand_delay=enr.randomization_delay[patient],
        dfs=times.dfs,
        dfs_cause=times.dfs_cause,
        death=times.death,
        ltfu=ltfu,
    )


# ---------------------------------------------------------------------------------------
# Look schedule and boundaries


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Calendar cut day of each look of one trial (looks past the end are dropped)."""

    cut_day: FloatArray
    events: IntArray


def look_schedule(design: TrialDesign, pts: SimulatedPatients) -> Schedule:
    """Data-cut days of the looks: the day of the k-th DFS event, or the look's date."""
    return schedule_from_events(design, np.sort(pts.dfs_event_days()))


def schedule_from_events(design: TrialDesign, ev: FloatArray) -> Schedule:
    """Look schedule from the sorted calendar days of the observable DFS events."""
    admin_end = design.max_follow_up_years * DAYS_PER_YEAR
    cuts: list[float] = []
    for k, a in enumerate(design.analyses):
        if a.date is not None:
            c = float((a.date - design.accrual.start_date).days)
        else:
            d = design.look_events(k)
            assert d is not None
            c = float(ev[d - 1]) if d <= ev.size else math.inf
        c = min(c, admin_end)
        if cuts and c <= cuts[-1]:
            c = cuts[-1]
        cuts.append(c)
        if c >= admin_end:
            break
    # merge looks that collapse onto the same day (keep the later, more final one)
    out: list[float] = []
    for c in cuts:
        if out and c == out[-1]:
            continue
        out.append(c)
    cut = np.asarray(out, dtype=np.float64)
    events = np.searchsorted(ev, cut, side="right").astype(np.int64)
    return Schedule(cut_day=cut, events=events)


class BoundaryCache:
    """Group-sequential bounds at observed information fractions (memoized)."""

    def __init__(self, design: TrialDesign) -> None:
        self.design = design
        m = design.monitoring
        self.planned = design.planned_events()
        self.final_planned = design.final_events()
        k = len(design.analyses)
        if self.planned is not None:
            rates = [e / self.planned[-1] for e in self.planned]
        else:
            rates = [(i + 1) / k for i in range(k)]
        rates[-1] = 1.0
        self.planned_design = self._make(tuple(rates), k)
        self._cache: dict[tuple[tuple[float, ...], int], GroupSequentialDesign] = {}
        self.spending = m.spending.startswith("as")

    def _make(self, rates: tuple[float, ...], n_looks: int) -> GroupSequentialDesign:
        m = self.design.monitoring
        fut = None
        if m.futility is not None and n_looks > 1:
            fut = list(m.futility.bounds_z[: n_looks - 1])
            if len(fut) < n_looks - 1:
                fut += [-math.inf] * (n_looks - 1 - len(fut))
        return group_sequential_design(
            list(rates),
            alpha=m.alpha,
            sided=m.sided,
            kind=m.spending,
            gamma=m.gamma,
            delta_wt=m.delta_wt,
            futility_bounds=fut,
            binding_futility=bool(m.futility and m.futility.binding),
        )

    def bounds(self, events: IntArray, final_events: int) -> GroupSequentialDesign:
        """Bounds for looks with ``events`` observed events (the last look is final)."""
        n = int(events.size)
        if not self.spending:
            if n == len(self.design.analyses):
                return self.planned_design
            rates = [(i + 1) / n for i in range(n)]
            return self._memo(tuple(rates), n)
        denom = self.final_planned if self.final_planned else max(final_events, 1)
        t = np.minimum(events / denom, 1.0)
        t[-1] = 1.0
        for i in range(n - 2, -1, -1):  # strictly increasing, capped below the next
            t[i] = min(t[i], t[i + 1] - 1e-6)
        t = np.maximum(t, 1e-6)
        return self._memo(tuple(np.round(t, 10).tolist()), n)

    def _memo(self, rates: tuple[float, ...], n: int) -> GroupSequentialDesign:
        key = (rates, n)
        d = self._cache.get(key)
        if d is None:
            d = self._make(rates, n)
            self._cache[key] = d
        return d


# ---------------------------------------------------------------------------------------
# Batched evaluation of many trials


@dataclasses.dataclass(frozen=True)
class BlockOutcome:
    """Monitoring and report of a block of trials; arrays ``(B,)`` or ``(B, K)``.

    Per look (``K`` = design looks; NaN / -1 where a trial had no such look or stopped
    before): ``look_day``, ``look_events``, ``look_n``, ``z``, ``critical``, ``futility``,
    ``decision``. Per trial: ``stop_look`` (0-based look of the decision), ``rejected``
    (H0 rejected at any look: efficacy, or harm in a two-sided design), ``early_stop``,
    ``n_randomized`` (randomized by the decision),
    ``duration_days`` (calendar day of the decision), and the report (data cut at the
    decision plus any extra follow-up): ``report_day``, ``report_events``, ``report_z``,
    ``report_p`` (two-sided), ``hr_logrank`` (``exp((O - E)/V)``), ``dfs_milestone``
    ``(B, 2)`` and its ``dfs_milestone_se``, ``crossed_over``.
    """

    replicate: IntArray
    look_day: FloatArray
    look_events: IntArray
    look_n: IntArray
    z: FloatArray
    critical: FloatArray
    futility: FloatArray
    decision: IntArray
    stop_look: IntArray
    rejected: BoolArray
    early_stop: BoolArray
    n_randomized: IntArray
    duration_days: FloatArray
    report_day: FloatArray
    report_events: IntArray
    report_z: FloatArray
    report_p: FloatArray
    hr_logrank: FloatArray
    dfs_milestone: FloatArray
    dfs_milestone_se: FloatArray
    crossed_over: IntArray


def _stack(values: Sequence[FloatArray | IntArray], fill: float, dtype: Any) -> NDArray[Any]:
    width = max((v.size for v in values), default=0)
    out = np.full((len(values), max(width, 1)), fill, dtype=dtype)
    for i, v in enumerate(values):
        out[i, : v.size] = v
    return out


@dataclasses.dataclass(frozen=True)
class PatientBlock:
    """Randomized patients of a block of trials, ``(replicates, patients)`` arrays.

    Rows are trials (``replicate``), columns randomized patients in order of
    randomization, padded with ``valid = False``.
    """

    replicate: IntArray
    rand_day: FloatArray
    dfs: FloatArray
    ltfu: FloatArray
    arm: IntArray
    stratum: IntArray
    valid: BoolArray


def stack_patients(trials: Sequence[SimulatedPatients]) -> PatientBlock:
    """Stack simulated trials into a :class:`PatientBlock`."""
    valid = _stack([np.ones(p.n_randomized, dtype=bool) for p in trials], False, bool)
    return PatientBlock(
        replicate=np.array([p.replicate for p in trials], dtype=np.int64),
        rand_day=_stack([p.rand_day for p in trials], np.inf, np.float64),
        dfs=_stack([p.dfs for p in trials], np.inf, np.float64),
        ltfu=_stack([p.ltfu for p in trials], np.inf, np.float64),
        arm=_stack([p.arm for p in trials], 0, np.int64),
        stratum=_stack([p.stratum for p in trials], 0, np.int64),
        valid=valid,
    )


def simulate_block(
    design: TrialDesign, source: OutcomeSource, *, seed: int, replicates: Sequence[int]
) -> PatientBlock:
    """Simulate the randomized patients of several trials (vectorized when possible).

    Parametric designs closed at a target sample size take a path vectorized over the
    trials; it draws the same random numbers and gives the same values as
    :func:`simulate_patients` trial by trial (which every other design uses).
    """
    if isinstance(source, ParametricOutcomes) and design.accrual.target_randomized is not None:
        return _simulate_block_parametric(design, source, seed=seed, replicates=replicates)
    return stack_patients(
        [simulate_patients(design, source, seed=seed, replicate=r) for r in replicates]
    )


def _simulate_block_parametric(
    design: TrialDesign, source: ParametricOutcomes, *, seed: int, replicates: Sequence[int]
) -> PatientBlock:
    acc = design.accrual
    target = acc.target_randomized
    assert target is not None
    n = _initial_enrollees(design)
    reps = list(replicates)
    b = len(reps)
    u = np.stack([patient_uniforms(seed, r, n) for r in reps])
    _, stratum_all, delay = risk_groups_from_uniforms(
        design.population, u[:, :, U_RISK : U_REACH + 1]
    )
    rz = stratum_all >= 0
    short = np.flatnonzero(rz.sum(axis=1) < target)
    if short.size:  # rare: not enough randomized among the first n, redo those one by one
        slow = stack_patients(
            [simulate_patients(design, source, seed=seed, replicate=reps[i]) for i in short]
        )
    if acc.process == "uniform":
        op = np.broadcast_to(np.arange(n, dtype=np.float64), (b, n))
    else:
        op = np.cumsum(-np.log1p(-u[:, :, U_ACCRUAL]), axis=1)
    days = inverse_intensity(acc, op)
    # the first `target` randomizable enrollees of each trial, in enrolment order
    first = rz & (np.cumsum(rz, axis=1) <= target)
    if short.size:  # stand-in rows, overwritten by the trial-by-trial rows below
        first[short] = False
        first[short, :target] = True
    pos = np.nonzero(first)[1].reshape(b, target)
    rand = np.take_along_axis(days, pos, axis=1) + np.take_along_axis(delay, pos, axis=1)
    order = np.argsort(rand, axis=1, kind="stable")
    patient = np.take_along_axis(pos, order, axis=1)
    rand_day = np.take_along_axis(rand, order, axis=1)
    stratum = np.take_along_axis(stratum_all, patient, axis=1)
    arm = stratified_assignments_many(
        stratum, len(source.strata), design.allocation, seed=seed, replicates=reps
    )
    up = np.take_along_axis(u, patient[:, :, None], axis=1)
    dfs = source.times_from_uniforms(
        up[:, :, U_DFS:].reshape(b * target, PATIENT_DRAWS - U_DFS), stratum.ravel(), arm.ravel()
    )[0].reshape(b, target)
    rate = design.loss_to_follow_up.rate_per_year
    if rate > 0:
        ul = up[:, :, U_LTFU]
        ltfu = -np.log1p(-ul) / rate * DAYS_PER_YEAR
    else:
        ltfu = np.full((b, target), np.inf)
    block = PatientBlock(
        replicate=np.asarray(reps, dtype=np.int64),
        rand_day=rand_day,
        dfs=dfs,
        ltfu=ltfu,
        arm=arm.astype(np.int64),
        stratum=stratum.astype(np.int64),
        valid=np.ones((b, target), dtype=bool),
    )
    if short.size:
        fields = {f.name: getattr(block, f.name).copy() for f in dataclasses.fields(PatientBlock)}
        for j, i in enumerate(short.tolist()):
            for name, arr in fields.items():
                if name != "replicate":
                    arr[i] = getattr(slow, name)[j, :target]
        block = PatientBlock(**fields)
    return block


def _cut(
    st: PatientBlock, cut: FloatArray, censor_at: FloatArray | None = None
) -> tuple[FloatArray, NDArray[np.int8], BoolArray]:
    """DFS (time, event, mask) at calendar cut ``cut`` (B,); optional extra censoring."""
    c = cut[:, None]
    follow = c - st.rand_day
    mask = st.valid & (st.rand_day < c) & np.isfinite(c)
    limit = np.minimum(st.ltfu, follow)
    if censor_at is not None:
        limit = np.minimum(limit, censor_at)
    event = (st.dfs <= limit) & mask
    time = np.where(event, st.dfs, limit)
    time = np.where(mask, np.maximum(time, 0.0), 0.0)
    return time, event.astype(np.int8), mask


def evaluate_block(design: TrialDesign, block: PatientBlock, cache: BoundaryCache) -> BlockOutcome:
    """Run the monitoring and the report of each trial of a block, batched over trials."""
    st = block
    b = int(st.replicate.size)
    k_max = len(design.analyses)
    seen = st.valid & (st.dfs <= st.ltfu)
    ev_days = np.sort(np.where(seen, st.rand_day + st.dfs, np.inf), axis=1)
    scheds = []
    for i in range(b):
        row = ev_days[i]
        scheds.append(schedule_from_events(design, row[: int(np.searchsorted(row, np.inf))]))
    look_day = np.full((b, k_max), np.nan)
    look_events = np.full((b, k_max), -1, dtype=np.int64)
    for i, s in enumerate(scheds):
        look_day[i, : s.cut_day.size] = s.cut_day
        look_events[i, : s.events.size] = s.events
    n_looks = np.array([s.cut_day.size for s in scheds])
    strat = design.primary.test == "stratified_logrank"
    m = design.monitoring

    z = np.full((b, k_max), np.nan)
    crit = np.full((b, k_max), np.nan)
    fut = np.full((b, k_max), np.nan)
    look_n = np.full((b, k_max), -1, dtype=np.int64)
    decision = np.full((b, k_max), -1, dtype=np.int64)
    l_oe = np.full((b, k_max), np.nan)
    l_var = np.full((b, k_max), np.nan)
    l_p = np.full((b, k_max), np.nan)
    active = np.ones(b, dtype=bool)
    stop_look = n_looks - 1
    rejected = np.zeros(b, dtype=bool)
    bounds = [cache.bounds(s.events, int(s.events[-1])) for s in scheds]
    for k in range(k_max):
        rows = np.flatnonzero(active & (n_looks > k))
        if rows.size == 0:
            break
        cut = np.where(active & (n_looks > k), look_day[:, k], np.nan)
        cut = np.where(np.isnan(cut), -np.inf, cut)
        time, event, mask = _cut(st, cut)
        lr = logrank_test_batched(
            time[rows],
            event[rows],
            st.arm[rows],
            st.stratum[rows] if strat else None,
            mask=mask[rows],
        )
        zk = -lr.z
        z[rows, k] = zk
        l_oe[rows, k] = lr.observed - lr.expected
        l_var[rows, k] = lr.variance
        l_p[rows, k] = lr.p_value
        look_n[rows, k] = mask[rows].sum(axis=1)
        for j, i in enumerate(rows.tolist()):
            gs = bounds[i]
            c = float(gs.critical_values[k])
            crit[i, k] = c
            final = k == n_looks[i] - 1
            f = -math.inf
            if not final and gs.futility_bounds.size > k:
                f = float(gs.futility_bounds[k])
            fut[i, k] = f
            zz = float(zk[j])
            if lr.variance[j] <= 0:
                d = DECISION_CONTINUE
            elif zz >= c:
                d = DECISION_EFFICACY
            elif m.sided == 2 and zz <= -c:
                d = DECISION_HARM
            elif m.sided == 1 and zz <= f:
                d = DECISION_FUTILITY
            else:
                d = DECISION_CONTINUE
            decision[i, k] = d
            if d in (DECISION_EFFICACY, DECISION_HARM):  # H0 rejected, either side
                rejected[i] = True
            if d != DECISION_CONTINUE or final:
                active[i] = False
                stop_look[i] = k
    duration = look_day[np.arange(b), stop_look]
    early = stop_look < n_looks - 1
    es = design.early_stop
    extra = np.where(early, es.additional_follow_up_days, 0.0)
    report_day = duration + extra
    # randomization closes at an early stop: later patients are never randomized
    closed = early & es.stop_randomization
    stop_c = duration[:, None]
    never = closed[:, None] & (st.rand_day > stop_c)
    st_rep = dataclasses.replace(st, valid=st.valid & ~never)
    # randomized by the deciding look (all of them if randomization went on after a stop)
    n_rand = (st.valid & (st.rand_day <= stop_c)).sum(axis=1).astype(np.int64)
    n_rand = np.where(early & ~closed, st.valid.sum(axis=1), n_rand)
    censor_at, crossed = _crossover(design, st_rep, duration, early & (extra >= 0))
    time, event, mask = _cut(st_rep, report_day, censor_at)
    if es.additional_follow_up_days == 0:
        # the report is the deciding look's data: reuse its statistics
        at = np.arange(b), stop_look
        oe, var, rep_z, rep_p = l_oe[at], l_var[at], z[at], l_p[at]
    else:
        lr = logrank_test_batched(time, event, st.arm, st.stratum if strat else None, mask=mask)
        oe, var, rep_z, rep_p = lr.observed - lr.expected, lr.variance, -lr.z, lr.p_value
    with np.errstate(divide="ignore", invalid="ignore"):
        hr = np.exp(oe / var)
    milestone = design.primary.milestone_years * DAYS_PER_YEAR
    km = km_survival_at_batched(time, event, milestone, st.arm, mask=mask)
    surv = np.full((b, 2), np.nan)
    se = np.full((b, 2), np.nan)
    g = km.survival.shape[1]
    surv[:, :g] = km.survival[:, :, 0]
    se[:, :g] = km.std_err[:, :, 0]
    return BlockOutcome(
        replicate=st.replicate.copy(),
        look_day=look_day,
        look_events=look_events,
        look_n=look_n,
        z=z,
        critical=crit,
        futility=fut,
        decision=decision,
        stop_look=stop_look.astype(np.int64),
        rejected=rejected,
        early_stop=early,
        n_randomized=n_rand,
        duration_days=duration,
        report_day=report_day,
        report_events=event.sum(axis=1).astype(np.int64),
        report_z=rep_z,
        report_p=rep_p,
        hr_logrank=hr,
        dfs_milestone=surv,
        dfs_milestone_se=se,
        crossed_over=crossed,
    )


def _crossover(
    design: TrialDesign, st: PatientBlock, stop_day: FloatArray, stopped: BoolArray
) -> tuple[FloatArray | None, IntArray]:
    """Per-patient censoring time (from randomization) for control patients who cross."""
    co = design.early_stop.crossover
    b = stop_day.size
    if co is None:
        return None, np.zeros(b, dtype=np.int64)
    window = np.full(len(design.population.strata), -np.inf)
    for name, w in co.window_days.items():
        window[design.population.strata.index(name)] = w
    since = stop_day[:, None] - st.rand_day
    at_stop = since
    eligible = (
        stopped[:, None]
        & st.valid
        & (st.arm == 0)
        & (since >= 0)
        & (since <= window[st.stratum])
        & (st.dfs > at_stop)
        & (st.ltfu > at_stop)
    )
    censor = np.where(eligible, at_stop, np.inf)
    return censor, eligible.sum(axis=1).astype(np.int64)


# ---------------------------------------------------------------------------------------
# One trial with patient-level data


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


@dataclasses.dataclass(frozen=True)
class TrialResult:
    """One simulated trial: ADaM ADTTE data, CONSORT, looks, decision and estimates."""

    design_name: str
    design_hash: str
    seed: int
    adtte: pd.DataFrame
    consort: Consort
    looks: tuple[LookResult, ...]
    decision: str
    stopped_early: bool
    estimates: Estimates

    def looks_frame(self) -> pd.DataFrame:
        """One row per look."""
        return pd.DataFrame([dataclasses.asdict(lk) for lk in self.looks])

    def estimates_frame(self) -> pd.DataFrame:
        """Long table of the estimates: quantity, group, value."""
        e = self.estimates
        rows: list[tuple[str, str, float]] = []
        for arm, v in e.dfs_milestone.items():
            rows.append((f"DFS at {e.milestone_years:g} years", arm, v))
            rows.append((f"SE of DFS at {e.milestone_years:g} years", arm, e.dfs_milestone_se[arm]))
        rows += [
            ("hazard ratio (Cox, stratified)", "", e.hazard_ratio),
            ("hazard ratio lower 95%", "", e.hazard_ratio_lower),
            ("hazard ratio upper 95%", "", e.hazard_ratio_upper),
            (f"RMST difference (days) to {e.rmst_tau_years:g} years", "", e.rmst_difference_days),
            ("SE of RMST difference (days)", "", e.rmst_difference_se),
            ("stratified log-rank z", "", e.logrank_z),
            ("stratified log-rank p (two-sided)", "", e.logrank_p),
        ]
        rows += [("DFS events", arm, float(v)) for arm, v in e.events.items()]
        return pd.DataFrame(rows, columns=["quantity", "group", "value"])


def _date(design: TrialDesign, day: float) -> dt.date:
    return design.accrual.start_date + dt.timedelta(days=math.floor(day))


def run_trial(
    design: TrialDesign,
    *,
    seed: int,
    params: Any = None,
    replicate: int = 0,
    source: OutcomeSource | None = None,
) -> TrialResult:
    """Simulate one trial and analyse it as the trial statisticians would.

    ``params`` is passed to the outcome source (a parameter set for the mechanistic
    model; ignored by parametric designs). ``replicate`` selects the trial among those
    of :func:`blinasim.trial.replicate` with the same seed (trial ``r`` of a replicate run
    is ``run_trial(design, seed=seed, replicate=r)``). ``source`` (default: the design's,
    built with ``params``) lets a caller keep the outcome source to inspect afterwards.
    """
    if source is None:
        source = outcome_source(design, params)
    pts = simulate_patients(design, source, seed=seed, replicate=replicate)
    cache = BoundaryCache(design)
    out = evaluate_block(design, stack_patients([pts]), cache)
    return _trial_result(design, seed, pts, out, cache)


def _trial_result(
    design: TrialDesign,
    seed: int,
    pts: SimulatedPatients,
    out: BlockOutcome,
    cache: BoundaryCache,
) -> TrialResult:
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
    crossed = np.zeros(pts.n_randomized, dtype=bool)
    co = design.early_stop.crossover
    if early and co is not None:
        since = stop_day - pts.rand_day
        win = np.array([co.window_days.get(s, -np.inf) for s in pts.strata], dtype=np.float64)[
            pts.stratum
        ]
        crossed = (
            keep
            & (pts.arm == 0)
            & (since >= 0)
            & (since <= win)
            & (pts.dfs > since)
            & (pts.ltfu > since)
        )
    adtte = _adtte(design, pts, keep, crossed, stop_day, report_day, labels)
    dfs = adtte[adtte["PARAMCD"] == "DFS"]
    t = dfs["AVAL"].to_numpy(dtype=np.float64)
    e = 1 - dfs["CNSR"].to_numpy(dtype=np.int64)
    armc = (dfs["TRT01P"] == labels[1]).to_numpy().astype(np.int64)
    strat = dfs["STRATUM"].to_numpy()
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
    use_strata = design.primary.test == "stratified_logrank"
    hr = lo = hi = float("nan")
    if e.sum() > 0 and len(set(armc.tolist())) == 2:
        cox = cox_ph(t, e, armc.astype(np.float64), strata=strat if use_strata else None)
        hr, lo, hi = float(cox.hr[0]), float(cox.hr_lower[0]), float(cox.hr_upper[0])
    tau_years = design.primary.rmst_tau_years or design.primary.milestone_years
    tau = min(tau_years * DAYS_PER_YEAR, float(t.max()) if t.size else 0.0)
    rm_diff = rm_se = float("nan")
    if tau > 0 and len(set(armc.tolist())) == 2:
        rm = rmst(t, e, tau, group=armc)
        if rm.difference is not None:
            rm_diff, rm_se = rm.difference.estimate, rm.difference.std_err
    lz = lp = float("nan")
    if len(set(armc.tolist())) == 2:
        lr = logrank_test(t, e, armc, strata=strat if use_strata else None)
        lz, lp = -float(lr.z), float(lr.p_value)
    est = Estimates(
        data_cut=_date(design, report_day),
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
    rg_counts = np.bincount(pts.risk_group, minlength=len(pts.risk_group_names))
    reached = pts.n_randomized
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
        reached_randomization=reached,
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
        estimates=est,
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
    from blinasim.io.adam import adtte_frame

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


__all__ = [
    "DECISION_LABELS",
    "BlockOutcome",
    "BoundaryCache",
    "Consort",
    "Estimates",
    "LookResult",
    "PatientBlock",
    "Schedule",
    "SimulatedPatients",
    "TrialResult",
    "evaluate_block",
    "look_schedule",
    "run_trial",
    "schedule_from_events",
    "simulate_block",
    "simulate_patients",
    "stack_patients",
]
