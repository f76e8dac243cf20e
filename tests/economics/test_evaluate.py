"""Costs and QALYs of a known event history, by hand."""

import math

import numpy as np
import pytest

from blinasim.economics import evaluate
from blinasim.errors import InputError
from blinasim.units import DAYS_PER_YEAR as Y

from .conftest import history, zeroed

PRICES = {
    "blinatumomab.vial_price": 1000.0,
    "blinatumomab.nurse_visit_cost": 50.0,
    "blinatumomab.pump_cost_per_day": 2.0,
    "blinatumomab.inpatient_cost_per_day": 2000.0,
    "chemotherapy.induction": 100.0,
    "chemotherapy.consolidation": 40.0,
    "chemotherapy.blinatumomab": 10.0,
    "chemotherapy.maintenance": 5.0,
    "adverse_events.febrile_neutropenia.cost": 7000.0,
    "adverse_events.febrile_neutropenia.disutility": 0.15,
    "relapse.reinduction": 30000.0,
    "relapse.consolidation_chemotherapy": 12000.0,
    "relapse.hsct": 250000.0,
    "relapse.follow_up_per_year": 3650.0,
    "end_of_life": 40000.0,
    "utilities.first_line.induction": 0.67,
    "utilities.first_line.consolidation": 0.75,
    "utilities.first_line.blinatumomab": 0.79,
    "utilities.first_line.maintenance": 0.87,
    "utilities.after_relapse.short_term": 0.75,
    "utilities.after_hsct.short_term": 0.73,
}


def values(canada, **extra):
    return zeroed(canada, **{**PRICES, **extra})


def test_costs_of_a_known_history_undiscounted(canada):
    v = values(canada)
    r = evaluate(history(), v)
    cat = r.costs_by_category_undiscounted
    # 15 µg/day x 28 days = 420 µg = 10.909 vials of 38.5 µg (no wastage): 7 bags of 4 days
    assert r.vials_undiscounted == pytest.approx(420 / 38.5)
    assert cat["blinatumomab_drug"] == pytest.approx(420 / 38.5 * 1000)
    assert cat["blinatumomab_administration"] == pytest.approx(7 * 50 + 28 * 2)
    assert cat["blinatumomab_inpatient"] == pytest.approx(2 * 2000)
    # phases cut at the first-line stop (relapse, day 400): maintenance days 91..400
    assert cat["chemotherapy"] == pytest.approx(28 * 100 + 28 * 40 + 35 * 10 + 309 * 5)
    assert cat["adverse_events"] == pytest.approx(7000)
    assert cat["relapse_therapy"] == pytest.approx(30000 + 12000)
    assert cat["hsct"] == pytest.approx(250000)
    assert cat["cart"] == 0.0
    # after-relapse follow-up: 5 years, cut at death (600 days)
    assert cat["follow_up"] == pytest.approx(3650 * 600 / Y)
    assert cat["late_effects"] == 0.0
    assert cat["end_of_life"] == pytest.approx(40000)
    total = 420 / 38.5 * 1000 + 7 * 50 + 56 + 4000 + 2800 + 1120 + 350 + 1545 + 7000
    total += 42000 + 250000 + 3650 * 600 / Y + 40000
    assert r.costs_undiscounted == pytest.approx(total)
    assert r.life_years_undiscounted == pytest.approx(1000 / Y)
    q = 28 * 0.67 + 28 * 0.75 + 35 * 0.79 + 309 * 0.87 + 100 * 0.75 + 500 * 0.73 - 0.15 * 2
    assert r.qalys_undiscounted == pytest.approx(q / Y)


def test_wastage_charges_whole_vials_per_bag(canada):
    v = values(canada)
    s = v.setting.model_copy(
        update={"blinatumomab": v.setting.blinatumomab.model_copy(update={"wastage": True})}
    )
    from blinasim.economics import Values

    w = Values(s, dict(v))
    r = evaluate(history(), w)
    # 60 µg per 4-day bag -> 2 vials, 7 bags
    assert r.vials_undiscounted == pytest.approx(14)
    # BSA 2.5 m²: 37.5 µg/day capped at 28 µg/day
    r2 = evaluate(history(bsa_m2=np.array([2.5])), v)
    assert r2.vials_undiscounted == pytest.approx(28 * 28 / 38.5)


