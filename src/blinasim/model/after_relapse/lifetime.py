"""Death to age 100: a national period life table with survivors' excess late mortality.

Background mortality is the US 2014 period life table (``data/lifetables/us_2014.csv``,
from the R survival package's ``survexp.us``; see its README), a constant hazard within
each year of age. From ``survivor_start_years`` after diagnosis (5-year survivors, CCSS),
the hazard is multiplied by a standardized mortality ratio that depends on what the child
went through: first-line therapy only, a relapse, or an allogeneic HSCT (Dixon JCO 2020;
Yeh JAMA Oncol 2020). Death times are exact draws by inversion of the cumulative hazard,
vectorized over children (a million children in well under a second).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from blinasim.model import _draws
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

LIFE_TABLE = "us_2014.csv"
"""The shipped life table (``data/lifetables/``)."""


@dataclass(frozen=True)
class LifeTable:
    """One-year death probabilities ``q`` by exact age ``0 .. n-1`` (last age open)."""

    q_male: FloatArray
    q_female: FloatArray

    def cumulative_hazard(self, male_share: float) -> FloatArray:
        """``H(a)`` at integer ages ``0 .. n`` for a population with ``male_share`` males."""
        q = male_share * self.q_male + (1.0 - male_share) * self.q_female
        h = -np.log1p(-np.clip(q, 0.0, 1.0 - 1e-12))
        return np.concatenate([[0.0], np.cumsum(h)])


@functools.cache
def life_table(name: str = LIFE_TABLE) -> LifeTable:
    """Read a shipped life table (CSV: ``age,q_male,q_female``; ``#`` lines are comments)."""
    text = (resources.files("blinasim") / "data" / "lifetables" / name).read_text("utf-8")
    rows = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not rows or rows[0].replace(" ", "") != "age,q_male,q_female":
        raise ValueError(f"life table {name}: expected the header age,q_male,q_female")
    arr = np.array([[float(x) for x in ln.split(",")] for ln in rows[1:]], dtype=np.float64)
    ages = arr[:, 0]
    if not np.array_equal(ages, np.arange(ages.size)):
        raise ValueError(f"life table {name}: ages must be 0, 1, 2, ...")
    return LifeTable(q_male=arr[:, 1], q_female=arr[:, 2])


@dataclass(frozen=True)
class LateDeath:
    """Death day (from diagnosis; ``inf``: alive at the maximum age) and excess share."""

    death_day: FloatArray
    excess: NDArray[np.bool_]
    """True where the death is attributed to late effects (the SMR part of the hazard)."""


def smr_for(
    relapsed: NDArray[np.bool_], transplanted: NDArray[np.bool_], ap: AfterRelapseParams
) -> FloatArray:
    """Each child's late-mortality SMR: HSCT > relapse > first-line therapy only."""
    return np.where(
        transplanted,
        ap.smr_after_hsct,
        np.where(relapsed, ap.smr_after_relapse, ap.smr_first_line),
    )


def interp_ages(x: FloatArray, fp: FloatArray) -> FloatArray:
    """``np.interp(x, ages, fp)`` on the unit grid ``ages = 0, 1, .., fp.size - 1``.

    The same numbers as ``np.interp`` (its slopes and its ``slope * (x - age) + fp``), with
    the interval found as the integer part instead of a binary search per value. Values
    ``np.interp`` treats specially (NaN, non-finite ``fp``) go to ``np.interp`` itself.
    """
    x = np.asarray(x, dtype=np.float64)
    n = fp.size
    slopes = np.diff(fp) / 1.0
    if n < 2 or not (np.isfinite(fp).all() and np.isfinite(slopes).all()) or np.isnan(x).any():
        return np.asarray(np.interp(x, np.arange(n, dtype=np.float64), fp), dtype=np.float64)
    j = np.minimum(np.clip(x, 0.0, n - 1.0).astype(np.intp), n - 2)
    age = j.astype(np.float64)
    out = np.where(x == age, fp[j], slopes[j] * (x - age) + fp[j])
    return np.where(x < 0.0, fp[0], np.where(x >= n - 1.0, fp[-1], out))


BUCKETS = 1 << 16
"""Start-index table size of :func:`interp_increasing` (finer than the life table's
cumulative-hazard steps, so that a value is at most a step or two from its table entry)."""


@functools.lru_cache(maxsize=8)
def _start_index(xp_bytes: bytes) -> tuple[NDArray[np.intp], float, float]:
    """Largest ``j`` with ``xp[j] <= edge`` at :data:`BUCKETS` equal steps over ``xp``."""
    xp = np.frombuffer(xp_bytes, dtype=np.float64)
    scale = (BUCKETS - 1) / (xp[-1] - xp[0])
    edges = xp[0] + np.arange(BUCKETS) / scale
    return np.searchsorted(xp, edges, side="right").astype(np.intp) - 1, float(xp[0]), scale


def interp_increasing(x: FloatArray, xp: FloatArray, fp: FloatArray) -> FloatArray:
    """``np.interp(x, xp, fp)`` for strictly increasing finite ``xp`` and finite ``fp``.

    The same numbers as ``np.interp`` (its slopes, its ``slope * (x - xp[j]) + fp[j]``, its
    ends), with the interval ``j`` (the last ``xp[j] <= x``) started from a table over equal
    steps and moved down then up until exact, instead of a binary search per value. Other
    inputs (NaN, repeated or non-finite points) go to ``np.interp`` itself.
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _interp_increasing(x, xp, fp)


def _interp_increasing(x: FloatArray, xp: FloatArray, fp: FloatArray) -> FloatArray:
    n = xp.size
    dx = np.diff(xp)
    usable = n > 2 and bool(np.isfinite(xp).all() and np.isfinite(fp).all() and (dx > 0).all())
    usable = usable and bool(np.isfinite((BUCKETS - 1) / (xp[-1] - xp[0])))
    slopes = np.diff(fp) / dx if usable else dx
    if not (usable and np.isfinite(slopes).all()) or np.isnan(x).any():
        return np.asarray(np.interp(x, xp, fp), dtype=np.float64)
    table, x0, scale = _start_index(np.ascontiguousarray(xp, dtype=np.float64).tobytes())
    j = table[np.clip((x - x0) * scale, 0.0, BUCKETS - 1.0).astype(np.intp)]
    while True:  # down to the last xp[j] <= x (-1: below the first point)
        down = (j >= 0) & (xp[np.maximum(j, 0)] > x)
        if not down.any():
            break
        j = j - down
    while True:  # up while the next point is still <= x
        up = (j < n - 1) & (xp[np.minimum(j + 1, n - 1)] <= x)
        if not up.any():
            break
        j = j + up
    k = np.clip(j, 0, n - 2)
    out = np.where(x == xp[k], fp[k], slopes[k] * (x - xp[k]) + fp[k])
    return np.where(j < 0, fp[0], np.where(j >= n - 1, fp[-1], out))


def late_death(
    ids: IntArray,
    age_at_diagnosis_years: FloatArray,
    from_day: FloatArray,
    smr: FloatArray,
    *,
    seed: int,
    ap: AfterRelapseParams,
    male_share: float = 0.5,
    table: LifeTable | None = None,
    cache: _draws.ChunkDraws | None = None,
) -> LateDeath:
    """Day of death (from diagnosis) of children alive at ``from_day``, to the maximum age.

    The hazard is the life table's from ``from_day``, times ``smr`` after
    ``survivor_start_years`` from diagnosis. ``male_share`` mixes the sexes' tables
    (the same for every child; 0.5 by assumption when sex is not carried).
    """
    lt = table if table is not None else life_table()
    hgrid = lt.cumulative_hazard(male_share)
    agrid = np.arange(hgrid.size, dtype=np.float64)
    a_max = min(ap.lifetime_max_age_years, float(agrid[-1]))
    age0 = np.asarray(age_at_diagnosis_years, dtype=np.float64)
    a_from = age0 + np.asarray(from_day, dtype=np.float64) / DAYS_PER_YEAR
    a_surv = np.maximum(age0 + ap.survivor_start_years, a_from)
    m = np.asarray(smr, dtype=np.float64)
    u = _draws.uniforms(seed, "after_relapse.lifetime", ids, k=2, cache=cache)
    target = -np.log(u[:, 0])
    h_from = interp_ages(a_from, hgrid)
    h_surv = interp_ages(a_surv, hgrid)
    before = target < h_surv - h_from
    # before survivorship: H(a) = H(from) + E; after: H(surv) + m (H(a) - H(surv)) = H(from) + E
    h_at = np.where(before, h_from + target, h_surv + (target - (h_surv - h_from)) / m)
    age_death = interp_increasing(h_at, hgrid, agrid)
    alive = (age_death >= a_max) | (h_at >= hgrid[-1])
    day = np.where(alive, np.inf, (age_death - age0) * DAYS_PER_YEAR)
    # the excess share of the hazard at death: (m - 1) / m after survivorship
    excess = ~before & ~alive & (u[:, 1] < (m - 1.0) / np.maximum(m, 1.0))
    return LateDeath(death_day=day, excess=excess)


def life_years(
    age_at_diagnosis_years: FloatArray, death_day: FloatArray, ap: AfterRelapseParams
) -> FloatArray:
    """Years lived from diagnosis, up to the maximum age (life expectancy is their mean)."""
    age0 = np.asarray(age_at_diagnosis_years, dtype=np.float64)
    cap = np.maximum(ap.lifetime_max_age_years - age0, 0.0)
    return np.minimum(np.asarray(death_day, dtype=np.float64) / DAYS_PER_YEAR, cap)
