"""The looks of simulated trials: schedule, boundaries, decisions, crossover, the report.

:func:`evaluate_block` runs the group-sequential monitoring of a block of trials with the
batched statistics of :mod:`blinasim.stats` (replicates x patients arrays): the data cut
of each look (:func:`schedule_from_events`), the bounds at the observed information
(:class:`BoundaryCache`), the decision, the crossover of control patients after an early
stop (:func:`crossover_eligible`, which :mod:`blinasim.trial.result` uses too) and the
operating-characteristics report of each trial (:class:`BlockOutcome`).

The primary statistic is the (stratified) log-rank ``Z = -(O - E)/sqrt(V)`` of the
experimental arm: positive favours the experimental arm.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from blinasim.stats import km_survival_at_batched, logrank_test_batched
from blinasim.stats.nph import MAXCOMBO_DEFAULT, weighted_logrank_batched
from blinasim.trial.design import TrialDesign
from blinasim.trial.monitoring import GroupSequentialDesign, group_sequential_design
from blinasim.trial.patients import PatientBlock, SimulatedPatients
from blinasim.units import DAYS_PER_YEAR

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


def _two_sided_p(z: FloatArray) -> FloatArray:
    """Two-sided normal p-value of z-scores."""
    return np.asarray(special.erfc(np.abs(z) / math.sqrt(2.0)), dtype=np.float64)


def _weighted_z(
    design: TrialDesign,
    time: NDArray[Any],
    event: NDArray[Any],
    arm: NDArray[Any],
    stratum: NDArray[Any],
    mask: NDArray[Any],
) -> FloatArray:
    """The weighted primary test as a z-score (> 0 favours the experimental arm).

    FH(rho, gamma): its z. MaxCombo: the normal quantile of 1 - p, so that one critical
    value (the fixed design's z_(1-alpha)) decides both.
    """
    p = design.primary
    strata = stratum if p.stratified else None
    pairs: tuple[tuple[float, float], ...] = (
        ((float(p.fh[0]), float(p.fh[1])),) if p.test == "weighted_logrank" else MAXCOMBO_DEFAULT
    )
    wl = weighted_logrank_batched(time, event, arm, strata, mask=mask, rho_gamma=pairs)
    if p.test == "weighted_logrank":
        return np.asarray(wl.z[:, 0], dtype=np.float64)
    pv = wl.maxcombo_p()
    return np.asarray(special.ndtri(1.0 - np.clip(pv, 1e-300, 1.0)), dtype=np.float64)


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
    strat = design.primary.test == "stratified_logrank" or (
        design.primary.weighted and design.primary.stratified
    )
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
        if design.primary.weighted:
            zk = _weighted_z(
                design, time[rows], event[rows], st.arm[rows], st.stratum[rows], mask[rows]
            )
        z[rows, k] = zk
        l_oe[rows, k] = lr.observed - lr.expected
        l_var[rows, k] = lr.variance
        l_p[rows, k] = lr.p_value if not design.primary.weighted else _two_sided_p(zk)
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
        if design.primary.weighted:
            rep_z = _weighted_z(design, time, event, st.arm, st.stratum, mask)
            rep_p = _two_sided_p(rep_z)
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


def crossover_eligible(
    design: TrialDesign,
    rand_day: FloatArray,
    arm: IntArray,
    stratum: IntArray,
    dfs: FloatArray,
    ltfu: FloatArray,
    include: BoolArray,
    stop_day: FloatArray,
    stopped: BoolArray,
) -> BoolArray:
    """Control patients who cross over at an early stop, ``(trials, patients)``.

    A control patient of a stopped trial (``stopped``, ``(B,)``) among ``include`` crosses
    over when randomized at most the stratum's window before ``stop_day`` and still
    event-free and followed then. Patient arrays are ``(B, n)``; a design without
    crossover gives no one.
    """
    co = design.early_stop.crossover
    if co is None:
        return np.zeros(rand_day.shape, dtype=bool)
    window = np.full(len(design.population.strata), -np.inf)
    for name, w in co.window_days.items():
        window[design.population.strata.index(name)] = w
    since = stop_day[:, None] - rand_day
    eligible: BoolArray = (
        stopped[:, None]
        & include
        & (arm == 0)
        & (since >= 0)
        & (since <= window[stratum])
        & (dfs > since)
        & (ltfu > since)
    )
    return eligible


def _crossover(
    design: TrialDesign, st: PatientBlock, stop_day: FloatArray, stopped: BoolArray
) -> tuple[FloatArray | None, IntArray]:
    """Per-patient censoring time (from randomization) for control patients who cross."""
    if design.early_stop.crossover is None:
        return None, np.zeros(stop_day.size, dtype=np.int64)
    eligible = crossover_eligible(
        design, st.rand_day, st.arm, st.stratum, st.dfs, st.ltfu, st.valid, stop_day, stopped
    )
    censor = np.where(eligible, stop_day[:, None] - st.rand_day, np.inf)
    return censor, eligible.sum(axis=1).astype(np.int64)


__all__ = [
    "DECISION_CONTINUE",
    "DECISION_EFFICACY",
    "DECISION_FUTILITY",
    "DECISION_HARM",
    "DECISION_LABELS",
    "BlockOutcome",
    "BoundaryCache",
    "Schedule",
    "crossover_eligible",
    "evaluate_block",
    "look_schedule",
    "schedule_from_events",
]
