"""Each child's life to age 100 from the state at the end of first-line follow-up.

Inputs per child: age at diagnosis, the first-line death (treatment-related or after a
second malignancy, ``inf`` if none) and the first relapse (day, site, CD19 phenotype) within
the first-line horizon, and genetics. Relapsing children go through the salvage pathway
(:func:`~blinasim.model.after_relapse.pathway.salvage`, not truncated at the horizon);
everyone alive then faces the life table with the late-mortality SMR of what they went
through (:mod:`~blinasim.model.after_relapse.lifetime`). A first relapse after the
first-line horizon is not simulated (the late-mortality SMRs carry the rest). Death causes:
:data:`CAUSES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.config import ParameterSet
from blinasim.model import _draws
from blinasim.model.after_relapse.late_effects import (
    LATE_EFFECTS,
    LateEffectsParams,
    column,
    late_effects,
)
from blinasim.model.after_relapse.lifetime import late_death, life_years, smr_for
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.pathway import Consolidation, Salvage, salvage, site_codes
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CAUSES = (
    "first line",
    "leukemia",
    "treatment-related after relapse",
    "late effects",
    "background",
)
"""Lifetime death causes (index = code; -1: alive at the maximum age). ``first line``: the
first-line model's own death (treatment-related in first remission or second malignancy)."""


@dataclass(frozen=True)
class Lifetime:
    """Each child's lifetime events (days from diagnosis; ``inf``: never)."""

    hsct_day: FloatArray
    cart_day: FloatArray
    relapse2_day: FloatArray
    death_day: FloatArray
    death_cause: NDArray[np.int8]
    life_years: FloatArray
    """Years from diagnosis to death or the maximum age (life expectancy: their mean)."""
    late_effect_days: dict[str, FloatArray] = field(default_factory=dict)
    """Start day of each late effect (:data:`~.late_effects.LATE_EFFECTS` name -> day from
    diagnosis; ``inf``: never, or not before death; :mod:`~.late_effects`)."""


def _shared_draws(seed: int, ids: IntArray) -> _draws.ChunkDraws | None:
    """A draw memo over the distinct ids when a child has several rows (arms), else None.

    Draws are keyed by the child, so a child's rows share its numbers: drawing once per
    child (contiguous ids take the fast path of :mod:`~blinasim.model._draws`) and reading
    each row's gives the same numbers as drawing per row.
    """
    pid = np.asarray(ids, dtype=np.int64)
    if pid.size < 2:
        return None
    if np.all(pid[1:] >= pid[:-1]):
        new = np.empty(pid.size, dtype=bool)
        new[0] = True
        np.not_equal(pid[1:], pid[:-1], out=new[1:])
        distinct = pid[new]
    else:
        distinct = np.unique(pid)
    return _draws.ChunkDraws(seed, distinct) if distinct.size < pid.size else None


