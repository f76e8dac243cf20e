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

Candidates are screened first (:func:`screen_draw`: the common start of therapy and the MRD
assays only); matching (:func:`match`) is done on the screened readouts, so widening it
costs nothing, and only the matched twins run through the whole protocol
(:func:`simulate_draw`).
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
from blinasim.model.after_relapse.late_effects import LateEffectsParams
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.pathway import Salvage, site_codes
from blinasim.model.arms import model_plans, pre_randomization
from blinasim.model.engine import ModelParams, _measure, _risk_groups
from blinasim.model.leukemia import draw_biology, simulate_trajectories
from blinasim.model.mrd import MRDParams
from blinasim.model.plan import schedule_for

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


def twin_covariates(facts: Facts, n: int, seed: int, start: int = 0) -> pd.DataFrame:
    """Cohort children ``start .. start+n-1`` with the child's known covariates over theirs."""
    full = _base_cohort(start + n, seed)
    base = full.iloc[start:].reset_index(drop=True)
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
        pool = np.flatnonzero((full["genetics"] == facts.genetics).to_numpy())
        take = pool[np.arange(start, start + n) % pool.size]
        cov["genetics"] = pd.Categorical(np.full(n, facts.genetics), categories=list(GENETICS))
        sub = base["genetic_subtype"]
        cov["genetic_subtype"] = pd.Categorical(
            full["genetic_subtype"].to_numpy()[take], categories=sub.cat.categories
        )
    return cov


@dataclass(frozen=True)
class DrawTwins:
    """Matched twins of one posterior draw, run on the whole protocol.

    Per twin (length ``n``): ``readouts`` (as in screening), ``randomized``, ``event_free``
    (alive and in first remission at the decision day). Per option (dicts keyed by
    :data:`OPTIONS`): ``eligible`` (the option was open to the twin in AALL1731) and
    ``outcomes``: days from diagnosis (``inf``: never) of relapse, first event (relapse,
    second cancer or death), death, transplant; relapse site code (index into
    :data:`~blinasim.model.after_relapse.SITES`: marrow, cns, combined; -1 none), icon code
    of the death (2-4) and grade >= 3 adverse events after the decision day (one boolean
    array per event of :data:`AE_EVENTS`).
    """

    draw: int
    n: int
    readouts: Readouts
    randomized: BoolArray
    event_free: BoolArray
    eligible: dict[str, BoolArray]
    outcomes: dict[str, dict[str, Any]]

    @property
    def risk_group(self) -> NDArray[np.object_]:
        """Each twin's AALL1731 group after the EOC step (``off-study`` if it left)."""
        return self.readouts.risk_group

    @property
    def stratum(self) -> NDArray[np.object_]:
        """Each twin's AALL1731 stratum at the end of induction (the risk group)."""
        s = self.readouts.stratum
        return self.readouts.risk_group if s is None else s


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


@dataclass(frozen=True)
class Readouts:
    """Each candidate's simulated MRD readouts and AALL1731 risk group.

    Flow readouts are 0 below detection; HTS is NaN when indeterminate. ``flow_lod`` and
    ``hts_lod``: the assays' detection limits (fractions).
    """

    patient_id: NDArray[np.int64]
    values: dict[str, FloatArray]
    hts_indeterminate: BoolArray
    risk_group: NDArray[np.object_]
    flow_lod: float
    hts_lod: float
    stratum: NDArray[np.object_] | None = None
    """The EOI stratum (screening only: the risk group before the EOC step)."""

    @staticmethod
    def concat(parts: list[Readouts]) -> Readouts:
        """The candidates of ``parts``, in order."""
        first = parts[0]
        strata = [p.stratum for p in parts]
        return Readouts(
            patient_id=np.concatenate([p.patient_id for p in parts]),
            values={k: np.concatenate([p.values[k] for p in parts]) for k in first.values},
            hts_indeterminate=np.concatenate([p.hts_indeterminate for p in parts]),
            risk_group=np.concatenate([p.risk_group for p in parts]),
            flow_lod=first.flow_lod,
            hts_lod=first.hts_lod,
            stratum=None
            if any(x is None for x in strata)
            else np.concatenate([x for x in strata if x is not None]),
        )

    def take(self, rows: NDArray[np.intp]) -> Readouts:
        """The readouts of candidates ``rows``."""
        return Readouts(
            patient_id=self.patient_id[rows],
            values={k: v[rows] for k, v in self.values.items()},
            hts_indeterminate=self.hts_indeterminate[rows],
            risk_group=self.risk_group[rows],
            flow_lod=self.flow_lod,
            hts_lod=self.hts_lod,
            stratum=None if self.stratum is None else self.stratum[rows],
        )


