"""Virtual cohort: candidates with B-ALL, AALL1731 eligibility screening, covariates.

Candidates are children with B-ALL aged 1-18 years. Candidate ``k`` gets its draws from
per-candidate random streams (:func:`blinasim.rng.uniforms` keyed by ``k``), so a candidate
is the same child whatever the cohort size. Screening applies the NCI standard-risk entry
criteria of AALL1731 (age 1 to <10 y, WBC < 50,000/µL, no BCR::ABL1, no CNS3, no testicular
disease) and leaves out children with Down syndrome (AALL1731's own DS cohorts); eligible
candidates get sequential patient ids 0, 1, 2, ... Hence the same ``(n, seed)`` gives
the same cohort and a larger ``n`` with the same seed extends it.

Every distribution is read from the ``cohort`` section of ``data/parameters.yaml``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from blinasim import rng
from blinasim.cohort.growth import body_size, count_at_or_below, mosteller_bsa
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
    "Down syndrome",
)
"""Screening reasons, in the order used to attribute a single (first) reason.

The first five are the entry criteria of AALL1731 (NCI standard risk; no BCR::ABL1, CNS3 or
testicular disease). Children with Down syndrome were eligible for AALL1731 but were treated
in its own DS cohorts, outside the randomized strata; blinasim does not model those cohorts
(``docs/model_v2_risk.md``), so they are screened out here."""

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
    # the year's index: searchsorted(cdf, u, "right") - 1, clamped to the last year
    idx = np.minimum(count_at_or_below(cdf[1:], u), len(years) - 1)
    lo, width = cdf[:-1][idx], (cdf[1:] - cdf[:-1])[idx]
    frac = np.where(width > 0, (u - lo) / np.where(width > 0, width, 1.0), 0.5)
    out: NDArray[np.float64] = years[idx] + np.clip(frac, 0.0, 1.0 - 1e-12)
    return out


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

    age = _age_inverse_cdf(u_age, p.age_year_weights)
    male = u_sex < p.p_male
    wbc = 10.0 ** (np.log10(p.wbc_median_per_ul) + p.wbc_log10_sd * ndtri(u_wbc))
    sub = np.where(
        age < 10.0,
        _category_counts(u_gen, p.subtype_probs_age_under_10),
        _category_counts(u_gen, p.subtype_probs_age_10_plus),
    )
    cns = (u_cns < p.p_cns3 + p.p_cns2).astype(np.int8) + (u_cns < p.p_cns3).astype(np.int8)
    return {
        "candidate_index": np.arange(start, start + n, dtype=np.int64),
        "age_years": age,
        "male": male,
        "wbc_per_ul": wbc,
        "subtype": sub,
        "cns": cns,
        "testicular": male & (u_tes < p.p_testicular_if_male),
        "down_syndrome": rng.uniforms(seed, "cohort.down_syndrome", start, n) < p.p_down_syndrome,
    }


def _category_counts(u: NDArray[np.float64], probs: Mapping[str, float]) -> NDArray[np.int8]:
    """Index into :data:`SUBTYPES` of each uniform (inverse CDF).

    The number of CDF points at or below ``u``, the last point excluded (so an index never
    passes the last subtype).
    """
    cdf = np.cumsum(np.array([probs[s] for s in SUBTYPES], dtype=np.float64))
    return count_at_or_below(cdf[:-1], u).astype(np.int8, copy=False)


def _reasons(c: Mapping[str, NDArray[Any]], p: CohortParams) -> list[NDArray[np.bool_]]:
    """One boolean array per reason of :data:`SCREEN_REASONS` (in that order)."""
    age = c["age_years"]
    return [
        (age < p.eligible_age_min_years) | (age >= p.eligible_age_max_years),
        c["wbc_per_ul"] >= p.eligible_wbc_max_per_ul,
        c["subtype"] == SUBTYPES.index("BCR::ABL1"),
        c["cns"] == 2,
        c["testicular"],
        c["down_syndrome"],
    ]


def _count_reasons(
    reasons: list[NDArray[np.bool_]],
    stop: int,
    with_reason: NDArray[np.int64],
    first: NDArray[np.int64],
) -> None:
    """Add the first ``stop`` candidates' reasons to the counts (any reason; first reason)."""
    before = np.zeros(stop, dtype=bool)
    for j, r in enumerate(reasons):
        r = r[:stop]
        with_reason[j] += np.count_nonzero(r)
        first[j] += np.count_nonzero(r & ~before)
        before |= r


