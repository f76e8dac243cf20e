"""Each child's lifetime events for one arm, as numpy arrays: what the economics prices.

:class:`EventHistory` is a frozen record of per-child arrays (days from diagnosis, ``inf``:
never) for the children of one arm (a strategy: chemotherapy, or chemotherapy +
blinatumomab): age, body surface area, the first-line schedule (a small table per protocol
arm, :class:`PhaseTable`, and each child's table index and stop day: first-line therapy
ends early at relapse or death), the grade >= 3 adverse events (flat arrays: child index,
type, grade, day), the first relapse and what followed it (reinduction, consolidation by
chemotherapy or blinatumomab, HSCT, CAR-T, failure: a second relapse or refractory
disease), death (day and :data:`~blinasim.model.after_relapse.history.CAUSES` code), the
end of each child's life table horizon (death or the maximum age) and the onset day of each
late effect of the model (:mod:`blinasim.model.after_relapse.late_effects`).

:func:`history_from_model` builds it from the engine's tables (``simulate``: patients and
adverse events), the cohort's covariates and the protocol, re-running the lifetime pathway
of :mod:`blinasim.model.after_relapse` with the model seed (the same children, the same
numbers as the engine's and the trial's lifetime columns).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.config import ParameterSet
from blinasim.economics.setting import PHASE_KINDS
from blinasim.errors import InputError
from blinasim.model.after_relapse.history import FIRST_LINE_CAUSES, lifetime
from blinasim.model.after_relapse.late_effects import LATE_EFFECTS, LateEffectsParams
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.pathway import Salvage, salvage, site_codes
from blinasim.model.arms import OFF_STUDY
from blinasim.model.plan import ArmPlan, arm_plan, reference_intensities
from blinasim.model.toxicity import EVENTS
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class PhaseTable:
    """One protocol arm's first-line phases and blinatumomab infusions (days from diagnosis)."""

    arm: str
    kinds: tuple[str, ...]
    start: FloatArray
    end: FloatArray
    infusion_start: FloatArray
    infusion_end: FloatArray
    infusion_dose: FloatArray
    """µg/m²/day."""
    infusion_cap: FloatArray
    """µg/day (``inf``: none)."""

    @classmethod
    def from_plan(cls, plan: ArmPlan) -> PhaseTable:
        """The table of an engine arm plan."""
        infs = [inf for p in plan.phases for inf in p.infusions]
        for inf in infs:
            if inf.unit.replace("ug", "µg").replace("m2", "m²") != "µg/m²/day":
                raise InputError("blinatumomab doses in µg/m²/day", field="protocol", got=inf.unit)
        return cls(
            arm=plan.name,
            kinds=tuple(p.kind for p in plan.phases),
            start=np.array([p.start for p in plan.phases], dtype=np.float64),
            end=np.array([p.end for p in plan.phases], dtype=np.float64),
            infusion_start=np.array([i.start for i in infs], dtype=np.float64),
            infusion_end=np.array([i.end for i in infs], dtype=np.float64),
            infusion_dose=np.array([i.dose for i in infs], dtype=np.float64),
            infusion_cap=np.array(
                [np.inf if i.max_dose is None else i.max_dose for i in infs], dtype=np.float64
            ),
        )


