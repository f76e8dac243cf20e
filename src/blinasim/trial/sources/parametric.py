"""The parametric outcome source: event times from the laws of a design file.

:class:`ParametricOutcomes` draws them from the laws of the design file (exponential,
piecewise exponential, Weibull, mixture cure, or a hazard ratio against the control law of
the same stratum). Every draw is a per-patient uniform
(:func:`~blinasim.trial.sources.base.patient_uniforms`) transformed by an inverse survival
function, keyed by replicate and enrolment index: the same patient gets the same uniform
in either arm (common random numbers), whatever the cohort size or number of workers.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import NDArray

from blinasim.trial.design import (
    OutcomeModel,
    ParametricSource,
    Population,
    TrialDesign,
)
from blinasim.trial.laws import Exponential, MixtureCure, PiecewiseExponential, Weibull
from blinasim.trial.sources.base import (
    CAUSE_EVENT,
    CAUSE_NONE,
    U_DFS,
    U_REACH,
    U_RISK,
    Enrollees,
    EventTimes,
    patient_uniforms,
)
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# ---------------------------------------------------------------------------------------
# Inverse survival functions (days)

BaseLaw = Exponential | PiecewiseExponential | Weibull | MixtureCure


def survival(law: BaseLaw, days: FloatArray, hazard_ratio: float = 1.0) -> FloatArray:
    """``S(t)^HR`` of a law at ``days``."""
    t = np.asarray(days, dtype=np.float64) / DAYS_PER_YEAR
    return np.asarray(np.exp(-hazard_ratio * _cumhaz(law, t)), dtype=np.float64)


def _cumhaz(law: BaseLaw, years: FloatArray) -> FloatArray:
    if isinstance(law, Exponential):
        return years * law.rate_per_day() * DAYS_PER_YEAR
    if isinstance(law, Weibull):
        return (years / law.scale_years) ** law.shape
    if isinstance(law, PiecewiseExponential):
        b = np.asarray(law.breaks_years)
        h = np.asarray(law.hazards_per_year)
        edges = np.concatenate([[0.0], b])
        cum = np.concatenate([[0.0], np.cumsum(np.diff(edges) * h[:-1])])
        j = np.searchsorted(edges, years, side="right") - 1
        return np.asarray(cum[j] + (years - edges[j]) * h[j], dtype=np.float64)
    p = law.cure_fraction
    s_u = np.exp(-_cumhaz(law.uncured, years))
    return np.asarray(-np.log(p + (1.0 - p) * s_u), dtype=np.float64)


def _inverse_cumhaz(law: Exponential | PiecewiseExponential | Weibull, h: FloatArray) -> FloatArray:
    """Years at which the cumulative hazard reaches ``h`` (``inf`` if never)."""
    if isinstance(law, Exponential):
        return h / (law.rate_per_day() * DAYS_PER_YEAR)
    if isinstance(law, Weibull):
        return np.asarray(law.scale_years * h ** (1.0 / law.shape), dtype=np.float64)
    b = np.asarray(law.breaks_years)
    hz = np.asarray(law.hazards_per_year)
    edges = np.concatenate([[0.0], b])
    cum = np.concatenate([[0.0], np.cumsum(np.diff(edges) * hz[:-1])])
    j = np.searchsorted(cum, h, side="right") - 1
    # within a zero-hazard segment the next segment with hazard takes over via searchsorted
    rate = hz[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = edges[j] + (h - cum[j]) / rate
    return np.asarray(np.where(rate > 0, t, np.inf), dtype=np.float64)


def inverse_survival(law: BaseLaw, u: FloatArray, hazard_ratio: float = 1.0) -> FloatArray:
    """Days ``t`` with ``S(t)^HR = u`` (``inf`` for cured patients)."""
    uu = np.asarray(u, dtype=np.float64)
    if hazard_ratio != 1.0:
        uu = uu ** (1.0 / hazard_ratio)
    if isinstance(law, MixtureCure):
        p = law.cure_fraction
        cured = uu <= p
        v = np.where(cured, 0.5, (uu - p) / (1.0 - p))
        yrs = _inverse_cumhaz(law.uncured, -np.log(v))
        yrs = np.where(cured, np.inf, yrs)
    else:
        yrs = _inverse_cumhaz(law, -np.log(uu))
    return np.asarray(yrs * DAYS_PER_YEAR, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# Parametric source


def risk_groups_from_uniforms(
    population: Population, u: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """Risk group, stratum (-1: not randomized) and randomization delay from uniforms.

    ``u`` has shape ``(..., 2)`` (risk group, reaching randomization); any leading shape
    (one trial, or replicates x patients).
    """
    groups = population.risk_groups
    strata = population.strata
    cum = np.cumsum([g.fraction for g in groups])
    cum[-1] = 1.0
    rg = np.minimum(np.searchsorted(cum, u[..., 0], side="right"), len(groups) - 1)
    to_stratum = np.array([strata.index(g.name) if g.randomized else -1 for g in groups])
    frac = np.array([g.randomized_fraction if g.randomized else 0.0 for g in groups])
    delay = np.array([g.randomization_day for g in groups], dtype=np.float64)
    reaches = u[..., 1] < frac[rg]
    stratum = np.where(reaches, to_stratum[rg], -1).astype(np.int64)
    return rg.astype(np.int64), stratum, np.where(stratum >= 0, delay[rg], np.nan)


def enroll_population(population: Population, n: int, *, seed: int, replicate: int) -> Enrollees:
    """Risk groups and randomization points of ``n`` enrollees from the design's mix."""
    u = patient_uniforms(seed, replicate, n)
    rg, stratum, delay = risk_groups_from_uniforms(population, u[:, U_RISK : U_REACH + 1])
    return Enrollees(
        risk_group_names=tuple(g.name for g in population.risk_groups),
        risk_group=rg,
        stratum=stratum,
        randomization_delay=delay,
    )


