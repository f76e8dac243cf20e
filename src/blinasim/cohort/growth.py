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
