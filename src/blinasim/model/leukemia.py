"""Leukemia kinetics: clones, growth, chemo and blinatumomab kill, extinction, relapse.

Six sub-populations per patient (index ``c = 3 * compartment + clone``):

====  ===========  ==========================
 c    compartment  clone
====  ===========  ==========================
 0    marrow       chemo-sensitive, CD19+
 1    marrow       chemo-resistant, CD19+
 2    marrow       CD19-negative
 3    CNS          chemo-sensitive, CD19+
 4    CNS          chemo-resistant, CD19+
 5    CNS          CD19-negative
====  ===========  ==========================

Within a schedule segment ``[s, e)`` every sub-population's log count changes linearly:

``d log N_c / dt = g - chemo_c(t) - blina_c(t)``

with ``g`` the patient's net growth rate, ``chemo_c = k_seg * sigma_c * (1 or f_cns)``
(``k_seg`` the phase's kill rate at its dose intensity, ``sigma_c`` the patient's
sensitivity times the clone's factor, ``f_cns`` the systemic kill reaching the CNS) plus,
in the CNS, intrathecal kill ``it_seg * sigma_c``; and ``blina_c = K_ip`` (marrow CD19+) or
``K_ip * f_blina_cns`` (CNS CD19+), with ``K_ip`` the infusion's mean kill from
:mod:`blinasim.model.pd` (concentration, T-cell fitness and the effector-to-target balance:
lower at high burden). Antigen loss under blinatumomab feeds the CD19-negative clone.

Extinction is a chance event. The deterministic trajectory's lowest point before it
first regrows past the relapse burden is ``m`` cells; the number of surviving lineages is
``Poisson(m * p_est)`` with ``p_est = (net rate after the nadir) / (g + d)``, the
establishment probability of a linear birth-death process with birth ``b = g + d`` (``d`` the
natural death rate; chemotherapy only adds death) and the net rate it grows at. A survivor
restarts from ``K / p_est`` cells (the mean size of ``K`` surviving lineages) and regrows;
the first time a sub-population reaches its compartment's relapse burden is the relapse
time. Survivors held down until the end of therapy first stay dormant (each leaves
quiescence at ``dormancy_exit_per_cell_day``), which spreads late relapses over years. All
of it is closed form per segment (numerically integrated only within blinatumomab
infusions) and runs in one numba kernel (:mod:`blinasim.model._kernel`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from blinasim.config import ParameterSet
from blinasim.model import _draws
from blinasim.model._kernel import CERTAIN_EXTINCTION_LOG, POISSON_EXACT_MAX_MEAN, kernel
from blinasim.model.pd import BlinaParams, potential_kill

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

N_SUB = 6
MARROW = (0, 1, 2)
CNS = (3, 4, 5)
CD19_POSITIVE = np.array([1.0, 1.0, 0.0])


@dataclass(frozen=True)
class LeukemiaParams:
    """The ``leukemia`` section of ``parameters.yaml``."""

    log10_burden_low: float
    log10_burden_high: float
    normal_marrow_cells: float
    growth_mean_per_day: float
    growth_sd_per_day: float
    death_rate_per_day: float
    resistant_log10_fraction_mean: float
    resistant_log10_fraction_sd: float
    cd19neg_log10_fraction_mean: float
    cd19neg_log10_fraction_sd: float
    cns_log10_fraction_cns1: float
    cns_log10_fraction_cns2: float
    cns_log10_fraction_sd: float
    resistant_growth_factor: float
    resistant_growth_sd_log: float
    cd19neg_growth_factor: float
    cns_growth_factor: float
    relapse_cells_marrow: float
    relapse_cells_cns: float
    combined_site_window_days: float
    dormancy_exit_per_cell_day: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> LeukemiaParams:
        """Read the ``leukemia`` section (default: the shipped parameter file)."""
        return (params or ParameterSet.load()).section("leukemia", cls)


@dataclass(frozen=True)
class ChemoParams:
    """The ``chemo`` section: kill rates by phase kind and patient sensitivity."""

    kill_induction_per_day: float
    kill_consolidation_per_day: float
    kill_interim_maintenance_per_day: float
    kill_delayed_intensification_per_day: float
    kill_maintenance_per_day: float
    sensitivity_sd_log: float
    sensitivity_log_shift_favorable: float
    sensitivity_log_shift_unfavorable: float
    resistance_factor_median: float
    resistance_factor_sd_log: float
    resistant_sensitivity_coupling: float
    cd19neg_chemo_factor: float
    cns_systemic_fraction: float
    it_log_kill_per_dose: float
    cns_kill_sd_log: float
    # drug-class Emax (blinasim.model.plan): x50 per class, share of a kind's reference kill
    x50_mtx: float
    x50_thiopurine: float
    x50_steroid: float
    x50_vinca: float
    x50_asparaginase: float
    x50_anthracycline: float
    x50_alkylator: float
    x50_cytarabine: float
    share_induction_steroid: float
    share_induction_vinca: float
    share_induction_asparaginase: float
    share_consolidation_thiopurine: float
    share_consolidation_vinca: float
    share_interim_maintenance_mtx: float
    share_interim_maintenance_vinca: float
    share_delayed_intensification_steroid: float
    share_delayed_intensification_vinca: float
    share_delayed_intensification_anthracycline: float
    share_delayed_intensification_asparaginase: float
    share_delayed_intensification_alkylator: float
    share_delayed_intensification_cytarabine: float
    share_delayed_intensification_thiopurine: float
    share_maintenance_thiopurine: float
    share_maintenance_mtx: float
    share_maintenance_steroid: float
    share_maintenance_vinca: float
    # potency equivalences within a class
    dexamethasone_per_mg_prednisone: float
    dexamethasone_per_mg_hydrocortisone: float
    pegaspargase_iu_per_erwinia_iu: float
    pegaspargase_iu_per_erwinia_mg: float
    mercaptopurine_per_mg_thioguanine: float
    doxorubicin_per_mg_daunorubicin: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> ChemoParams:
        """Read the ``chemo`` section (default: the shipped parameter file)."""
        return (params or ParameterSet.load()).section("chemo", cls)

    def kill_for_kind(self, kind: str) -> float:
        """Reference kill rate (per day, sensitivity 1) of a phase kind; 0 for others."""
        return {
            "induction": self.kill_induction_per_day,
            "consolidation": self.kill_consolidation_per_day,
            "interim_maintenance": self.kill_interim_maintenance_per_day,
            "delayed_intensification": self.kill_delayed_intensification_per_day,
            "maintenance": self.kill_maintenance_per_day,
        }.get(kind, 0.0)


@dataclass(frozen=True)
class Biology:
    """Per-patient leukemia biology (one entry per patient)."""

    log_n0: FloatArray
    """Natural log of the initial count of each sub-population, shape ``(n, 6)``."""
    growth_per_day: FloatArray
    resistant_growth_per_day: FloatArray
    sensitivity: FloatArray
    genetic_factor: FloatArray
    """The part of ``sensitivity`` due to genetics (shared by every clone)."""
    resistance_factor: FloatArray
    tcell_fitness: FloatArray
    cns_kill_factor: FloatArray
    """Patient multiplier of every kill in the CNS (drug distribution, sanctuary niches)."""
    extinction_u: FloatArray
    """Uniforms for the Poisson survival draw of each sub-population, ``(n, 6)``."""
    dormancy_u: FloatArray
    """Uniforms for the dormancy delay of each sub-population's survivors, ``(n, 6)``."""

    def subset(self, sel: NDArray[np.intp]) -> Biology:
        """The patients ``sel`` (row indices)."""
        return Biology(**{k: np.take(v, sel, axis=0) for k, v in self.__dict__.items()})

    def clone_growth(self, lp: LeukemiaParams) -> FloatArray:
        """Net growth rate of the six sub-populations, shape ``(n, 6)``."""
        g = self.growth_per_day
        marrow = np.stack([g, self.resistant_growth_per_day, g * lp.cd19neg_growth_factor], axis=1)
        return np.concatenate([marrow, marrow * lp.cns_growth_factor], axis=1)

    def clone_sensitivity(self, cp: ChemoParams) -> FloatArray:
        """Chemotherapy sensitivity of the three clones, shape ``(n, 3)``.

        Sensitive: ``s = G * e``, with ``G`` the genetic factor and ``e`` the individual
        log-normal part; resistant: ``s_r = rho * G * e^gamma`` (``gamma`` couples the
        resistant clone to the bulk response, 0 = only through genetics); CD19-negative:
        ``s * f_cd19neg``.
        """
        s = self.sensitivity
        gf = self.genetic_factor
        s_r = gf * (s / gf) ** cp.resistant_sensitivity_coupling * self.resistance_factor
        return np.stack([s, s_r, s * cp.cd19neg_chemo_factor], axis=1)