@pytest.mark.parametrize("mode", ["continuous", "annual"])
def test_discounted_point_and_spell_items(canada, mode):
    rate = 0.03
    v = zeroed(
        canada, **{"relapse.hsct": 250000.0, "discount.costs": rate, "discount.effects": rate}
    )
    r = evaluate(history(), v, discounting=mode)
    t = 500 / Y
    f = 1.03**-t if mode == "continuous" else 1.03**-1
    assert r.costs == pytest.approx(250000 * f)
    assert r.costs_undiscounted == pytest.approx(250000)
    # life-years over 1000 days
    ly = (
        (1 - 1.03 ** -(1000 / Y)) / math.log(1.03)
        if mode == "continuous"
        else 1 + 1 / 1.03 + (1000 / Y - 2) / 1.03**2
    )
    assert r.life_years == pytest.approx(ly)


def test_randomization_origin_drops_earlier_events(canada):
    v = values(canada)
    r = evaluate(history(), v, origin="randomization")
    cat = r.costs_by_category_undiscounted
    # induction, consolidation and the day-10 febrile neutropenia are before day 56
    assert cat["adverse_events"] == 0.0
    assert cat["chemotherapy"] == pytest.approx(35 * 10 + 309 * 5)
    assert cat["blinatumomab_inpatient"] == pytest.approx(4000)  # the cycle starts on day 56
    assert r.life_years_undiscounted == pytest.approx((1000 - 56) / Y)
    with pytest.raises(InputError, match="randomized"):
        evaluate(history(randomization_day=np.array([np.nan])), v, origin="randomization")


def test_per_child_totals_and_means(canada):
    v = values(canada)
    h = history(n_copies=3)
    r = evaluate(h, v, per_child=True)
    assert r.per_child is not None
    one = evaluate(history(), v)
    np.testing.assert_allclose(r.per_child["costs"], one.costs)
    assert r.costs == pytest.approx(one.costs)
    assert r.qalys == pytest.approx(one.qalys)


def test_failure_restarts_after_relapse_clock_and_third_line(canada):
    v = values(canada, **{"relapse.third_line": 9000.0, "relapse.cart": 500000.0})
    h = history(hsct_day=np.array([np.inf]), failure_day=np.array([700.0]))
    r = evaluate(h, v)
    assert r.costs_by_category_undiscounted["relapse_therapy"] == pytest.approx(
        30000 + 12000 + 9000
    )
    h2 = history(
        hsct_day=np.array([np.inf]), failure_day=np.array([700.0]), cart_day=np.array([730.0])
    )
    r2 = evaluate(h2, v)
    assert r2.costs_by_category_undiscounted["relapse_therapy"] == pytest.approx(42000)
    assert r2.costs_by_category_undiscounted["cart"] == pytest.approx(500000)
    q = 28 * 0.67 + 28 * 0.75 + 35 * 0.79 + 309 * 0.87 + 600 * 0.75 - 0.3
    assert r.qalys_undiscounted == pytest.approx(q / Y)


def test_survivor_off_therapy_long_term_and_late_effects(canada):
    v = values(
        canada,
        **{
            "utilities.off_therapy": 0.9,
            "utilities.long_term_survivor": 0.95,
            "follow_up.per_year": 1000.0,
            "late_effects.per_year": 100.0,
        },
    )
    end = 80 * Y
    h = history(
        first_line_stop_day=np.array([800.0]),
        relapse_day=np.array([np.inf]),
        consolidation_day=np.array([np.inf]),
        hsct_day=np.array([np.inf]),
        death_day=np.array([np.inf]),
        death_cause=np.array([-1], dtype=np.int8),
        end_day=np.array([end]),
    )
    r = evaluate(h, v)
    lt = 2 * Y  # long-term utility from 2 years after diagnosis (canada-2024)
    q = 28 * 0.67 + 28 * 0.75 + 35 * 0.79 + 709 * 0.87 + (end - 800) * 0.95 - 0.3
    assert lt < 800
    assert r.qalys_undiscounted == pytest.approx(q / Y)
    cat = r.costs_by_category_undiscounted
    assert cat["follow_up"] == pytest.approx(5 * 1000)
    assert cat["late_effects"] == pytest.approx(100 * (80 - 5))
    assert cat["end_of_life"] == 0.0
    assert r.life_years_undiscounted == pytest.approx(80)


