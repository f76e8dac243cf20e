"""Virtual twins of one child: simulate, read the MRD assays, match, collect outcomes.

For each posterior draw ``d`` the twins are candidates ``d*N .. (d+1)*N - 1`` of the model's
virtual cohort (:func:`blinasim.cohort.sample_cohort`, one seed), with the child's known
covariates written over the cohort's (age, sex and the body size that follows from them,
CNS status, genetics: the genetic subtype is then taken, in turn, from the cohort's children
of that genetic group, so the lesions keep their cohort frequencies). Each candidate runs
through the AALL1731 protocol (:func:`blinasim.model.simulate`: the common start,
the MRD assays, the risk rules, every arm of its stratum with common random numbers) and
then its life to the horizon (:func:`blinasim.model.after_relapse.history.lifetime`:
salvage, transplant, late and background mortality). Because every random draw is keyed by
the candidate's id, the candidates of different draws are independent children and the same
candidate is the same child on both arms.

Matching (:func:`match`) happens after the simulation, so widening it costs nothing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.cohort import GENETICS, RiskRules, mosteller_bsa, sample_cohort
from blinasim.cohort.growth import body_size
from blinasim.config import ParameterSet
from blinasim.model import simulate
from blinasim.model.after_relapse.history import lifetime
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.pathway import site_codes
from blinasim.model.mrd import MRDParams

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

OPTIONS = ("chemotherapy", "blinatumomab")
AE_EVENTS = ("febrile_neutropenia", "sepsis", "cytokine_release_syndrome", "neurotoxicity")
ICONS = (
    "alive_disease_free",
    "alive_after_relapse",
    "died_of_leukemia",
    "died_of_treatment",
    "died_of_other_causes",
)
"""Icon-array categories at a horizon (see :func:`icon_codes`)."""
READOUTS = ("day8_pb_flow", "eoi_flow", "eoi_hts", "eoc_flow")


@dataclass(frozen=True)
class Facts:
    """The covariates the simulation needs (None: unknown, drawn from the cohort model)."""

    age_years: float | None
    male: bool | None
    cns2: bool | None
    genetics: str | None


@functools.lru_cache(maxsize=4)
def _base_cohort(n: int, seed: int) -> pd.DataFrame:
    return sample_cohort(n, seed=seed)


def twin_covariates(facts: Facts, n: int, seed: int) -> pd.DataFrame:
    """``n`` cohort children with the child's known covariates written over theirs."""
    base = _base_cohort(n, seed)
    cov = base.copy()
    age = base["age_years"].to_numpy(dtype=np.float64)
    male = (base["sex"] == "M").to_numpy()
    if facts.age_years is not None:
        age = np.full(n, float(facts.age_years))
    if facts.male is not None:
        male = np.full(n, bool(facts.male))
    if facts.age_years is not None or facts.male is not None:
        h, w = body_size(
            age,
            male,
            base["height_z"].to_numpy(dtype=np.float64),
            base["weight_z"].to_numpy(dtype=np.float64),
        )
        cov["height_cm"], cov["weight_kg"] = h, w
        cov["bsa_m2"] = mosteller_bsa(h, w)
    cov["age_years"] = age
    cov["sex"] = pd.Categorical(np.where(male, "M", "F"), categories=["F", "M"])
    if facts.cns2 is not None:
        cov["cns_status"] = pd.Categorical(
            np.full(n, "CNS2" if facts.cns2 else "CNS1"), categories=["CNS1", "CNS2"]
        )
    if facts.genetics is not None:
        pool = np.flatnonzero((base["genetics"] == facts.genetics).to_numpy())
        take = pool[np.arange(n) % pool.size]
        cov["genetics"] = pd.Categorical(np.full(n, facts.genetics), categories=list(GENETICS))
        sub = base["genetic_subtype"]
        cov["genetic_subtype"] = pd.Categorical(sub.to_numpy()[take], categories=sub.cat.categories)
    return cov


@dataclass(frozen=True)
class DrawTwins:
    """Candidates of one posterior draw: readouts and, per option, outcomes.

    Per candidate (length ``n``): the MRD readouts (flow: 0 = below detection; HTS: NaN
    when indeterminate), ``hts_indeterminate``, ``risk_group``, ``randomized``,
    ``event_free`` (alive and in first remission at the decision day). Per option (dicts
    keyed by :data:`OPTIONS`): ``eligible`` (the option was open to the candidate in
    AALL1731) and days from diagnosis (``inf``: never) of relapse, first event (relapse,
    second cancer or death), death, transplant; relapse site code (1 marrow, 2 CNS, 3
    combined; 0 none), icon code of the death (2-4) and grade >= 3 adverse events after the
    decision day (one boolean array per event of :data:`AE_EVENTS`).
    """

    draw: int
    n: int
    readouts: dict[str, FloatArray]
    hts_indeterminate: BoolArray
    risk_group: NDArray[np.object_]
    risk_reason: NDArray[np.object_]
    randomized: BoolArray
    event_free: BoolArray
    eligible: dict[str, BoolArray]
    outcomes: dict[str, dict[str, Any]]
    flow_lod: float
    hts_lod: float