_Z_GRID = np.linspace(-8.5, 8.5, 8193)


@functools.lru_cache(maxsize=64)
def _log_quantile_table(dist: str, a: float, b: float) -> FloatArray:
    """Log quantiles of a gamma(a) or beta(a, b) on a normal-score grid (for fast inverses)."""
    u = special.ndtr(_Z_GRID)
    x = special.gammaincinv(a, u) if dist == "gamma" else special.betaincinv(a, b, u)
    return np.asarray(np.log(np.maximum(x, 1e-300)), dtype=np.float64)


def _table_inverse(u: FloatArray, dist: str, a: float, b: float = 0.0) -> FloatArray:
    """Inverse CDF by interpolating log quantiles in normal-score space (rel. error < 1e-6)."""
    z = np.ascontiguousarray(special.ndtri(np.asarray(u, dtype=np.float64)))
    out = np.empty_like(z)
    _uniform_grid_interp(z, _Z_GRID, _log_quantile_table(dist, a, b), out)
    return np.asarray(np.exp(out))


@numba.njit(cache=True)
def _uniform_grid_interp(x: FloatArray, xp: FloatArray, fp: FloatArray, out: FloatArray) -> None:
    """``np.interp(x, xp, fp)`` for an evenly spaced ``xp``, bit for bit (tested).

    The bracketing index is guessed from the spacing, then corrected by comparisons with
    ``xp`` itself (as numpy's search finds it); the formula is numpy's.
    """
    m = xp.size
    x0 = xp[0]
    step = (xp[m - 1] - x0) / (m - 1)
    for i in range(x.size):
        v = x[i]
        if v != v:
            out[i] = v
        elif v < x0:
            out[i] = fp[0]
        elif v >= xp[m - 1]:
            out[i] = fp[m - 1]
        else:
            j = int((v - x0) / step)
            j = min(max(j, 0), m - 2)
            while j > 0 and xp[j] > v:
                j -= 1
            while j < m - 2 and xp[j + 1] <= v:
                j += 1
            if v == xp[j]:  # numpy: avoid a non-finite interpolation
                out[i] = fp[j]
                continue
            slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
            r = slope * (v - xp[j]) + fp[j]
            if r != r:
                r = slope * (v - xp[j + 1]) + fp[j + 1]
                if r != r and fp[j] == fp[j + 1]:
                    r = fp[j]
            out[i] = r


