"""Blinatumomab pharmacokinetics: one compartment, linear, BSA on clearance.

Clements et al., Clin Pharmacokinet 2020 (674 patients incl. 46 children): typical adult
CL 2.22 L/h, V 5.98 L, BSA the only covariate on CL. With a power model
``CL = CL_adult * (BSA / 1.88)^theta`` the published "0.37 m² has 63% lower CL than
1.88 m²" gives ``theta = ln(0.37) / ln(0.37 / 1.88) = 0.612`` (an assumption: the paper's
covariate model need not be a power law).

Between-patient variability: ``CL_i = CL_typ(BSA_i) * exp(eta_i)``, ``eta_i ~ N(0, omega²)``.
Because the label reports *arithmetic* means of Css, the population mean is
``E[Css] = Css_typ * exp(omega² / 2)``; omega is chosen so that the adult population means
match the label (see ``parameters.yaml``).

Units: an infusion of ``R`` µg/day into a clearance of ``CL`` L/h gives
``Css = R / (24 * CL)`` µg/L ``= 1000 * R / (24 * CL)`` pg/mL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from blinasim.config import ParameterSet

FloatArray = NDArray[np.float64]

PG_PER_ML_PER_UG_PER_L = 1000.0
HOURS_PER_DAY = 24.0


@dataclass(frozen=True)
class PKParams:
    """The ``pk`` section of ``parameters.yaml``."""

    cl_adult_l_per_h: float
    v_adult_l: float
    bsa_ref_m2: float
    bsa_exponent_cl: float
    omega_cl: float
    max_daily_dose_ug: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> PKParams:
        """Read the ``pk`` section (default: the shipped parameter file)."""
        return (params or ParameterSet.load()).section("pk", cls)


@dataclass(frozen=True)
class PKExposure:
    """Per-patient blinatumomab disposition."""

    cl_l_per_h: FloatArray
    v_l: FloatArray
    half_life_h: FloatArray


@dataclass(frozen=True)
class ConcentrationProfile:
    """Concentration-time profile of one or more patients on a common time grid."""

    time_days: FloatArray
    conc_pg_per_ml: FloatArray
    """Shape ``(n_patients, n_times)``."""


def typical_clearance(bsa_m2: ArrayLike, pk: PKParams) -> FloatArray:
    """Typical (eta = 0) clearance in L/h for body surface area ``bsa_m2``."""
    bsa = np.asarray(bsa_m2, dtype=np.float64)
    return pk.cl_adult_l_per_h * (bsa / pk.bsa_ref_m2) ** pk.bsa_exponent_cl


def exposure(bsa_m2: ArrayLike, eta_cl: ArrayLike, pk: PKParams) -> PKExposure:
    """Individual clearance, volume and half-life.

    ``eta_cl`` are standard-normal draws (one per patient); they are scaled by ``omega_cl``.
    Volume scales with BSA linearly (assumption: V is not a covariate in Clements 2020, so
    the half-life stays near the reported ~2 h in children).
    """
    bsa = np.asarray(bsa_m2, dtype=np.float64)
    eta = np.asarray(eta_cl, dtype=np.float64)
    cl = typical_clearance(bsa, pk) * np.exp(pk.omega_cl * eta)
    v = pk.v_adult_l * (bsa / pk.bsa_ref_m2) ** pk.bsa_exponent_cl
    v = np.broadcast_to(v, cl.shape).astype(np.float64)
    return PKExposure(cl_l_per_h=cl, v_l=v, half_life_h=np.log(2.0) * v / cl)


def daily_dose_ug(dose: float, unit: str, bsa_m2: ArrayLike, pk: PKParams) -> FloatArray:
    """Daily dose rate in µg/day from a protocol dose (``µg/m²/day`` or ``µg/day``), capped."""
    bsa = np.asarray(bsa_m2, dtype=np.float64)
    u = unit.replace("ug", "µg").replace("mcg", "µg").replace(" ", "").replace("m2", "m²")
    if u in ("µg/m²/day", "µg/m²/d"):
        rate = dose * bsa
    elif u in ("µg/day", "µg/d"):
        rate = np.full_like(bsa, dose)
    else:
        raise ValueError(f"blinatumomab dose unit must be µg/m²/day or µg/day, got {unit!r}")
    return np.minimum(rate, pk.max_daily_dose_ug)


def steady_state_pg_per_ml(dose_ug_per_day: ArrayLike, cl_l_per_h: ArrayLike) -> FloatArray:
    """Steady-state concentration (pg/mL) of a continuous infusion: ``Css = R / CL``."""
    r = np.asarray(dose_ug_per_day, dtype=np.float64)
    cl = np.asarray(cl_l_per_h, dtype=np.float64)
    return PG_PER_ML_PER_UG_PER_L * r / (HOURS_PER_DAY * cl)


def population_mean_css(dose_ug_per_day: float, bsa_m2: float, pk: PKParams) -> float:
    """Analytic population-mean Css at a fixed BSA: ``Css_typ * exp(omega² / 2)``."""
    css_typ = steady_state_pg_per_ml(dose_ug_per_day, typical_clearance(bsa_m2, pk))
    return float(css_typ * np.exp(pk.omega_cl**2 / 2.0))


def concentration_profile(
    infusions: list[tuple[float, float, float]],
    ex: PKExposure,
    time_days: ArrayLike,
) -> ConcentrationProfile:
    """Closed-form concentration for a schedule of continuous infusions.

    ``infusions`` lists ``(start_day, end_day, rate_ug_per_day)``; rates apply to every
    patient of ``ex`` (use one call per dose level). Superposition of one-compartment
    zero-order inputs: during an infusion ``C = Css (1 - e^{-k (t - t0)})``, after it
    ``C(t_end) e^{-k (t - t_end)}``.
    """
    t = np.asarray(time_days, dtype=np.float64)
    k_per_day = (ex.cl_l_per_h / ex.v_l * HOURS_PER_DAY)[:, None]
    conc = np.zeros((ex.cl_l_per_h.size, t.size))
    for start, end, rate in infusions:
        if not end > start:
            raise ValueError(f"infusion end must follow start, got {start}..{end}")
        css = steady_state_pg_per_ml(rate, ex.cl_l_per_h)[:, None]
        on = np.clip(t - start, 0.0, end - start)[None, :]
        off = np.clip(t - end, 0.0, None)[None, :]
        conc += css * (1.0 - np.exp(-k_per_day * on)) * np.exp(-k_per_day * off)
    return ConcentrationProfile(time_days=t, conc_pg_per_ml=conc)