@dataclass(frozen=True)
class EventHistory:
    """Lifetime events of the children of one arm (per-child arrays; days from diagnosis)."""

    patient_id: IntArray
    age_years: FloatArray
    bsa_m2: FloatArray
    randomization_day: FloatArray
    """NaN if not randomized (the origin ``randomization`` needs it)."""
    tables: tuple[PhaseTable, ...]
    table: NDArray[np.int16]
    """Index into ``tables`` of each child's first-line arm."""
    first_line_stop_day: FloatArray
    """End of first-line therapy: the scheduled end, or relapse or death before it."""
    ae_child: IntArray
    ae_type: NDArray[np.int8]
    """Index into :data:`blinasim.model.toxicity.EVENTS`."""
    ae_grade: NDArray[np.int8]
    ae_day: FloatArray
    relapse_day: FloatArray
    consolidation_day: FloatArray
    """Start of post-relapse consolidation (second remission, alive at its start)."""
    consolidation_blinatumomab: NDArray[np.bool_]
    hsct_day: FloatArray
    cart_day: FloatArray
    failure_day: FloatArray
    """Second relapse, or refractory disease after reinduction (its end)."""
    relapse2_day: FloatArray
    """Second relapse (``inf``: none)."""
    death_day: FloatArray
    death_cause: NDArray[np.int8]
    """:data:`blinasim.model.after_relapse.history.CAUSES` code (-1: alive at the maximum age)."""
    end_day: FloatArray
    """Death or the maximum age of the life table (the horizon of each child)."""
    late_effects: Mapping[str, FloatArray] = field(default_factory=dict)
    """Start day of each late effect (model name -> per-child day; ``inf``: never); empty
    when the model gives none (:mod:`blinasim.model.after_relapse.late_effects`)."""

    @property
    def n(self) -> int:
        """Number of children."""
        return int(self.patient_id.size)

    @property
    def late_names(self) -> tuple[str, ...]:
        """The late effects present, in the model's order (then any other, sorted)."""
        known = [e for e in LATE_EFFECTS if e in self.late_effects]
        return (*known, *sorted(e for e in self.late_effects if e not in LATE_EFFECTS))

    def late_matrix(self) -> FloatArray:
        """``(n, len(late_names))`` start days (cached)."""
        return _late_matrix(self)

    def padded_tables(self) -> PaddedTables:
        """The phase tables as padded 2-D arrays (cached)."""
        return _padded(self)

    def ae_index(self) -> tuple[IntArray, IntArray]:
        """``(ptr, order)``: adverse events of child ``i`` are ``order[ptr[i]:ptr[i+1]]``."""
        return _ae_index(self)

    def __post_init__(self) -> None:
        n = self.patient_id.size
        for name in (
            "age_years", "bsa_m2", "randomization_day", "table", "first_line_stop_day",
            "relapse_day", "consolidation_day", "consolidation_blinatumomab", "hsct_day",
            "cart_day", "failure_day", "relapse2_day", "death_day", "death_cause", "end_day",
        ):  # fmt: skip
            if np.asarray(getattr(self, name)).shape != (n,):
                raise ValueError(f"EventHistory.{name}: expected shape ({n},)")
        m = self.ae_child.size
        for name in ("ae_type", "ae_grade", "ae_day"):
            if np.asarray(getattr(self, name)).shape != (m,):
                raise ValueError(f"EventHistory.{name}: expected shape ({m},)")
        if n and (self.table.min() < 0 or self.table.max() >= len(self.tables)):
            raise ValueError("EventHistory.table: indices into tables")
        for name, d in self.late_effects.items():
            if np.asarray(d).shape != (n,):
                raise ValueError(f"EventHistory.late_effects[{name!r}]: expected shape ({n},)")

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@dataclass(frozen=True)
class PaddedTables:
    """Phase tables stacked: ``(tables, phases)`` and ``(tables, infusions)`` arrays."""

    start: FloatArray
    end: FloatArray
    kind: IntArray
    """Index into :data:`~blinasim.economics.setting.PHASE_KINDS` (-1: padding)."""
    infusion_start: FloatArray
    infusion_end: FloatArray
    infusion_dose: FloatArray
    infusion_cap: FloatArray


_DERIVED: weakref.WeakKeyDictionary[EventHistory, dict[str, Any]] = weakref.WeakKeyDictionary()
"""Arrays derived from a history once (padded tables, adverse-event index, late-effect
matrix), dropped with the history."""


def _derived(h: EventHistory) -> dict[str, Any]:
    d = _DERIVED.get(h)
    if d is None:
        d = {}
        _DERIVED[h] = d
    return d


def _padded(h: EventHistory) -> PaddedTables:
    d = _derived(h)
    if "padded" not in d:
        d["padded"] = _make_padded(h)
    return d["padded"]  # type: ignore[no-any-return]