SCREEN_CHUNK = 16 * rng.PATIENT_BLOCK
"""Candidates screened per step (any value gives the same cohort; this one keeps the
step's arrays in cache and bounds the memory used by screening)."""

_FLOAT_COLUMNS = ("age_years", "height_cm", "weight_kg", "bsa_m2", "height_z", "weight_z")


def screen_cohort(n: int, *, seed: int, params: ParameterSet | None = None) -> CohortSample:
    """Screen candidates until ``n`` are eligible for AALL1731; report who was excluded, why.

    Patient ``i`` is the ``i``-th eligible candidate of the seed's candidate sequence, so it
    is the same child whatever ``n`` is. Candidates are screened in steps of at most
    :data:`SCREEN_CHUNK`; each candidate's draws depend on its index only, so the step size
    never changes the cohort.
    """
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    n = int(n)
    p = CohortParams.load(params)
    out = _empty_columns(n)
    with_reason = np.zeros(len(SCREEN_REASONS), dtype=np.int64)
    first_reason = np.zeros(len(SCREEN_REASONS), dtype=np.int64)
    have, start = 0, 0
    while have < n:
        # ~57% of candidates are eligible (shipped values): ask for a little more than needed
        step = min(SCREEN_CHUNK, int(1.85 * (n - have)) + 1024)
        cand = _candidates(seed, start, step, p)
        reasons = _reasons(cand, p)
        ok = ~functools.reduce(np.logical_or, reasons)
        take = np.flatnonzero(ok)
        screened = step
        if take.size >= n - have:
            take = take[: n - have]
            screened = int(take[-1]) + 1  # screen no one after the n-th enrolled
        _count_reasons(reasons, screened, with_reason, first_reason)
        _fill_patients(out, slice(have, have + take.size), cand, take, seed, p)
        have += take.size
        start += screened
        if have < n and start > 1000 * (n + 1) + 10**6:
            raise ParameterError(
                "cohort parameters under which some candidates are eligible",
                field="cohort",
                got=f"{have} eligible in {start} candidates",
            )
    return CohortSample(
        patients=_patients_frame(out),
        screening=_screening_table(with_reason, first_reason, start),
        n_candidates=start,
        seed=seed,
    )


def _empty_columns(n: int) -> dict[str, NDArray[Any]]:
    """Uninitialized patient columns (codes for categories), filled step by step."""
    out: dict[str, NDArray[Any]] = {k: np.empty(n, dtype=np.float64) for k in _FLOAT_COLUMNS}
    out["wbc_per_ul"] = np.empty(n, dtype=np.float64)
    out["candidate_index"] = np.empty(n, dtype=np.int64)
    for k in ("male", "down_syndrome", "testicular"):
        out[k] = np.empty(n, dtype=bool)
    for k in ("subtype", "cns"):
        out[k] = np.empty(n, dtype=np.int8)
    return out


