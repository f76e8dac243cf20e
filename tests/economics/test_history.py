"""history_from_model on a small simulated cohort: the engine's events, arrays per child."""

import numpy as np
import pandas as pd
import pytest

from blinasim.economics import base_values, evaluate, history_from_model, load_setting
from blinasim.economics.history import _find, _str_in
from blinasim.model.after_relapse.history import trial_columns

from .conftest import SIM_SEED as SEED


def _arm(sim, arms):
    cohort, proto, out = sim
    p = out.patients[out.patients["arm"].isin(arms)].reset_index(drop=True)
    ae = out.adverse_events[out.adverse_events["arm"].isin(arms)]
    h = history_from_model(p, ae, cohort, proto, seed=SEED, horizon_days=out.horizon_days)
    return p, ae, h


def test_history_holds_the_engine_events(sim):
    cohort, _, out = sim
    p, ae, h = _arm(sim, ["A", "C"])
    assert h.n == len(p)
    assert h.ae_child.size == len(ae)
    np.testing.assert_array_equal(np.bincount(h.ae_child, minlength=h.n).sum(), len(ae))
    rel = p["relapse_day"].to_numpy(dtype=float)
    np.testing.assert_array_equal(np.isfinite(h.relapse_day), np.isfinite(rel))
    # the lifetime pathway is the trial's (same seed, same children)
    cov = cohort.set_index("patient_id").loc[p["patient_id"]].reset_index()
    tc = trial_columns(p, cov, seed=SEED, horizon_day=out.horizon_days)
    np.testing.assert_array_equal(h.death_day, tc["lifetime_death_day"])
    np.testing.assert_array_equal(h.hsct_day, tc["hsct_day"])
    assert np.all(h.end_day <= h.death_day)
    assert np.all(h.first_line_stop_day <= h.end_day)
    assert {t.arm for t in h.tables} >= {"A", "C"}
    assert np.all(np.isfinite(h.consolidation_day) <= np.isfinite(h.relapse_day))


def test_blinatumomab_arm_has_first_line_vials_and_chemo_arm_none(sim):
    v = base_values(load_setting("canada-2024"))
    _, _, chemo = _arm(sim, ["A", "C"])
    _, _, blina = _arm(sim, ["B", "D"])
    a, b = evaluate(chemo, v), evaluate(blina, v)
    assert b.vials > a.vials
    assert b.costs_by_category["blinatumomab_drug"] > 10_000
    # vials in the chemotherapy arm come only from post-relapse blinatumomab
    none = evaluate(chemo, v.replace(**{"blinatumomab.relapse_cycles": 0.0}))
    assert none.vials == 0.0
    for r in (a, b):
        assert r.costs < r.costs_undiscounted
        assert r.qalys < r.life_years
        assert r.life_years < r.life_years_undiscounted
        assert sum(r.costs_by_category.values()) == pytest.approx(r.costs)


def test_off_study_children_use_the_stand_in_arm(sim):
    cohort, proto, out = sim
    p = out.patients[out.patients["arm"].isna()].reset_index(drop=True)
    if len(p) == 0:
        pytest.skip("no child off study in this small cohort")
    ae = out.adverse_events[out.adverse_events["arm"].isna()]
    h = history_from_model(p, ae, cohort, proto, seed=SEED, horizon_days=out.horizon_days)
    assert {h.tables[i].arm for i in np.unique(h.table)} == {"HR"}


def test_per_child_totals_average_to_the_arm_means_and_relapse2_is_a_failure(sim):
    v = base_values(load_setting("uk-nice"))
    _, _, h = _arm(sim, ["A", "C"])
    r = evaluate(h, v, per_child=True)
    assert r.per_child is not None
    assert r.per_child["costs"].mean() == pytest.approx(r.costs)
    assert r.per_child["qalys_undiscounted"].mean() == pytest.approx(r.qalys_undiscounted)
    assert r.per_child["life_years"].mean() == pytest.approx(r.life_years)
    second = np.isfinite(h.relapse2_day)
    np.testing.assert_array_equal(h.failure_day[second], h.relapse2_day[second])
    assert np.all(np.isfinite(h.relapse_day[np.isfinite(h.failure_day)]))


def test_label_columns_read_through_categories_as_row_by_row():
    vals = ["favorable", None, "neutral", "favorable", np.nan, "unfavorable"]
    cat = pd.Series(pd.Categorical(vals, categories=["x", "neutral", "favorable", "unfavorable"]))
    want = pd.Series(vals, dtype=object).astype(str).to_numpy() == "favorable"
    for col in (cat, cat.astype(object)):
        np.testing.assert_array_equal(_str_in(col, ("favorable",)), want)
    causes = ("treatment-related", "second malignancy")
    dc = ["leukemia", "second malignancy", None, "treatment-related", "treatment-related"]
    want = np.isin(pd.Series(dc, dtype=object).to_numpy(), causes)
    for col in (pd.Series(pd.Categorical(dc)), pd.Series(dc, dtype=object)):
        np.testing.assert_array_equal(_str_in(col, causes, as_str=False), want)


def _search(keys, queries):
    """The sort-and-search reference of ``_find``."""
    order = np.argsort(keys, kind="stable")
    pos = np.minimum(np.searchsorted(keys[order], queries), keys.size - 1)
    return order[pos], keys[order][pos] == queries


@pytest.mark.parametrize(
    "keys",
    [
        np.arange(5, 2000, 3),  # increasing: the dense table
        np.array([10**12, 10**12 + 5]),  # increasing over a wide range: searched
        np.array([7, 3, 3, 9, 1, 7, 12]),  # unsorted with repeats: the first row of each
        np.array([4]),
    ],
)
def test_find_is_the_sorted_search(keys):
    r = np.random.default_rng(keys.size)
    queries = np.concatenate([r.choice(keys, 300), r.integers(-5, int(keys.max()) + 9, 300)])
    queries = np.concatenate([queries, [keys.min() - 1, keys.max() + 1, 10**13]])
    rows, hit = _find(keys, queries)
    want_rows, want_hit = _search(keys, queries)
    np.testing.assert_array_equal(hit, want_hit)
    np.testing.assert_array_equal(rows[hit], want_rows[want_hit])
    assert hit.any()
    assert not hit.all()
    np.testing.assert_array_equal(keys[rows[hit]], queries[hit])
    empty_rows, empty_hit = _find(np.empty(0, np.int64), queries)
    assert not empty_hit.any()
    assert empty_rows.shape == queries.shape