def _make_padded(h: EventHistory) -> PaddedTables:
    from_kinds = {k: i for i, k in enumerate(PHASE_KINDS)}
    t = len(h.tables)
    p = max([len(x.kinds) for x in h.tables] + [1])
    q = max([x.infusion_start.size for x in h.tables] + [1])
    start, end = np.zeros((t, p)), np.zeros((t, p))
    kind = np.full((t, p), -1, dtype=np.int64)
    inf = [np.zeros((t, q)) for _ in range(4)]
    for i, x in enumerate(h.tables):
        m = len(x.kinds)
        start[i, :m], end[i, :m] = x.start, x.end
        kind[i, :m] = [from_kinds.get(k, -1) for k in x.kinds]
        srcs = (x.infusion_start, x.infusion_end, x.infusion_dose, x.infusion_cap)
        for a, src in zip(inf, srcs, strict=True):
            a[i, : src.size] = src
    return PaddedTables(start, end, kind, *inf)


def _ae_index(h: EventHistory) -> tuple[IntArray, IntArray]:
    d = _derived(h)
    if "ae" not in d:
        d["ae"] = _make_ae_index(h)
    return d["ae"]  # type: ignore[no-any-return]


def _make_ae_index(h: EventHistory) -> tuple[IntArray, IntArray]:
    order = np.argsort(h.ae_child, kind="stable").astype(np.int64)
    counts = np.bincount(h.ae_child, minlength=h.n)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, order


def _late_matrix(h: EventHistory) -> FloatArray:
    d = _derived(h)
    if "late" not in d:
        d["late"] = _make_late_matrix(h)
    return d["late"]  # type: ignore[no-any-return]


def _make_late_matrix(h: EventHistory) -> FloatArray:
    names = h.late_names
    if not names:
        return np.zeros((h.n, 0))
    m = np.stack([np.asarray(h.late_effects[e], dtype=np.float64) for e in names], axis=1)
    return np.ascontiguousarray(m)


_TABLES: dict[int, tuple[Any, dict[str, PhaseTable]]] = {}


def protocol_tables(protocol: Any) -> dict[str, PhaseTable]:
    """Every arm of ``protocol`` as a :class:`PhaseTable` (by arm name; cached per object)."""
    hit = _TABLES.get(id(protocol))
    if hit is not None and hit[0] is protocol:
        return hit[1]
    arms = [protocol.arm(n) for n in protocol.arm_names]
    controls = [a for a in arms if a.control] + [a for a in arms if not a.control]
    ref = reference_intensities(controls)
    out = {a.name: PhaseTable.from_plan(arm_plan(a, ref)) for a in arms}
    if len(_TABLES) >= 8:
        _TABLES.clear()
    _TABLES[id(protocol)] = (protocol, out)  # the reference keeps the id from being reused
    return out


def _off_study_arm(tables: dict[str, PhaseTable], protocol: Any) -> str:
    arms = [protocol.arm(n) for n in protocol.arm_names]
    own = [a.name for a in arms if a.stratum == OFF_STUDY]
    high = [a.name for a in arms if a.stratum == "SR-High" and a.control]
    ctrl = [a.name for a in arms if a.control]
    return str((own or high or ctrl or list(tables))[0])


