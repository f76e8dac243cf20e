"""Costs, life-years and QALYs of one arm's children: event-driven, exact, vectorized.

``evaluate(history, values, origin=..., discounting=...)`` prices an
:class:`~.history.EventHistory` with the numbers of a :class:`~.values.Values` and returns
an :class:`ArmTotals`: mean costs by category, life-years and QALYs per child, discounted
and not (and, on request, each child's totals). Every item is a point event (a cost at a
day, discounted by the factor at that day) or a spell (a rate over days, discounted by the
closed-form integral of :class:`~.discount.Discounter`); nothing is cut into cycles.

Time origin: ``diagnosis`` (day 0) or ``randomization`` (each child's randomization day:
what happens before it is left out, and times count from it; every child must have been
randomized). The horizon is each child's ``end_day`` (death or the maximum age).

What is priced (each number from the setting, see ``data/settings/*.yaml``):

- **blinatumomab** (first-line cycles from the protocol's infusions, cut at the child's
  first-line stop day; post-relapse consolidation by blinatumomab as
  ``relapse_cycles`` cycles of 28 days every 35 days from its start): the dose is
  ``min(dose x BSA, cap)`` µg/day; one bag per ``bag_hours``, charged at its start with
  whole vials (``wastage``) or fractional vials of ``vial_ug``; a nurse visit per bag; the
  pump per infusion day; ``inpatient_days_per_cycle`` at the cycle's start;
- **chemotherapy**: a cost per day of each first-line phase kind, over the days the child
  was on it;
- **adverse events**: a cost per episode (by grade) at its day; the disutility over its
  duration;
- **relapse**: reinduction at relapse, consolidation (chemotherapy or blinatumomab) at its
  start, HSCT, CAR-T, third-line salvage at failure without CAR-T, follow-up per year after
  relapse; **follow-up** per year after first-line therapy in first remission;
  **late effects**: survivorship care per year from ``from_years`` after diagnosis, and
  each late effect of the model (a cost at its onset, a cost and a disutility per year
  from its onset to the end of life);
  **end of life** at a death from leukemia or its treatment;
- **utilities**: first-line phase by kind, off therapy, long-term survivor, after relapse
  and after HSCT (short term, then long term; a failure restarts the after-relapse clock).

The work is done by one numba pass over the children (:mod:`._kernel`) that returns the
discounted *exposures* (counts of events, years in states); costs and QALYs are their dot
products with the setting's numbers. Costs are linear in every price:
:attr:`ArmTotals.vials` (discounted vials per child) is the derivative of the mean
discounted cost with respect to the vial price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from blinasim.economics import _kernel as kx
from blinasim.economics.discount import MODES, Mode
from blinasim.economics.history import EventHistory
from blinasim.economics.setting import AE_TYPES, PHASE_KINDS
from blinasim.economics.values import Values
from blinasim.errors import InputError
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
Origin = Literal["diagnosis", "randomization"]
ORIGINS: tuple[Origin, ...] = ("diagnosis", "randomization")

CATEGORIES = (
    "blinatumomab_drug",
    "blinatumomab_administration",
    "blinatumomab_inpatient",
    "chemotherapy",
    "adverse_events",
    "relapse_therapy",
    "hsct",
    "cart",
    "follow_up",
    "late_effects",
    "end_of_life",
)
"""Cost categories of :attr:`ArmTotals.costs_by_category`."""
DEATH_FROM_DISEASE = (0, 1, 2)
"""Lifetime death causes that carry end-of-life costs: first line, leukemia, treatment."""


@dataclass(frozen=True)
class ArmTotals:
    """Mean per child of one arm (discounted, and ``_undiscounted``)."""

    n: int
    costs: float
    costs_undiscounted: float
    costs_by_category: dict[str, float]
    costs_by_category_undiscounted: dict[str, float]
    life_years: float
    life_years_undiscounted: float
    qalys: float
    qalys_undiscounted: float
    vials: float
    """Discounted blinatumomab vials per child (d costs / d vial price)."""
    vials_undiscounted: float
    per_child: dict[str, FloatArray] | None = field(default=None, repr=False)
    """With ``per_child=True``: ``costs``, ``qalys``, ``life_years`` (and ``_undiscounted``)."""


def _origin(h: EventHistory, origin: Origin) -> FloatArray:
    if origin == "diagnosis":
        return np.zeros(h.n)
    if origin == "randomization":
        r = h.randomization_day
        if np.any(~np.isfinite(r)):
            raise InputError(
                "every child randomized for the origin 'randomization'", field="origin"
            )
        return np.asarray(r, dtype=np.float64)
    raise InputError(f"one of {ORIGINS}", field="origin", got=origin)


def _params(v: Values) -> FloatArray:
    b = "blinatumomab."
    p = np.zeros(kx.N_PARAMS)
    p[kx.P_BAG_DAYS] = v[b + "bag_hours"] / 24.0
    p[kx.P_VIAL_UG] = v[b + "vial_ug"]
    p[kx.P_CAP] = v[b + "cap_ug_per_day"]
    p[kx.P_WASTAGE] = 1.0 if v.setting.blinatumomab.wastage else 0.0
    p[kx.P_REL_DOSE] = v[b + "dose_ug_per_m2_day"]
    p[kx.P_REL_CYCLES] = v[b + "relapse_cycles"]
    p[kx.P_FU_YEARS] = v["follow_up.years"]
    p[kx.P_RFU_YEARS] = v["relapse.follow_up_years"]
    p[kx.P_SURV_FROM] = v["late_effects.from_years"]
    p[kx.P_LT_FROM] = v["utilities.long_term_from_years"]
    p[kx.P_R_SHORT] = v["utilities.after_relapse.short_term_years"]
    p[kx.P_H_SHORT] = v["utilities.after_hsct.short_term_years"]
    for i, name in enumerate(AE_TYPES):
        d3 = v[f"adverse_events.{name}.duration_days"]
        p[kx.P_AE_DUR + 2 * i] = d3
        p[kx.P_AE_DUR + 2 * i + 1] = v.get(f"adverse_events.{name}.duration_days_grade4", d3)
    if not (p[kx.P_BAG_DAYS] > 0 and p[kx.P_VIAL_UG] > 0):
        raise InputError("positive bag hours and vial size", field="blinatumomab")
    return p


def _run(
    h: EventHistory, o: FloatArray, rate: float, mode: Mode, p: FloatArray, per_child: bool
) -> tuple[FloatArray, FloatArray]:
    t = h.padded_tables()
    ptr, order = h.ae_index()
    return kx.exposures(
        rate,
        mode == "annual",
        o,
        h.end_day,
        h.first_line_stop_day,
        h.table,
        h.bsa_m2,
        h.relapse_day,
        h.consolidation_day,
        h.consolidation_blinatumomab,
        h.hsct_day,
        h.cart_day,
        h.failure_day,
        h.death_day,
        np.isin(h.death_cause, DEATH_FROM_DISEASE),
        t.start,
        t.end,
        t.kind,
        t.infusion_start,
        t.infusion_end,
        t.infusion_dose,
        t.infusion_cap,
        ptr,
        h.ae_type[order],
        h.ae_grade[order],
        h.ae_day[order],
        h.late_matrix(),
        p,
        per_child,
    )


@dataclass(frozen=True)
class _Weights:
    """Per exposure column: cost by category, and utility (for QALYs)."""

    cost: dict[str, FloatArray]
    utility: FloatArray


def _weights(v: Values, names: tuple[str, ...]) -> _Weights:
    y = DAYS_PER_YEAR
    ncol = kx.n_columns(len(names))
    w = {c: np.zeros(ncol) for c in CATEGORIES}
    u = np.zeros(ncol)
    b = "blinatumomab."
    for k, kind in enumerate(PHASE_KINDS):
        w["chemotherapy"][k] = v[f"chemotherapy.{kind}"] * y
        u[k] = v[f"utilities.first_line.{kind}"]
    w["blinatumomab_drug"][kx.VIALS] = v[b + "vial_price"]
    w["blinatumomab_administration"][kx.BAGS] = v[b + "nurse_visit_cost"]
    w["blinatumomab_administration"][kx.PUMP_DAYS] = v[b + "pump_cost_per_day"]
    w["blinatumomab_inpatient"][kx.CYCLES] = (
        v[b + "inpatient_days_per_cycle"] * v[b + "inpatient_cost_per_day"]
    )
    for i, name in enumerate(AE_TYPES):
        a = f"adverse_events.{name}."
        c3 = v[a + "cost"]
        w["adverse_events"][kx.AE_COUNT + 2 * i] = c3
        w["adverse_events"][kx.AE_COUNT + 2 * i + 1] = v.get(a + "cost_grade4", c3)
        u[kx.AE_YEARS + 2 * i] = u[kx.AE_YEARS + 2 * i + 1] = -v[a + "disutility"]
    r = "relapse."
    w["relapse_therapy"][kx.REINDUCTION] = v[r + "reinduction"]
    w["relapse_therapy"][kx.CONSOLIDATION] = v[r + "consolidation_chemotherapy"]
    w["relapse_therapy"][kx.THIRD_LINE] = v[r + "third_line"]
    w["hsct"][kx.HSCT] = v[r + "hsct"]
    w["cart"][kx.CART] = v[r + "cart"]
    w["end_of_life"][kx.END_OF_LIFE] = v["end_of_life"]
    w["follow_up"][kx.RELAPSE_FOLLOW_UP] = v[r + "follow_up_per_year"]
    w["follow_up"][kx.FOLLOW_UP] = v["follow_up.per_year"]
    w["late_effects"][kx.SURVIVORSHIP] = v["late_effects.per_year"]
    nl = len(names)
    for m, name in enumerate(names):
        a = f"late_effects.effects.{name}."
        w["late_effects"][kx.LATE + m] = v[a + "cost"]
        w["late_effects"][kx.LATE + nl + m] = v[a + "per_year"]
        u[kx.LATE + nl + m] = -v[a + "disutility"]
    ut = "utilities."
    u[kx.OFF_THERAPY] = v[ut + "off_therapy"]
    u[kx.LONG_TERM] = v[ut + "long_term_survivor"]
    u[kx.RELAPSE_SHORT] = v[ut + "after_relapse.short_term"]
    u[kx.RELAPSE_LONG] = v[ut + "after_relapse.long_term"]
    u[kx.HSCT_SHORT] = v[ut + "after_hsct.short_term"]
    u[kx.HSCT_LONG] = v[ut + "after_hsct.long_term"]
    return _Weights(cost=w, utility=u)


def _check(h: EventHistory, v: Values) -> None:
    unknown = sorted({k for t in h.tables for k in t.kinds} - set(PHASE_KINDS))
    if unknown:
        raise InputError(
            f"protocol phase kinds among {PHASE_KINDS} (a setting prices those)",
            field="protocol",
            got=unknown,
        )
    missing = sorted(set(h.late_effects) - set(v.setting.late_effects.effects))
    if missing:
        raise InputError(
            "a price for every late effect of the model",
            file=v.setting.name,
            field="late_effects.effects",
            got=missing,
        )


def evaluate(
    history: EventHistory,
    values: Values,
    *,
    origin: Origin = "diagnosis",
    discounting: Mode = "continuous",
    per_child: bool = False,
) -> ArmTotals:
    """Mean costs, life-years and QALYs per child of ``history`` (see the module docstring)."""
    h = history
    if discounting not in MODES:
        raise InputError(f"one of {MODES}", field="discounting", got=discounting)
    _check(h, values)
    o = _origin(h, origin)
    p = _params(values)
    rc, re = values["discount.costs"], values["discount.effects"]
    s2, x2 = _run(h, o, rc, discounting, p, per_child)
    sc, su = s2[0], s2[1]
    if re == rc:
        se, xe = sc, (x2[:, 0] if per_child else x2)
    else:
        s3, x3 = _run(h, o, re, discounting, p, per_child)
        se, xe = s3[0], (x3[:, 0] if per_child else x3)
    w = _weights(values, h.late_names)
    n = max(h.n, 1)
    cat_d = {c: float(sc @ w.cost[c]) / n for c in CATEGORIES}
    cat_u = {c: float(su @ w.cost[c]) / n for c in CATEGORIES}
    pc = None
    if per_child:
        wc = sum(w.cost.values(), np.zeros(w.utility.size))
        xc, xu = x2[:, 0], x2[:, 1]
        pc = {
            "costs": xc @ wc,
            "costs_undiscounted": xu @ wc,
            "qalys": xe @ w.utility,
            "qalys_undiscounted": xu @ w.utility,
            "life_years": xe[:, kx.LIFE_YEARS].copy(),
            "life_years_undiscounted": xu[:, kx.LIFE_YEARS].copy(),
        }
    return ArmTotals(
        n=h.n,
        costs=sum(cat_d.values()),
        costs_undiscounted=sum(cat_u.values()),
        costs_by_category=cat_d,
        costs_by_category_undiscounted=cat_u,
        life_years=float(se[kx.LIFE_YEARS]) / n,
        life_years_undiscounted=float(su[kx.LIFE_YEARS]) / n,
        qalys=float(se @ w.utility) / n,
        qalys_undiscounted=float(su @ w.utility) / n,
        vials=float(sc[kx.VIALS]) / n,
        vials_undiscounted=float(su[kx.VIALS]) / n,
        per_child=pc,
    )


__all__ = ["CATEGORIES", "ORIGINS", "ArmTotals", "Origin", "evaluate"]
