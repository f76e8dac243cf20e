"""Late effects as dated events: reproducible, common random numbers, censored at death."""

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest

from blinasim.errors import ParameterError
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse.history import TRIAL_COLUMNS, lifetime, trial_columns
from blinasim.model.after_relapse.late_effects import (
    EXPOSURES,
    LATE_EFFECTS,
    LateEffectsParams,
    column,
    late_effects,
)
from blinasim.model.parameters import load_parameter_file
from blinasim.units import DAYS_PER_YEAR

INF = np.inf


@pytest.fixture(scope="module")
def le() -> LateEffectsParams:
    return LateEffectsParams.load()


def _groups(n: int) -> tuple[np.ndarray, np.ndarray]:
    """First-line only, relapse at 2 years, relapse at 2 years + HSCT at 2.5 years (n each)."""
    r = np.r_[np.full(n, INF), np.full(2 * n, 2 * DAYS_PER_YEAR)]
    h = np.r_[np.full(2 * n, INF), np.full(n, 2.5 * DAYS_PER_YEAR)]
    return r, h


def test_every_value_in_range_and_windows_ordered(le):
    for e in LATE_EFFECTS:
        a, b = le.window(e)
        assert 0 <= a <= b
        assert all(0 <= le.probability(e, x) <= 1 for x in EXPOSURES)
    assert le.chronic_gvhd_first_line == 0
    assert le.chronic_gvhd_relapse == 0
    assert le.subsequent_neoplasm_first_line == 0  # first_line.smn_day, not counted twice


def test_bad_window_refused(le):
    with pytest.raises(ValueError, match="from_years"):
        dataclasses.replace(le, osteonecrosis_from_years=3.0, osteonecrosis_to_years=1.0)


