"""The pathway after a first relapse, vectorized over children.

A relapse continues the same child (same patient id, named streams) and the same clone: the
relapsing clone's chemotherapy sensitivity and growth, the child's T-cell fitness and
blinatumomab clearance (:mod:`.clone`) go through salvage protocols written as data
(:mod:`.salvage_protocols`) with the first-line kill machinery (:mod:`.kinetics`). Steps, with
the sources of their parameters in ``parameters.yaml`` (section ``after_relapse``):

1. **Reinduction** (UKALL R3 block 1, or the course's): the clone's marrow burden at relapse
   through the block's drug-class kill; the marrow MRD at its end decides refractory disease
   (>= 5%) and, with timing and site, the COG risk group (AALL1331: high = marrow-involving
   relapse < 36 months from diagnosis or isolated extramedullary < 18 months; intermediate =
   late with MRD >= 0.1%; low otherwise). Toxic death in the block.
2. **Consolidation** (children in second remission): low risk gets the chemotherapy blocks;
   intermediate and high risk two blinatumomab blocks (the policy share, or a forced arm;
   never for CD19-negative relapses; the effector-to-target PD and antigen loss of
   :mod:`blinasim.model.pd`) or the chemotherapy blocks (UKALL R3 blocks 2 and 3).
3. **Allogeneic HSCT** for high and intermediate risk in second remission (a log kill, with
   transplant-related mortality); others continue chemotherapy (maintenance kill).
4. **Second relapse**: extinction at the nadir (Poisson survivors) or regrowth to the relapse
   burden; a CD19-negative variant made by antigen loss can relapse first.
5. **CAR-T** (tisagenlecleucel) for second relapse or refractory disease if CD19-positive,
   within the age limit and reached; event-free survival lower after blinatumomab
   non-response (Myers, JCO 2022). Otherwise a small third-line cure probability.

Causes of death: leukemia, treatment-related (reinduction, consolidation, HSCT); late
deaths are added by :mod:`blinasim.model.after_relapse.lifetime`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.config import ParameterSet
from blinasim.model import _draws, mrd
from blinasim.model.after_relapse.clone import RelapseClone, donor_clones, timing_of
from blinasim.model.after_relapse.kinetics import Path, relapse_time
from blinasim.model.after_relapse.labels import label_codes
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.salvage_protocols import block_kills, load_salvage
from blinasim.model.leukemia import ChemoParams, LeukemiaParams
from blinasim.model.pd import BlinaParams, infusion_response, potential_kill
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
NO_CELLS = -700.0
"""Natural-log count standing for no cells (exp underflows to 0)."""

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
PATHWAY_COLUMNS = (
    "salvage_refractory",
    "salvage_blinatumomab",
    "salvage_hsct_day",
    "salvage_cart_day",
    "salvage_relapse2_day",
    "salvage_death_day",
    "salvage_death_cause",
)
"""The whole pathway of each relapsing child, not cut at the first-line horizon, so that the
lifetime (:func:`~blinasim.model.after_relapse.history.lifetime`) continues the same child
and clone as the engine's first ten years (:meth:`Salvage.from_columns`)."""
COLUMNS = (
    "relapse_risk_group",
    "reinduction_mrd",
    "hsct_day",
    "cart_day",
    "relapse2_day",
    *PATHWAY_COLUMNS,
)
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
    mrd_after_cycle1: FloatArray | None = None
    """Marrow MRD at the end of the first consolidation cycle (children in second remission)."""

    def columns(self, horizon: float) -> dict[str, NDArray[Any]]:
        """:data:`COLUMNS` for the engine's patient table (NaN/None: not before ``horizon``)."""
        rg = np.full(self.risk_group.size, None, dtype=object)
        ok = self.risk_group >= 0
        rg[ok] = np.asarray(RISK_GROUPS, dtype=object)[self.risk_group[ok]]

        def day(x: FloatArray) -> FloatArray:
            return np.where(x < horizon, x, np.nan)

        def nan(x: FloatArray) -> FloatArray:
            return np.where(np.isfinite(x), x, np.nan)

        return {
            "relapse_risk_group": rg,
            "reinduction_mrd": self.reinduction_mrd,
            "hsct_day": day(self.hsct_day),
            "cart_day": day(self.cart_day),
            "relapse2_day": day(self.relapse2_day),
            "salvage_refractory": self.refractory,
            "salvage_blinatumomab": self.blinatumomab_consolidation,
            "salvage_hsct_day": nan(self.hsct_day),
            "salvage_cart_day": nan(self.cart_day),
            "salvage_relapse2_day": nan(self.relapse2_day),
            "salvage_death_day": nan(self.death_day),
            "salvage_death_cause": self.death_cause,
        }

    @classmethod
    def from_columns(cls, table: pd.DataFrame) -> Salvage | None:
        """The pathway of each row of an engine patient table (``None``: no such columns)."""
        if not set(PATHWAY_COLUMNS) <= set(table.columns):
            return None

        def days(name: str) -> FloatArray:
            x = table[name].to_numpy(dtype=np.float64)
            return np.where(np.isnan(x), np.inf, x)

        return cls(
            risk_group=label_codes(table["relapse_risk_group"], RISK_GROUPS),
            reinduction_mrd=table["reinduction_mrd"].to_numpy(dtype=np.float64),
            refractory=table["salvage_refractory"].to_numpy(dtype=bool),
            blinatumomab_consolidation=table["salvage_blinatumomab"].to_numpy(dtype=bool),
            hsct_day=days("salvage_hsct_day"),
            cart_day=days("salvage_cart_day"),
            relapse2_day=days("salvage_relapse2_day"),
            death_day=days("salvage_death_day"),
            death_cause=table["salvage_death_cause"].to_numpy(dtype=np.int8),
        )

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
            mrd_after_cycle1=None
            if self.mrd_after_cycle1 is None
            else put(self.mrd_after_cycle1, np.nan),
        )


