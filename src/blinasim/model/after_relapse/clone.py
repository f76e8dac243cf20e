"""The relapsing clone a child carries into salvage.

A first relapse continues the same child: the clone that reached the relapse burden (chemo-
sensitive CD19+, chemo-resistant CD19+ or CD19-negative, in the compartment that relapsed
first) keeps its chemotherapy sensitivity and growth rate, and the child keeps their T-cell
fitness and blinatumomab clearance. The engine passes them (:func:`from_first_line`). Callers
without the first-line state (the lifetime of a trial's patient table, the relapse trials'
virtual cohorts, the after-relapse fit) draw a relapsing clone of the first-line model in the
same cell (timing x marrow involvement x CD19) from ``data/salvage/relapse_clones.csv``
(:func:`donor_clones`; written by ``scripts/salvage/relapse_clones.py`` from the first-line
model's own relapses), so that early relapses carry the resistant, fast clones that made them
early. A research model, not medical advice.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.model import _draws, pk
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.leukemia import Biology, ChemoParams, LeukemiaParams
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
SALVAGE_BLINA_DOSE = 15.0
"""Blinatumomab dose of the salvage blocks, µg/m²/day (Brown 2021; Locatelli 2021)."""
TABLE_COLUMNS = (
    "timing",
    "marrow",
    "cd19_negative",
    "log_sensitivity",
    "growth_per_day",
    "tcell_fitness",
    "css_pg_per_ml",
)
"""Columns of ``relapse_clones.csv``: cell (timing 0/1/2, marrow 0/1, CD19-negative 0/1), the
clone's log chemo sensitivity without the genetic factor, growth, T-cell fitness, Css."""


@dataclass(frozen=True)
class RelapseClone:
    """Per relapsing child: the relapsing clone's kinetics and the child's blinatumomab PD."""

    sensitivity: FloatArray
    """Chemotherapy sensitivity of the clone (the first-line model's units, genetics included)."""
    growth_per_day: FloatArray
    tcell_fitness: FloatArray
    css_pg_per_ml: FloatArray
    """Blinatumomab steady state at 15 µg/m²/day (the child's clearance)."""

    def take(self, rows: NDArray[np.intp]) -> RelapseClone:
        """The children at ``rows``."""
        return RelapseClone(
            self.sensitivity[rows],
            self.growth_per_day[rows],
            self.tcell_fitness[rows],
            self.css_pg_per_ml[rows],
        )


def _first_of_three(a: FloatArray, b: FloatArray, c: FloatArray) -> NDArray[np.int64]:
    """Row-wise ``argmin`` of three columns (the first on ties)."""
    return np.where((a <= b) & (a <= c), 0, np.where(b <= c, 1, 2)).astype(np.int64)


def clone_index(cross_day: FloatArray) -> NDArray[np.int64]:
    """Which clone relapsed (0 sensitive, 1 resistant, 2 CD19-negative), first compartment."""
    if cross_day.ndim == 2 and cross_day.shape[1] == 6 and not np.isnan(cross_day).any():
        # column by column (row reductions over 3 values are slow); no NaN: argmin's order
        m0, m1, m2, c0, c1, c2 = (cross_day[:, i] for i in range(6))
        marrow = np.minimum(np.minimum(m0, m1), m2) <= np.minimum(np.minimum(c0, c1), c2)
        return np.where(marrow, _first_of_three(m0, m1, m2), _first_of_three(c0, c1, c2))
    marrow_first = cross_day[:, :3].min(axis=1) <= cross_day[:, 3:].min(axis=1)
    idx = np.where(marrow_first, cross_day[:, :3].argmin(axis=1), cross_day[:, 3:].argmin(axis=1))
    return np.asarray(idx, dtype=np.int64)