def _find(keys: IntArray, queries: IntArray) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Row of ``keys`` holding each query (the first in row order; 0 if none), and whether held.

    Increasing keys over a small range are looked up in a dense table.
    """
    n = keys.size
    if n == 0:
        return np.zeros(queries.size, dtype=np.intp), np.zeros(queries.size, dtype=bool)
    lo, hi = int(keys[0]), int(keys[-1])
    if 0 <= hi - lo <= 8 * (n + queries.size) + 4096 and bool(np.all(keys[1:] > keys[:-1])):
        table = np.full(hi - lo + 1, -1, dtype=np.intp)
        table[keys - lo] = np.arange(n)
        q = queries - lo
        inside = (q >= 0) & (q <= hi - lo)
        rows = np.where(inside, table[np.where(inside, q, 0)], -1)
        hit = rows >= 0
        return np.where(hit, rows, 0), hit
    order = np.argsort(keys, kind="stable")
    pos = np.minimum(np.searchsorted(keys[order], queries), n - 1)
    return np.asarray(order[pos], dtype=np.intp), keys[order][pos] == queries


def _rows_for(ids: IntArray, cohort: pd.DataFrame) -> NDArray[np.intp]:
    rows, hit = _find(cohort["patient_id"].to_numpy(dtype=np.int64), ids)
    if len(cohort) == 0 or not bool(hit.all()):
        raise InputError("every patient id of the model table in the cohort", field="cohort")
    return rows


def _ae_arrays(
    adverse_events: pd.DataFrame, ids: IntArray, arm_codes: IntArray, arm_cats: Sequence[str]
) -> tuple[IntArray, NDArray[np.int8], NDArray[np.int8], FloatArray]:
    """Adverse events of the given (patient, arm) rows, as child indices into ``ids``."""
    ae = adverse_events
    if len(ae) == 0:
        return (
            np.empty(0, np.int64),
            np.empty(0, np.int8),
            np.empty(0, np.int8),
            np.empty(0),
        )
    a_arm = pd.Categorical(ae["arm"], categories=pd.Index(arm_cats)).codes.astype(np.int64)
    big = np.int64(len(arm_cats) + 2)
    key_rows = ids * big + (arm_codes + 1)
    key_ae = ae["patient_id"].to_numpy(dtype=np.int64) * big + (a_arm + 1)
    rows, hit = _find(key_rows, key_ae)
    child = rows[hit].astype(np.int64)
    ev = pd.Categorical(ae["event"], categories=pd.Index(EVENTS)).codes[hit].astype(np.int8)
    if np.any(ev < 0):
        raise InputError(f"adverse events among {EVENTS}", field="adverse_events.event")
    return (
        child,
        ev,
        ae["grade"].to_numpy(dtype=np.int8)[hit],
        ae["day"].to_numpy(dtype=np.float64)[hit],
    )


def _str_in(col: pd.Series, labels: Sequence[str], *, as_str: bool = True) -> NDArray[np.bool_]:
    """Rows whose value (its ``str`` with ``as_str``) is one of ``labels``.

    A categorical column is read through its categories (no per-row Python comparison).
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        lut = [(str(c) if as_str else c) in labels for c in col.cat.categories]
        return np.array([*lut, False], dtype=bool)[col.cat.codes.to_numpy()]
    if as_str:
        return np.isin(col.astype(str).to_numpy(), labels)
    return np.isin(col.astype(object).to_numpy(), labels)


def _days(x: pd.Series) -> FloatArray:
    v = x.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(v), np.inf, v)


