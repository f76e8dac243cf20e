"""Virtual cohort: candidates with B-ALL, AALL1731 eligibility screening, covariates.

Candidates are children with B-ALL aged 1-18 years. Candidate ``k`` gets its draws from
per-candidate random streams (:func:`blinasim.rng.uniforms` keyed by ``k``), so a candidate
is the same child whatever the cohort size. Screening applies the NCI standard-risk entry
criteria of AALL1731 (age 1 to <10 y, WBC < 50,000/µL, no BCR::ABL1, no CNS3, no testicular
disease); eligible candidates get sequential patient ids 0, 1, 2, ... Hence the same
``(n, seed)`` gives the same cohort and a larger ``n`` with the same seed extends it.

Every distribution is read from the ``cohort`` section of ``data/parameters.yaml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from blinasim import rng
from blinasim.cohort.growth import measurement_for_age, mosteller_bsa
from blinasim.config import ParameterSet
from blinasim.errors import ParameterError

SUBTYPES = ("ETV6::RUNX1", "DT4_10", "iAMP21", "KMT2A", "hypodiploid", "BCR::ABL1", "other")
"""Genetic subtypes, finest level (``genetic_subtype`` column)."""

GENETICS = ("favorable", "neutral", "unfavorable")
"""AALL1731 genetic categories (``genetics`` column)."""

SUBTYPE_GENETICS: Mapping[str, str] = {
    "ETV6::RUNX1": "favorable",
    "DT4_10": "favorable",
    "iAMP21": "unfavorable",
    "KMT2A": "unfavorable",
    "hypodiploid": "unfavorable",
    "BCR::ABL1": "unfavorable",
    "other": "neutral",
}
"""Favorable = ETV6::RUNX1 or double trisomy 4+10; unfavorable = iAMP21, KMT2A, hypodiploid."""

SCREEN_REASONS = (
    "age outside 1 to <10 years",
    "WBC >= 50,000/µL",
    "BCR::ABL1",
    "CNS3",
    "testicular disease",
)
"""Screening reasons, in the order used to attribute a single (first) reason."""

COLUMNS = (
    "patient_id",
    "candidate_index",
    "age_years",
    "sex",
    "height_cm",
    "weight_kg",
    "bsa_m2",
    "height_z",
    "weight_z",
    "wbc_per_ul",
    "genetics",
    "genetic_subtype",
    "cns_status",
    "down_syndrome",
    "testicular",
    "bcr_abl1",
)
"""Columns of :func:`sample_cohort`, in order."""


@dataclasses.dataclass(frozen=True)
class CohortParams:
    """The ``cohort`` section of ``parameters.yaml``."""

    age_year_weights: Mapping[str, float]
    p_male: float
    wbc_median_per_ul: float
    wbc_log10_sd: float
    subtype_probs_age_under_10: Mapping[str, float]
    subtype_probs_age_10_plus: Mapping[str, float]
    p_cns2: float
    p_cns3: float
    p_testicular_if_male: float
    p_down_syndrome: float
    height_weight_z_correlation: float
    z_truncation: float
    growth_reference: str
    eligible_age_min_years: float
    eligible_age_max_years: float
    eligible_wbc_max_per_ul: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> CohortParams:
        """Read and check the ``cohort`` section (default: the shipped parameter file)."""
        ps = ParameterSet.given(params)
        out = ps.section("cohort", cls)
        out._check(ps.origin)
        return out

    def _check(self, origin: str) -> None:
        def bad(field: str, expected: str, got: object) -> ParameterError:
            return ParameterError(expected, file=origin, field=f"cohort.{field}", got=got)

        ages = self.age_year_weights
        if not isinstance(ages, Mapping) or not ages:
            raise bad("age_year_weights", "a mapping of integer ages to weights", ages)
        for k, v in ages.items():
            if not str(k).isdigit() or not isinstance(v, int | float) or v < 0:
                raise bad("age_year_weights", "integer-age keys with weights >= 0", {k: v})
        if sum(float(v) for v in ages.values()) <= 0:
            raise bad("age_year_weights", "at least one positive weight", ages)
        for name in ("subtype_probs_age_under_10", "subtype_probs_age_10_plus"):
            probs = getattr(self, name)
            if not isinstance(probs, Mapping) or set(probs) != set(SUBTYPES):
                raise bad(name, f"probabilities for exactly {list(SUBTYPES)}", probs)
            vals = np.array([probs[s] for s in SUBTYPES], dtype=np.float64)
            if (vals < 0).any() or abs(vals.sum() - 1.0) > 1e-6:
                raise bad(name, "probabilities >= 0 that sum to 1", float(vals.sum()))
        for name in ("p_male", "p_cns2", "p_cns3", "p_testicular_if_male", "p_down_syndrome"):
            p = getattr(self, name)
            if not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
                raise bad(name, "a probability in [0, 1]", p)
        if self.p_cns2 + self.p_cns3 > 1.0:
            raise bad("p_cns3", "p_cns2 + p_cns3 <= 1", self.p_cns2 + self.p_cns3)
        if not -1.0 < self.height_weight_z_correlation < 1.0:
            raise bad(
                "height_weight_z_correlation",
                "a correlation in (-1, 1)",
                self.height_weight_z_correlation,
            )
        if not self.z_truncation > 0:
            raise bad("z_truncation", "a number > 0", self.z_truncation)
        if not self.wbc_median_per_ul > 0 or not self.wbc_log10_sd > 0:
            raise bad("wbc_log10_sd", "a positive median and SD", self.wbc_log10_sd)
        if not self.eligible_age_min_years < self.eligible_age_max_years:
            raise bad(
                "eligible_age_max_years", "> eligible_age_min_years", self.eligible_age_max_years
            )


@dataclasses.dataclass(frozen=True)
class CohortSample:
    """Result of :func:`screen_cohort`.

    ``patients``: one row per eligible child (columns :data:`COLUMNS`).
    ``screening``: one row per screening reason plus ``eligible``; ``n_with_reason`` counts
    candidates with that reason (a child may have several), ``n_excluded`` attributes each
    excluded child to its first reason in :data:`SCREEN_REASONS` order (sums with
    ``eligible`` to ``n_candidates``).
    """

    patients: pd.DataFrame
    screening: pd.DataFrame
    n_candidates: int
    seed: int


def _age_inverse_cdf(u: NDArray[np.float64], weights: Mapping[str, float]) -> NDArray[np.float64]:
    """Age in years from a uniform: a year by its weight, uniform within the year."""
    years = np.array(sorted(int(k) for k in weights), dtype=np.float64)
    w = np.array([float(weights[str(int(y))]) for y in years], dtype=np.float64)
    cdf = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    idx = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, len(years) - 1)
    lo, hi = cdf[idx], cdf[idx + 1]
    frac = np.where(hi > lo, (u - lo) / np.where(hi > lo, hi - lo, 1.0), 0.5)
    out: NDArray[np.float64] = years[idx] + np.clip(frac, 0.0, 1.0 - 1e-12)
    return out


def _categorical(u: NDArray[np.float64], probs: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index of the category each uniform falls in (inverse CDF)."""
    cdf = np.cumsum(probs)
    cdf[-1] = 1.0 + 1e-12
    return np.searchsorted(cdf, u, side="right").astype(np.intp)