def option_of_arms(protocol: Any) -> dict[str, str]:
    """Arm name -> option: the experimental arms of randomized strata give blinatumomab."""
    out = {}
    for name in protocol.arm_names:
        arm = protocol.arm(name)
        blina = arm.randomized_after is not None and not arm.control
        out[name] = OPTIONS[1] if blina else OPTIONS[0]
    return out


def decision_day(protocol: Any) -> float:
    """The day of randomization (end of consolidation) of the protocol's randomized arms."""
    days = [protocol.arm(a).randomization_day for a in protocol.arm_names]
    known = [float(d) for d in days if d is not None]
    return min(known) if known else 0.0


def simulate_draw(
    cov: pd.DataFrame,
    protocol: Any,
    params: ParameterSet,
    *,
    draw: int,
    seed: int,
    male_share: float,
    horizon_days: float,
) -> DrawTwins:
    """Run the candidates ``cov`` (their ``patient_id``s fix their draws) on one draw."""
    n = len(cov)
    first_id = int(cov["patient_id"].iloc[0])
    out = simulate(cov, protocol, params=params, seed=seed, horizon_days=horizon_days)
    p = out.patients
    row = p["patient_id"].to_numpy(dtype=np.int64) - first_id
    arm = p["arm"].astype(object).to_numpy()
    opt_of = option_of_arms(protocol)
    option = np.array(
        [opt_of.get(a, OPTIONS[0]) if isinstance(a, str) else OPTIONS[0] for a in arm]
    )
    dday = decision_day(protocol)
    readouts = {k: np.zeros(n) for k in READOUTS}
    for k in READOUTS:
        readouts[k][row] = p[k].to_numpy(dtype=np.float64)
    hts_ind = np.zeros(n, dtype=bool)
    hts_ind[row] = p["eoi_hts_indeterminate"].to_numpy(dtype=bool)
    group = np.empty(n, dtype=object)
    group[row] = p["risk_group"].astype(object).to_numpy()
    reason = np.empty(n, dtype=object)
    reason[row] = p["risk_reason"].astype(object).to_numpy()
    randomized = np.zeros(n, dtype=bool)
    np.logical_or.at(randomized, row[option == OPTIONS[1]], True)

    def inf(col: str) -> FloatArray:
        x = p[col].to_numpy(dtype=np.float64)
        return np.where(np.isnan(x), np.inf, x)

    relapse, death, smn = inf("relapse_day"), inf("death_day"), inf("second_malignancy_day")
    first = np.minimum(np.minimum(relapse, death), smn)
    cause = p["death_cause"].astype(object).to_numpy()
    fl_death = np.where(np.isin(cause, ("treatment-related", "second malignancy")), death, np.inf)
    ap = AfterRelapseParams.load(params)
    ae = out.adverse_events
    ae = ae[(ae["grade"].to_numpy() >= 3) & (ae["day"].to_numpy() >= dday)]
    ae_row = ae["patient_id"].to_numpy(dtype=np.int64) - first_id
    ae_arm = ae["arm"].astype(object).to_numpy()
    ae_opt = np.array(
        [opt_of.get(a, OPTIONS[0]) if isinstance(a, str) else OPTIONS[0] for a in ae_arm]
    )
    ae_event = ae["event"].astype(object).to_numpy()
    eligible: dict[str, BoolArray] = {}
    outcomes: dict[str, dict[str, Any]] = {}
    event_free = np.zeros(n, dtype=bool)
    for opt in OPTIONS:
        sel = np.flatnonzero(option == opt)
        r = row[sel]
        el = np.zeros(n, dtype=bool)
        el[r] = True
        eligible[opt] = el
        genetics = cov["genetics"].to_numpy()[r]
        lt = lifetime(
            p["patient_id"].to_numpy(dtype=np.int64)[sel],
            cov["age_years"].to_numpy(dtype=np.float64)[r],
            fl_death[sel],
            relapse[sel],
            site_codes(p["relapse_site"].astype(object).to_numpy()[sel]),
            p["relapse_cd19_negative"].to_numpy(dtype=bool)[sel],
            genetics == "favorable",
            horizon_day=horizon_days,
            seed=seed,
            ap=ap,
            male_share=male_share,
        )
        o: dict[str, Any] = {}

        def put(x: NDArray[Any], fill: Any, r: NDArray[np.int64] = r) -> NDArray[Any]:
            a = np.full(n, fill, dtype=np.asarray(x).dtype)
            a[r] = x
            return a

        ldeath = np.where(lt.death_day <= horizon_days, lt.death_day, np.inf)
        o["relapse_day"] = put(relapse[sel], np.inf)
        o["site"] = put(site_codes(p["relapse_site"].astype(object).to_numpy()[sel]), 0)
        o["dfs_event_day"] = put(np.minimum(np.minimum(relapse[sel], smn[sel]), ldeath), np.inf)
        o["death_day"] = put(ldeath, np.inf)
        o["hsct_day"] = put(lt.hsct_day, np.inf)
        o["death_icon"] = put(_death_icon(lt.death_cause, cause[sel]), 0)
        if opt == OPTIONS[0]:
            event_free[r] = first[sel] > dday
        ev = ae_opt == opt
        for name in AE_EVENTS:
            flag = np.zeros(n, dtype=bool)
            flag[ae_row[ev & (ae_event == name)]] = True
            o[f"ae_{name}"] = flag
        outcomes[opt] = o
    mp = MRDParams.load(params)
    return DrawTwins(
        draw=draw,
        n=n,
        readouts=readouts,
        hts_indeterminate=hts_ind,
        risk_group=group,
        risk_reason=reason,
        randomized=randomized,
        event_free=event_free,
        eligible=eligible,
        outcomes=outcomes,
        flow_lod=mp.flow_lod,
        hts_lod=mp.hts_lod,
    )


