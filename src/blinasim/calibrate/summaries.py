"""Simulated counterparts of the calibration targets.

:func:`summarize` turns one simulation (:class:`blinasim.model.engine.Outcomes`) into one
:class:`SummaryValue` per target: the simulated statistic, its Monte Carlo standard error
and the number of simulated units it rests on. Populations (see the target file):

* *randomized*: rows with a randomization day; ``blinatumomab`` arms are the randomized
  arms that are not controls (B, D), ``chemotherapy`` the controls (A, C).
* *chemotherapy only* (the AALL0932 / CCG backbone comparators): every eligible child once,
  on their stratum's chemotherapy arm (FAV, A, C), plus the children taken off study
  (induction failure, EOC MRD >= 0.1%); induction failure is an EFS event at end of
  induction.

The simulations have no censoring (every child is followed to the horizon), so a survival
probability at ``t`` is a plain proportion. Two targets are virtual experiments outside the
trial, computed from the same parameters (:func:`css_mean`, :func:`blina_mrd_response`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.calibrate.targets import SummarySpec, Target
from blinasim.calibrate.virtual import (
    SummaryValue,
    VirtualExperiments,
    blina_cr_response,
    blina_mrd_response,
    css_mean,
    prop,
)
from blinasim.stats.cox import cox_ph
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]

DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
EOI_DAY = 29.0
"""End of induction: the day of first remission and of induction failure."""
FLOW_NEGATIVE_BELOW = 1e-4
FLOW_LOW_POSITIVE_BELOW = 1e-3
"""Virtual patients in the PK and MRD-response experiments (fixed draws: smooth in theta)."""


@dataclass(frozen=True)
class _Frame:
    """Column arrays of the patient table, prepared once per simulation."""

    arm: NDArray[np.object_]
    group: NDArray[np.object_]
    reason: NDArray[np.object_]
    rand: FloatArray
    first_event: FloatArray
    relapse: FloatArray
    site: NDArray[np.object_]
    cd19neg: NDArray[np.bool_]
    death: FloatArray
    eoi_flow: FloatArray
    eoc_flow: FloatArray
    patient_id: NDArray[np.int64]
    randomized: NDArray[np.bool_]
    blina: NDArray[np.bool_]
    chemo_only: NDArray[np.bool_]


def _frame(patients: pd.DataFrame, blina_arms: Sequence[str]) -> _Frame:
    inf = np.inf
    arm = patients["arm"].to_numpy(dtype=object)
    rel = patients["relapse_day"].to_numpy(dtype=float)
    death = patients["death_day"].to_numpy(dtype=float)
    smn = patients["second_malignancy_day"].to_numpy(dtype=float)
    rel_i = np.where(np.isnan(rel), inf, rel)
    death_i = np.where(np.isnan(death), inf, death)
    smn_i = np.where(np.isnan(smn), inf, smn)
    first = np.minimum(np.minimum(rel_i, death_i), smn_i)
    reason = patients["risk_reason"].astype(str).to_numpy(dtype=object)
    first = np.where(reason == "induction failure", np.minimum(first, EOI_DAY), first)
    rand = patients["randomization_day"].to_numpy(dtype=float)
    blina = np.isin(arm, list(blina_arms))
    randomized = ~np.isnan(rand)
    return _Frame(
        arm=arm,
        group=patients["risk_group"].astype(str).to_numpy(dtype=object),
        reason=reason,
        rand=rand,
        first_event=first,
        relapse=rel_i,
        site=patients["relapse_site"].to_numpy(dtype=object),
        cd19neg=patients["relapse_cd19_negative"].to_numpy(dtype=bool),
        death=death_i,
        eoi_flow=patients["eoi_flow"].to_numpy(dtype=float),
        eoc_flow=patients["eoc_flow"].to_numpy(dtype=float),
        patient_id=patients["patient_id"].to_numpy(dtype=np.int64),
        randomized=randomized,
        blina=blina,
        chemo_only=~blina,
    )


def _arm_mask(f: _Frame, arm: str | None) -> NDArray[np.bool_]:
    if arm == "blinatumomab":
        return f.randomized & f.blina
    if arm == "chemotherapy":
        return f.randomized & ~f.blina
    raise ValueError(f"arm must be blinatumomab or chemotherapy, got {arm!r}")


def _stratum(f: _Frame, stratum: str | None) -> NDArray[np.bool_]:
    if stratum in (None, "all"):
        return np.ones(f.arm.size, dtype=bool)
    return np.asarray(f.group == stratum)


def _dfs(f: _Frame, s: SummarySpec) -> SummaryValue:
    m = _arm_mask(f, s.arm) & _stratum(f, s.stratum)
    assert s.years is not None
    t = f.first_event[m] - f.rand[m]
    return prop(t > s.years * DAYS_PER_YEAR)


def _at_risk(f: _Frame, s: SummarySpec, vx: VirtualExperiments) -> SummaryValue:
    assert s.years is not None
    follow = vx.at_risk_follow_up or {}
    if s.years not in follow:
        raise ValueError(f"no follow-up fraction for year {s.years} in the calibration config")
    c = follow[s.years]
    d = _dfs(f, s.model_copy(update={"stratum": "all"}))
    return SummaryValue(d.value * c, d.mc_se * c, d.n)


def _sr_average_share(f: _Frame) -> SummaryValue:
    m = _arm_mask(f, "blinatumomab")
    return prop(f.group[m] == "SR-Average")


def _row_keys(pid: NDArray[np.int64], arm: NDArray[np.object_]) -> NDArray[np.int64]:
    _, code = np.unique(arm.astype(str), return_inverse=True)
    return pid * 64 + code.astype(np.int64)


@dataclass(frozen=True)
class _EventKeys:
    """Row keys of the patient table and of the grade >= 3 adverse events (once per summary)."""

    rows: NDArray[np.int64]
    events: NDArray[np.int64]
    event: NDArray[np.object_]
    day: FloatArray


def _event_keys(f: _Frame, aes: pd.DataFrame) -> _EventKeys:
    ev = aes[aes["grade"] >= 3]
    names = np.concatenate([f.arm.astype(str), ev["arm"].to_numpy(dtype=object).astype(str)])
    keys_all = _row_keys(
        np.concatenate([f.patient_id, ev["patient_id"].to_numpy(dtype=np.int64)]),
        names.astype(object),
    )
    return _EventKeys(
        rows=keys_all[: f.arm.size],
        events=keys_all[f.arm.size :],
        event=ev["event"].to_numpy(dtype=object),
        day=ev["day"].to_numpy(dtype=float),
    )


def _adverse_event(f: _Frame, s: SummarySpec, k: _EventKeys) -> SummaryValue:
    m = _arm_mask(f, s.arm) & _stratum(f, s.stratum)
    this = k.event == s.event
    row_keys, ev_keys = k.rows[m], k.events[this]
    rand = pd.Series(f.rand[m], index=row_keys)
    r = rand.reindex(ev_keys).to_numpy(dtype=float)
    post = k.day[this] >= r
    return prop(np.isin(row_keys, ev_keys[post]))


def _unique_children(f: _Frame) -> NDArray[np.bool_]:
    """One row per child (the chemotherapy-only row where there are two)."""
    return f.chemo_only


def _eoi_flow_negative(f: _Frame) -> SummaryValue:
    m = _unique_children(f)
    x = f.eoi_flow[m]
    return prop(np.nan_to_num(x, nan=1.0) < FLOW_NEGATIVE_BELOW)


def _efs(f: _Frame, s: SummarySpec, mask: NDArray[np.bool_] | None = None) -> SummaryValue:
    assert s.years is not None
    m = f.chemo_only & _stratum(f, s.stratum)
    if mask is not None:
        m &= mask
    return prop(f.first_event[m] > s.years * DAYS_PER_YEAR)


def _efs_by_mrd(f: _Frame, s: SummarySpec) -> SummaryValue:
    x = f.eoi_flow
    if s.mrd == "negative":
        mask = x < FLOW_NEGATIVE_BELOW
    elif s.mrd == "eoc_positive":
        # EOC MRD was measured in children MRD-positive at EOI (Borowitz 2008)
        mask = (x >= FLOW_NEGATIVE_BELOW) & (f.eoc_flow >= FLOW_NEGATIVE_BELOW)
    else:
        mask = (x >= FLOW_NEGATIVE_BELOW) & (x < FLOW_LOW_POSITIVE_BELOW)
    return _efs(f, s.model_copy(update={"stratum": "all"}), np.asarray(mask))


def _os(f: _Frame, s: SummarySpec) -> SummaryValue:
    assert s.years is not None
    m = f.chemo_only & _stratum(f, s.stratum)
    return prop(f.death[m] > s.years * DAYS_PER_YEAR)


def _relapses(f: _Frame, arm: str | None) -> NDArray[np.bool_]:
    base = _arm_mask(f, "blinatumomab") if arm == "blinatumomab" else f.chemo_only
    return base & np.isfinite(f.relapse) & (f.relapse <= f.first_event + 1e-9)


def _cd19neg_share(f: _Frame, s: SummarySpec) -> SummaryValue:
    m = _relapses(f, s.arm)
    return prop(f.cd19neg[m])


def _marrow_share(f: _Frame, s: SummarySpec) -> SummaryValue:
    m = _relapses(f, s.arm)
    return prop(np.isin(f.site[m], ["marrow", "combined"]))


def _isolated_cns(f: _Frame, s: SummarySpec) -> SummaryValue:
    assert s.years is not None
    m = f.chemo_only
    r = _relapses(f, "chemotherapy")[m]
    cns = r & (f.site[m] == "cns") & (f.relapse[m] <= s.years * DAYS_PER_YEAR)
    return prop(np.asarray(cns))


def _follow_up_years(pid: NDArray[np.int64], follow: dict[float, float]) -> FloatArray:
    """Each child's follow-up at the data cut, from P(follow-up >= t) (piecewise linear).

    A fixed uniform per child (the golden-ratio sequence of its id: common random numbers).
    """
    years = np.array([0.0, *sorted(follow)], dtype=np.float64)
    surv = np.array([1.0, *(follow[y] for y in sorted(follow))], dtype=np.float64)
    years = np.append(years, years[-1] + 1.0)
    surv = np.append(surv, 0.0)
    u = np.mod(pid.astype(np.float64) * 0.6180339887498949 + 0.5, 1.0)
    # invert the decreasing survival curve: follow-up t with P(F >= t) = u
    return np.asarray(np.interp(-u, -surv, years), dtype=np.float64)


def _hazard_ratio(f: _Frame, s: SummarySpec, vx: VirtualExperiments) -> SummaryValue:
    """Stratified Cox DFS hazard ratio, blinatumomab vs chemotherapy, censored at a data cut.

    Each randomized child is followed for a follow-up drawn from the report's (the numbers
    at risk: ``at_risk_follow_up``); the MC SE is the Cox SE (it overstates the noise: both
    arms are the same children).
    """
    m = f.randomized
    t = (f.first_event[m] - f.rand[m]) / DAYS_PER_YEAR
    fu = _follow_up_years(f.patient_id[m], dict(vx.at_risk_follow_up or {}))
    event = (t <= fu).astype(np.float64)
    time = np.minimum(t, fu)
    fit = cox_ph(time, event, f.blina[m].astype(np.float64), strata=f.group[m].astype(str))
    return SummaryValue(float(fit.hr[0]), float(fit.hr[0] * fit.se[0]), int(m.sum()))


def _late_share(f: _Frame, s: SummarySpec) -> SummaryValue:
    assert s.months is not None
    m = _relapses(f, s.arm)
    return prop(f.relapse[m] >= s.months * DAYS_PER_MONTH)


def _median_months(f: _Frame, s: SummarySpec) -> SummaryValue:
    m = _relapses(f, s.arm)
    sites = ["marrow", "combined"] if s.site == "marrow" else ["cns"]
    x = (f.relapse[m & np.isin(f.site, sites)] - EOI_DAY) / DAYS_PER_MONTH
    n = int(x.size)
    if n < 5:
        return SummaryValue(math.nan, math.nan, n)
    med = float(np.median(x))
    # SE of a median: 1.2533 * SD / sqrt(n) (normal approximation)
    return SummaryValue(med, 1.2533 * float(np.std(x)) / math.sqrt(n), n)


def summarize(
    outcomes: Any,
    targets: Sequence[Target],
    *,
    params: Any,
    blina_arms: Sequence[str],
    vx: VirtualExperiments,
    seed: int,
) -> dict[str, SummaryValue]:
    """The simulated counterpart of every target, keyed by target id.

    ``outcomes`` is a :class:`blinasim.model.engine.Outcomes`; ``params`` the
    :class:`blinasim.model.engine.ModelParams` it was simulated with.
    """
    f = _frame(outcomes.patients, blina_arms)
    out: dict[str, SummaryValue] = {}
    keys: _EventKeys | None = None
    for t in targets:
        s = t.summary
        if s is None:  # no simulated counterpart: not compared by the calibration
            continue
        st = s.statistic
        if st == "dfs":
            v = _dfs(f, s)
        elif st == "at_risk":
            v = _at_risk(f, s, vx)
        elif st == "sr_average_share":
            v = _sr_average_share(f)
        elif st == "adverse_event":
            if keys is None:
                keys = _event_keys(f, outcomes.adverse_events)
            v = _adverse_event(f, s, keys)
        elif st == "eoi_flow_negative":
            v = _eoi_flow_negative(f)
        elif st == "efs_by_eoi_mrd":
            v = _efs_by_mrd(f, s)
        elif st == "efs":
            v = _efs(f, s)
        elif st == "os":
            v = _os(f, s)
        elif st == "css_mean":
            assert s.dose_ug_per_day is not None
            v = css_mean(s.dose_ug_per_day, params, vx, seed)
        elif st == "blina_mrd_response":
            assert s.population is not None
            v = blina_mrd_response(s.population, params, vx, seed)
        elif st == "blina_cr_response":
            assert s.population is not None
            v = blina_cr_response(s.population, params, vx, seed)
        elif st == "cd19neg_share":
            v = _cd19neg_share(f, s)
        elif st == "marrow_share":
            v = _marrow_share(f, s)
        elif st == "isolated_cns_incidence":
            v = _isolated_cns(f, s)
        elif st == "late_relapse_share":
            v = _late_share(f, s)
        elif st == "hazard_ratio":
            v = _hazard_ratio(f, s, vx)
        elif st == "median_relapse_months":
            v = _median_months(f, s)
        else:  # pragma: no cover - the schema lists every statistic
            raise ValueError(f"unknown statistic {st!r}")
        out[t.id] = v
    return out


__all__ = [
    "SummaryValue",
    "VirtualExperiments",
    "blina_cr_response",
    "blina_mrd_response",
    "css_mean",
    "summarize",
]
