"""Two relapse trials predicted by the salvage pathway, never fitted: AALL1331 and 20120215.

A virtual relapsed cohort is drawn to the trial's eligibility (``data/relapse_trials/``:
age range, relapse timing and site mix, COG risk groups), every candidate runs the pathway
on both consolidation arms with the same draws (common random numbers), and those alive,
in second remission and free of a second relapse at the randomization day are randomized
(the first ``n_per_arm`` of each arm per replicate). Each candidate carries a relapsing clone
of the first-line model of the same timing x site cell (:func:`clone.donor_clones`), through
the trial's salvage course (:data:`COURSES`: AALL1331 UKALL R3 block 1 then blocks 2-3 or two
blinatumomab blocks; 20120215 IntReALL induction, HC1, HC2, then HC3 or one blinatumomab
cycle). Outcomes are the model's histories, administratively censored at 3 years from
randomization: ``dfs``/``efs`` (second relapse or death) and ``os``. MRD after the first
randomized cycle is the clone's marrow burden at its end (kinetics, not a set reduction);
negative below 1e-4. A research model, not medical advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from blinasim import rng
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.pathway import (
    INTREALL_HR,
    RISK_GROUPS,
    UKALL_R3,
    Course,
    Salvage,
    salvage,
)
from blinasim.stats import cox_ph
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
ARMS = ("blinatumomab", "chemotherapy")
TRIALS = ("aall1331", "20120215")
COURSES: dict[str, Course] = {"aall1331": UKALL_R3, "20120215": INTREALL_HR}
"""The salvage course of each relapse trial (``data/salvage/``)."""
MRD_NEGATIVE_BELOW = 1e-4
MONTHS = DAYS_PER_YEAR / 12.0
CELL_MONTHS = ((3.0, 18.0), (18.0, 36.0), (36.0, 84.0))
"""Months from diagnosis of early / intermediate / late relapses drawn uniformly (assumption:
late relapses within 7 years)."""


@dataclass(frozen=True)
class RelapseTrial:
    """A relapse trial's design facts and virtual cohort (``data/relapse_trials/NAME.yaml``)."""

    name: str
    title: str
    source: str
    age_min_years: float
    age_max_years: float
    age_median_years: float
    risk_groups: tuple[str, ...]
    randomization_after_days: float
    chemo_blocks_before_randomization: int
    n_per_arm: dict[str, int]
    endpoint: str
    share_early: float
    share_intermediate: float
    share_marrow_involving: float
    share_combined_of_marrow: float
    share_favorable_genetics: float

    @classmethod
    def load(cls, name: str) -> RelapseTrial:
        """A shipped relapse trial (:data:`TRIALS`)."""
        if name not in TRIALS:
            raise ValueError(f"unknown relapse trial {name!r}: one of {TRIALS}")
        path = resources.files("blinasim") / "data" / "relapse_trials" / f"{name}.yaml"
        doc: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
        doc["risk_groups"] = tuple(doc["risk_groups"])
        doc["n_per_arm"] = {str(k): int(v) for k, v in doc["n_per_arm"].items()}
        doc["name"] = str(doc["name"])
        out = cls(**doc)
        if set(out.n_per_arm) != set(ARMS) or not set(out.risk_groups) <= set(RISK_GROUPS):
            raise ValueError(f"relapse trial {name}: arms {ARMS}, risk groups in {RISK_GROUPS}")
        return out


@dataclass(frozen=True)
class Cohort:
    """Candidates of a relapse trial (one entry each)."""

    ids: NDArray[np.int64]
    relapse_day: FloatArray
    site: NDArray[np.int64]
    favorable: NDArray[np.bool_]
    age_at_relapse: FloatArray


def relapsed_cohort(spec: RelapseTrial, n: int, seed: int) -> Cohort:
    """``n`` candidates with a first relapse drawn to the trial's mix (CD19-positive)."""
    g = rng.generator(seed, "after_relapse.trial_cohort", TRIALS.index(spec.name))
    u = g.random((n, 5))
    cell = np.where(
        u[:, 0] < spec.share_early,
        0,
        np.where(u[:, 0] < spec.share_early + spec.share_intermediate, 1, 2),
    )
    lo = np.asarray([c[0] for c in CELL_MONTHS])[cell]
    hi = np.asarray([c[1] for c in CELL_MONTHS])[cell]
    day = (lo + (hi - lo) * u[:, 1]) * MONTHS
    marrow = u[:, 2] < spec.share_marrow_involving
    combined = marrow & (u[:, 3] < spec.share_combined_of_marrow)
    site = np.where(~marrow, 1, np.where(combined, 2, 0)).astype(np.int64)
    # age at relapse: log-normal around the median (assumption), within the eligible range
    age = spec.age_median_years * np.exp(0.5 * g.standard_normal(n))
    age = np.clip(age, spec.age_min_years, spec.age_max_years)
    return Cohort(
        ids=np.arange(n, dtype=np.int64),
        relapse_day=day,
        site=site,
        favorable=u[:, 4] < spec.share_favorable_genetics,
        age_at_relapse=age,
    )


def _arm_runs(
    spec: RelapseTrial, c: Cohort, seed: int, ap: AfterRelapseParams
) -> dict[str, Salvage]:
    neg = np.zeros(c.ids.size, dtype=bool)
    return {
        arm: salvage(
            c.ids,
            c.relapse_day,
            c.site,
            neg,
            c.favorable,
            seed=seed,
            ap=ap,
            age_at_relapse_years=c.age_at_relapse,
            consolidation="blinatumomab" if arm == "blinatumomab" else "chemotherapy",
            course=COURSES[spec.name],
        )
        for arm in ARMS
    }


