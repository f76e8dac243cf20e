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
  **late effects** per year from ``from_years`` after diagnosis and per late-effect event;
  **end of life** at a death from leukemia or its treatment;
- **utilities**: first-line phase by kind, off therapy, long-term survivor, after relapse
  and after HSCT (short term, then long term; a failure restarts the after-relapse clock).

Costs are linear in every price: :attr:`ArmTotals.vials` (discounted vials per child)
is the derivative of the mean discounted cost with respect to the vial price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from blinasim.economics.discount import Discounter, Mode
from blinasim.economics.history import EventHistory
from blinasim.economics.setting import AE_TYPES
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
CYCLE_DAYS = 28.0
CYCLE_EVERY_DAYS = 35.0
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


@dataclass(frozen=True)
class _Clock:
    """Point factors and spell integrals from each child's origin, cut at its end."""

    d: Discounter
    origin: FloatArray
    end: FloatArray

    def point(self, day: FloatArray, child: NDArray[np.intp] | None = None) -> FloatArray:
        o = self.origin if child is None else self.origin[child]
        e = self.end if child is None else self.end[child]
        ok = (day >= o) & (day <= e)  # an event at the end (death) counts
        t = np.where(ok, day - o, 0.0)
        return np.where(ok, self.d.factor(t), 0.0)

    def spell(
        self, a: FloatArray, b: FloatArray, child: NDArray[np.intp] | None = None
    ) -> FloatArray:
        o = self.origin if child is None else self.origin[child]
        e = self.end if child is None else self.end[child]
        lo = np.maximum(a, o)
        hi = np.minimum(b, e)
        ok = hi > lo
        return np.where(ok, self.d.spell(np.where(ok, lo - o, 0.0), np.where(ok, hi - o, 0.0)), 0.0)


