"""The pathway after a first relapse, vectorized over children.

A relapse continues the same child (same patient id, named streams). Steps, with the
sources of their parameters in ``parameters.yaml`` (section ``after_relapse``):

1. **Risk group** as COG defines it for a first relapse (AALL1331): high = marrow-involving
   relapse < 36 months from diagnosis or isolated extramedullary < 18 months; otherwise
   intermediate if the marrow MRD after reinduction block 1 is >= 0.1%, else low.
2. **Reinduction** (UKALL R3 block 1): death in the block, or MRD after it (log10-normal by
   timing and site, one latent draw per child); MRD >= 5% (M2/M3 marrow) is refractory.
3. **Consolidation** (children in second remission): low risk gets chemotherapy blocks
   (no transplant); intermediate and high risk get two blinatumomab blocks (the policy share,
   or a forced arm; never for CD19-negative relapses) or UKALL R3 blocks 2 and 3, each with
   its own toxic death risk.
4. **Allogeneic HSCT** for high and intermediate risk in second remission, with
   transplant-related mortality and a lower risk of relapse after it.
5. **Second relapse** by a promotion-time cure model, ``P(no relapse) = q ** HR``: ``q``
   by timing x site, ``HR`` from MRD after block 1 (per log10), blinatumomab (its MRD
   reduction at the same slope), transplant and favorable genetics (ETV6::RUNX1, DT 4+10).
6. **CAR-T** (tisagenlecleucel) for second relapse or refractory disease if CD19-positive,
   within the age limit and reached (access, vein-to-vein delay, not infused); event-free
   survival lower after blinatumomab non-response (Myers, JCO 2022). Otherwise a small
   third-line cure probability; the rest die of leukemia.

Causes of death: leukemia, treatment-related (reinduction, consolidation, HSCT); late
deaths are added by :mod:`blinasim.model.after_relapse.lifetime`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from blinasim.model import _draws
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0

SITES = ("marrow", "cns", "combined")
"""Relapse site codes (index = code)."""
RISK_GROUPS = ("low", "intermediate", "high")
"""COG first-relapse risk group codes (index = code; -1: not assigned, died in block 1)."""
CAUSES = ("leukemia", "treatment-related")
"""Death cause codes of the pathway (index = code; -1: alive)."""
Consolidation = Literal["policy", "blinatumomab", "chemotherapy"]
TRM = TRM_AFTER_RELAPSE = "treatment-related after relapse"
"""The engine's death cause for a death from salvage treatment (first-line
``treatment-related`` stays death in first remission)."""
COLUMNS = ("relapse_risk_group", "reinduction_mrd", "hsct_day", "cart_day", "relapse2_day")
"""The engine's patient columns from the pathway (:meth:`Salvage.columns`)."""


@dataclass(frozen=True)
class Salvage:
    """What happened after each first relapse (days from diagnosis; ``inf``/NaN: never)."""

    risk_group: NDArray[np.int8]
    reinduction_mrd: FloatArray
    refractory: BoolArray
    blinatumomab_consolidation: BoolArray
    hsct_day: FloatArray
    cart_day: FloatArray
    relapse2_day: FloatArray
    death_day: FloatArray
    death_cause: NDArray[np.int8]

    def columns(self, horizon: float) -> dict[str, NDArray[Any]]:
        """:data:`COLUMNS` for the engine's patient table (NaN/None: not before ``horizon``)."""
        rg = np.full(self.risk_group.size, None, dtype=object)
        ok = self.risk_group >= 0
        rg[ok] = np.asarray(RISK_GROUPS, dtype=object)[self.risk_group[ok]]

        def day(x: FloatArray) -> FloatArray:
            return np.where(x < horizon, x, np.nan)

        return {
            "relapse_risk_group": rg,
            "reinduction_mrd": self.reinduction_mrd,
            "hsct_day": day(self.hsct_day),
            "cart_day": day(self.cart_day),
            "relapse2_day": day(self.relapse2_day),
        }

    def cause_labels(self) -> NDArray[np.object_]:
        """Death cause labels: ``leukemia`` or :data:`TRM_AFTER_RELAPSE` (None: alive)."""
        tr = self.death_cause == CAUSES.index("treatment-related")
        lab = np.full(tr.size, None, dtype=object)
        lab[tr] = TRM_AFTER_RELAPSE
        lab[(self.death_cause >= 0) & ~tr] = "leukemia"
        return lab

    def scatter(self, rows: NDArray[np.intp], n: int) -> Salvage:
        """The same children placed at ``rows`` of ``n`` (others: no relapse, no event)."""

        def put(x: NDArray[Any], fill: Any) -> NDArray[Any]:
            out = np.full(n, fill, dtype=x.dtype)
            out[rows] = x
            return out

        return Salvage(
            risk_group=put(self.risk_group, -1),
            reinduction_mrd=put(self.reinduction_mrd, np.nan),
            refractory=put(self.refractory, False),
            blinatumomab_consolidation=put(self.blinatumomab_consolidation, False),
            hsct_day=put(self.hsct_day, np.inf),
            cart_day=put(self.cart_day, np.inf),
            relapse2_day=put(self.relapse2_day, np.inf),
            death_day=put(self.death_day, np.inf),
            death_cause=put(self.death_cause, -1),
        )