def gamma_from_mean_sd(u: FloatArray, mean: float, sd: float) -> FloatArray:
    """Inverse CDF of the gamma distribution with the given mean and SD."""
    shape = (mean / sd) ** 2
    scale = sd**2 / mean
    return _table_inverse(u, "gamma", float(shape)) * scale


def beta_inverse(u: FloatArray, a: float, b: float) -> FloatArray:
    """Inverse CDF of the beta(a, b) distribution."""
    return _table_inverse(u, "beta", float(a), float(b))


def draw_biology(
    ids: IntArray,
    genetics: NDArray[np.str_] | NDArray[np.object_] | pd.Series,
    cns_status: NDArray[np.str_] | NDArray[np.object_] | pd.Series,
    *,
    seed: int,
    lp: LeukemiaParams,
    cp: ChemoParams,
    bp: BlinaParams,
) -> Biology:
    """Draw every patient's biology from named per-patient streams.

    Net growth is gamma with the published mean and SD (+6.9 ± 7.3 %/day); its long left tail
    (shape < 1) is the slow-growing residual disease that relapses late. Chemotherapy
    sensitivity is log-normal, shifted by genetics. The resistant and CD19-negative clones'
    fractions are log10-normal and independent of the bulk response; CNS seeding is a
    log10-normal fraction of the marrow burden, larger in CNS2.
    """
    ids = np.asarray(ids, dtype=np.int64)
    # label comparisons on pandas categoricals compare integer codes (fast)
    favorable = np.asarray(genetics == "favorable", dtype=bool)
    unfavorable = np.asarray(genetics == "unfavorable", dtype=bool)
    cns2 = np.asarray(cns_status == "CNS2", dtype=bool)
    u_burden = _draws.uniforms(seed, "leukemia.burden", ids)
    log10_b0 = lp.log10_burden_low + (lp.log10_burden_high - lp.log10_burden_low) * u_burden
    growth = gamma_from_mean_sd(
        _draws.uniforms(seed, "leukemia.growth", ids), lp.growth_mean_per_day, lp.growth_sd_per_day
    )
    shift = np.where(
        favorable,
        cp.sensitivity_log_shift_favorable,
        np.where(unfavorable, -cp.sensitivity_log_shift_unfavorable, 0.0),
    )
    sens = np.exp(shift + cp.sensitivity_sd_log * _draws.normals(seed, "leukemia.sensitivity", ids))
    resist = cp.resistance_factor_median * np.exp(
        cp.resistance_factor_sd_log * _draws.normals(seed, "leukemia.resistance", ids)
    )
    log10_fr = lp.resistant_log10_fraction_mean + lp.resistant_log10_fraction_sd * _draws.normals(
        seed, "leukemia.resistant_fraction", ids
    )
    log10_fn = lp.cd19neg_log10_fraction_mean + lp.cd19neg_log10_fraction_sd * _draws.normals(
        seed, "leukemia.cd19neg_fraction", ids
    )
    fr = np.minimum(10.0**log10_fr, 0.5)
    fn = np.minimum(10.0**log10_fn, 0.5)
    fs = np.clip(1.0 - fr - fn, 1e-12, 1.0)
    cns_mean = np.where(cns2, lp.cns_log10_fraction_cns2, lp.cns_log10_fraction_cns1)
    log10_fc = cns_mean + lp.cns_log10_fraction_sd * _draws.normals(seed, "leukemia.cns_seed", ids)
    fc = np.minimum(10.0**log10_fc, 0.5)
    ln_b0 = log10_b0 * math.log(10.0)
    frac = np.stack([fs, fr, fn], axis=1)
    log_n0 = np.empty((ids.size, N_SUB))
    log_n0[:, :3] = ln_b0[:, None] + np.log(frac) + np.log1p(-fc)[:, None]
    log_n0[:, 3:] = ln_b0[:, None] + np.log(frac) + np.log(fc)[:, None]
    fitness = beta_inverse(
        _draws.uniforms(seed, "blinatumomab.tcell_fitness", ids),
        bp.tcell_fitness_beta_a,
        bp.tcell_fitness_beta_b,
    )
    return Biology(
        log_n0=log_n0,
        growth_per_day=growth,
        resistant_growth_per_day=growth
        * lp.resistant_growth_factor
        * np.exp(
            lp.resistant_growth_sd_log * _draws.normals(seed, "leukemia.resistant_growth", ids)
            - 0.5 * lp.resistant_growth_sd_log**2
        ),
        sensitivity=sens,
        genetic_factor=np.exp(shift),
        resistance_factor=resist,
        tcell_fitness=fitness,
        cns_kill_factor=np.exp(
            cp.cns_kill_sd_log * _draws.normals(seed, "leukemia.cns_kill", ids)
            - 0.5 * cp.cns_kill_sd_log**2
        ),
        extinction_u=_draws.uniforms(seed, "leukemia.extinction", ids, k=N_SUB),
        dormancy_u=_draws.uniforms(seed, "leukemia.dormancy", ids, k=N_SUB),
    )