def test_late_effects_priced_at_onset_and_per_year(canada):
    v = values(
        canada,
        **{
            "late_effects.effects.heart_failure.cost": 15000.0,
            "late_effects.effects.heart_failure.per_year": 3000.0,
            "late_effects.effects.severe_chronic.disutility": 0.05,
        },
    )
    base = evaluate(history(), v)
    h = history(
        late_effects={
            "heart_failure": np.array([600.0]),
            "severe_chronic": np.array([700.0]),
            "osteonecrosis": np.array([np.inf]),
        }
    )
    r = evaluate(h, v)
    assert r.costs_by_category_undiscounted["late_effects"] == pytest.approx(
        15000 + 3000 * (1000 - 600) / Y
    )
    assert base.qalys_undiscounted - r.qalys_undiscounted == pytest.approx(0.05 * 300 / Y)
    with pytest.raises(InputError, match="late effect"):
        evaluate(history(late_effects={"gills": np.array([1.0])}), v)


def test_a_replaced_history_gets_fresh_derived_arrays(canada):
    from dataclasses import replace

    v = values(canada)
    h = history(n_copies=2)
    a = evaluate(h, v)
    # drop the adverse event of child 0: the cached adverse-event index must not be reused
    h2 = replace(
        h,
        ae_child=h.ae_child[1:],
        ae_type=h.ae_type[1:],
        ae_grade=h.ae_grade[1:],
        ae_day=h.ae_day[1:],
    )
    b = evaluate(h2, v)
    assert a.costs_by_category_undiscounted["adverse_events"] == pytest.approx(7000)
    assert b.costs_by_category_undiscounted["adverse_events"] == pytest.approx(3500)


def test_costs_and_effects_discounted_at_their_own_rates(canada):
    v = values(canada, **{"discount.costs": 0.03, "discount.effects": 0.0})
    r = evaluate(history(), v)
    assert r.qalys == pytest.approx(r.qalys_undiscounted)
    assert r.life_years == pytest.approx(r.life_years_undiscounted)
    assert r.costs < r.costs_undiscounted
    w = values(canada, **{"discount.costs": 0.03, "discount.effects": 0.03})
    assert evaluate(history(), w).costs == pytest.approx(r.costs)
    assert evaluate(history(), w).qalys < r.qalys


def test_blinatumomab_cycle_matches_the_all_policy_formula(canada):
    """ALL-Policy R/functions/chemo_costs.R: per week 7 x 15/38.5 x price x BSA (fractional
    vials), a nurse visit (30 min at 39.16 x 1.25 /h) every 4 days, a CAD 5,000 pump over
    10 years; here one 28-day cycle for BSA 1.09 m² (their default child)."""
    price = 2978.26
    v = zeroed(
        canada,
        **{
            "blinatumomab.vial_price": price,
            "blinatumomab.nurse_visit_cost": 39.16 * 1.25 * 0.5,
            "blinatumomab.pump_cost_per_day": 5000 / (10 * Y),
        },
    )
    r = evaluate(history(bsa_m2=np.array([1.09])), v)
    cat = r.costs_by_category_undiscounted
    assert cat["blinatumomab_drug"] == pytest.approx(4 * 7 * 15 / 38.5 * price * 1.09)
    # their weekly nurse cost x 4 weeks = 7 visits; their pump 5000 / 520 per week
    nurse = 4 * 39.16 * 1.25 * 30 / 60 * 7 / 4
    assert cat["blinatumomab_administration"] == pytest.approx(nurse + 28 * 5000 / (10 * Y))