def test_reproducible_and_independent_of_subset(le):
    n = 5000
    ids = np.arange(n)
    r, h = _groups(n // 3 + 1)
    r, h = r[:n], h[:n]
    death = np.full(n, INF)
    a = late_effects(ids, r, h, death, seed=7, params=le)
    b = late_effects(ids, r, h, death, seed=7, params=le)
    for e in LATE_EFFECTS:
        np.testing.assert_array_equal(a.days[e], b.days[e])
    sub = ids[1000:1500]
    c = late_effects(sub, r[sub], h[sub], death[sub], seed=7, params=le)
    for e in LATE_EFFECTS:
        np.testing.assert_array_equal(c.days[e], a.days[e][sub])
    d = late_effects(ids, r, h, death, seed=8, params=le)
    assert not np.array_equal(d.days["neurocognitive"], a.days["neurocognitive"])


def test_common_random_numbers_across_exposures(le):
    """The same child, with and without a transplant: draws shared, only the hazard differs."""
    n = 20_000
    ids = np.arange(n)
    r = np.full(n, 2 * DAYS_PER_YEAR)
    death = np.full(n, INF)
    no_tx = late_effects(ids, r, np.full(n, INF), death, seed=3, params=le)
    tx = late_effects(ids, r, np.full(n, 2.5 * DAYS_PER_YEAR), death, seed=3, params=le)
    for e in LATE_EFFECTS:
        had = np.isfinite(no_tx.days[e])
        # an effect the child has without the transplant keeps its day with it
        np.testing.assert_array_equal(tx.days[e][had], no_tx.days[e][had])
        assert np.isfinite(tx.days[e]).sum() >= had.sum()


def test_more_events_after_hsct_than_first_line_only(le):
    n = 30_000
    ids = np.arange(3 * n)
    r, h = _groups(n)
    out = late_effects(ids, r, h, np.full(3 * n, INF), seed=11, params=le)
    first = slice(0, n)
    hsct = slice(2 * n, 3 * n)
    total_first = sum(np.isfinite(out.days[e][first]).sum() for e in LATE_EFFECTS)
    total_hsct = sum(np.isfinite(out.days[e][hsct]).sum() for e in LATE_EFFECTS)
    assert total_hsct > 3 * total_first
    for e in ("severe_chronic", "heart_failure", "chronic_gvhd", "osteonecrosis"):
        assert np.isfinite(out.days[e][hsct]).mean() > np.isfinite(out.days[e][first]).mean()


def test_rates_match_parameters(le):
    """Immortal children: P(effect) = max of p over the exposures received, within MC error."""
    n = 200_000
    ids = np.arange(3 * n)
    r, h = _groups(n)
    out = late_effects(ids, r, h, np.full(3 * n, INF), seed=5, params=le)
    for g, got in enumerate(("first_line", "relapse", "hsct")):
        rows = slice(g * n, (g + 1) * n)
        for e in LATE_EFFECTS:
            p = max(le.probability(e, x) for x in EXPOSURES[: EXPOSURES.index(got) + 1])
            share = np.isfinite(out.days[e][rows]).mean()
            assert share == pytest.approx(p, abs=4.5 * np.sqrt(p * (1 - p) / n) + 1e-9), (e, got)


def test_onset_within_window_after_the_triggering_exposure(le):
    n = 50_000
    ids = np.arange(n)
    out = late_effects(ids, np.full(n, INF), np.full(n, INF), np.full(n, INF), seed=2, params=le)
    for e in LATE_EFFECTS:
        a, b = le.window(e)
        d = out.days[e][np.isfinite(out.days[e])] / DAYS_PER_YEAR
        if d.size:
            assert d.min() >= a - 1e-9
            assert d.max() <= b + 1e-9
    # after a transplant only: the transplant-only part starts after the transplant
    h = np.full(n, 3 * DAYS_PER_YEAR)
    r = np.full(n, 2 * DAYS_PER_YEAR)
    gv = late_effects(ids, r, h, np.full(n, INF), seed=2, params=le).days["chronic_gvhd"]
    fin = gv[np.isfinite(gv)]
    a, b = le.window("chronic_gvhd")
    assert fin.min() >= h[0] + a * DAYS_PER_YEAR - 1e-6
    assert fin.max() <= h[0] + b * DAYS_PER_YEAR + 1e-6


def test_censored_at_death(le):
    n = 40_000
    ids = np.arange(n)
    r, h = np.full(n, 2 * DAYS_PER_YEAR), np.full(n, 2.5 * DAYS_PER_YEAR)
    death = np.random.default_rng(0).uniform(0, 30, n) * DAYS_PER_YEAR
    alive = late_effects(ids, r, h, np.full(n, INF), seed=9, params=le)
    dead = late_effects(ids, r, h, death, seed=9, params=le)
    for e in LATE_EFFECTS:
        fin = np.isfinite(dead.days[e])
        assert (dead.days[e][fin] < death[fin]).all()
        before = alive.days[e] < death
        np.testing.assert_array_equal(np.isfinite(dead.days[e]), before)


def test_million_children_fast(le):
    n = 1_000_000
    ids = np.arange(n)
    r = np.where(ids % 10 == 0, 2 * DAYS_PER_YEAR, INF)
    h = np.where(ids % 30 == 0, 2.5 * DAYS_PER_YEAR, INF)
    late_effects(ids[:10], r[:10], h[:10], np.full(10, INF), seed=1, params=le)
    t0 = time.perf_counter()
    late_effects(ids, r, h, np.full(n, INF), seed=1, params=le)
    assert time.perf_counter() - t0 < 3.0  # ~0.5 s measured on an idle core


def test_lifetime_and_trial_columns_carry_late_effects():
    ap = AfterRelapseParams.load()
    n = 3000
    ids = np.arange(n)
    relapse = np.where(ids % 4 == 0, 900.0, INF)
    site = np.where(np.isfinite(relapse), 0, -1)
    life = lifetime(
        ids,
        np.full(n, 5.0),
        np.full(n, INF),
        relapse,
        site,
        np.zeros(n, dtype=bool),
        np.zeros(n, dtype=bool),
        horizon_day=3653.0,
        seed=4,
        ap=ap,
    )
    assert set(life.late_effect_days) == set(LATE_EFFECTS)
    for e in LATE_EFFECTS:
        d = life.late_effect_days[e]
        fin = np.isfinite(d)
        assert (d[fin] < life.death_day[fin]).all()
    gv = life.late_effect_days["chronic_gvhd"]
    assert not np.isfinite(gv[~np.isfinite(life.hsct_day)]).any()
    model = pd.DataFrame(
        {
            "patient_id": ids,
            "death_cause": pd.Series([None] * n, dtype=object),
            "death_day": np.full(n, np.nan),
            "relapse_day": np.where(np.isfinite(relapse), relapse, np.nan),
            "relapse_site": np.where(np.isfinite(relapse), "marrow", None),
            "relapse_cd19_negative": np.zeros(n, dtype=bool),
        }
    )
    cov = pd.DataFrame({"age_years": np.full(n, 5.0), "genetics": ["neutral"] * n})
    cols = trial_columns(model, cov, seed=4, horizon_day=3653.0)
    assert tuple(cols) == TRIAL_COLUMNS
    for e in LATE_EFFECTS:
        np.testing.assert_array_equal(cols[column(e)], life.late_effect_days[e])


def test_user_parameter_file_changes_a_rate(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("late_effects:\n  osteonecrosis_first_line: 0.5\n", encoding="utf-8")
    ps = load_parameter_file(f)
    assert LateEffectsParams.load(ps).osteonecrosis_first_line == 0.5
    f.write_text("late_effects:\n  osteonecrosis_everyone: 0.5\n", encoding="utf-8")
    with pytest.raises(ParameterError):
        load_parameter_file(f)


def test_growth_hormone_deficiency_only_while_growing(le):
    n = 40_000
    ids = np.arange(n)
    r = np.full(n, 2 * DAYS_PER_YEAR)
    h = np.full(n, 2.5 * DAYS_PER_YEAR)
    death = np.full(n, INF)
    limit = le.growth_hormone_deficiency_max_age_years
    young = late_effects(
        ids, r, h, death, seed=6, params=le, age_at_diagnosis_years=np.full(n, 4.0)
    )
    old = late_effects(
        ids, r, h, death, seed=6, params=le, age_at_diagnosis_years=np.full(n, limit)
    )
    assert np.isfinite(young.days["growth_hormone_deficiency"]).mean() == pytest.approx(
        le.growth_hormone_deficiency_hsct, abs=0.01
    )
    assert not np.isfinite(old.days["growth_hormone_deficiency"]).any()
    # other effects do not depend on age
    np.testing.assert_array_equal(old.days["chronic_gvhd"], young.days["chronic_gvhd"])
    # relapse at 14.8 (counts), transplant at 15.3 (too old): the relapse probability
    mid = late_effects(
        ids, r, h, death, seed=6, params=le, age_at_diagnosis_years=np.full(n, limit - 2.2)
    )
    got = np.isfinite(mid.days["growth_hormone_deficiency"]).mean()
    assert got == pytest.approx(le.growth_hormone_deficiency_relapse, abs=0.01)