@dataclass(frozen=True)
class Schedule:
    """Contiguous treatment segments from day 0 to the horizon (shared by all patients).

    ``chemo_kill`` is the reference kill rate of the segment's phase kind scaled by its dose
    intensity (per day, sensitivity 1); ``it_kill`` the intrathecal log kill per day;
    ``blina_dose`` the blinatumomab infusion rate (``blina_unit``) during the segment, 0 if
    none; ``phase`` the index of the protocol phase a segment belongs to (-1 after therapy);
    ``blina_cap`` the protocol's cap of one day's infusion in the unit without ``/m2``
    (``max_dose``, µg/day; inf when none; None: no caps at all).
    """

    start: FloatArray
    end: FloatArray
    chemo_kill: FloatArray
    it_kill: FloatArray
    blina_dose: FloatArray
    blina_unit: str
    phase: IntArray
    blina_cap: FloatArray | None = None

    def __post_init__(self) -> None:
        n = self.start.size
        names = ["end", "chemo_kill", "it_kill", "blina_dose", "phase"]
        if self.blina_cap is not None:
            names.append("blina_cap")
        for name in names:
            if getattr(self, name).shape != (n,):
                raise ValueError(f"schedule.{name}: expected shape ({n},)")
        if n == 0 or self.start[0] != 0.0 or np.any(self.end <= self.start):
            raise ValueError("schedule: expected non-empty segments starting at day 0")
        if np.any(self.start[1:] != self.end[:-1]):
            raise ValueError("schedule: expected contiguous segments")