def _fill_patients(
    out: dict[str, NDArray[Any]],
    rows: slice,
    cand: Mapping[str, NDArray[Any]],
    take: NDArray[np.intp],
    seed: int,
    p: CohortParams,
) -> None:
    """Write eligible candidates ``take`` (positions in ``cand``) to ``out[rows]``.

    Height and weight are drawn here, from streams keyed by candidate index.
    """
    if take.size == 0:
        return
    for k in ("candidate_index", "age_years", "male", "wbc_per_ul", "subtype", "cns"):
        out[k][rows] = cand[k][take]
    out["testicular"][rows] = cand["testicular"][take]
    out["down_syndrome"][rows] = cand["down_syndrome"][take]
    idx = cand["candidate_index"]
    u_hw = rng.uniforms(seed, "cohort.height_weight", int(idx[0]), int(take[-1]) + 1, k=2)[take]
    rho = p.height_weight_z_correlation
    z_h = _truncated_normal(u_hw[:, 0], p.z_truncation)
    z_2 = _truncated_normal(u_hw[:, 1], p.z_truncation)
    z_w = np.clip(rho * z_h + np.sqrt(1.0 - rho * rho) * z_2, -p.z_truncation, p.z_truncation)
    height, weight = body_size(out["age_years"][rows], out["male"][rows], z_h, z_w)
    out["height_z"][rows], out["weight_z"][rows] = z_h, z_w
    out["height_cm"][rows], out["weight_kg"][rows] = height, weight
    out["bsa_m2"][rows] = mosteller_bsa(height, weight)


_GENETICS_OF_SUBTYPE = np.array(
    [GENETICS.index(SUBTYPE_GENETICS[s]) for s in SUBTYPES], dtype=np.int8
)


def _patients_frame(c: Mapping[str, NDArray[Any]]) -> pd.DataFrame:
    """The patients table (columns :data:`COLUMNS`, in order) from the filled columns."""
    n = len(c["candidate_index"])
    sub, cns = c["subtype"], c["cns"]
    if (cns > 1).any():
        raise AssertionError("CNS3 child passed screening")
    cols: dict[str, Any] = {
        "patient_id": np.arange(n, dtype=np.int64),
        "candidate_index": c["candidate_index"],
        "age_years": c["age_years"],
        "sex": _cat(c["male"].view(np.int8), ["F", "M"]),
        "height_cm": c["height_cm"],
        "weight_kg": c["weight_kg"],
        "bsa_m2": c["bsa_m2"],
        "height_z": c["height_z"],
        "weight_z": c["weight_z"],
        "wbc_per_ul": c["wbc_per_ul"],
        "genetics": _cat(_GENETICS_OF_SUBTYPE[sub], list(GENETICS)),
        "genetic_subtype": _cat(sub, list(SUBTYPES)),
        "cns_status": _cat(cns, ["CNS1", "CNS2"]),
        "down_syndrome": c["down_syndrome"],
        "testicular": c["testicular"],
        "bcr_abl1": sub == SUBTYPES.index("BCR::ABL1"),
    }
    # copy=False keeps one block per column: no consolidation copy of a million rows
    return pd.DataFrame(cols, columns=list(COLUMNS), copy=False)


def _cat(codes: NDArray[Any], categories: list[str]) -> pd.Categorical[str]:
    """A categorical from integer codes."""
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int8), categories=pd.Index(categories)
    )


def _screening_table(
    with_reason: NDArray[np.int64], first_reason: NDArray[np.int64], n_cand: int
) -> pd.DataFrame:
    n_excluded = int(first_reason.sum())
    rows = [
        {"reason": r, "n_with_reason": int(with_reason[j]), "n_excluded": int(first_reason[j])}
        for j, r in enumerate(SCREEN_REASONS)
    ]
    rows.append({"reason": "eligible", "n_with_reason": n_cand - n_excluded, "n_excluded": 0})
    table = pd.DataFrame(rows)
    table["fraction_of_candidates"] = table["n_with_reason"] / max(n_cand, 1)
    return table


def sample_cohort(n: int, *, seed: int, params: ParameterSet | None = None) -> pd.DataFrame:
    """``n`` children eligible for AALL1731 (``screen_cohort(n, seed=...).patients``)."""
    return screen_cohort(n, seed=seed, params=params).patients