@dataclass(frozen=True)
class Course:
    """The salvage blocks of a protocol (``data/salvage/``).

    Reinduction, blocks every child in second remission gets, then the chemotherapy or
    blinatumomab consolidation.
    """

    protocol: str
    reinduction: str
    common: tuple[str, ...]
    chemotherapy: tuple[str, ...]
    blinatumomab_cycles: int


UKALL_R3 = Course("ukall_r3", "block1", (), ("block2", "block3"), 2)
"""AALL1331 (Brown 2021): block 1, then UKALL R3 blocks 2 and 3 or two blinatumomab blocks."""
INTREALL_HR = Course("intreall_hr", "induction", ("HC1", "HC2"), ("HC3",), 1)
"""20120215 (Locatelli 2021): induction, HC1, HC2, then HC3 or one blinatumomab cycle."""


@functools.lru_cache(maxsize=1)
def _default_sections() -> tuple[LeukemiaParams, ChemoParams, BlinaParams]:
    ps = ParameterSet.load()
    return (
        ps.section("leukemia", LeukemiaParams),
        ps.section("chemo", ChemoParams),
        ps.section("blinatumomab", BlinaParams),
    )


def _exp_delay(u: FloatArray, median: float) -> FloatArray:
    return np.asarray(-np.log(u) * median / math.log(2.0), dtype=np.float64)


def timing_index(relapse_day: FloatArray, ap: AfterRelapseParams) -> IntArray:
    """0 early (< 18 months), 1 intermediate, 2 late (>= 36 months from diagnosis)."""
    return timing_of(relapse_day, ap)