def _truncated_normal(u: NDArray[np.float64], bound: float) -> NDArray[np.float64]:
    """Standard normal truncated to [-bound, bound] by inverse CDF of a uniform."""
    lo, hi = ndtr(-bound), ndtr(bound)
    return np.asarray(ndtri(lo + u * (hi - lo)), dtype=np.float64)


def _candidates(seed: int, start: int, n: int, p: CohortParams) -> dict[str, NDArray[Any]]:
    """Screening covariates of candidates ``start .. start+n-1`` (children with B-ALL).

    Categories are integer codes: ``sex`` 0=F 1=M, ``subtype`` index into :data:`SUBTYPES`,
    ``cns`` 0=CNS1 1=CNS2 2=CNS3.
    """
    u_age = rng.uniforms(seed, "cohort.age", start, n)
    u_sex = rng.uniforms(seed, "cohort.sex", start, n)
    u_wbc = rng.uniforms(seed, "cohort.wbc", start, n)
    u_gen = rng.uniforms(seed, "cohort.genetics", start, n)
    u_cns = rng.uniforms(seed, "cohort.cns", start, n)
    u_tes = rng.uniforms(seed, "cohort.testicular", start, n)
    u_ds = rng.uniforms(seed, "cohort.down_syndrome", start, n)

    age = _age_inverse_cdf(u_age, p.age_year_weights)
    male = u_sex < p.p_male
    wbc = 10.0 ** (np.log10(p.wbc_median_per_ul) + p.wbc_log10_sd * ndtri(u_wbc))
    p_young = np.array([p.subtype_probs_age_under_10[s] for s in SUBTYPES], dtype=np.float64)
    p_old = np.array([p.subtype_probs_age_10_plus[s] for s in SUBTYPES], dtype=np.float64)
    sub = np.where(age < 10.0, _categorical(u_gen, p_young), _categorical(u_gen, p_old))
    sub = np.minimum(sub, len(SUBTYPES) - 1).astype(np.int8)
    cns = np.where(u_cns < p.p_cns3, 2, np.where(u_cns < p.p_cns3 + p.p_cns2, 1, 0))
    return {
        "candidate_index": np.arange(start, start + n, dtype=np.int64),
        "age_years": age,
        "male": male,
        "wbc_per_ul": wbc,
        "subtype": sub,
        "cns": cns.astype(np.int8),
        "testicular": male & (u_tes < p.p_testicular_if_male),
        "down_syndrome": u_ds < p.p_down_syndrome,
    }


