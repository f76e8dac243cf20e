"""Virtual experiments: the model's PK and blinatumomab response outside the trial.

Four published settings test the same pharmacology at very different leukemia burdens and
doses (the settings, from the calibration config, are assumptions that say so):

* ``css_mean``: mean steady-state concentration of virtual adults on a flat dose (label).
* ``blina_mrd_response``: MRD-positive patients in remission (adults with MRD 1e-3 to 1e-1,
  Gökbuget 2018; children after relapse reinduction, Locatelli 2021), one cycle at
  15 µg/m²/day (capped at 28 µg/day); response: MRD below 1e-4 at the end of the cycle.
* ``blina_cr_response``: relapsed/refractory disease with a high marrow burden (children with
  >= 25% blasts, von Stackelberg 2016, 5 then 15 µg/m²/day; adults with >= 10% blasts, Topp
  2015, 9 then 28 µg/day), up to two 6-week cycles (4 weeks on, 2 off); response: marrow
  blasts below 5% at the end of either infusion.

Each virtual patient has the model's clearance variability, T-cell fitness and net growth;
the kill follows :func:`blinasim.model.pd.infusion_response` (effector-to-target balance), so
a low response at high burden and a high one at MRD level come from the same parameters.
The draws are fixed per experiment (smooth in the parameters).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from blinasim import rng
from blinasim.model import leukemia, pd, pk

FloatArray = NDArray[np.float64]

N_VIRTUAL = 4000
"""Virtual patients per experiment (fixed draws: smooth in theta)."""


@dataclass(frozen=True)
class SummaryValue:
    """A simulated statistic with its Monte Carlo standard error and sample size."""

    value: float
    mc_se: float
    n: int


def prop(x: NDArray[np.bool_]) -> SummaryValue:
    """A proportion with its binomial Monte Carlo SE (floored at half an event)."""
    n = int(x.size)
    if n == 0:
        return SummaryValue(math.nan, math.nan, 0)
    p = float(x.mean())
    q = min(max(p, 0.5 / n), 1 - 0.5 / n)
    return SummaryValue(p, math.sqrt(q * (1 - q) / n), n)


@dataclass(frozen=True)
class VirtualExperiments:
    """Settings of the virtual experiments (assumptions, from the calibration config)."""

    adult_bsa_median_m2: float = 1.88
    adult_bsa_sd_log: float = 0.12
    child_bsa_median_m2: float = 1.2
    child_bsa_sd_log: float = 0.25
    adult_mrd_log10_range: tuple[float, float] = (-3.0, -1.0)
    child_mrd_log10_range: tuple[float, float] = (-3.5, -1.5)
    response_below_log10: float = -4.0
    cycle_days: float = 28.0
    dose_ug_per_m2_day: float = 15.0
    at_risk_follow_up: Mapping[float, float] | None = None
    """P(follow-up >= t years) of the AALL1731 report, for the numbers at risk."""
    child_rr_blast_range: tuple[float, float] = (0.25, 0.95)
    adult_rr_blast_range: tuple[float, float] = (0.10, 0.95)
    child_rr_doses_ug_per_m2_day: tuple[float, float] = (5.0, 15.0)
    adult_rr_doses_ug_per_day: tuple[float, float] = (9.0, 28.0)
    rr_step_days: float = 7.0
    rr_off_days: float = 14.0
    rr_cycles: int = 2
    cr_blasts_below: float = 0.05


def _draws(seed: int, name: str) -> FloatArray:
    """(N_VIRTUAL, 5) uniforms of a virtual experiment."""
    return rng.uniforms(seed, f"calibrate.virtual.{name}", 0, N_VIRTUAL, k=5)


def css_mean(
    dose_ug_per_day: float, params: Any, vx: VirtualExperiments, seed: int
) -> SummaryValue:
    """Mean steady-state concentration of virtual adults on a flat dose (pg/mL)."""
    u = _draws(seed, "css")
    bsa = vx.adult_bsa_median_m2 * np.exp(vx.adult_bsa_sd_log * special.ndtri(u[:, 0]))
    ex = pk.exposure(bsa, special.ndtri(u[:, 1]), params.pk)
    css = pk.steady_state_pg_per_ml(np.full(bsa.shape, dose_ug_per_day), ex.cl_l_per_h)
    return SummaryValue(float(css.mean()), float(css.std() / math.sqrt(css.size)), int(css.size))


@dataclass(frozen=True)
class _Patients:
    bsa: FloatArray
    cl: FloatArray
    fitness: FloatArray
    growth: FloatArray
    u_burden: FloatArray


def _patients(u: FloatArray, adult: bool, params: Any, vx: VirtualExperiments) -> _Patients:
    med, sd = (
        (vx.adult_bsa_median_m2, vx.adult_bsa_sd_log)
        if adult
        else (vx.child_bsa_median_m2, vx.child_bsa_sd_log)
    )
    bsa = med * np.exp(sd * special.ndtri(u[:, 0]))
    ex = pk.exposure(bsa, special.ndtri(u[:, 1]), params.pk)
    bp = params.blina
    fitness = leukemia.beta_inverse(u[:, 2], bp.tcell_fitness_beta_a, bp.tcell_fitness_beta_b)
    lp = params.leukemia
    growth = leukemia.gamma_from_mean_sd(u[:, 3], lp.growth_mean_per_day, lp.growth_sd_per_day)
    return _Patients(bsa=bsa, cl=ex.cl_l_per_h, fitness=fitness, growth=growth, u_burden=u[:, 4])


def _pot(rate_ug_per_day: FloatArray, v: _Patients, params: Any) -> FloatArray:
    css = pk.steady_state_pg_per_ml(rate_ug_per_day, v.cl)
    return pd.potential_kill(css, v.fitness, params.blina)


def blina_mrd_response(
    population: str, params: Any, vx: VirtualExperiments, seed: int
) -> SummaryValue:
    """Share of virtual MRD-positive patients below the response level after one cycle.

    Starting MRD is log-uniform over the config's range (a fraction of the normal marrow);
    the persisting disease grows at the chemo-resistant clone's rate (the patient's net
    growth times ``leukemia.resistant_growth_factor``).
    """
    adult = population == "adult_mrd_positive"
    u = _draws(seed, f"mrd_response.{population}")
    v = _patients(u, adult, params, vx)
    lo, hi = vx.adult_mrd_log10_range if adult else vx.child_mrd_log10_range
    normal = params.leukemia.normal_marrow_cells
    log_n0 = (lo + (hi - lo) * v.u_burden) * math.log(10.0) + math.log(normal)
    rate = pk.daily_dose_ug(vx.dose_ug_per_m2_day, "µg/m²/day", v.bsa, params.pk)
    res = pd.infusion_response(
        log_n0,
        v.growth * params.leukemia.resistant_growth_factor,
        _pot(rate, v, params),
        vx.cycle_days,
        params.blina,
    )
    frac = np.exp(res.log_end) / normal
    return prop(frac < 10.0**vx.response_below_log10)


def blina_cr_response(
    population: str,
    params: Any,
    vx: VirtualExperiments,
    seed: int,
    *,
    flat_dose: float | None = None,
) -> SummaryValue:
    """Share of virtual relapsed/refractory patients in remission (< 5% blasts) within 2 cycles.

    Marrow blasts at the start are uniform over the config's range; leukemic cells
    ``N = normal * b / (1 - b)``. Each cycle: a step-dosed infusion (the first
    ``rr_step_days`` at the lower dose), then ``rr_off_days`` of regrowth. ``flat_dose``
    (µg/m²/day for children, µg/day for adults) replaces the step dosing (dose-response).
    """
    adult = population == "adult_relapsed_refractory"
    u = _draws(seed, f"cr_response.{population}")
    v = _patients(u, adult, params, vx)
    lo, hi = vx.adult_rr_blast_range if adult else vx.child_rr_blast_range
    blasts = lo + (hi - lo) * v.u_burden
    normal = params.leukemia.normal_marrow_cells
    log_n = np.log(normal * blasts / (1.0 - blasts))
    doses = vx.adult_rr_doses_ug_per_day if adult else vx.child_rr_doses_ug_per_m2_day
    if flat_dose is not None:
        doses = (flat_dose, flat_dose)
    if adult:
        rates = [np.full(v.bsa.shape, d) for d in doses]
    else:
        rates = [pk.daily_dose_ug(d, "µg/m²/day", v.bsa, params.pk) for d in doses]
    pots = [_pot(r, v, params) for r in rates]
    spans = [vx.rr_step_days, vx.cycle_days - vx.rr_step_days]
    response = np.zeros(v.bsa.shape, dtype=bool)
    cr_log = np.log(normal * vx.cr_blasts_below / (1.0 - vx.cr_blasts_below))
    for cycle in range(vx.rr_cycles):
        b = None
        for pot, span in zip(pots, spans, strict=True):
            # later cycles run at the full dose throughout
            use = pots[-1] if cycle > 0 else pot
            res = pd.infusion_response(log_n, v.growth, use, span, params.blina, bcells_start=b)
            log_n, b = res.log_end, res.bcells_end
        response |= log_n < cr_log
        log_n = log_n + v.growth * vx.rr_off_days
    return prop(response)


__all__ = [
    "N_VIRTUAL",
    "SummaryValue",
    "VirtualExperiments",
    "blina_cr_response",
    "blina_mrd_response",
    "css_mean",
    "prop",
]
