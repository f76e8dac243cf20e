"""Measurable residual disease (MRD) assays as sampling measurements.

An assay examines ``cells`` nucleated cells; the number of leukemic cells it sees is
``Poisson(fraction * cells)`` (drawn by inverse CDF from a per-patient uniform). It reports
the observed fraction ``count / cells`` when ``count >= min_events`` and 0 ("negative")
otherwise, so its limit of detection is ``min_events / cells``:

* flow cytometry (COG): 1e-4 (0.01%);
* high-throughput sequencing (clonoSEQ): 1e-6, and "indeterminate" (NaN) when the
  diagnostic sample has no trackable clone or the follow-up sample's input is insufficient.

Day 8 is measured in blood: the blood leukemic fraction is the marrow fraction times
``pb_to_marrow_ratio``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray
from scipy import special

from blinasim.config import ParameterSet

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class MRDParams:
    """The ``mrd`` section of ``parameters.yaml``."""

    flow_cells_assayed: float
    flow_min_events: float
    hts_cells_assayed: float
    hts_min_events: float
    hts_no_trackable_clone_prob: float
    hts_insufficient_input_prob: float
    pb_to_marrow_ratio: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> MRDParams:
        """Read the ``mrd`` section (default: the shipped parameter file)."""
        return (params or ParameterSet.load()).section("mrd", cls)

    @property
    def flow_lod(self) -> float:
        """Flow limit of detection (fraction of nucleated cells)."""
        return self.flow_min_events / self.flow_cells_assayed

    @property
    def hts_lod(self) -> float:
        """HTS limit of detection (fraction of nucleated cells)."""
        return self.hts_min_events / self.hts_cells_assayed


@dataclass(frozen=True)
class HTSReading:
    """HTS result: measured fraction (NaN when indeterminate) and the indeterminate flag."""

    value: FloatArray
    indeterminate: BoolArray


@numba.njit(cache=True)
def _poisson_small(u: FloatArray, lam: FloatArray, out: FloatArray) -> None:
    for i in range(u.size):
        p = np.exp(-lam[i])
        cdf = p
        k = 0
        while u[i] > cdf and k < 1000:
            k += 1
            p *= lam[i] / k
            cdf += p
        out[i] = k


def poisson_inverse_cdf(u: FloatArray, lam: FloatArray) -> FloatArray:
    """Poisson quantile at ``u`` for means ``lam``: exact below 50, normal approximation above."""
    u = np.asarray(u, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    out = np.empty_like(lam)
    small = lam < 50.0
    if small.any():
        tmp = np.empty(int(small.sum()))
        _poisson_small(np.ascontiguousarray(u[small]), np.ascontiguousarray(lam[small]), tmp)
        out[small] = tmp
    big = ~small
    if big.any():
        lb = lam[big]
        out[big] = np.maximum(np.floor(lb + np.sqrt(lb) * special.ndtri(u[big]) + 0.5), 0.0)
    return out


def leukemic_fraction(leukemic_cells: FloatArray, normal_cells: float) -> FloatArray:
    """Leukemic fraction of nucleated marrow cells."""
    x = np.asarray(leukemic_cells, dtype=np.float64)
    return x / (x + normal_cells)


def measure(fraction: FloatArray, u: FloatArray, cells: float, min_events: float) -> FloatArray:
    """A sampling assay: observed fraction if at least ``min_events`` leukemic cells, else 0."""
    lam = np.clip(np.asarray(fraction, dtype=np.float64), 0.0, 1.0) * cells
    count = poisson_inverse_cdf(u, lam)
    return np.where(count >= min_events, np.minimum(count / cells, 1.0), 0.0)


def flow(fraction: FloatArray, u: FloatArray, mp: MRDParams) -> FloatArray:
    """Flow-cytometry MRD (fraction; 0 = below the 1e-4 detection limit)."""
    return measure(fraction, u, mp.flow_cells_assayed, mp.flow_min_events)


def hts(
    fraction: FloatArray, u: FloatArray, u_clone: FloatArray, u_input: FloatArray, mp: MRDParams
) -> HTSReading:
    """HTS MRD; indeterminate without a trackable clone or with insufficient input."""
    value = measure(fraction, u, mp.hts_cells_assayed, mp.hts_min_events)
    indet = (np.asarray(u_clone) < mp.hts_no_trackable_clone_prob) | (
        np.asarray(u_input) < mp.hts_insufficient_input_prob
    )
    return HTSReading(value=np.where(indet, np.nan, value), indeterminate=indet)