def _reasons(c: Mapping[str, NDArray[Any]], p: CohortParams) -> NDArray[np.bool_]:
    """Boolean matrix (candidates x :data:`SCREEN_REASONS`)."""
    age = c["age_years"]
    return np.column_stack(
        [
            (age < p.eligible_age_min_years) | (age >= p.eligible_age_max_years),
            c["wbc_per_ul"] >= p.eligible_wbc_max_per_ul,
            c["subtype"] == SUBTYPES.index("BCR::ABL1"),
            c["cns"] == 2,
            c["testicular"],
        ]
    )


def screen_cohort(n: int, *, seed: int, params: ParameterSet | None = None) -> CohortSample:
    """Screen candidates until ``n`` are eligible for AALL1731; report who was excluded, why.

    Patient ``i`` is the ``i``-th eligible candidate of the seed's candidate sequence, so it
    is the same child whatever ``n`` is.
    """
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    p = CohortParams.load(params)
    parts: list[dict[str, NDArray[Any]]] = []
    reason_parts: list[NDArray[np.bool_]] = []
    have, start = 0, 0
    chunk = max(1024, int(1.85 * n) + 1024)  # ~57% of candidates are eligible (shipped values)
    while have < n:
        cand = _candidates(seed, start, chunk, p)
        reasons = _reasons(cand, p)
        ok: NDArray[np.bool_] = np.logical_not(reasons.any(axis=1))
        need = n - have
        if int(ok.sum()) >= need:
            last = int(np.flatnonzero(ok)[need - 1]) + 1  # screen no one after the n-th enrolled
            reasons, ok = reasons[:last], ok[:last]
        parts.append({k: v[: len(ok)][ok] for k, v in cand.items()})
        reason_parts.append(reasons)
        have += int(ok.sum())
        start += len(ok)
        if have < n and start > 1000 * (n + 1) + 10**6:
            raise ParameterError(
                "cohort parameters under which some candidates are eligible",
                field="cohort",
                got=f"{have} eligible in {start} candidates",
            )
        chunk = max(1024, 2 * (n - have) + 1024)
    eligible = {k: np.concatenate([q[k] for q in parts]) for k in parts[0]} if parts else None
    reasons_all = (
        np.concatenate(reason_parts) if reason_parts else np.zeros((0, len(SCREEN_REASONS)), bool)
    )
    return CohortSample(
        patients=_patients(
            eligible if eligible is not None else _candidates(seed, 0, 0, p), seed, p
        ),
        screening=_screening_table(reasons_all),
        n_candidates=start,
        seed=seed,
    )