def history_from_model(
    patients: pd.DataFrame,
    adverse_events: pd.DataFrame,
    cohort: pd.DataFrame,
    protocol: Any,
    *,
    seed: int,
    horizon_days: float,
    params: ParameterSet | None = None,
) -> EventHistory:
    """The :class:`EventHistory` of the rows of ``patients`` (one row per child of the arm).

    ``patients`` and ``adverse_events`` are the engine's tables
    (:data:`~blinasim.model.engine.PATIENT_COLUMNS`, :data:`~blinasim.model.engine.AE_COLUMNS`)
    restricted to the arm's rows (an adverse event counts when its ``(patient_id, arm)``
    is one of these rows); ``cohort`` holds each child's ``patient_id``, ``age_years``,
    ``bsa_m2`` and ``genetics``; ``seed`` and ``horizon_days`` are the simulation's (the
    first-line horizon: later first relapses are not simulated, as in the model).
    """
    for c in ("patient_id", "arm", "end_of_therapy_day", "relapse_day", "death_day"):
        if c not in patients.columns:
            raise InputError("the engine's patient table", field=f"patients.{c}")
    ids = patients["patient_id"].to_numpy(dtype=np.int64)
    rows = _rows_for(ids, cohort)
    age = cohort["age_years"].to_numpy(dtype=np.float64)[rows]
    bsa = cohort["bsa_m2"].to_numpy(dtype=np.float64)[rows]
    fav = _str_in(cohort["genetics"], ("favorable",))[rows]
    by_name = protocol_tables(protocol)
    arm_cat = pd.Categorical(patients["arm"])
    arm_cats = [str(c) for c in arm_cat.categories]
    codes = arm_cat.codes.astype(np.int64)
    proxy = _off_study_arm(by_name, protocol)
    names = [a if a in by_name else proxy for a in arm_cats]
    if any(a not in by_name for a in arm_cats):
        raise InputError(f"arms of the protocol {sorted(by_name)}", field="patients.arm")
    order = list(by_name)
    tables = tuple(by_name.values())
    code_to_table = np.array([order.index(a) for a in names] + [order.index(proxy)], dtype=np.int16)
    table = code_to_table[codes]  # -1 (off study) indexes the proxy at the end
    ps = ParameterSet.given(params)
    ap = AfterRelapseParams.load(ps)
    first_line_death = _str_in(patients["death_cause"], FIRST_LINE_CAUSES, as_str=False)
    fl = np.where(first_line_death, _days(patients["death_day"]), np.inf)
    rd = _days(patients["relapse_day"])
    rd = np.where(rd < horizon_days, rd, np.inf)
    site = site_codes(patients["relapse_site"])
    cd19 = patients["relapse_cd19_negative"].to_numpy(dtype=bool)
    pathway = Salvage.from_columns(patients)
    lt = lifetime(
        ids,
        age,
        fl,
        rd,
        site,
        cd19,
        fav,
        horizon_day=horizon_days,
        seed=seed,
        ap=ap,
        late_params=LateEffectsParams.load(ps),
        pathway=pathway,
    )
    # the pathway's details (refractory disease, blinatumomab consolidation): the engine's
    # (its own relapsing clone), or lifetime's own call repeated on the relapsing children
    rel = np.flatnonzero(np.isfinite(rd))
    sal = (
        pathway
        if pathway is not None
        else salvage(
            ids[rel],
            rd[rel],
            site[rel],
            cd19[rel],
            fav[rel],
            seed=seed,
            ap=ap,
            age_at_relapse_years=age[rel] + rd[rel] / DAYS_PER_YEAR,
        ).scatter(rel, ids.size)
    )
    death = lt.death_day
    c0 = rd + ap.reinduction_days
    cr2 = np.isfinite(rd) & np.isfinite(sal.reinduction_mrd) & ~sal.refractory & (c0 < death)
    fail = np.where(sal.refractory, c0, sal.relapse2_day)
    fail = np.where(fail < death, fail, np.inf)
    end = np.minimum(death, np.maximum(ap.lifetime_max_age_years - age, 0.0) * DAYS_PER_YEAR)
    ae = _ae_arrays(adverse_events, ids, codes, arm_cats)
    stop = patients["end_of_therapy_day"].to_numpy(dtype=np.float64)
    return EventHistory(
        patient_id=ids,
        age_years=age,
        bsa_m2=bsa,
        randomization_day=patients["randomization_day"].to_numpy(dtype=np.float64),
        tables=tables,
        table=table,
        first_line_stop_day=np.minimum(stop, end),
        ae_child=ae[0],
        ae_type=ae[1],
        ae_grade=ae[2],
        ae_day=ae[3],
        relapse_day=rd,
        consolidation_day=np.where(cr2, c0, np.inf),
        consolidation_blinatumomab=cr2 & sal.blinatumomab_consolidation,
        hsct_day=lt.hsct_day,
        cart_day=lt.cart_day,
        failure_day=fail,
        relapse2_day=lt.relapse2_day,
        death_day=death,
        death_cause=lt.death_cause,
        end_day=end,
        late_effects=dict(lt.late_effect_days),
    )
