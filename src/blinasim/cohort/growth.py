"""Height and weight for age and sex from a growth reference (LMS method).

The shipped table (``data/growth/lms_height_weight.csv``, see its README) gives the
L, M, S parameters of the WHO 2006 standard (12-23 months) and the CDC 2000 charts
(2-19 years). A z-score ``z`` maps to a measurement by

``X = M * (1 + L * S * z) ** (1 / L)`` (``L != 0``), ``X = M * exp(S * z)`` (``L == 0``).
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

MEASURES = ("height_cm", "weight_kg")
"""Measures available in the growth table."""


@dataclasses.dataclass(frozen=True)
class LMSTable:
    """LMS parameters of one measure for one sex, sorted by age in months."""

    age_months: NDArray[np.float64]
    L: NDArray[np.float64]
    M: NDArray[np.float64]
    S: NDArray[np.float64]

    def at(
        self, age_months: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """L, M, S linearly interpolated at each age (clamped to the table's range)."""
        return (
            np.interp(age_months, self.age_months, self.L),
            np.interp(age_months, self.age_months, self.M),
            np.interp(age_months, self.age_months, self.S),
        )


@functools.cache
def growth_table() -> pd.DataFrame:
    """The shipped LMS table: columns reference, sex, measure, age_months, L, M, S."""
    path = resources.files("blinasim") / "data" / "growth" / "lms_height_weight.csv"
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


@functools.cache
def lms_table(measure: str, sex: str) -> LMSTable:
    """The LMS table of ``measure`` (``height_cm``/``weight_kg``) for sex ``"F"``/``"M"``."""
    if measure not in MEASURES or sex not in ("F", "M"):
        raise ValueError(f"unknown measure/sex {measure!r}/{sex!r}")
    df = growth_table()
    sub = df[(df["measure"] == measure) & (df["sex"] == sex)].sort_values("age_months")
    return LMSTable(
        age_months=sub["age_months"].to_numpy(np.float64),
        L=sub["L"].to_numpy(np.float64),
        M=sub["M"].to_numpy(np.float64),
        S=sub["S"].to_numpy(np.float64),
    )


def lms_value(
    z: NDArray[np.float64], L: NDArray[np.float64], M: NDArray[np.float64], S: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Measurement with z-score ``z`` under LMS parameters (elementwise)."""
    z = np.asarray(z, dtype=np.float64)
    small = np.abs(L) < 1e-8
    safe_l = np.where(small, 1.0, L)
    base = np.maximum(1.0 + safe_l * S * z, 1e-6)
    power = M * base ** (1.0 / safe_l)
    return np.where(small, M * np.exp(S * z), power)


def lms_zscore(
    x: NDArray[np.float64], L: NDArray[np.float64], M: NDArray[np.float64], S: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Z-score of measurement ``x`` under LMS parameters (elementwise)."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(L) < 1e-8
    safe_l = np.where(small, 1.0, L)
    power = ((x / M) ** safe_l - 1.0) / (safe_l * S)
    return np.where(small, np.log(x / M) / S, power)


def measurement_for_age(
    measure: str,
    age_years: NDArray[np.float64],
    is_male: NDArray[np.bool_],
    z: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Height (cm) or weight (kg) at the given age, sex and z-score (vectorized)."""
    age_months = np.asarray(age_years, dtype=np.float64) * 12.0
    out = np.empty_like(age_months)
    for sex, mask in (("M", is_male), ("F", ~is_male)):
        if mask.any():
            L, M, S = lms_table(measure, sex).at(age_months[mask])
            out[mask] = lms_value(z[mask], L, M, S)
    return out


def count_at_or_below(
    points: NDArray[np.float64], x: NDArray[np.float64]
) -> NDArray[np.integer[Any]]:
    """How many of ``points`` are <= each ``x``.

    Equals ``searchsorted(points, x, side="right")`` for sorted ``points``; counting by
    comparisons is several times faster for the short tables of the cohort.
    """
    out = np.zeros(np.shape(x), dtype=np.int8 if len(points) < 127 else np.intp)
    for c in points:
        out += x >= c
    return out


@functools.cache
def _lms_grid(measure: str) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Shared age grid, value table and slope table of ``measure`` for both sexes.

    Returns ``(age_months, values, slopes)``: ``values`` has shape ``(3, 2 * g)`` (L, M, S;
    girls' ages then boys'), ``slopes`` the per-interval slopes ``(3, 2 * g - 1)`` exactly
    as :func:`numpy.interp` computes them, so that :func:`body_size` gives the same bits as
    interpolating each sex with :func:`numpy.interp`.
    """
    f, m = lms_table(measure, "F"), lms_table(measure, "M")
    if not np.array_equal(f.age_months, m.age_months):
        raise ValueError(f"the {measure} tables of girls and boys need the same age grid")
    values = np.array([np.concatenate([getattr(f, k), getattr(m, k)]) for k in "LMS"])
    g = len(f.age_months)
    xp = np.concatenate([f.age_months, f.age_months])
    slopes = (values[:, 1:] - values[:, :-1]) / (xp[1:] - xp[:-1])
    slopes[:, g - 1] = 0.0  # the girl-to-boy seam is never used (indices are clamped per sex)
    return f.age_months, values, slopes


def _interp_lms(
    measure: str,
    age_months: NDArray[np.float64],
    sex_offset: NDArray[np.intp],
    j: NDArray[np.integer[Any]],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """L, M, S at each age: :func:`numpy.interp`'s formula with a precomputed interval ``j``."""
    xp, values, slopes = _lms_grid(measure)
    g = len(xp)
    jj = j + sex_offset
    inside = (age_months >= xp[0]) & (age_months < xp[-1])
    edge = np.where(age_months < xp[0], sex_offset, sex_offset + g - 1)
    dx = age_months - xp[j]
    out = []
    for k in range(3):
        v = slopes[k][jj] * dx + values[k][jj]
        out.append(np.where(inside, v, values[k][edge]))
    return out[0], out[1], out[2]


def body_size(
    age_years: NDArray[np.float64],
    is_male: NDArray[np.bool_],
    z_height: NDArray[np.float64],
    z_weight: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Height (cm) and weight (kg) at the given ages, sexes and z-scores.

    The same numbers as :func:`measurement_for_age` for each measure, found with one
    search of the (shared) age grid for both measures and both sexes.
    """
    age_months = np.asarray(age_years, dtype=np.float64) * 12.0
    xp = _lms_grid("height_cm")[0]
    if not np.array_equal(xp, _lms_grid("weight_kg")[0]):
        return (
            measurement_for_age("height_cm", age_years, is_male, z_height),
            measurement_for_age("weight_kg", age_years, is_male, z_weight),
        )
    j = count_at_or_below(xp[1:-1], age_months)  # searchsorted - 1, clamped to [0, g - 2]
    offset = np.where(np.asarray(is_male, dtype=bool), len(xp), 0)
    height = lms_value(z_height, *_interp_lms("height_cm", age_months, offset, j))
    weight = lms_value(z_weight, *_interp_lms("weight_kg", age_months, offset, j))
    return height, weight


def zscore_for_age(
    measure: str,
    value: NDArray[np.float64],
    age_years: NDArray[np.float64],
    is_male: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Z-score of a height (cm) or weight (kg) for age and sex (vectorized)."""
    age_months = np.asarray(age_years, dtype=np.float64) * 12.0
    out = np.empty_like(age_months)
    for sex, mask in (("M", is_male), ("F", ~is_male)):
        if mask.any():
            L, M, S = lms_table(measure, sex).at(age_months[mask])
            out[mask] = lms_zscore(np.asarray(value)[mask], L, M, S)
    return out


def mosteller_bsa(
    height_cm: NDArray[np.float64], weight_kg: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Body surface area in m² by Mosteller (NEJM 1987;317:1098): sqrt(h·w/3600)."""
    return np.sqrt(np.asarray(height_cm) * np.asarray(weight_kg) / 3600.0)