def _bags(
    clock: _Clock,
    start: FloatArray,
    days: FloatArray,
    daily_ug: FloatArray,
    v: Values,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Discounted (vials, bags, pump days) of infusions of ``days`` from ``start``."""
    bag_days = v["blinatumomab.bag_hours"] / 24.0
    vial = v["blinatumomab.vial_ug"]
    wastage = clock_wastage(v)
    n = start.size
    vials = np.zeros(n)
    bags = np.zeros(n)
    on = days > 0
    nb = np.where(on, np.ceil(days / bag_days - 1e-9), 0.0)
    for j in range(int(nb.max()) if n else 0):
        has = nb > j
        t = start + j * bag_days
        f = np.where(has, clock.point(t), 0.0)
        ug = daily_ug * np.clip(days - j * bag_days, 0.0, bag_days)
        nv = np.ceil(ug / vial - 1e-9) if wastage else ug / vial
        vials += f * nv
        bags += f
    pump = clock.spell(start, start + np.where(on, days, 0.0)) * DAYS_PER_YEAR
    return vials, bags, pump


def clock_wastage(v: Values) -> bool:
    """Whole vials per bag (the setting's ``blinatumomab.wastage``)."""
    return bool(v.setting.blinatumomab.wastage)


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


def _first_line(
    h: EventHistory, c: _Clock, v: Values, kinds: tuple[str, ...]
) -> tuple[FloatArray, dict[str, FloatArray], FloatArray, FloatArray, FloatArray, FloatArray]:
    """Chemotherapy cost, discounted years by phase kind, blinatumomab items (first line)."""
    n = h.n
    years = {k: np.zeros(n) for k in kinds}
    chemo = np.zeros(n)
    vials, bags, pump, cycles = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    stop = h.first_line_stop_day
    cap = v["blinatumomab.cap_ug_per_day"]
    for ti, tab in enumerate(h.tables):
        idx = np.flatnonzero(h.table == ti)
        if idx.size == 0:
            continue
        sub = _Clock(c.d, c.origin[idx], c.end[idx])
        s_stop = stop[idx]
        for kind, a, b in zip(tab.kinds, tab.start, tab.end, strict=True):
            y = sub.spell(np.full(idx.size, a), np.minimum(b, s_stop))
            years[kind][idx] += y
            chemo[idx] += y * v[f"chemotherapy.{kind}"] * DAYS_PER_YEAR
        for a, b, dose, pcap in zip(
            tab.infusion_start, tab.infusion_end, tab.infusion_dose, tab.infusion_cap, strict=True
        ):
            days = np.clip(np.minimum(b, s_stop) - a, 0.0, b - a)
            daily = np.minimum(dose * h.bsa_m2[idx], min(cap, pcap))
            vi, bg, pu = _bags(sub, np.full(idx.size, a), days, daily, v)
            vials[idx] += vi
            bags[idx] += bg
            pump[idx] += pu
            cycles[idx] += np.where(days > 0, sub.point(np.full(idx.size, a)), 0.0)
    return chemo, years, vials, bags, pump, cycles


def _relapse_blinatumomab(
    h: EventHistory, c: _Clock, v: Values
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    n = h.n
    vials, bags, pump, cycles = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    who = np.flatnonzero(h.consolidation_blinatumomab)
    if who.size == 0:
        return vials, bags, pump, cycles
    sub = _Clock(c.d, c.origin[who], c.end[who])
    daily = np.minimum(
        v["blinatumomab.dose_ug_per_m2_day"] * h.bsa_m2[who], v["blinatumomab.cap_ug_per_day"]
    )
    c0 = h.consolidation_day[who]
    for k in range(round(v["blinatumomab.relapse_cycles"])):
        a = c0 + k * CYCLE_EVERY_DAYS
        days = np.clip(h.death_day[who] - a, 0.0, CYCLE_DAYS)
        vi, bg, pu = _bags(sub, a, days, daily, v)
        vials[who] += vi
        bags[who] += bg
        pump[who] += pu
        cycles[who] += np.where(days > 0, sub.point(a), 0.0)
    return vials, bags, pump, cycles


def _two_level(
    c: _Clock, a: FloatArray, b: FloatArray, clock0: FloatArray, years: float
) -> tuple[FloatArray, FloatArray]:
    """Discounted years of ``[a, b)`` before and after ``clock0 + years``."""
    m = clock0 + years * DAYS_PER_YEAR
    return c.spell(a, np.minimum(b, m)), c.spell(np.maximum(a, m), b)


def _utility_years(
    h: EventHistory, c: _Clock, v: Values, phase_years: dict[str, FloatArray]
) -> FloatArray:
    """Discounted QALYs before adverse-event disutilities."""
    q = np.zeros(h.n)
    for kind, y in phase_years.items():
        q += v[f"utilities.first_line.{kind}"] * y
    stop = h.first_line_stop_day
    rel = h.relapse_day
    lt = v["utilities.long_term_from_years"] * DAYS_PER_YEAR
    first_end = np.minimum(rel, h.end_day)
    q += v["utilities.off_therapy"] * c.spell(stop, np.minimum(first_end, lt))
    q += v["utilities.long_term_survivor"] * c.spell(np.maximum(stop, lt), first_end)
    # after relapse: relapse -> (HSCT) -> failure restarts the after-relapse clock
    fail = h.failure_day
    hs = h.hsct_day
    r_years = v["utilities.after_relapse.short_term_years"]
    r_short, r_long = _two_level(c, rel, np.minimum(hs, fail), rel, r_years)
    h_short, h_long = _two_level(c, hs, fail, hs, v["utilities.after_hsct.short_term_years"])
    f_short, f_long = _two_level(c, fail, h.end_day, fail, r_years)
    q += v["utilities.after_relapse.short_term"] * (r_short + f_short)
    q += v["utilities.after_relapse.long_term"] * (r_long + f_long)
    q += v["utilities.after_hsct.short_term"] * h_short
    q += v["utilities.after_hsct.long_term"] * h_long
    return q


def _adverse_events(
    h: EventHistory, cc: _Clock, ce: _Clock, v: Values
) -> tuple[FloatArray, FloatArray]:
    """(cost, QALY loss) per child."""
    cost, loss = np.zeros(h.n), np.zeros(h.n)
    if h.ae_child.size == 0:
        return cost, loss
    child = h.ae_child.astype(np.intp)
    g4 = h.ae_grade >= 4
    unit_cost = np.zeros(child.size)
    dis = np.zeros(child.size)
    dur = np.zeros(child.size)
    for i, name in enumerate(AE_TYPES):
        this = h.ae_type == i
        p = f"adverse_events.{name}"
        c3 = v[f"{p}.cost"]
        c4 = v.get(f"{p}.cost_grade4", c3)
        d3 = v[f"{p}.duration_days"]
        d4 = v.get(f"{p}.duration_days_grade4", d3)
        unit_cost[this] = np.where(g4[this], c4, c3)
        dur[this] = np.where(g4[this], d4, d3)
        dis[this] = v[f"{p}.disutility"]
    cost = _sum_by(child, unit_cost * cc.point(h.ae_day, child), h.n)
    loss = _sum_by(child, dis * ce.spell(h.ae_day, h.ae_day + dur, child), h.n)
    return cost, loss


def _sum_by(child: NDArray[np.intp], w: FloatArray, n: int) -> FloatArray:
    return np.asarray(np.bincount(child, w, minlength=n), dtype=np.float64)


def _costs(
    h: EventHistory, c: _Clock, v: Values
) -> tuple[dict[str, FloatArray], FloatArray, dict[str, FloatArray]]:
    """Per-child cost by category, discounted vials, and phase-kind years (clock ``c``)."""
    kinds = tuple(v.setting.chemotherapy)
    chemo, years, vials, bags, pump, cycles = _first_line(h, c, v, kinds)
    rv, rb, rp, rc = _relapse_blinatumomab(h, c, v)
    b = "blinatumomab."
    admin = (bags + rb) * v[b + "nurse_visit_cost"] + (pump + rp) * v[b + "pump_cost_per_day"]
    inpatient = (cycles + rc) * v[b + "inpatient_days_per_cycle"] * v[b + "inpatient_cost_per_day"]
    r = "relapse."
    relapse = v[r + "reinduction"] * c.point(h.relapse_day)
    relapse += v[r + "consolidation_chemotherapy"] * np.where(
        h.consolidation_blinatumomab, 0.0, c.point(h.consolidation_day)
    )
    relapse += v[r + "third_line"] * np.where(np.isfinite(h.cart_day), 0.0, c.point(h.failure_day))
    rfu = v[r + "follow_up_years"] * DAYS_PER_YEAR
    fu = v[r + "follow_up_per_year"] * c.spell(h.relapse_day, h.relapse_day + rfu)
    stop = h.first_line_stop_day
    fu += v["follow_up.per_year"] * c.spell(
        stop, np.minimum(stop + v["follow_up.years"] * DAYS_PER_YEAR, h.relapse_day)
    )
    late = v["late_effects.per_year"] * c.spell(
        np.full(h.n, v["late_effects.from_years"] * DAYS_PER_YEAR), h.end_day
    )
    if h.late_effect_child is not None and h.late_effect_day is not None:
        lc = h.late_effect_child.astype(np.intp)
        late += _sum_by(lc, v["late_effects.per_event"] * c.point(h.late_effect_day, lc), h.n)
    disease_death = np.isin(h.death_cause, DEATH_FROM_DISEASE)
    eol = v["end_of_life"] * np.where(disease_death, c.point(h.death_day), 0.0)
    out = {
        "blinatumomab_drug": (vials + rv) * v[b + "vial_price"],
        "blinatumomab_administration": admin,
        "blinatumomab_inpatient": inpatient,
        "chemotherapy": chemo,
        "adverse_events": np.zeros(h.n),
        "relapse_therapy": relapse,
        "hsct": v[r + "hsct"] * c.point(h.hsct_day),
        "cart": v[r + "cart"] * c.point(h.cart_day),
        "follow_up": fu,
        "late_effects": late,
        "end_of_life": eol,
    }
    return out, vials + rv, years


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
    o = _origin(h, origin)
    rc, re = values["discount.costs"], values["discount.effects"]
    clocks = {
        "c": _Clock(Discounter(rc, discounting), o, h.end_day),
        "e": _Clock(Discounter(re, discounting), o, h.end_day),
        "u": _Clock(Discounter(0.0, discounting), o, h.end_day),
    }
    kinds = {k for t in h.tables for k in t.kinds}
    unknown = sorted(kinds - set(values.setting.chemotherapy))
    if unknown:
        raise InputError(
            f"a cost and a utility for every phase kind of the protocol (missing {unknown})",
            file=values.setting.name,
            field="chemotherapy",
        )
    costs_d, vials_d, years_d = _costs(h, clocks["c"], values)
    costs_u, vials_u, years_u = _costs(h, clocks["u"], values)
    ae_cd, loss_e = _adverse_events(h, clocks["c"], clocks["e"], values)
    ae_cu, loss_u = _adverse_events(h, clocks["u"], clocks["u"], values)
    costs_d["adverse_events"] = ae_cd
    costs_u["adverse_events"] = ae_cu
    years_e = years_d if rc == re else _costs_years(h, clocks["e"], values)
    q_e = _utility_years(h, clocks["e"], values, years_e) - loss_e
    q_u = _utility_years(h, clocks["u"], values, years_u) - loss_u
    ly_e = clocks["e"].spell(o, h.end_day)
    ly_u = clocks["u"].spell(o, h.end_day)
    total_d = sum(costs_d.values(), np.zeros(h.n))
    total_u = sum(costs_u.values(), np.zeros(h.n))
    n = max(h.n, 1)

    def mean(x: FloatArray) -> float:
        return float(x.sum() / n)

    pc = None
    if per_child:
        pc = {
            "costs": total_d,
            "costs_undiscounted": total_u,
            "qalys": q_e,
            "qalys_undiscounted": q_u,
            "life_years": ly_e,
            "life_years_undiscounted": ly_u,
        }
    return ArmTotals(
        n=h.n,
        costs=mean(total_d),
        costs_undiscounted=mean(total_u),
        costs_by_category={k: mean(costs_d[k]) for k in CATEGORIES},
        costs_by_category_undiscounted={k: mean(costs_u[k]) for k in CATEGORIES},
        life_years=mean(ly_e),
        life_years_undiscounted=mean(ly_u),
        qalys=mean(q_e),
        qalys_undiscounted=mean(q_u),
        vials=mean(vials_d),
        vials_undiscounted=mean(vials_u),
        per_child=pc,
    )


def _costs_years(h: EventHistory, c: _Clock, v: Values) -> dict[str, FloatArray]:
    """Discounted years by first-line phase kind (clock ``c``)."""
    years = {k: np.zeros(h.n) for k in v.setting.chemotherapy}
    stop = h.first_line_stop_day
    for ti, tab in enumerate(h.tables):
        idx = np.flatnonzero(h.table == ti)
        if idx.size == 0:
            continue
        sub = _Clock(c.d, c.origin[idx], c.end[idx])
        for kind, a, b in zip(tab.kinds, tab.start, tab.end, strict=True):
            years[kind][idx] += sub.spell(np.full(idx.size, a), np.minimum(b, stop[idx]))
    return years


__all__ = ["CATEGORIES", "ORIGINS", "ArmTotals", "Origin", "evaluate"]
