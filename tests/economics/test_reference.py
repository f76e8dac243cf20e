"""The numba pass against a slow, independent per-child reference (discount.Discounter)."""

import math

import numpy as np
import pytest

from blinasim.economics import Discounter, base_values, draw_values, evaluate, load_setting
from blinasim.economics.setting import AE_TYPES
from blinasim.units import DAYS_PER_YEAR as Y

from .test_history import _arm

CYCLE_DAYS, CYCLE_EVERY = 28.0, 35.0


def _reference(h, v, i, d):
    """Costs and QALYs of child ``i`` with discounter ``d``, item by item (origin 0)."""
    e = h.end_day[i]

    def pt(t):
        return float(d.factor(t)) if 0 <= t <= e else 0.0

    def sp(a, b):
        lo, hi = max(a, 0.0), min(b, e)
        return float(d.spell(lo, hi)) if hi > lo else 0.0

    b = "blinatumomab."
    cost = qaly = 0.0
    st = h.first_line_stop_day[i]
    tab = h.tables[h.table[i]]
    for kind, a0, b0 in zip(tab.kinds, tab.start, tab.end, strict=True):
        y = sp(a0, min(b0, st))
        cost += y * Y * v[f"chemotherapy.{kind}"]
        qaly += y * v[f"utilities.first_line.{kind}"]

    def infusion(a, days, daily):
        c = 0.0
        bag = v[b + "bag_hours"] / 24
        nb = math.ceil(days / bag - 1e-9)
        for j in range(nb):
            ug = daily * min(max(days - j * bag, 0), bag)
            nv = ug / v[b + "vial_ug"]
            if v.setting.blinatumomab.wastage:
                nv = math.ceil(nv - 1e-9)
            c += pt(a + j * bag) * (nv * v[b + "vial_price"] + v[b + "nurse_visit_cost"])
        c += sp(a, a + days) * Y * v[b + "pump_cost_per_day"]
        c += pt(a) * v[b + "inpatient_days_per_cycle"] * v[b + "inpatient_cost_per_day"]
        return c

    cap = v[b + "cap_ug_per_day"]
    for a, bb, dose, pcap in zip(
        tab.infusion_start, tab.infusion_end, tab.infusion_dose, tab.infusion_cap, strict=True
    ):
        days = min(max(min(bb, st) - a, 0), bb - a)
        if days > 0:
            cost += infusion(a, days, min(dose * h.bsa_m2[i], min(cap, pcap)))
    r = h.relapse_day[i]
    cost += pt(r) * v["relapse.reinduction"]
    if h.consolidation_blinatumomab[i]:
        daily = min(v[b + "dose_ug_per_m2_day"] * h.bsa_m2[i], cap)
        for c in range(round(v[b + "relapse_cycles"])):
            a = h.consolidation_day[i] + c * CYCLE_EVERY
            days = min(max(h.death_day[i] - a, 0), CYCLE_DAYS)
            if days > 0:
                cost += infusion(a, days, daily)
    else:
        cost += pt(h.consolidation_day[i]) * v["relapse.consolidation_chemotherapy"]
    if not np.isfinite(h.cart_day[i]):
        cost += pt(h.failure_day[i]) * v["relapse.third_line"]
    cost += pt(h.hsct_day[i]) * v["relapse.hsct"] + pt(h.cart_day[i]) * v["relapse.cart"]
    if h.death_cause[i] in (0, 1, 2):
        cost += pt(h.death_day[i]) * v["end_of_life"]
    cost += sp(r, r + v["relapse.follow_up_years"] * Y) * v["relapse.follow_up_per_year"]
    cost += sp(st, min(st + v["follow_up.years"] * Y, r)) * v["follow_up.per_year"]
    cost += sp(v["late_effects.from_years"] * Y, e) * v["late_effects.per_year"]
    for k in np.flatnonzero(h.ae_child == i):
        name = AE_TYPES[h.ae_type[k]]
        g4 = "_grade4" if h.ae_grade[k] >= 4 else ""
        p = f"adverse_events.{name}."
        cost += pt(h.ae_day[k]) * v.get(p + "cost" + g4, v[p + "cost"])
        dur = v.get(p + "duration_days" + g4, v[p + "duration_days"])
        qaly -= sp(h.ae_day[k], h.ae_day[k] + dur) * v[p + "disutility"]
    for name, days in h.late_effects.items():
        t = days[i]
        if t <= e:
            p = f"late_effects.effects.{name}."
            cost += pt(t) * v[p + "cost"] + sp(t, e) * v[p + "per_year"]
            qaly -= sp(t, e) * v[p + "disutility"]
    u = "utilities."
    lt = v[u + "long_term_from_years"] * Y
    first_end = min(r, e)
    qaly += sp(st, min(first_end, lt)) * v[u + "off_therapy"]
    qaly += sp(max(st, lt), first_end) * v[u + "long_term_survivor"]
    hs, f = h.hsct_day[i], h.failure_day[i]

    def two(a, bb, c0, years, short, long):
        m = c0 + years * Y
        return sp(a, min(bb, m)) * short + sp(max(a, m), bb) * long

    ry = v[u + "after_relapse.short_term_years"]
    rs, rl = v[u + "after_relapse.short_term"], v[u + "after_relapse.long_term"]
    qaly += two(r, min(hs, f), r, ry, rs, rl) + two(f, e, f, ry, rs, rl)
    qaly += two(
        hs,
        f,
        hs,
        v[u + "after_hsct.short_term_years"],
        v[u + "after_hsct.short_term"],
        v[u + "after_hsct.long_term"],
    )
    return cost, qaly, sp(0.0, e)


@pytest.mark.parametrize(
    ("setting", "mode", "draw"), [("canada-2024", "continuous", None), ("us", "annual", 3)]
)
def test_kernel_equals_the_reference_child_by_child(sim, setting, mode, draw):
    s = load_setting(setting)
    v = base_values(s) if draw is None else draw_values(s, 1, draw)
    _, _, h = _arm(sim, ["B", "D"])
    r = evaluate(h, v, discounting=mode, per_child=True)
    assert r.per_child is not None
    d = Discounter(v["discount.costs"], mode)
    # every child who relapsed, had an adverse event or a late effect, and some others
    late = np.zeros(h.n, dtype=bool)
    for days in h.late_effects.values():
        late |= np.isfinite(days)
    pick = np.flatnonzero(np.isfinite(h.relapse_day) | late)[:150]
    pick = np.union1d(pick, np.unique(h.ae_child)[:50])
    pick = np.union1d(pick, np.arange(0, h.n, max(h.n // 50, 1)))
    assert np.isfinite(h.relapse_day[pick]).sum() > 5
    for i in pick:
        c, q, ly = _reference(h, v, int(i), d)
        assert r.per_child["costs"][i] == pytest.approx(c, rel=1e-9, abs=1e-6), i
        assert r.per_child["qalys"][i] == pytest.approx(q, rel=1e-9, abs=1e-9), i
        assert r.per_child["life_years"][i] == pytest.approx(ly, rel=1e-12), i