def _eligible(spec: RelapseTrial, c: Cohort, runs: dict[str, Salvage]) -> NDArray[np.bool_]:
    rand = c.relapse_day + spec.randomization_after_days
    ok = np.ones(c.ids.size, dtype=bool)
    for s in runs.values():
        group_ok = np.isin(s.risk_group, [RISK_GROUPS.index(g) for g in spec.risk_groups])
        ok &= group_ok & ~s.refractory & (s.death_day > rand) & (s.relapse2_day > rand)
    return ok


def _mrd_negative(s: Salvage) -> FloatArray:
    # the clone's marrow MRD at the end of the first randomized cycle (kinetics)
    m = s.mrd_after_cycle1
    if m is None:
        raise ValueError("the pathway gave no MRD after the first consolidation cycle")
    return np.asarray(m < MRD_NEGATIVE_BELOW, dtype=np.float64)


def _summ(x: list[float]) -> dict[str, float]:
    a = np.asarray(x, dtype=np.float64)
    lo, hi = np.quantile(a, [0.025, 0.975])
    return {
        "estimate": float(a.mean()),
        "se": float(a.std(ddof=1)) if a.size > 1 else float("nan"),
        "lower": float(lo),
        "upper": float(hi),
    }


def predict(
    spec: RelapseTrial, *, replicates: int, seed: int, ap: AfterRelapseParams
) -> dict[str, Any]:
    """The trial's predicted results over ``replicates`` trials of the published size.

    Keys as ``summary.json`` of a relapse-trial run: ``milestones`` (a list of ``{endpoint,
    years, arm, estimate, se, lower, upper}`` at 1, 2 and 3 years), ``hazard_ratio``
    (``{endpoint: {estimate, lower, upper}}``, geometric mean and quantiles of the Cox
    estimates), ``mrd_negative_after_cycle1`` and ``hsct`` (``{arm: ...}``), and
    ``reinduction``: of every candidate (the enrolled population), the shares dead in the
    reinduction block, refractory after it, and with marrow MRD >= 1e-4 among marrow-involving
    relapses alive after it.
    """
    need = replicates * sum(spec.n_per_arm.values())
    n = max(4 * need, 10_000)
    while True:
        c = relapsed_cohort(spec, n, seed)
        runs = _arm_runs(spec, c, seed, ap)
        idx = np.flatnonzero(_eligible(spec, c, runs))
        if idx.size >= need:
            break
        n *= 2
    per = sum(spec.n_per_arm.values())
    horizon = 3.0 * DAYS_PER_YEAR
    ms: dict[tuple[str, int, str], list[float]] = {}
    hr: dict[str, list[float]] = {spec.endpoint: [], "os": []}
    mrd: dict[str, list[float]] = {a: [] for a in ARMS}
    hsct: dict[str, list[float]] = {a: [] for a in ARMS}
    for r in range(replicates):
        block = idx[r * per : (r + 1) * per]
        take = {
            "blinatumomab": block[: spec.n_per_arm["blinatumomab"]],
            "chemotherapy": block[spec.n_per_arm["blinatumomab"] :],
        }
        times: dict[str, dict[str, FloatArray]] = {spec.endpoint: {}, "os": {}}
        for arm, rows in take.items():
            s = runs[arm]
            rand = c.relapse_day[rows] + spec.randomization_after_days
            death = s.death_day[rows] - rand
            times["os"][arm] = death
            times[spec.endpoint][arm] = np.minimum(death, s.relapse2_day[rows] - rand)
            for ep in (spec.endpoint, "os"):
                for y in (1, 2, 3):
                    ms.setdefault((ep, y, arm), []).append(
                        float(np.mean(times[ep][arm] > y * DAYS_PER_YEAR))
                    )
            mrd[arm].append(float(_mrd_negative(s)[rows].mean()))
            hsct[arm].append(float(np.isfinite(s.hsct_day[rows]).mean()))
        for ep in (spec.endpoint, "os"):
            t = np.concatenate([times[ep]["blinatumomab"], times[ep]["chemotherapy"]])
            x = np.r_[np.ones(take["blinatumomab"].size), np.zeros(take["chemotherapy"].size)]
            ev = (t <= horizon).astype(np.int64)
            fit = cox_ph(np.minimum(t, horizon), ev, x)
            hr[ep].append(float(fit.hr[0]))
    milestones = [
        {"endpoint": ep, "years": y, "arm": arm, **_summ(v)} for (ep, y, arm), v in ms.items()
    ]
    hazard = {}
    for ep, v in hr.items():
        logs = np.log(np.asarray(v))
        lo, hi = np.quantile(logs, [0.025, 0.975])
        hazard[ep] = {
            "estimate": float(np.exp(logs.mean())),
            "lower": float(np.exp(lo)),
            "upper": float(np.exp(hi)),
        }
    # reinduction of every candidate (the same block on both arms): the enrolled population
    s0 = runs["chemotherapy"]
    marrow = c.site != 1
    alive_b1 = np.isfinite(s0.reinduction_mrd)
    block1 = {
        "candidates": int(c.ids.size),
        "died": float(np.mean(~alive_b1)),
        "refractory": float(np.mean(s0.refractory)),
        "mrd_positive_marrow": float(np.mean(s0.reinduction_mrd[marrow & alive_b1] >= 1e-4)),
    }
    return {
        "trial": spec.name,
        "title": spec.title,
        "replicates": replicates,
        "n_per_arm": spec.n_per_arm,
        "milestones": milestones,
        "hazard_ratio": hazard,
        "mrd_negative_after_cycle1": {a: _summ(v) for a, v in mrd.items()},
        "hsct": {a: float(np.mean(v)) for a, v in hsct.items()},
        "reinduction": block1,
    }