def _chemo(path: Path, kill: float, days: float, g: FloatArray, s: FloatArray) -> None:
    path.linear(days, g - kill * s)


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
    clone: RelapseClone | None = None,
    first_line: tuple[LeukemiaParams, ChemoParams, BlinaParams] | None = None,
    course: Course = UKALL_R3,
) -> Salvage:
    """Run every relapsing child (finite ``relapse_day``) through the pathway.

    ``site`` holds :data:`SITES` codes. Children with an infinite ``relapse_day`` get empty
    rows (no event). ``consolidation`` forces the intermediate/high-risk consolidation (the
    arms of a relapse trial); ``"policy"`` draws it with ``blinatumomab_consolidation_share``.
    ``clone``: the relapsing clone of each child (the engine's, :func:`clone.from_first_line`);
    None draws one from the first-line model's relapses of the same cell
    (:func:`clone.donor_clones`). ``first_line``: the leukemia, chemo and blinatumomab
    sections (default: the shipped parameter file). ``course``: the salvage blocks.
    Blinatumomab non-response (for CAR-T) is a second relapse after blinatumomab
    consolidation.
    """
    r = np.asarray(relapse_day, dtype=np.float64)
    rows = np.flatnonzero(np.isfinite(r))
    ids_a = np.asarray(ids)
    sub = _salvage(
        ids_a[rows],
        r[rows],
        np.asarray(site)[rows],
        np.asarray(cd19_negative, dtype=bool)[rows],
        np.asarray(favorable_genetics, dtype=bool)[rows],
        seed=seed,
        ap=ap,
        age_at_relapse_years=None
        if age_at_relapse_years is None
        else np.asarray(age_at_relapse_years)[rows],
        consolidation=consolidation,
        cache=cache,
        clone=None if clone is None else clone.take(rows),
        first_line=first_line,
        course=course,
    )
    return sub if rows.size == r.size else sub.scatter(rows, r.size)