def _readouts(p: pd.DataFrame, ids: NDArray[np.int64], mp: MRDParams) -> Readouts:
    """Readouts from the engine's patient rows (a child's rows on several arms agree)."""
    pos = np.searchsorted(ids, p["patient_id"].to_numpy(dtype=np.int64))
    n = ids.size
    vals = {k: np.zeros(n) for k in READOUTS}
    for k in READOUTS:
        vals[k][pos] = p[k].to_numpy(dtype=np.float64)
    ind = np.zeros(n, dtype=bool)
    ind[pos] = p["eoi_hts_indeterminate"].to_numpy(dtype=bool)
    group = np.full(n, "", dtype=object)
    group[pos] = p["risk_group"].to_numpy(dtype=object)
    return Readouts(ids, vals, ind, group, mp.flow_lod, mp.hts_lod)


@dataclass(frozen=True)
class Start:
    """The engine's view of a protocol's common start (read once per protocol)."""

    pre: Any
    common: tuple[Any, ...]
    days: FloatArray


def start_of(protocol: Any) -> Start:
    """The reference arm's induction and consolidation, as the engine runs them first."""
    pre = pre_randomization(model_plans(protocol))
    end = pre.phase_end("consolidation")
    common = tuple(p for p in pre.phases if p.end <= end)
    return Start(pre, common, np.array([8.0, pre.phase_end("induction"), end]))


