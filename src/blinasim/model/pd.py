"""Blinatumomab pharmacodynamics: concentration, T-cell fitness and the effector-to-target balance.

Blinatumomab links a CD3+ T cell to a CD19+ cell; each T cell kills serially, so the kill
rate per target cell falls when targets outnumber what the effectors can handle. Per
patient, during an infusion at steady state ``Css``:

``K(t) = k_max * Css / (Css + EC50) * f * ET50 / (ET50 + T(t))``

- ``f`` is the patient's T-cell fitness (0-1; a beta draw);
- ``T(t)`` is the number of CD19+ target cells: leukemic CD19+ marrow cells plus the
  normal B cells, which start each infusion at ``normal_bcell_cells`` and are killed at the
  same rate (B cells fall below 10/µL within about two days, reference section 4);
- ``ET50`` is the target count at which the kill per cell is halved (the effector capacity).

So a cycle clears MRD-level disease (``T`` small: the kill is near ``k_max * E(C) * f``), but
far fewer high-burden relapses respond (``T`` of 1e11-1e12 leukemic cells: the kill per
cell is a fraction of it until the burden falls), and dose matters through ``E(C)`` when
``Css`` is near ``EC50``. The same parameters serve the MRD-setting responses, the
relapsed/refractory responses and the first-line trial (one set, calibrated jointly).

**Antigen loss under pressure.** While blinatumomab kills CD19+ cells, a CD19+ cell turns
CD19-negative (antigen loss, lineage switch) at ``antigen_loss_per_cell_day``: the number of
cells lost per cycle is that rate times the integral of the CD19+ leukemic count over the
infusion. A high burden at the start of a cycle gives more escape variants, MRD-level
disease almost none.

Within an infusion the kill changes with ``T(t)``, so it is integrated in steps of at most
:data:`PD_STEP_DAYS` (log-linear within a step); once ``T`` is far below ``ET50`` the rest of
the infusion is one step (the factor is then 1 to within 1e-3). One numba function
(:func:`blinasim.model._kernel._infuse`) does it for the trial kernel and for
:func:`infusion_response`, which the virtual experiments of the calibration use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from blinasim.config import ParameterSet
from blinasim.model import _kernel

FloatArray = NDArray[np.float64]

PD_STEP_DAYS = _kernel.PD_STEP_DAYS
"""Longest integration step of the effector-to-target kill within an infusion (days)."""
ET_SATURATED = _kernel.ET_SATURATED
"""Below this ratio of targets to ``ET50`` the kill is constant for the rest of the infusion."""


@dataclass(frozen=True)
class BlinaParams:
    """The ``blinatumomab`` section: pharmacodynamics of CD19+ cell kill."""

    kmax_per_day: float
    ec50_pg_per_ml: float
    et50_cells: float
    normal_bcell_cells: float
    antigen_loss_per_cell_day: float
    cns_factor: float
    tcell_fitness_beta_a: float
    tcell_fitness_beta_b: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> BlinaParams:
        """Read the ``blinatumomab`` section (default: the shipped parameter file)."""
        return (params or ParameterSet.load()).section("blinatumomab", cls)


def potential_kill(css_pg_per_ml: FloatArray, fitness: FloatArray, bp: BlinaParams) -> FloatArray:
    """Kill rate per day with few targets: ``k_max * Css/(Css + EC50) * fitness``.

    ``css`` may be ``(n,)`` or ``(n, k)`` (one column per dose level); ``fitness`` is ``(n,)``.
    """
    css = np.asarray(css_pg_per_ml, dtype=np.float64)
    emax = css / (css + bp.ec50_pg_per_ml)
    f = np.asarray(fitness, dtype=np.float64)
    if css.ndim == 2:
        f = f[:, None]
    return np.asarray(bp.kmax_per_day * emax * f, dtype=np.float64)


@dataclass(frozen=True)
class InfusionResponse:
    """Leukemic CD19+ counts through one infusion (natural logs)."""

    log_end: FloatArray
    """Log count at the end of the infusion, ``(n,)``."""
    mean_kill: FloatArray
    """Average blinatumomab kill rate over the infusion (per day), ``(n,)``."""
    lost_cells: FloatArray
    """CD19-negative cells made by antigen loss during the infusion, counted at its end."""
    bcells_end: FloatArray
    """Normal B cells left at the end (to continue a step-dosed infusion)."""


def infusion_response(
    log_n0: FloatArray,
    growth_per_day: FloatArray,
    pot_kill: FloatArray,
    days: float,
    bp: BlinaParams,
    *,
    cd19neg_growth_per_day: FloatArray | None = None,
    bcells_start: FloatArray | None = None,
) -> InfusionResponse:
    """One continuous infusion of ``days`` days on a CD19+ population (vectorized).

    ``growth_per_day`` is the population's net rate without blinatumomab (growth minus any
    chemotherapy), ``pot_kill`` the :func:`potential_kill`. Normal B cells start at
    ``bp.normal_bcell_cells``. ``cd19neg_growth_per_day`` (default: ``growth_per_day``) is the
    net rate of the antigen-loss variants for the rest of the infusion. ``bcells_start``
    continues a step-dosed infusion (the previous step's ``bcells_end``).
    """
    x = np.ascontiguousarray(log_n0, dtype=np.float64)
    ones = np.ones_like(x)
    g = np.ascontiguousarray(np.asarray(growth_per_day, dtype=np.float64) * ones)
    k0 = np.ascontiguousarray(np.asarray(pot_kill, dtype=np.float64) * ones)
    gn = g if cd19neg_growth_per_day is None else np.asarray(cd19neg_growth_per_day) * ones
    b = (
        np.full_like(x, bp.normal_bcell_cells)
        if bcells_start is None
        else np.asarray(bcells_start, dtype=np.float64) * ones
    )
    out = [np.empty_like(x) for _ in range(4)]
    _kernel.infusion_batch(
        x,
        g,
        np.ascontiguousarray(gn, dtype=np.float64),
        k0,
        np.ascontiguousarray(b),
        float(days),
        bp.et50_cells,
        bp.antigen_loss_per_cell_day,
        *out,
    )
    return InfusionResponse(log_end=out[0], mean_kill=out[2], lost_cells=out[3], bcells_end=out[1])