def _patients(c: Mapping[str, NDArray[Any]], seed: int, p: CohortParams) -> pd.DataFrame:
    """The patients table of eligible candidates; height and weight drawn here."""
    idx = c["candidate_index"]
    n = len(idx)
    # height/weight streams are keyed by candidate index, drawn only for eligible children
    u_hw = _uniform_pairs_at(seed, "cohort.height_weight", idx)
    rho = p.height_weight_z_correlation
    z_h = _truncated_normal(u_hw[:, 0], p.z_truncation)
    z_2 = _truncated_normal(u_hw[:, 1], p.z_truncation)
    z_w = np.clip(rho * z_h + np.sqrt(1.0 - rho * rho) * z_2, -p.z_truncation, p.z_truncation)
    age, male = c["age_years"], c["male"]
    height = measurement_for_age("height_cm", age, male, z_h)
    weight = measurement_for_age("weight_kg", age, male, z_w)
    sub = c["subtype"].astype(np.int8)
    gen_codes = np.array([GENETICS.index(SUBTYPE_GENETICS[s]) for s in SUBTYPES], dtype=np.int8)
    cns = c["cns"].astype(np.int8)
    if (cns > 1).any():
        raise AssertionError("CNS3 child passed screening")
    out = pd.DataFrame(
        {
            "patient_id": np.arange(n, dtype=np.int64),
            "candidate_index": idx,
            "age_years": age,
            "sex": _cat(male.astype(np.int8), ["F", "M"]),
            "height_cm": height,
            "weight_kg": weight,
            "bsa_m2": mosteller_bsa(height, weight),
            "height_z": z_h,
            "weight_z": z_w,
            "wbc_per_ul": c["wbc_per_ul"],
            "genetics": _cat(gen_codes[sub], list(GENETICS)),
            "genetic_subtype": _cat(sub, list(SUBTYPES)),
            "cns_status": _cat(cns, ["CNS1", "CNS2"]),
            "down_syndrome": c["down_syndrome"].astype(bool),
            "testicular": c["testicular"].astype(bool),
            "bcr_abl1": sub == SUBTYPES.index("BCR::ABL1"),
        }
    )
    return out.loc[:, list(COLUMNS)]


def _cat(codes: NDArray[Any], categories: list[str]) -> pd.Categorical[str]:
    """A categorical from integer codes."""
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), categories=pd.Index(categories)
    )


def _uniform_pairs_at(seed: int, name: str, idx: NDArray[np.int64]) -> NDArray[np.float64]:
    """Per-candidate uniform pairs for the (sorted) candidate indices ``idx``."""
    if len(idx) == 0:
        return np.empty((0, 2), dtype=np.float64)
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    pairs = rng.uniforms(seed, name, lo, hi - lo, k=2)
    return pairs[idx - lo]


def _screening_table(reasons: NDArray[np.bool_]) -> pd.DataFrame:
    n_cand = reasons.shape[0]
    excluded = reasons.any(axis=1)
    first = np.where(excluded, reasons.argmax(axis=1), -1)
    rows = [
        {
            "reason": r,
            "n_with_reason": int(reasons[:, j].sum()),
            "n_excluded": int((first == j).sum()),
        }
        for j, r in enumerate(SCREEN_REASONS)
    ]
    rows.append(
        {
            "reason": "eligible",
            "n_with_reason": int((~excluded).sum()),
            "n_excluded": 0,
        }
    )
    table = pd.DataFrame(rows)
    table["fraction_of_candidates"] = table["n_with_reason"] / max(n_cand, 1)
    return table


def sample_cohort(n: int, *, seed: int, params: ParameterSet | None = None) -> pd.DataFrame:
    """``n`` children eligible for AALL1731 (``screen_cohort(n, seed=...).patients``)."""
    return screen_cohort(n, seed=seed, params=params).patients
