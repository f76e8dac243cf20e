"""Run a cohort through a protocol: induction, MRD, risk group, arms, outcomes.

For each chunk of children (results do not depend on the chunk size):

1. draw each child's leukemia biology, blinatumomab clearance and T-cell fitness;
2. run the common start of therapy (induction and consolidation of the reference arm) and
   read the MRD assays at day 8 (blood flow), end of induction (marrow flow + HTS) and end of
   consolidation (marrow flow);
3. assign the AALL1731 risk group with :func:`blinasim.cohort.assign_risk_group`;
4. run every child on each arm of their stratum (or on the one forced arm), with the same
   draws on every arm (common random numbers), and derive relapse time, site and CD19
   phenotype, death in remission, second malignancy, death after relapse, adverse events.

No censoring: accrual, data cut and loss to follow-up belong to the trial engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.cohort.risk import RiskRules, assign_risk_group
from blinasim.config import ParameterSet
from blinasim.errors import InputError
from blinasim.model import _draws, after_relapse, mrd, pk, tables, toxicity
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse.clone import from_first_line
from blinasim.model.arms import (
    arm_members,
    model_plans,
    pre_randomization,
    proxy_arm,
)
from blinasim.model.leukemia import (
    BlinaParams,
    ChemoParams,
    LeukemiaParams,
    draw_biology,
    potential_kill,
    simulate_trajectories,
)
from blinasim.model.mrd import MRDParams
from blinasim.model.pk import PKParams
from blinasim.model.plan import ArmPlan, schedule_for
from blinasim.model.toxicity import ToxicityParams
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]

DEFAULT_HORIZON_DAYS = 3653.0
"""Ten years from diagnosis."""

PATIENT_COLUMNS = (
    "patient_id",
    "risk_group",
    "risk_reason",
    "day8_pb_flow",
    "eoi_flow",
    "eoi_hts",
    "eoi_hts_indeterminate",
    "eoc_flow",
    "arm",
    "randomization_day",
    "end_of_therapy_day",
    "relapse_day",
    "relapse_site",
    "relapse_cd19_negative",
    "death_day",
    "death_cause",
    "second_malignancy_day",
    *after_relapse.COLUMNS,
)
AE_COLUMNS = ("patient_id", "arm", "phase", "event", "grade", "day")

_SITE_LABELS = np.array([*after_relapse.SITES, None], dtype=object)
"""Site label of each code of ``after_relapse.SITES`` (index -1: no relapse)."""
_DEATH_CAUSES = tables.CATEGORIES["death_cause"]
_TRM = _DEATH_CAUSES.index("treatment-related")
_SMN = _DEATH_CAUSES.index("second malignancy")
_SALVAGE_CAUSE = np.array(
    [-1, *(_DEATH_CAUSES.index(c) for c in ("leukemia", after_relapse.TRM))], dtype=np.int8
)
"""Engine death-cause code of each pathway cause code + 1 (``after_relapse.CAUSES``: leukemia,
treatment-related after relapse; -1 alive)."""
assert after_relapse.CAUSES == ("leukemia", "treatment-related")
COHORT_COLUMNS = ("patient_id", "bsa_m2", "genetics", "cns_status")


@dataclass(frozen=True)
class ModelParams:
    """Every model section of a :class:`ParameterSet`."""

    pk: PKParams
    leukemia: LeukemiaParams
    chemo: ChemoParams
    blina: BlinaParams
    mrd: MRDParams
    toxicity: ToxicityParams
    after_relapse: AfterRelapseParams

    @classmethod
    def from_parameters(cls, params: ParameterSet | None = None) -> ModelParams:
        """Read the model sections (default: the shipped parameter file)."""
        ps = ParameterSet.given(params)
        return cls(
            pk=ps.section("pk", PKParams),
            leukemia=ps.section("leukemia", LeukemiaParams),
            chemo=ps.section("chemo", ChemoParams),
            blina=ps.section("blinatumomab", BlinaParams),
            mrd=ps.section("mrd", MRDParams),
            toxicity=ps.section("toxicity", ToxicityParams),
            after_relapse=ps.section("after_relapse", AfterRelapseParams),
        )


@dataclass(frozen=True)
class Outcomes:
    """Simulation results (tidy tables).

    ``patients``: one row per child x arm (columns :data:`PATIENT_COLUMNS`). A randomized
    child appears once per arm of the stratum (common random numbers); a child on study but
    not randomized (SR-Favorable) once, on the stratum's arm; a child off study (induction
    failure, SR-High with EOC MRD >= 0.1%) once, with ``arm`` missing, simulated on the
    off-study arm (a high-risk stand-in) for further therapy. ``randomization_day`` is NaN
    unless the child was randomized and reached randomization event-free.
    ``adverse_events``: one row per grade >= 3 event (:data:`AE_COLUMNS`). Days are from
    diagnosis; NaN means "did not happen before the horizon".
    """

    patients: pd.DataFrame
    adverse_events: pd.DataFrame
    seed: int
    horizon_days: float


def _risk_groups(
    chunk: pd.DataFrame, readouts: dict[str, NDArray[Any]], rules: Any
) -> pd.DataFrame:
    """AALL1731 risk assignment (EOI then EOC) by :func:`blinasim.cohort.assign_risk_group`."""
    ra = assign_risk_group(
        chunk,
        eoi_flow_mrd=readouts["eoi_flow"],
        eoi_hts_mrd=readouts["eoi_hts"],
        eoi_hts_indeterminate=readouts["eoi_hts_indeterminate"],
        day8_pb_mrd=readouts["day8_pb_flow"],
        eoc_flow_mrd=readouts["eoc_flow"],
        rules=rules,
    )
    return ra.to_frame()


def _measure(
    ids: NDArray[np.int64], logq: FloatArray, seed: int, mp: MRDParams, normal: float
) -> dict[str, NDArray[Any]]:
    """MRD readouts from marrow log counts at (day 8, EOI, EOC), shape ``(n, 6, 3)``."""
    e = np.exp(logq[:, :3, :])
    marrow = e[:, 0, :] + e[:, 1, :] + e[:, 2, :]  # = .sum(axis=1), same order, faster
    frac = mrd.leukemic_fraction(marrow, normal)
    u = _draws.uniforms(seed, "mrd.assay", ids, k=6)
    d8 = mrd.flow(frac[:, 0] * mp.pb_to_marrow_ratio, u[:, 0], mp)
    eoi = mrd.flow(frac[:, 1], u[:, 1], mp)
    h = mrd.hts(frac[:, 1], u[:, 2], u[:, 3], u[:, 4], mp)
    eoc = mrd.flow(frac[:, 2], u[:, 5], mp)
    return {
        "day8_pb_flow": d8,
        "eoi_flow": eoi,
        "eoi_hts": h.value,
        "eoi_hts_indeterminate": h.indeterminate,
        "eoc_flow": eoc,
    }


@dataclass(frozen=True)
class _ArmResult:
    rows: pd.DataFrame
    aes: pd.DataFrame


def _run_arm(
    plan: ArmPlan,
    sel: NDArray[np.intp],
    ids: NDArray[np.int64],
    bsa: FloatArray,
    stratum_high: NDArray[np.bool_],
    bio_all: Any,
    eta_cl: FloatArray,
    *,
    mp: ModelParams,
    seed: int,
    horizon: float,
    cache: _draws.ChunkDraws,
    age: FloatArray | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:

    bio = bio_all.subset(sel)
    pid = ids[sel]
    sched = schedule_for(plan.phases, horizon, mp.chemo)
    n = sel.size
    bk = np.zeros((n, sched.start.size))
    on = np.flatnonzero(sched.blina_dose > 0)
    if on.size:
        ex = pk.exposure(bsa[sel], eta_cl[sel], mp.pk)
        caps = sched.blina_cap if sched.blina_cap is not None else np.full(sched.start.size, np.inf)
        pairs = np.unique(np.stack([sched.blina_dose[on], caps[on]], axis=1), axis=0)
        for dose, cap in pairs:
            # the protocol's max_dose (µg/day) caps each child's daily dose, as pk's cap does
            rate = np.minimum(pk.daily_dose_ug(float(dose), sched.blina_unit, bsa[sel], mp.pk), cap)
            css = pk.steady_state_pg_per_ml(rate, ex.cl_l_per_h)
            kill = potential_kill(css, bio.tcell_fitness, mp.blina)
            seg = on[(sched.blina_dose[on] == dose) & (caps[on] == cap)]
            bk[:, seg] = kill[:, None]
    tr = simulate_trajectories(
        bio,
        sched,
        bk,
        np.empty(0),
        lp=mp.leukemia,
        cp=mp.chemo,
        bp=mp.blina,
        therapy_end=plan.end_day,
    )
    lp = mp.leukemia
    cross = np.where(tr.cross_day < horizon, tr.cross_day, np.inf)
    # the compartments' first crossings; numpy's reductions over an axis of 3 cost many times
    # more than these element-wise passes (same values: cross has no NaN)
    t_m = np.minimum(np.minimum(cross[:, 0], cross[:, 1]), cross[:, 2])
    t_c = np.minimum(np.minimum(cross[:, 3], cross[:, 4]), cross[:, 5])
    relapse = np.minimum(t_m, t_c)
    has = np.isfinite(relapse)
    both = np.isfinite(t_m) & np.isfinite(t_c)
    gap = np.full(t_m.shape, np.inf)
    gap[both] = np.abs(t_m[both] - t_c[both])
    combined = both & (gap <= lp.combined_site_window_days)
    marrow_first = t_m <= t_c
    # relapse site as codes of after_relapse.SITES (-1: none) and as labels for the pathway
    site_code = np.where(has, np.where(combined, 2, np.where(marrow_first, 0, 1)), -1).astype(
        np.int8
    )
    site = _SITE_LABELS[site_code]
    # CD19-negative clone first in its compartment (argmin == 2: strictly before both others)
    cd19neg = np.where(
        marrow_first,
        (cross[:, 2] < cross[:, 0]) & (cross[:, 2] < cross[:, 1]),
        (cross[:, 5] < cross[:, 3]) & (cross[:, 5] < cross[:, 4]),
    )
    spans = [p.span for p in plan.phases]
    trm = toxicity.death_in_remission_day(pid, spans, seed=seed, tp=mp.toxicity, cache=cache)
    smn = after_relapse.smn_day(pid, seed=seed, ap=mp.after_relapse, cache=cache)
    first = np.minimum(np.minimum(relapse, trm), smn)
    first = np.where(first < horizon, first, np.inf)
    is_rel = has & (relapse <= first)
    is_trm = ~is_rel & np.isfinite(trm) & (trm <= first)
    is_smn = ~is_rel & ~is_trm & np.isfinite(first)
    rel_day = np.where(is_rel, relapse, np.inf)
    # the relapse continues the same child and clone (favorable genetics: ETV6::RUNX1, DT 4+10)
    clone = from_first_line(
        bio, tr.cross_day, bsa[sel], eta_cl[sel], lp=mp.leukemia, cp=mp.chemo, pkp=mp.pk
    )
    sal = after_relapse.salvage_rows(
        pid,
        rel_day,
        site,
        cd19neg,
        bio.genetic_factor > 1.0,
        seed=seed,
        ap=mp.after_relapse,
        cache=cache,
        clone=clone,
        first_line=(mp.leukemia, mp.chemo, mp.blina),
        age_at_relapse_years=None
        if age is None
        else age[sel] + np.where(is_rel, rel_day, 0.0) / DAYS_PER_YEAR,
    )
    smn_day = np.where(is_smn, smn, np.inf)
    d_smn = after_relapse.death_after_smn_day(
        pid, smn_day, seed=seed, ap=mp.after_relapse, cache=cache
    )
    death = np.where(is_trm, trm, np.where(is_rel, sal.death_day, np.where(is_smn, d_smn, np.inf)))
    death = np.where(death < horizon, death, np.inf)
    dead = np.isfinite(death)
    # death cause as codes of tables.CATEGORIES["death_cause"] (-1: alive)
    cause = np.where(
        dead,
        np.where(is_trm, _TRM, np.where(is_rel, _SALVAGE_CAUSE[sal.death_cause + 1], _SMN)),
        -1,
    ).astype(np.int8)
    stop = np.minimum(first, plan.end_day)
    ae = toxicity.adverse_events(
        pid, spans, stop, stratum_high[sel], seed=seed, tp=mp.toxicity, cache=cache
    )
    rand = np.full(n, plan.randomization_day)
    rand[first <= plan.randomization_day] = np.nan

    def nan(x: FloatArray) -> FloatArray:
        return np.where(np.isfinite(x), x, np.nan)

    cols: dict[str, Any] = {
        "randomization_day": rand,
        "end_of_therapy_day": stop,
        "relapse_day": nan(rel_day),
        "relapse_site": np.where(is_rel, site_code, -1).astype(np.int8),
        "relapse_cd19_negative": np.where(is_rel, cd19neg, False),
        "death_day": nan(death),
        "death_cause": cause,
        "second_malignancy_day": nan(smn_day),
        **sal.columns(horizon),
    }
    ae_cols: dict[str, Any] = {
        "row": sel[ae.patient_index],
        "phase": ae.phase,
        "event": ae.event,
        "grade": ae.grade,
        "day": ae.day,
    }
    return cols, ae_cols


def _check_cohort(cohort: pd.DataFrame) -> None:
    missing = [c for c in COHORT_COLUMNS if c not in cohort.columns]
    if missing:
        raise InputError("a cohort with columns " + ", ".join(COHORT_COLUMNS), field=missing[0])
    ids = cohort["patient_id"].to_numpy()
    if not np.issubdtype(ids.dtype, np.integer) or (ids.size and ids.min() < 0):
        raise InputError("non-negative integer patient ids", field="patient_id")
    if pd.Index(ids).has_duplicates:
        raise InputError("unique patient ids", field="patient_id")


def simulate(
    cohort: pd.DataFrame,
    protocol: Any,
    *,
    arm: str | None = None,
    params: ParameterSet | None = None,
    seed: int,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    chunk_size: int = 100_000,
) -> Outcomes:
    """Simulate every child of ``cohort`` on ``protocol``.

    ``arm=None`` runs each child on every arm of their stratum (common random numbers: the
    same child has the same draws on each); ``arm="B"`` runs only the children eligible for
    that arm (its stratum, randomized, or on it without randomization) on it. Results are
    identical for any ``chunk_size``. A research model, not medical advice.
    """
    _check_cohort(cohort)
    if chunk_size < 1:
        raise InputError("a positive chunk size", field="chunk_size", got=chunk_size)
    if not horizon_days > 0:
        raise InputError("a positive horizon in days", field="horizon_days", got=horizon_days)

    ps = ParameterSet.given(params)
    mp = ModelParams.from_parameters(ps)
    rules = RiskRules.load(ps)
    plans = model_plans(protocol)
    if arm is not None and arm not in plans:
        raise InputError(f"one of {sorted(plans)}", field="arm", got=arm)
    pre = pre_randomization(plans)
    parts: list[dict[str, NDArray[Any]]] = []
    ae_parts: list[dict[str, NDArray[Any]]] = []
    for lo in range(0, len(cohort), chunk_size):
        chunk = cohort.iloc[lo : lo + chunk_size]
        r, a = _simulate_chunk(chunk, plans, pre, arm, mp, rules, seed, float(horizon_days))
        parts.append(r)
        ae_parts.append(a)
    patients = tables.frame(parts, PATIENT_COLUMNS, plans)
    events = tables.frame(ae_parts, AE_COLUMNS, plans)
    return Outcomes(
        patients=patients,
        adverse_events=events,
        seed=seed,
        horizon_days=float(horizon_days),
    )


def _simulate_chunk(
    chunk: pd.DataFrame,
    plans: dict[str, ArmPlan],
    pre: ArmPlan,
    forced: str | None,
    mp: ModelParams,
    rules: Any,
    seed: int,
    horizon: float,
) -> tuple[dict[str, NDArray[Any]], dict[str, NDArray[Any]]]:
    ids = chunk["patient_id"].to_numpy(dtype=np.int64)
    bsa = chunk["bsa_m2"].to_numpy(dtype=np.float64)
    age = chunk["age_years"].to_numpy(dtype=np.float64) if "age_years" in chunk else None
    bio = draw_biology(
        ids,
        chunk["genetics"].reset_index(drop=True),
        chunk["cns_status"].reset_index(drop=True),
        seed=seed,
        lp=mp.leukemia,
        cp=mp.chemo,
        bp=mp.blina,
    )
    eta_cl = _draws.normals(seed, "pk.eta_cl", ids)
    cache = _draws.ChunkDraws(seed, ids)
    # common start: induction and consolidation of the reference arm
    common = [p for p in pre.phases if p.end <= pre.phase_end("consolidation")]
    sched = schedule_for(common, pre.phase_end("consolidation") + 1.0, mp.chemo)
    q = np.array([8.0, pre.phase_end("induction"), pre.phase_end("consolidation")])
    tr = simulate_trajectories(
        bio,
        sched,
        np.zeros((ids.size, sched.start.size)),
        q,
        lp=mp.leukemia,
        cp=mp.chemo,
        bp=mp.blina,
    )
    readouts = _measure(ids, tr.log_count_at, seed, mp.mrd, mp.leukemia.normal_marrow_cells)
    risk = _risk_groups(chunk, readouts, rules)
    group = tables.codes(risk["group"], "risk_group")
    reason = tables.codes(risk["reason"], "risk_reason")
    stratum = risk["stratum"]  # categorical: comparisons use codes
    randomized = risk["randomized"].to_numpy(dtype=bool)
    stratum_high = np.asarray(stratum == "SR-High", dtype=bool)
    out_rows: list[dict[str, NDArray[Any]]] = []
    out_aes: list[dict[str, NDArray[Any]]] = []
    arm_names = list(plans)
    for key, sel in arm_members(plans, stratum, risk["group"], randomized, forced).items():
        plan = plans[key or proxy_arm(plans)]
        cols, ae = _run_arm(
            plan,
            sel,
            ids,
            bsa,
            stratum_high,
            bio,
            eta_cl,
            mp=mp,
            seed=seed,
            horizon=horizon,
            cache=cache,
            age=age,
        )
        code = arm_names.index(key) if key else -1
        cols["randomization_day"] = np.where(randomized[sel], cols["randomization_day"], np.nan)
        out_rows.append(
            {
                "row": sel,
                "patient_id": ids[sel],
                "risk_group": group[sel],
                "risk_reason": reason[sel],
                **{k: np.asarray(v)[sel] for k, v in readouts.items()},
                "arm": np.full(sel.size, code, dtype=np.int64),
                **cols,
            }
        )
        out_aes.append(
            {
                **ae,
                "patient_id": ids[ae["row"]],
                "arm": np.full(ae["row"].size, code, dtype=np.int64),
            }
        )
    rows = tables.concat(out_rows)
    order = np.lexsort((rows["arm"], rows["row"]))
    aes = tables.concat(out_aes)
    ae_order = np.lexsort((aes["day"], aes["arm"], aes["row"]))
    return (
        {k: np.take(v, order, axis=0) for k, v in rows.items() if k != "row"},
        {k: np.take(v, ae_order, axis=0) for k, v in aes.items() if k != "row"},
    )