@dataclass(frozen=True)
class Trajectories:
    """Kernel output per patient and sub-population."""

    cross_day: FloatArray
    """First day each sub-population reaches its compartment's relapse burden (inf: never)."""
    extinct: BoolArray
    log_count_at: FloatArray
    """Realized natural-log counts at the query days, shape ``(n, 6, n_query)``."""
    nadir_day: FloatArray
    """Day extinction was decided: the nadir, or the day the count fell below 4e-18."""


def simulate_trajectories(
    bio: Biology,
    schedule: Schedule,
    blina_pot: FloatArray,
    query_days: FloatArray,
    *,
    lp: LeukemiaParams,
    cp: ChemoParams,
    bp: BlinaParams,
    therapy_end: float = math.inf,
) -> Trajectories:
    """Run every patient's six sub-populations through ``schedule``.

    ``blina_pot`` has shape ``(n, n_segments)``: the potential blinatumomab kill rate
    (:func:`blinasim.model.pd.potential_kill`, before the effector-to-target factor) per
    segment, 0 outside infusions. ``therapy_end`` is the day protocol therapy ends: survivors
    held down until then regrow after a dormancy delay (``inf``: no dormancy).
    """
    n = bio.growth_per_day.size
    nseg = schedule.start.size
    if blina_pot.shape != (n, nseg):
        raise ValueError(f"blina_pot: expected shape ({n}, {nseg}), got {blina_pot.shape}")
    q = np.ascontiguousarray(query_days, dtype=np.float64)
    cross = np.empty((n, N_SUB))
    extinct = np.empty((n, N_SUB), dtype=np.bool_)
    logq = np.empty((n, N_SUB, q.size))
    nadir = np.empty((n, N_SUB))
    kernel(
        schedule.start,
        schedule.end,
        schedule.chemo_kill,
        schedule.it_kill,
        np.ascontiguousarray(blina_pot, dtype=np.float64),
        np.ascontiguousarray(bio.clone_growth(lp)),
        np.ascontiguousarray(bio.clone_sensitivity(cp)),
        np.ascontiguousarray(bio.cns_kill_factor),
        np.ascontiguousarray(bio.log_n0),
        np.ascontiguousarray(bio.extinction_u),
        np.ascontiguousarray(bio.dormancy_u),
        np.array([math.log(lp.relapse_cells_marrow), math.log(lp.relapse_cells_cns)]),
        lp.death_rate_per_day,
        cp.cns_systemic_fraction,
        bp.cns_factor,
        bp.et50_cells,
        bp.normal_bcell_cells,
        bp.antigen_loss_per_cell_day,
        lp.dormancy_exit_per_cell_day,
        float(therapy_end),
        CD19_POSITIVE,
        q,
        cross,
        extinct,
        logq,
        nadir,
    )
    return Trajectories(cross_day=cross, extinct=extinct, log_count_at=logq, nadir_day=nadir)


__all__ = [
    "CERTAIN_EXTINCTION_LOG",
    "POISSON_EXACT_MAX_MEAN",
    "Biology",
    "BlinaParams",
    "ChemoParams",
    "LeukemiaParams",
    "Schedule",
    "Trajectories",
    "beta_inverse",
    "draw_biology",
    "gamma_from_mean_sd",
    "potential_kill",
    "simulate_trajectories",
]