def _death_icon(code: NDArray[np.int8], engine_cause: NDArray[np.object_]) -> NDArray[np.int8]:
    """Icon index of each death (:data:`ICONS`): 2 leukemia, 3 treatment, 4 other causes.

    Lifetime causes: first line (treatment-related in first remission -> treatment; a second
    cancer -> other), leukemia, treatment-related after relapse, late effects, background.
    """
    icon = np.zeros(code.size, dtype=np.int8)
    first_trm = (code == 0) & (engine_cause == "treatment-related")
    icon[first_trm | (code == 2)] = 3
    icon[(code == 1)] = 2
    icon[((code == 0) & ~first_trm) | (code == 3) | (code == 4)] = 4
    return icon


@dataclass(frozen=True)
class Observed:
    """The child's MRD readouts (None: not known; HTS may be ``"indeterminate"``)."""

    day8_pb_flow: float | None
    eoi_flow: float | None
    eoi_hts: float | str | None
    eoc_flow: float | None


def _bands(name: str, rules: RiskRules) -> tuple[float, ...]:
    """Cut points of the AALL1731 risk rules on each readout (fractions)."""
    if name == "day8_pb_flow":
        return (rules.day8_pb_mrd_max_for_favorable,)
    if name == "eoi_flow":
        return (
            rules.eoi_flow_mrd_positive_at,
            rules.eoi_flow_mrd_high_at_dt4_10,
            rules.induction_failure_eoi_flow_mrd,
        )
    if name == "eoi_hts":
        return (rules.eoi_hts_mrd_favorable_max,)
    return (rules.eoc_flow_mrd_max_for_randomization,)


def match(tw: DrawTwins, obs: Observed, rules: RiskRules, width_log10: float) -> BoolArray:
    """Candidates whose readouts match the child's (and event-free at the decision day).

    Per known readout: below the assay's detection limit (or 0) matches a twin reading below
    it; "indeterminate" HTS matches an indeterminate twin; a detected value ``x`` matches a
    detected twin reading ``y`` in the same band of the AALL1731 rules with
    ``|log10 y - log10 x| <= width_log10`` (``inf``: the band alone).
    """
    ok = tw.event_free.copy()
    for name in READOUTS:
        x = getattr(obs, name)
        if x is None:
            continue
        y = tw.readouts[name]
        lod = tw.hts_lod if name == "eoi_hts" else tw.flow_lod
        if name == "eoi_hts":
            if x == "indeterminate":
                ok &= tw.hts_indeterminate
                continue
            ok &= ~tw.hts_indeterminate
        xv = float(x)
        if xv < lod:
            ok &= ~(y >= lod)
            continue
        cuts = np.asarray(_bands(name, rules))
        band_x = int(np.searchsorted(cuts, xv, side="right"))
        with np.errstate(divide="ignore", invalid="ignore"):
            same = (y >= lod) & (np.searchsorted(cuts, y, side="right") == band_x)
            if math.isfinite(width_log10):
                same &= np.abs(np.log10(np.where(y > 0, y, 1.0)) - math.log10(xv)) <= width_log10
        ok &= same
    return ok