@dataclasses.dataclass(frozen=True)
class _Cell:
    law: BaseLaw
    hazard_ratio: float
    death_after_event: float
    median_death_days: float


class ParametricOutcomes:
    """Outcome source from the parametric laws of a design (per arm and stratum)."""

    def __init__(self, design: TrialDesign) -> None:
        src = design.outcomes
        if not isinstance(src, ParametricSource):
            raise TypeError("ParametricOutcomes needs a design with a parametric source")
        self.population = design.population
        self.strata = tuple(design.population.strata)
        ctrl, exp = design.allocation.control.id, design.allocation.experimental.id
        self._cells: dict[tuple[int, int], _Cell] = {}
        for s_idx, s in enumerate(self.strata):
            by_arm: dict[str, OutcomeModel] = {}
            for m in src.models:
                if m.stratum in (None, s):
                    by_arm[m.arm] = m
            c = by_arm[ctrl]
            assert c.dfs is not None
            for a_idx, arm in enumerate((ctrl, exp)):
                m = by_arm[arm]
                law = m.dfs if m.dfs is not None else c.dfs
                self._cells[(s_idx, a_idx)] = _Cell(
                    law=law,
                    hazard_ratio=m.hazard_ratio if m.hazard_ratio is not None else 1.0,
                    death_after_event=m.death_after_event,
                    median_death_days=m.median_death_years * DAYS_PER_YEAR,
                )

    def cell_survival(self, stratum: int, arm: int, days: FloatArray) -> FloatArray:
        """True DFS survival of a stratum x arm cell at ``days`` from randomization."""
        c = self._cells[(stratum, arm)]
        return survival(c.law, days, c.hazard_ratio)

    def times_from_uniforms(
        self, u: FloatArray, stratum: IntArray, arm: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """DFS and death times (days from randomization) from per-patient uniforms.

        ``u`` is ``(m, 3)``: DFS (inverse survival of the cell's law), death after the
        event (Bernoulli), time from event to death (exponential). 1-D patient arrays.
        """
        dfs = np.full(stratum.size, np.inf)
        death = np.full(stratum.size, np.inf)
        cell = stratum * 2 + arm
        for (s, a), c in self._cells.items():
            idx = np.flatnonzero(cell == s * 2 + a)
            if idx.size == 0:
                continue
            t = inverse_survival(c.law, u[idx, 0], c.hazard_ratio)
            dfs[idx] = t
            if c.death_after_event > 0:
                dies = (u[idx, 1] < c.death_after_event) & np.isfinite(t)
                after = -np.log1p(-u[idx, 2]) * (c.median_death_days / math.log(2.0))
                death[idx] = np.where(dies, t + after, np.inf)
        return dfs, death

    def enroll(self, n: int, *, seed: int, replicate: int) -> Enrollees:
        """Risk groups and randomization points from the design's population."""
        return enroll_population(self.population, n, seed=seed, replicate=replicate)

    def outcomes(
        self,
        patient: IntArray,
        stratum: IntArray,
        arm: IntArray,
        *,
        seed: int,
        replicate: int,
    ) -> EventTimes:
        """DFS (inverse CDF of the cell's law) and death after a DFS event."""
        n_max = int(patient.max()) + 1 if patient.size else 0
        u = patient_uniforms(seed, replicate, n_max)[patient]
        dfs, death = self.times_from_uniforms(u[:, U_DFS:], stratum, arm)
        cause = np.where(np.isfinite(dfs), CAUSE_EVENT, CAUSE_NONE).astype(np.int64)
        return EventTimes(dfs=dfs, dfs_cause=cause, death=death)


__all__ = [
    "BaseLaw",
    "ParametricOutcomes",
    "enroll_population",
    "inverse_survival",
    "risk_groups_from_uniforms",
    "survival",
]