def screen_draw(cov: pd.DataFrame, start: Start, params: ParameterSet, *, seed: int) -> Readouts:
    """Readouts and risk groups of the candidates ``cov`` without running the arms.

    The steps of the engine's common start (:func:`blinasim.model.simulate`): each child's
    biology, induction and consolidation of the reference arm, the MRD assays, the AALL1731
    rules; the same functions on the same per-child streams, so a candidate's readouts here
    are the ones the whole run gives (:func:`simulate_draw` checks it).
    """
    mp = ModelParams.from_parameters(params)
    ids = cov["patient_id"].to_numpy(dtype=np.int64)
    bio = draw_biology(
        ids,
        cov["genetics"].reset_index(drop=True),
        cov["cns_status"].reset_index(drop=True),
        seed=seed,
        lp=mp.leukemia,
        cp=mp.chemo,
        bp=mp.blina,
    )
    end = float(start.days[-1])
    sched = schedule_for(list(start.common), end + 1.0, mp.chemo)
    tr = simulate_trajectories(
        bio,
        sched,
        np.zeros((ids.size, sched.start.size)),
        start.days,
        lp=mp.leukemia,
        cp=mp.chemo,
        bp=mp.blina,
    )
    r = _measure(ids, tr.log_count_at, seed, mp.mrd, mp.leukemia.normal_marrow_cells)
    risk = _risk_groups(cov, r, RiskRules.load(params))
    return Readouts(
        patient_id=ids,
        values={k: np.asarray(r[k], dtype=np.float64) for k in READOUTS},
        hts_indeterminate=np.asarray(r["eoi_hts_indeterminate"], dtype=bool),
        risk_group=risk["group"].astype(object).to_numpy(),
        flow_lod=mp.mrd.flow_lod,
        hts_lod=mp.mrd.hts_lod,
        stratum=risk["stratum"].astype(object).to_numpy(),
    )


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
    """Run the twins ``cov`` (sorted ``patient_id``s fix their draws) on one draw."""
    n = len(cov)
    ids = cov["patient_id"].to_numpy(dtype=np.int64)
    out = simulate(cov, protocol, params=params, seed=seed, horizon_days=horizon_days)
    p = out.patients
    row = np.searchsorted(ids, p["patient_id"].to_numpy(dtype=np.int64))
    opt_of = option_of_arms(protocol)
    option = _options(p["arm"], opt_of)
    dday = decision_day(protocol)
    randomized = np.zeros(n, dtype=bool)
    randomized[row[option == OPTIONS[1]]] = True

    def inf(col: str) -> FloatArray:
        x = p[col].to_numpy(dtype=np.float64)
        return np.where(np.isnan(x), np.inf, x)

    relapse, death, smn = inf("relapse_day"), inf("death_day"), inf("second_malignancy_day")
    first = np.minimum(np.minimum(relapse, death), smn)
    cause = p["death_cause"].astype(object).to_numpy()
    fl_death = np.where(np.isin(cause, ("treatment-related", "second malignancy")), death, np.inf)
    sites = site_codes(p["relapse_site"].astype(object).to_numpy())
    ap = AfterRelapseParams.load(params)
    late = LateEffectsParams.load(params)
    ae = out.adverse_events
    ae = ae[(ae["grade"].to_numpy() >= 3) & (ae["day"].to_numpy() >= dday)]
    ae_row = np.searchsorted(ids, ae["patient_id"].to_numpy(dtype=np.int64))
    ae_opt = _options(ae["arm"], opt_of)
    ae_event = ae["event"].astype(object).to_numpy()
    age = cov["age_years"].to_numpy(dtype=np.float64)
    favorable = (cov["genetics"].astype(str) == "favorable").to_numpy()
    # the lifetime columns as history.trial_columns computes them (plus the child's sex),
    # every row (child x arm) at once
    lt = lifetime(
        ids[row],
        age[row],
        fl_death,
        relapse,
        sites,
        p["relapse_cd19_negative"].to_numpy(dtype=bool),
        favorable[row],
        horizon_day=horizon_days,
        seed=seed,
        ap=ap,
        male_share=male_share,
        late_params=late,
        pathway=Salvage.from_columns(p),
    )
    ldeath_all = np.where(lt.death_day <= horizon_days, lt.death_day, np.inf)
    icon_all = _death_icon(lt.death_cause, cause)
    eligible: dict[str, BoolArray] = {}
    outcomes: dict[str, dict[str, Any]] = {}
    event_free = np.zeros(n, dtype=bool)
    for opt in OPTIONS:
        sel = np.flatnonzero(option == opt)
        r = row[sel]
        el = np.zeros(n, dtype=bool)
        el[r] = True
        eligible[opt] = el

        def put(x: NDArray[Any], fill: Any, r: NDArray[np.intp] = r) -> NDArray[Any]:
            a = np.full(n, fill, dtype=np.asarray(x).dtype)
            a[r] = x
            return a

        ldeath = ldeath_all[sel]
        o: dict[str, Any] = {
            "relapse_day": put(relapse[sel], np.inf),
            "site": put(sites[sel], -1),
            "dfs_event_day": put(np.minimum(np.minimum(relapse[sel], smn[sel]), ldeath), np.inf),
            "death_day": put(ldeath, np.inf),
            "hsct_day": put(lt.hsct_day[sel], np.inf),
            "death_icon": put(icon_all[sel], 0),
        }
        if opt == OPTIONS[0]:
            event_free[r] = first[sel] > dday
        ev = ae_opt == opt
        for name in AE_EVENTS:
            flag = np.zeros(n, dtype=bool)
            flag[ae_row[ev & (ae_event == name)]] = True
            o[f"ae_{name}"] = flag
        outcomes[opt] = o
    return DrawTwins(
        draw=draw,
        n=n,
        readouts=_readouts(p, ids, MRDParams.load(params)),
        randomized=randomized,
        event_free=event_free,
        eligible=eligible,
        outcomes=outcomes,
    )


def _options(arm: pd.Series, opt_of: dict[str, str]) -> NDArray[np.str_]:
    """Option of each row's arm (a missing arm, off study: chemotherapy)."""
    a = arm.astype(object).to_numpy()
    return np.array([opt_of.get(x, OPTIONS[0]) if isinstance(x, str) else OPTIONS[0] for x in a])


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


def match(rd: Readouts, obs: Observed, rules: RiskRules, width_log10: float) -> BoolArray:
    """Candidates whose readouts match the child's.

    Per known readout: below the assay's detection limit (or 0) matches a twin reading below
    it; "indeterminate" HTS matches an indeterminate twin; a detected value ``x`` matches a
    detected twin reading ``y`` in the same band of the AALL1731 rules with
    ``|log10 y - log10 x| <= width_log10`` (``inf``: the band alone).
    """
    ok = np.ones(rd.patient_id.size, dtype=bool)
    for name in READOUTS:
        x = getattr(obs, name)
        if x is None:
            continue
        y = rd.values[name]
        lod = rd.hts_lod if name == "eoi_hts" else rd.flow_lod
        if name == "eoi_hts":
            if x == "indeterminate":
                ok &= rd.hts_indeterminate
                continue
            ok &= ~rd.hts_indeterminate
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