def from_first_line(
    bio: Biology,
    cross_day: FloatArray,
    bsa_m2: FloatArray,
    eta_cl: FloatArray,
    *,
    lp: LeukemiaParams,
    cp: ChemoParams,
    pkp: pk.PKParams,
) -> RelapseClone:
    """The relapsing clone of each child of the engine's arm run (every row)."""
    idx = clone_index(cross_day)
    rows = np.arange(idx.size)
    rate = pk.daily_dose_ug(SALVAGE_BLINA_DOSE, "µg/m²/day", bsa_m2, pkp)
    css = pk.steady_state_pg_per_ml(rate, pk.exposure(bsa_m2, eta_cl, pkp).cl_l_per_h)
    return RelapseClone(
        sensitivity=bio.clone_sensitivity(cp)[rows, idx],
        growth_per_day=bio.clone_growth(lp)[rows, idx],
        tcell_fitness=np.asarray(bio.tcell_fitness, dtype=np.float64),
        css_pg_per_ml=np.asarray(css, dtype=np.float64),
    )


@functools.lru_cache(maxsize=1)
def donor_table() -> pd.DataFrame:
    """``data/salvage/relapse_clones.csv``: relapsing clones of the first-line model."""
    path = resources.files("blinasim") / "data" / "salvage" / "relapse_clones.csv"
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, comment="#")
    if tuple(df.columns) != TABLE_COLUMNS:
        raise ValueError(f"relapse_clones.csv: columns {TABLE_COLUMNS}")
    return df


def timing_of(relapse_day: FloatArray, ap: AfterRelapseParams) -> NDArray[np.int64]:
    """0 early (< 18 months), 1 intermediate, 2 late (>= 36 months from diagnosis)."""
    m = np.asarray(relapse_day, dtype=np.float64) / (DAYS_PER_YEAR / 12.0)
    return np.where(m < ap.early_cutoff_months, 0, np.where(m < ap.late_cutoff_months, 1, 2))


def donor_clones(
    ids: NDArray[np.int64],
    relapse_day: FloatArray,
    marrow: NDArray[np.bool_],
    cd19_negative: NDArray[np.bool_],
    favorable: NDArray[np.bool_],
    *,
    seed: int,
    ap: AfterRelapseParams,
    cp: ChemoParams,
) -> RelapseClone:
    """A first-line relapsing clone of the same cell for each child (id-keyed draw).

    The cell is timing x marrow involvement x CD19 phenotype; an empty cell falls back to the
    same timing and CD19 phenotype, then to the same timing. Favorable genetics multiply the
    drawn sensitivity by the first-line genetic factor.
    """
    tab = donor_table()
    t = timing_of(np.where(np.isfinite(relapse_day), relapse_day, 0.0), ap)
    u = _draws.uniforms(seed, "after_relapse.clone", ids)
    n = t.size
    pick = np.full(n, -1, dtype=np.int64)
    cells = tab[["timing", "marrow", "cd19_negative"]].to_numpy(dtype=np.int64)
    keys = np.stack([t, marrow.astype(np.int64), cd19_negative.astype(np.int64)], axis=1)
    for cols in ((0, 1, 2), (0, 2), (0,)):
        c = list(cols)
        for key in np.unique(keys[:, c], axis=0):
            need = (pick < 0) & np.all(keys[:, c] == key, axis=1)
            rows = np.flatnonzero(np.all(cells[:, c] == key, axis=1))
            if need.any() and rows.size:
                pick[need] = rows[np.minimum((u[need] * rows.size).astype(np.int64), rows.size - 1)]
    if np.any(pick < 0):
        raise ValueError("relapse_clones.csv has no clone for some timing")
    gf = np.where(favorable, math.exp(cp.sensitivity_log_shift_favorable), 1.0)
    return RelapseClone(
        sensitivity=np.exp(tab["log_sensitivity"].to_numpy()[pick]) * gf,
        growth_per_day=tab["growth_per_day"].to_numpy(dtype=np.float64)[pick],
        tcell_fitness=tab["tcell_fitness"].to_numpy(dtype=np.float64)[pick],
        css_pg_per_ml=tab["css_pg_per_ml"].to_numpy(dtype=np.float64)[pick],
    )