def _salvage(
    ids: IntArray,
    relapse_day: FloatArray,
    site: NDArray[np.integer],
    cd19_negative: BoolArray,
    favorable_genetics: BoolArray,
    *,
    seed: int,
    ap: AfterRelapseParams,
    age_at_relapse_years: FloatArray | None,
    consolidation: Consolidation,
    cache: _draws.ChunkDraws | None,
    clone: RelapseClone | None,
    first_line: tuple[LeukemiaParams, ChemoParams, BlinaParams] | None,
    course: Course,
) -> Salvage:
    """Every child has a finite ``relapse_day`` (see :func:`salvage`)."""
    lp, cp, bp = first_line if first_line is not None else _default_sections()
    r = np.asarray(relapse_day, dtype=np.float64)
    n = r.size
    rel = np.isfinite(r)
    rr = np.where(rel, r, 0.0)
    codes = np.asarray(site)
    if np.any(rel & ((codes < 0) | (codes >= len(SITES)))):
        raise ValueError("every relapse needs a site code of SITES")
    marrow = codes != SITES.index("cns")
    cd19neg = np.asarray(cd19_negative, dtype=bool)
    fav = np.asarray(favorable_genetics, dtype=bool)
    if clone is None:
        clone = donor_clones(ids, r, marrow, cd19neg, fav, seed=seed, ap=ap, cp=cp)
    g = clone.growth_per_day
    # salvage sensitivity: the clone's first-line sensitivity times the fitted factor and a
    # per-child log-normal part (resistance acquired or lost at relapse; mean 1)
    z = _draws.normals(seed, "after_relapse.mrd", ids, cache=cache)
    sd = ap.salvage_sensitivity_sd_log
    s = clone.sensitivity * ap.salvage_sensitivity_factor * np.exp(sd * z - 0.5 * sd * sd)
    months = rr / DAYS_PER_MONTH
    early = np.where(
        marrow, months < ap.risk_marrow_early_months, months < ap.risk_extramedullary_early_months
    )
    proto = load_salvage(course.protocol)
    kill = block_kills(proto, cp, ap)
    days = {b: proto.blocks[b].days for b in proto.blocks}
    normal = lp.normal_marrow_cells
    # a marrow-involving relapse is followed in the marrow; an isolated extramedullary one
    # in the CNS (systemic kill times the CNS fraction, plus CNS-directed therapy)
    level = np.where(marrow, math.log(lp.relapse_cells_marrow), math.log(lp.relapse_cells_cns))
    s = s * np.where(marrow, 1.0, cp.cns_systemic_fraction)
    x0 = np.where(
        marrow,
        ap.salvage_log10_cells_marrow * math.log(10.0),
        math.log(lp.relapse_cells_cns),
    )
    pos, neg = Path(), Path()
    pos.start(np.zeros(n), x0)
    neg.start(np.zeros(n), np.full(n, NO_CELLS))
    _chemo(pos, kill[course.reinduction], days[course.reinduction], g, s)
    neg.linear(days[course.reinduction], g)
    # marrow MRD after block 1 (isolated extramedullary relapses: not followed, negative)
    frac1 = np.where(marrow, mrd.leukemic_fraction(np.exp(pos.now), normal), 0.0)
    u = _draws.uniforms(seed, "after_relapse.salvage", ids, k=7, cache=cache)
    v = _draws.uniforms(seed, "after_relapse.third_line", ids, k=5, cache=cache)
    died_b1 = rel & (u[:, 0] < ap.reinduction_death_prob)
    d_b1 = rr + u[:, 0] / max(ap.reinduction_death_prob, 1e-300) * ap.reinduction_days
    mrd1 = np.where(rel & ~died_b1, frac1, np.nan)
    refractory = rel & ~died_b1 & (frac1 >= ap.refractory_mrd)
    cr2 = rel & ~died_b1 & ~refractory
    group = np.where(early, 2, np.where(frac1 >= ap.risk_mrd_threshold, 1, 0))
    group = np.where(rel & (~died_b1 | early), group, -1).astype(np.int8)
    # blocks every child in second remission gets, then consolidation
    for b in course.common:
        _chemo(pos, kill[b], days[b], g, s)
        neg.linear(days[b], g - kill[b] * s * cp.cd19neg_chemo_factor)
    hi = cr2 & (group >= 1)
    if consolidation == "policy":
        want_blina = u[:, 6] < ap.blinatumomab_consolidation_share
    else:
        want_blina = np.full(n, consolidation == "blinatumomab")
    blina = hi & want_blina & ~cd19neg
    pot = potential_kill(clone.css_pg_per_ml, clone.tcell_fitness, bp)
    chemo_days = sum(days[b] for b in course.chemotherapy)
    bb = proto.blinatumomab
    blina_days = course.blinatumomab_cycles * bb.block_days
    cycle1 = np.full(n, np.nan)
    # chemotherapy consolidation and blinatumomab cycles share the path by padding with
    # zero-length segments, so both arms have the same points (vectorized over children)
    for i in range(max(len(course.chemotherapy), course.blinatumomab_cycles)):
        x_before, xn_before = pos.now, neg.now
        if i < len(course.chemotherapy):
            b = course.chemotherapy[i]
            c_end = x_before + (g - kill[b] * s) * days[b]
            n_end = xn_before + (g - kill[b] * s * cp.cd19neg_chemo_factor) * days[b]
            c_len = days[b]
        else:
            c_end, n_end, c_len = x_before, xn_before, 0.0
        if i < course.blinatumomab_cycles:
            # only the children consolidated with blinatumomab take these values (each
            # child's infusion is its own: the same numbers as on every child)
            b_end, b_neg = x_before.copy(), xn_before.copy()
            on = np.flatnonzero(blina)
            if on.size:
                g_on = g[on]
                resp = infusion_response(x_before[on], g_on, pot[on], bb.infusion_days, bp)
                rest = bb.block_days - bb.infusion_days
                b_end[on] = resp.log_end + g_on * rest
                lost = np.log(np.maximum(resp.lost_cells, 1e-300)) + g_on * rest
                b_neg[on] = np.logaddexp(xn_before[on] + g_on * bb.block_days, lost)
            b_len = bb.block_days
        else:
            b_end, b_neg, b_len = x_before, xn_before, 0.0
        pos.t.append(pos.t[-1] + np.where(blina, b_len, c_len))
        pos.x.append(np.where(blina, b_end, c_end))
        neg.t.append(neg.t[-1] + np.where(blina, b_len, c_len))
        neg.x.append(np.where(blina, b_neg, n_end))
        if i == 0:
            cycle1 = mrd.leukemic_fraction(np.exp(pos.now) + np.exp(neg.now), normal)
    for p in (pos, neg):  # cranial irradiation and intrathecal therapy of a CNS relapse
        p.jump(p.now - ap.extramedullary_log10_kill * math.log(10.0), ~marrow)
    c0 = rr + ap.reinduction_days + sum(days[b] for b in course.common)
    cons_len = np.where(blina, blina_days, chemo_days)
    p_tox = np.where(
        blina, ap.blinatumomab_consolidation_death_prob, ap.chemo_consolidation_death_prob
    )
    died_c = cr2 & (u[:, 1] < p_tox)
    d_c = c0 + u[:, 1] / np.maximum(p_tox, 1e-300) * cons_len
    # allogeneic HSCT (high/intermediate risk) or continuation chemotherapy
    hsct_planned = hi & ~died_c & (u[:, 2] < ap.hsct_probability)
    for p in (pos, neg):
        p.linear(np.where(hsct_planned, ap.hsct_delay_days, 0.0), g)
        p.jump(p.now - ap.hsct_log10_kill * math.log(10.0), hsct_planned)
    cont = ~hsct_planned
    pos.linear(
        np.where(cont, ap.continuation_days, 0.0), g - cont * cp.kill_maintenance_per_day * s
    )
    neg.linear(
        np.where(cont, ap.continuation_days, 0.0),
        g - cont * cp.kill_maintenance_per_day * s * cp.cd19neg_chemo_factor,
    )
    # both populations in one search (row by row: the same numbers as one call each)
    gg, ll, uu = np.concatenate([g, g]), np.concatenate([level, level]), u[:, 3:5].T.ravel()
    t_pos, t_neg = np.split(relapse_time(pos.stacked(neg), gg, ll, lp.death_rate_per_day, uu), 2)
    r2 = np.where(cr2 & ~died_c, rr + np.minimum(t_pos, t_neg), np.inf)
    neg2 = t_neg < t_pos
    h_day = c0 + cons_len + ap.hsct_delay_days
    hsct = hsct_planned & (r2 > h_day)
    trm = hsct & (u[:, 5] < ap.hsct_trm_prob)
    d_trm = np.where(
        trm,
        h_day + _exp_delay(u[:, 5] / max(ap.hsct_trm_prob, 1e-300), ap.hsct_trm_median_days),
        np.inf,
    )
    r2 = np.where(r2 < d_trm, r2, np.inf)
    # failure: refractory after block 1 or second relapse -> CAR-T or third line
    fail_day = np.where(refractory, rr + ap.reinduction_days, r2)
    failed = np.isfinite(fail_day)
    age_ok = (
        np.ones(n, dtype=bool)
        if age_at_relapse_years is None
        else np.asarray(age_at_relapse_years) + (fail_day - rr) / DAYS_PER_YEAR
        <= ap.cart_max_age_years
    )
    cd19_ok = ~cd19neg & ~(neg2 & np.isfinite(r2))
    to_cart = failed & cd19_ok & age_ok & (v[:, 0] < ap.cart_access_prob)
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
        reinduction_mrd=mrd1,
        refractory=refractory,
        blinatumomab_consolidation=blina,
        hsct_day=np.where(hsct & (h_day < death), h_day, np.inf),
        cart_day=np.where(cart_day < death, cart_day, np.inf),
        relapse2_day=np.where(r2 < death, r2, np.inf),
        death_day=death,
        death_cause=cause.astype(np.int8),
        mrd_after_cycle1=np.where(cr2 & ~died_c, cycle1, np.nan),
    )


def site_codes(site: pd.Series | NDArray[np.object_]) -> NDArray[np.int8]:
    """:data:`SITES` codes of site labels (-1: no site, e.g. no relapse)."""
    return label_codes(site, SITES)


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
    clone: RelapseClone | None = None,
    first_line: tuple[LeukemiaParams, ChemoParams, BlinaParams] | None = None,
    age_at_relapse_years: FloatArray | None = None,
) -> Salvage:
    """:func:`salvage` of the rows with a finite ``relapse_day`` (site labels), all rows out.

    ``clone``, ``age_at_relapse_years`` (every row) and ``first_line``: as :func:`salvage`.
    """
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
        clone=None if clone is None else clone.take(rows),
        first_line=first_line,
        age_at_relapse_years=None
        if age_at_relapse_years is None
        else np.asarray(age_at_relapse_years)[rows],
    ).scatter(rows, np.asarray(relapse_day).size)
