"""The after-relapse fit: four salvage parameters against relapse-cohort data.

The free parameters (:data:`FREE`) are fitted with a small MCMC (``emcee``, run by
``scripts/fit_after_relapse.py``) on a cheap simulator: a fixed virtual relapsed cohort per
target (relapse timing, site and genetics drawn once, common random numbers), run through the
*historical* pathway (no blinatumomab, no CAR-T: the 1996-2014 era of the cohorts), with a
normal likelihood of each fitted target's published estimate and SE
(``data/targets/relapse_cohorts.yaml``; the ids in :data:`FITTED`). Only the ``after_relapse``
section moves: the first-line posterior is untouched, and the relapse trials (AALL1331,
20120215) are never used. A research model, not medical advice.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from blinasim import rng
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.pathway import salvage
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
FREE = (
    "salvage_sensitivity_factor",
    "salvage_sensitivity_sd_log",
    "hsct_log10_kill",
    "extramedullary_log10_kill",
)
"""The fitted parameters (``after_relapse`` section)."""

BOUNDS = {
    "salvage_sensitivity_factor": (0.5, 30.0),
    "salvage_sensitivity_sd_log": (0.0, 2.5),
    "hsct_log10_kill": (0.0, 10.0),
    "extramedullary_log10_kill": (0.0, 10.0),
}
"""Uniform priors (the sensitivity factor uniform on the log scale)."""
FITTED = (
    "ukall_r1_resistant_disease",
    "eckert_mrd_high_after_induction",
    "rheingold_os5_early",
    "rheingold_os5_intermediate",
    "rheingold_os5_late",
    "lew_os3_late_marrow",
    "malempati_os3_isolated_extramedullary",
)
"""Targets of ``relapse_cohorts.yaml`` the fit uses: those with role ``fitted`` (``fitted_by:
after_relapse``; a test keeps this tuple and the file's roles equal); the others are held out."""
MONTHS = DAYS_PER_YEAR / 12.0
CELLS = {
    "early": (3.0, 18.0),
    "intermediate": (18.0, 36.0),
    "late": (36.0, 84.0),
    "all": (3.0, 84.0),
}
"""Months from diagnosis of each cell's relapses (uniform; late within 7 years: assumption)."""
MARROW_SHARE = 0.725
"""Rheingold 2024: 72.5% of B-ALL first relapses involve the marrow (used in every cell)."""
FAVORABLE_SHARE = 0.2
"""Assumption: ETV6::RUNX1 or trisomy 4+10 among first relapses."""


@dataclass(frozen=True)
class Group:
    """A virtual relapsed cohort for one target."""

    target: str
    ids: NDArray[np.int64]
    relapse_day: FloatArray
    site: NDArray[np.int64]
    favorable: NDArray[np.bool_]
    years: float
    statistic: str


def _group(
    target: str, k: int, cell: str, site: str, years: float, stat: str, n: int, seed: int
) -> Group:
    g = rng.generator(seed, "after_relapse.trial_cohort", 100 + k)
    u = g.random((n, 3))
    lo, hi = CELLS[cell]
    day = (lo + (hi - lo) * u[:, 0]) * MONTHS
    if site == "mix":
        codes = np.where(u[:, 1] < MARROW_SHARE, 0, 1)
    else:
        codes = np.full(n, 0 if site == "marrow" else 1)
    return Group(
        target=target,
        ids=np.arange(k * n, (k + 1) * n, dtype=np.int64),
        relapse_day=day,
        site=codes.astype(np.int64),
        favorable=u[:, 2] < FAVORABLE_SHARE,
        years=years,
        statistic=stat,
    )


GROUPS = (
    ("rheingold_os5_early", "early", "mix", 5.0, "os"),
    ("rheingold_os5_intermediate", "intermediate", "mix", 5.0, "os"),
    ("rheingold_os5_late", "late", "mix", 5.0, "os"),
    ("rheingold_os5_all", "all", "mix", 5.0, "os"),
    ("lew_os3_late_marrow", "late", "marrow", 3.0, "os"),
    ("malempati_os3_marrow", "all", "marrow", 3.0, "os"),
    ("malempati_os3_isolated_extramedullary", "all", "cns", 3.0, "os"),
    ("ukall_r1_resistant_disease", "all", "mix", 1.0, "refractory"),
    ("eckert_mrd_high_after_induction", "late", "marrow", 1.0, "mrd_high"),
)
"""Each target's virtual cohort: timing cell, site (mix: 72.5% marrow), OS horizon (years),
statistic (``os``; ``refractory``: no second remission after the reinduction block;
``mrd_high``: marrow MRD >= 1e-3 after it, among those in second remission)."""


def cohorts(n: int = 4000, seed: int = 2024) -> tuple[Group, ...]:
    """The fixed virtual cohorts of every target with a simulated counterpart."""
    return tuple(_group(t, k, c, s, y, st, n, seed) for k, (t, c, s, y, st) in enumerate(GROUPS))


def historical(ap: AfterRelapseParams) -> AfterRelapseParams:
    """The 1996-2014 pathway: chemotherapy consolidation, no CAR-T."""
    return dataclasses.replace(ap, blinatumomab_consolidation_share=0.0, cart_access_prob=0.0)


def with_values(ap: AfterRelapseParams, theta: FloatArray) -> AfterRelapseParams:
    """``ap`` with the free parameters set to ``theta`` (:data:`FREE` order)."""
    return dataclasses.replace(ap, **{k: float(v) for k, v in zip(FREE, theta, strict=True)})


def simulate(
    ap: AfterRelapseParams, groups: tuple[Group, ...], seed: int = 2024
) -> dict[str, float]:
    """Overall survival of each group at its horizon in the historical pathway."""
    hp = historical(ap)
    out = {}
    for gr in groups:
        s = salvage(
            gr.ids,
            gr.relapse_day,
            gr.site,
            np.zeros(gr.ids.size, dtype=bool),
            gr.favorable,
            seed=seed,
            ap=hp,
        )
        if gr.statistic == "refractory":
            out[gr.target] = float(np.mean(s.refractory))
        elif gr.statistic == "mrd_high":
            cr2 = np.isfinite(s.reinduction_mrd) & ~s.refractory
            out[gr.target] = float(np.mean(s.reinduction_mrd[cr2] >= 1e-3))
        else:
            alive = s.death_day - gr.relapse_day > gr.years * DAYS_PER_YEAR
            out[gr.target] = float(np.mean(alive))
    return out


def targets() -> dict[str, dict[str, Any]]:
    """``data/targets/relapse_cohorts.yaml`` by id (``se`` filled in from a count)."""
    path = resources.files("blinasim") / "data" / "targets" / "relapse_cohorts.yaml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    out = {}
    for t in doc["targets"]:
        if "se" not in t and "count" in t:
            p = t["count"]["events"] / t["count"]["n"]
            t = {**t, "se": math.sqrt(p * (1.0 - p) / t["count"]["n"])}
        out[str(t["id"])] = t
    return out


def log_posterior(theta: FloatArray, ap: AfterRelapseParams, groups: tuple[Group, ...]) -> float:
    """Log prior + normal log likelihood of the fitted targets (-inf outside the bounds)."""
    for name, v in zip(FREE, theta, strict=True):
        lo, hi = BOUNDS[name]
        if not lo <= v <= hi:
            return -math.inf
    sim = simulate(with_values(ap, theta), tuple(g for g in groups if g.target in FITTED))
    tg = targets()
    ll = 0.0
    for tid in FITTED:
        ll -= 0.5 * ((sim[tid] - float(tg[tid]["estimate"])) / float(tg[tid]["se"])) ** 2
    return ll - math.log(float(theta[0]))  # log-uniform prior on the sensitivity factor
