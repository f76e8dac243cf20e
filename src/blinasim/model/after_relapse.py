"""Survival after relapse and second malignancy, and the second-malignancy competing event.

Salvage therapy is not simulated cell by cell. Survival after relapse is a mixture cure
model per cell of (time from diagnosis: early < 18 months, intermediate 18-36, late >= 36) x
(site: marrow-involving vs isolated extramedullary):

``S(t) = pi + (1 - pi) exp(-lambda t)``, ``lambda = ln 2 / median_uncured``,

with ``pi`` chosen so that ``S(5 years)`` equals the published 5-year OS of the cell. A
patient is a long-term survivor if ``u1 < pi``; otherwise death comes ``-log(u2)/lambda``
days after the relapse. Second malignant neoplasms (SMN) arise at a constant hazard from
diagnosis while in first remission (10-year cumulative incidence 1.18%) and are followed by
the same kind of mixture model with their own 5-year OS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from blinasim.config import ParameterSet
from blinasim.model import _draws
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DAYS_PER_MONTH = 365.25 / 12.0


@dataclass(frozen=True)
class AfterRelapseParams:
    """The ``after_relapse`` section of ``parameters.yaml``."""

    early_cutoff_months: float
    late_cutoff_months: float
    os5_marrow_early: float
    os5_marrow_intermediate: float
    os5_marrow_late: float
    os5_extramedullary_early: float
    os5_extramedullary_intermediate: float
    os5_extramedullary_late: float
    median_survival_uncured_days: float
    smn_cumulative_incidence_10y: float
    smn_os5: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> AfterRelapseParams:
        """Read the ``after_relapse`` section (default: the shipped parameter file)."""
        return (params or ParameterSet.load()).section("after_relapse", cls)


def cure_fraction(os5: FloatArray | float, median_uncured_days: float) -> FloatArray:
    """Long-term survivor fraction ``pi`` giving 5-year survival ``os5``."""
    tail = math.exp(-math.log(2.0) / median_uncured_days * 5.0 * DAYS_PER_YEAR)
    return np.clip((np.asarray(os5, dtype=np.float64) - tail) / (1.0 - tail), 0.0, 1.0)


def os5_after_relapse(
    relapse_day: FloatArray, isolated_extramedullary: NDArray[np.bool_], ap: AfterRelapseParams
) -> FloatArray:
    """Published 5-year OS for each relapse's timing x site cell."""
    d = np.asarray(relapse_day, dtype=np.float64)
    early = d < ap.early_cutoff_months * DAYS_PER_MONTH
    late = d >= ap.late_cutoff_months * DAYS_PER_MONTH
    marrow = np.where(
        early, ap.os5_marrow_early, np.where(late, ap.os5_marrow_late, ap.os5_marrow_intermediate)
    )
    em = np.where(
        early,
        ap.os5_extramedullary_early,
        np.where(late, ap.os5_extramedullary_late, ap.os5_extramedullary_intermediate),
    )
    return np.where(np.asarray(isolated_extramedullary, dtype=bool), em, marrow)


def _mixture_death(
    start: FloatArray, os5: FloatArray, u_cure: FloatArray, u_time: FloatArray, median: float
) -> FloatArray:
    pi = cure_fraction(os5, median)
    lam = math.log(2.0) / median
    delay = -np.log(u_time) / lam
    return np.where(u_cure < pi, np.inf, start + delay)


def death_after_relapse_day(
    ids: IntArray,
    relapse_day: FloatArray,
    isolated_extramedullary: NDArray[np.bool_],
    *,
    seed: int,
    ap: AfterRelapseParams,
    cache: _draws.ChunkDraws | None = None,
) -> FloatArray:
    """Day of death after relapse (inf: long-term survivor or no relapse)."""
    u = _draws.uniforms(seed, "after_relapse.death", ids, k=2, cache=cache)
    rd = np.asarray(relapse_day, dtype=np.float64)
    os5 = os5_after_relapse(np.where(np.isfinite(rd), rd, 0.0), isolated_extramedullary, ap)
    out = _mixture_death(rd, os5, u[:, 0], u[:, 1], ap.median_survival_uncured_days)
    return np.where(np.isfinite(rd), out, np.inf)


def smn_day(
    ids: IntArray, *, seed: int, ap: AfterRelapseParams, cache: _draws.ChunkDraws | None = None
) -> FloatArray:
    """Day of a second malignancy at constant hazard from diagnosis (may exceed any horizon)."""
    rate = -math.log1p(-ap.smn_cumulative_incidence_10y) / (10.0 * DAYS_PER_YEAR)
    u = _draws.uniforms(seed, "competing.second_malignancy", ids, cache=cache)
    return np.asarray(-np.log(u) / rate, dtype=np.float64)


def death_after_smn_day(
    ids: IntArray,
    smn: FloatArray,
    *,
    seed: int,
    ap: AfterRelapseParams,
    cache: _draws.ChunkDraws | None = None,
) -> FloatArray:
    """Day of death after a second malignancy (inf: survivor)."""
    u = _draws.uniforms(seed, "after_relapse.death_after_smn", ids, k=2, cache=cache)
    s = np.asarray(smn, dtype=np.float64)
    os5 = np.full(s.shape, ap.smn_os5)
    out = _mixture_death(s, os5, u[:, 0], u[:, 1], ap.median_survival_uncured_days)
    return np.where(np.isfinite(s), out, np.inf)