def lifetime(
    ids: IntArray,
    age_years: FloatArray,
    first_line_death_day: FloatArray,
    relapse_day: FloatArray,
    site: NDArray[np.integer],
    cd19_negative: NDArray[np.bool_],
    favorable_genetics: NDArray[np.bool_],
    *,
    horizon_day: float,
    seed: int,
    ap: AfterRelapseParams,
    consolidation: Consolidation = "policy",
    male_share: float = 0.5,
    cache: _draws.ChunkDraws | None = None,
    late_params: LateEffectsParams | None = None,
    pathway: Salvage | None = None,
) -> Lifetime:
    """Life to age ``ap.lifetime_max_age_years`` of every child (vectorized).

    ``late_params``: the late-effect parameters (default: the shipped ``late_effects`` section).
    ``pathway``: each child's salvage pathway as the engine ran it with the child's own
    relapsing clone (:meth:`Salvage.from_columns`); without it, relapsing children are run
    through the pathway here with a donor clone of the same timing x site x CD19 cell.
    """
    rd = np.asarray(relapse_day, dtype=np.float64)
    rd = np.where(np.isfinite(rd) & (rd < horizon_day), rd, np.inf)
    fl = np.asarray(first_line_death_day, dtype=np.float64)
    fl = np.where(np.isfinite(fl), fl, np.inf)
    sal = (
        pathway
        if pathway is not None
        else salvage(
            ids,
            rd,
            site,
            cd19_negative,
            favorable_genetics,
            seed=seed,
            ap=ap,
            age_at_relapse_years=np.asarray(age_years)
            + np.where(np.isfinite(rd), rd, 0.0) / DAYS_PER_YEAR,
            consolidation=consolidation,
            cache=cache,
        )
    )
    relapsed = np.isfinite(rd)
    transplanted = np.isfinite(sal.hsct_day)
    start = np.where(relapsed, rd, horizon_day)
    draws = cache if cache is not None else _shared_draws(seed, ids)
    late = late_death(
        ids,
        age_years,
        start,
        smr_for(relapsed, transplanted, ap),
        seed=seed,
        ap=ap,
        male_share=male_share,
        cache=draws,
    )
    early = np.minimum(fl, sal.death_day)
    death = np.minimum(early, late.death_day)
    cause = np.full(death.size, -1, dtype=np.int8)
    cause = np.where(
        np.isfinite(late.death_day) & (late.death_day < early),
        np.where(late.excess, 3, 4),
        cause,
    )
    cause = np.where(
        np.isfinite(sal.death_day) & (sal.death_day <= death), 1 + sal.death_cause, cause
    )
    cause = np.where(np.isfinite(fl) & (fl <= death), 0, cause).astype(np.int8)

    def before_death(x: FloatArray) -> FloatArray:
        return np.where(x < death, x, np.inf)

    hsct_day = before_death(sal.hsct_day)
    effects = late_effects(
        ids,
        rd,
        hsct_day,
        death,
        seed=seed,
        params=late_params if late_params is not None else LateEffectsParams.load(),
        age_at_diagnosis_years=np.asarray(age_years, dtype=np.float64),
        cache=draws,
    )
    return Lifetime(
        hsct_day=hsct_day,
        cart_day=before_death(sal.cart_day),
        relapse2_day=before_death(sal.relapse2_day),
        death_day=death,
        death_cause=cause,
        life_years=life_years(age_years, death, ap),
        late_effect_days=effects.days,
    )


TRIAL_COLUMNS = (
    "hsct_day",
    "cart_day",
    "relapse2_day",
    "lifetime_death_day",
    "life_years",
    *(column(e) for e in LATE_EFFECTS),
)
"""Lifetime columns of a trial's children (:func:`trial_columns`); ``late_<effect>_day``:
the start of each late effect, days from diagnosis (``inf``: never or not before death)."""
FIRST_LINE_CAUSES = ("treatment-related", "second malignancy")


def trial_columns(
    model: pd.DataFrame,
    covariates: pd.DataFrame,
    *,
    seed: int,
    horizon_day: float,
    params: ParameterSet | None = None,
) -> dict[str, FloatArray]:
    """:data:`TRIAL_COLUMNS` for rows of the engine's patient table (days from diagnosis).

    ``model`` has the engine's columns (``patient_id``, relapse, death); ``covariates`` the
    same children's ``age_years`` and ``genetics``, row for row; ``seed`` the model seed.
    """
    ap = AfterRelapseParams.load(params)
    cause = model["death_cause"].astype(object).to_numpy()
    fl = np.where(
        np.isin(cause, FIRST_LINE_CAUSES), model["death_day"].to_numpy(dtype=float), np.inf
    )
    age = covariates["age_years"].to_numpy(dtype=float)
    lt = lifetime(
        model["patient_id"].to_numpy(dtype=np.int64),
        age,
        fl,
        model["relapse_day"].fillna(np.inf).to_numpy(dtype=float),
        site_codes(model["relapse_site"]),
        model["relapse_cd19_negative"].to_numpy(dtype=bool),
        (covariates["genetics"].astype(str) == "favorable").to_numpy(),
        horizon_day=horizon_day,
        seed=seed,
        ap=ap,
        late_params=LateEffectsParams.load(params),
        pathway=Salvage.from_columns(model),
    )
    return {
        "hsct_day": lt.hsct_day,
        "cart_day": lt.cart_day,
        "relapse2_day": lt.relapse2_day,
        "lifetime_death_day": lt.death_day,
        "life_years": lt.life_years,
        **{column(e): lt.late_effect_days[e] for e in LATE_EFFECTS},
    }