def _exp_delay(u: FloatArray, median: float) -> FloatArray:
    return np.asarray(-np.log(u) * median / math.log(2.0), dtype=np.float64)


def timing_index(relapse_day: FloatArray, ap: AfterRelapseParams) -> IntArray:
    """0 early (< 18 months), 1 intermediate, 2 late (>= 36 months from diagnosis)."""
    m = np.asarray(relapse_day, dtype=np.float64) / DAYS_PER_MONTH
    return np.where(m < ap.early_cutoff_months, 0, np.where(m < ap.late_cutoff_months, 1, 2))


def _by_cell(
    t: IntArray, marrow: BoolArray, m: tuple[float, float, float], e: tuple[float, float, float]
) -> FloatArray:
    return np.where(marrow, np.asarray(m)[t], np.asarray(e)[t])


def salvage(
    ids: IntArray,
    relapse_day: FloatArray,
    site: NDArray[np.integer],
    cd19_negative: BoolArray,
    favorable_genetics: BoolArray,
    *,
    seed: int,
    ap: AfterRelapseParams,
    age_at_relapse_years: FloatArray | None = None,
    consolidation: Consolidation = "policy",
    cache: _draws.ChunkDraws | None = None,
) -> Salvage:
    """Run every relapsing child (finite ``relapse_day``) through the pathway.

    ``site`` holds :data:`SITES` codes. Children with an infinite ``relapse_day`` get empty
    rows (no event). ``consolidation`` forces the intermediate/high-risk consolidation (the
    arms of a relapse trial); ``"policy"`` draws it with ``blinatumomab_consolidation_share``.
    Blinatumomab non-response (for CAR-T) is a second relapse after blinatumomab
    consolidation; first-line blinatumomab (AALL1731: given in MRD-negative remission) is
    not a non-response in Myers' sense and acts only through the CD19 phenotype of the
    relapse it leaves (``cd19_negative``).
    """
    r = np.asarray(relapse_day, dtype=np.float64)
    n = r.size
    rel = np.isfinite(r)
    rr = np.where(rel, r, 0.0)
    codes = np.asarray(site)
    if np.any(rel & ((codes < 0) | (codes >= len(SITES)))):
        raise ValueError("every relapse needs a site code of SITES")
    marrow = codes != SITES.index("cns")
    cd19neg = np.asarray(cd19_negative, dtype=bool)
    t = timing_index(rr, ap)
    months = rr / DAYS_PER_MONTH
    early = np.where(
        marrow, months < ap.risk_marrow_early_months, months < ap.risk_extramedullary_early_months
    )
    # reinduction block 1
    mean = np.where(
        marrow,
        np.asarray(
            [
                ap.mrd_log10_mean_marrow_early,
                ap.mrd_log10_mean_marrow_intermediate,
                ap.mrd_log10_mean_marrow_late,
            ]
        )[t],
        ap.mrd_log10_mean_extramedullary,
    )
    z = _draws.normals(seed, "after_relapse.mrd", ids)
    log10_mrd = np.minimum(mean + ap.mrd_log10_sd * z, 0.0)
    u = _draws.uniforms(seed, "after_relapse.salvage", ids, k=7, cache=cache)
    v = _draws.uniforms(seed, "after_relapse.third_line", ids, k=5, cache=cache)
    died_b1 = rel & (u[:, 0] < ap.reinduction_death_prob)
    d_b1 = rr + u[:, 0] / max(ap.reinduction_death_prob, 1e-300) * ap.reinduction_days
    mrd = np.where(rel & ~died_b1, 10.0**log10_mrd, np.nan)
    refractory = rel & ~died_b1 & (log10_mrd >= math.log10(ap.refractory_mrd))
    cr2 = rel & ~died_b1 & ~refractory
    group = np.where(early, 2, np.where(log10_mrd >= math.log10(ap.risk_mrd_threshold), 1, 0))
    group = np.where(rel & (~died_b1 | early), group, -1).astype(np.int8)
    # consolidation
    hi = cr2 & (group >= 1)
    if consolidation == "policy":
        want_blina = u[:, 6] < ap.blinatumomab_consolidation_share
    else:
        want_blina = np.full(n, consolidation == "blinatumomab")
    blina = hi & want_blina & ~cd19neg
    c0 = rr + ap.reinduction_days
    p_tox = np.where(
        blina, ap.blinatumomab_consolidation_death_prob, ap.chemo_consolidation_death_prob
    )
    died_c = cr2 & (u[:, 1] < p_tox)
    d_c = c0 + u[:, 1] / np.maximum(p_tox, 1e-300) * ap.consolidation_days
    # second relapse (promotion-time cure)
    q = _by_cell(
        t,
        marrow,
        (
            ap.relapse_free_marrow_early,
            ap.relapse_free_marrow_intermediate,
            ap.relapse_free_marrow_late,
        ),
        (
            ap.relapse_free_extramedullary_early,
            ap.relapse_free_extramedullary_intermediate,
            ap.relapse_free_extramedullary_late,
        ),
    )
    hsct_planned = hi & ~died_c & (u[:, 2] < ap.hsct_probability)
    log_hr = ap.mrd_log_hr_per_log10 * (
        np.maximum(log10_mrd, -6.0)
        - ap.mrd_reference_log10
        - np.where(blina, ap.blinatumomab_log10_mrd_reduction, 0.0)
    )
    log_hr += np.where(hsct_planned, math.log(ap.hsct_relapse_hr), 0.0)
    log_hr += np.where(favorable_genetics, math.log(ap.favorable_genetics_hr), 0.0)
    p_free = q ** np.exp(log_hr)
    fails = cr2 & ~died_c & (u[:, 3] >= p_free)
    # the relapse time given failure: exponential from the start of consolidation
    r2 = np.where(fails, c0 + _exp_delay(u[:, 4], ap.relapse2_median_days), np.inf)
    h_day = c0 + ap.consolidation_days + ap.hsct_delay_days
    hsct = hsct_planned & (r2 > h_day)
    trm = hsct & (u[:, 5] < ap.hsct_trm_prob)
    d_trm = np.where(
        trm,
        h_day + _exp_delay(u[:, 5] / max(ap.hsct_trm_prob, 1e-300), ap.hsct_trm_median_days),
        np.inf,
    )
    r2 = np.where(r2 < d_trm, r2, np.inf)
    # failure: refractory after block 1 or second relapse -> CAR-T or third line
    fail_day = np.where(refractory, c0, r2)
    failed = np.isfinite(fail_day)
    age_ok = (
        np.ones(n, dtype=bool)
        if age_at_relapse_years is None
        else np.asarray(age_at_relapse_years) + (fail_day - rr) / DAYS_PER_YEAR
        <= ap.cart_max_age_years
    )
    to_cart = failed & ~cd19neg & age_ok & (v[:, 0] < ap.cart_access_prob)
    infused = to_cart & (v[:, 1] >= ap.cart_not_infused_prob)
    cart_day = np.where(infused, fail_day + ap.cart_vein_to_vein_days, np.inf)
    nonresponse = blina & ~refractory
    p_cart = np.where(
        nonresponse,
        ap.cart_event_free_prob**ap.cart_blinatumomab_nonresponse_hr,
        ap.cart_event_free_prob,
    )
    cured = np.where(infused, v[:, 2] < p_cart, ~to_cart & (v[:, 3] < ap.third_line_cure_prob))
    after = np.where(infused, cart_day, fail_day)
    d_leuk = np.where(
        failed & ~cured, after + _exp_delay(v[:, 4], ap.death_after_failure_median_days), np.inf
    )
    death = np.full(n, np.inf)
    cause = np.full(n, -1, dtype=np.int8)
    tr = CAUSES.index("treatment-related")
    for mask, day, c in (
        (died_b1, d_b1, tr),
        (died_c, d_c, tr),
        (trm, d_trm, tr),
        (np.isfinite(d_leuk), d_leuk, CAUSES.index("leukemia")),
    ):
        take = mask & (day < death)
        death = np.where(take, day, death)
        cause = np.where(take, np.int8(c), cause)
    return Salvage(
        risk_group=group,
        reinduction_mrd=mrd,
        refractory=refractory,
        blinatumomab_consolidation=blina,
        hsct_day=np.where(hsct & (h_day < death), h_day, np.inf),
        cart_day=np.where(cart_day < death, cart_day, np.inf),
        relapse2_day=np.where(r2 < death, r2, np.inf),
        death_day=death,
        death_cause=cause.astype(np.int8),
    )


def site_codes(site: NDArray[np.object_]) -> NDArray[np.int8]:
    """:data:`SITES` codes of site labels (-1: no site, e.g. no relapse)."""
    s = np.asarray(site, dtype=object)
    out = np.full(s.shape, -1, dtype=np.int8)
    for i, name in enumerate(SITES):
        out[s == name] = i
    return out


def salvage_rows(
    ids: IntArray,
    relapse_day: FloatArray,
    site: NDArray[np.object_],
    cd19_negative: BoolArray,
    favorable_genetics: BoolArray,
    *,
    seed: int,
    ap: AfterRelapseParams,
    cache: _draws.ChunkDraws | None = None,
) -> Salvage:
    """:func:`salvage` of the rows with a finite ``relapse_day`` (site labels), all rows out."""
    rows = np.flatnonzero(np.isfinite(relapse_day))
    return salvage(
        ids[rows],
        relapse_day[rows],
        site_codes(site[rows]),
        cd19_negative[rows],
        favorable_genetics[rows],
        seed=seed,
        ap=ap,
        cache=cache,
    ).scatter(rows, np.asarray(relapse_day).size)
