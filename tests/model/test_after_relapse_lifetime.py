"""Death to age 100 on the shipped life table with survivors' late-mortality SMRs."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.cohort import sample_cohort
from blinasim.jobs.summary import LIFETIME_KEYS, lifetime_by_arm
from blinasim.model import simulate
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse import lifetime as lt
from blinasim.model.after_relapse.history import CAUSES, TRIAL_COLUMNS, lifetime, trial_columns
from blinasim.protocol import load_protocol
from blinasim.reports.run_tables import lifetime_table


@pytest.fixture(scope="module")
def ap() -> AfterRelapseParams:
    return AfterRelapseParams.load()


def test_life_table_reproduces_us_2014_life_expectancy(ap):
    # NCHS, United States life tables 2014: e0 = 78.8 years (76.4 male, 81.2 female);
    # here to age 100 with a 50/50 sex mix (the years after 100 add ~0.05)
    n = 400_000
    ids = np.arange(n)
    zero = np.zeros(n)
    for share, e0 in ((1.0, 76.4), (0.0, 81.2), (0.5, 78.8)):
        d = lt.late_death(ids, zero, zero, np.ones(n), seed=1, ap=ap, male_share=share)
        assert lt.life_years(zero, d.death_day, ap).mean() == pytest.approx(e0, abs=0.25)


def test_smr_shortens_life_and_attributes_excess_deaths(ap):
    n = 200_000
    ids = np.arange(n)
    age = np.full(n, 5.0)
    day = np.full(n, 5 * 365.25)
    base = lt.late_death(ids, age, day, np.ones(n), seed=3, ap=ap)
    high = lt.late_death(ids, age, day, np.full(n, ap.smr_after_hsct), seed=3, ap=ap)
    assert not base.excess.any()
    assert (high.death_day <= base.death_day).all()
    assert (
        lt.life_years(age, high.death_day, ap).mean()
        < lt.life_years(age, base.death_day, ap).mean() - 2
    )
    dead = np.isfinite(high.death_day)
    share = high.excess[dead].mean()
    assert 0.5 < share < (ap.smr_after_hsct - 1) / ap.smr_after_hsct + 0.01


def test_smr_order(ap):
    rel = np.array([False, True, True])
    tx = np.array([False, False, True])
    s = lt.smr_for(rel, tx, ap)
    assert s[0] < s[1] < s[2]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    age=st.floats(1.0, 30.0),
    from_years=st.floats(0.0, 20.0),
    smr=st.floats(0.5, 20.0),
    seed=st.integers(0, 2**20),
)
def test_late_death_invariants(ap, age, from_years, smr, seed):
    n = 500
    ids = np.arange(n)
    a = np.full(n, age)
    f = np.full(n, from_years * 365.25)
    d = lt.late_death(ids, a, f, np.full(n, smr), seed=seed, ap=ap)
    fin = np.isfinite(d.death_day)
    assert (d.death_day[fin] >= f[fin] - 1e-6).all()
    assert (a[fin] + d.death_day[fin] / 365.25 <= ap.lifetime_max_age_years + 1e-9).all()
    assert not (d.excess & ~fin).any()
    ly = lt.life_years(a, d.death_day, ap)
    assert (ly <= ap.lifetime_max_age_years - age + 1e-9).all()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 80),
    seed=st.integers(0, 2**20),
    horizon_years=st.floats(3.0, 15.0),
)
def test_lifetime_history_invariants(ap, n, seed, horizon_years):
    r = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64) * 5 + 3
    age = r.uniform(1.0, 10.0, n)
    horizon = horizon_years * 365.25
    rd = np.where(r.random(n) < 0.4, r.uniform(60.0, horizon * 1.2, n), np.inf)
    fl = np.where(np.isinf(rd) & (r.random(n) < 0.1), r.uniform(10.0, horizon, n), np.inf)
    site = np.where(np.isfinite(rd), r.integers(0, 3, n), -1)
    neg = r.random(n) < 0.2
    fav = r.random(n) < 0.3
    life = lifetime(
        ids, age, fl, rd, site, neg, fav, horizon_day=horizon, seed=seed, ap=ap
    )  # fmt: skip
    relapsed = rd < horizon
    # first-line deaths are kept; nothing happens to a child after death
    np.testing.assert_array_equal(life.death_day[np.isfinite(fl)], fl[np.isfinite(fl)])
    assert (life.death_cause[np.isfinite(fl)] == CAUSES.index("first line")).all()
    for x in (life.hsct_day, life.cart_day, life.relapse2_day):
        assert np.isinf(x[~relapsed]).all()
        assert (x[np.isfinite(x)] < life.death_day[np.isfinite(x)]).all()
    assert ((life.death_cause >= 0) == np.isfinite(life.death_day)).all()
    # relapse-related causes only after a relapse; nobody outlives the maximum age
    rel_cause = np.isin(life.death_cause, [1, 2])
    assert relapsed[rel_cause].all()
    assert (life.life_years <= ap.lifetime_max_age_years - age + 1e-9).all()


def test_lifetime_relapse_shortens_life(ap):
    n = 50_000
    ids = np.arange(n)
    age = np.full(n, 5.0)
    none = np.zeros(n, bool)
    inf = np.full(n, np.inf)
    well = lifetime(
        ids, age, inf, inf, np.full(n, -1), none, none, horizon_day=3653.0, seed=1, ap=ap
    )
    rel = lifetime(
        ids,
        age,
        inf,
        np.full(n, 700.0),
        np.zeros(n, int),
        none,
        none,
        horizon_day=3653.0,
        seed=1,
        ap=ap,
    )
    assert rel.life_years.mean() < well.life_years.mean() - 10
    assert np.isfinite(rel.hsct_day).mean() > 0.3


def test_trial_columns_and_summary_by_arm(ap):
    n = 4000
    r = np.random.default_rng(3)
    model = pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "relapse_day": np.where(r.random(n) < 0.3, r.uniform(100, 3000, n), np.nan),
            "relapse_site": None,
            "relapse_cd19_negative": r.random(n) < 0.1,
            "death_day": np.nan,
            "death_cause": None,
        }
    )
    model.loc[model["relapse_day"].notna(), "relapse_site"] = "marrow"
    cov = pd.DataFrame({"age_years": r.uniform(1, 10, n), "genetics": "neutral"})
    cols = trial_columns(model, cov, seed=4, horizon_day=3653.0)
    assert tuple(cols) == TRIAL_COLUMNS
    p = pd.DataFrame({"arm": np.where(np.arange(n) % 2, "blinatumomab", "chemotherapy"), **cols})
    life = lifetime_by_arm(p)
    for arm in ("blinatumomab", "chemotherapy"):
        v = life[arm]
        assert tuple(v) == LIFETIME_KEYS
        assert 0 < v["hsct_5y"] <= v["hsct_10y"] < 0.3
        assert v["cart_5y"] <= v["cart_10y"]
        assert 1 >= v["os_3y"] >= v["os_5y"] >= v["os_10y"] > 0.7
        assert 50 < v["life_expectancy_years"] < 95
    table = lifetime_table(
        {"lifetime": {a: {k: {"estimate": x} for k, x in v.items()} for a, v in life.items()}}
    )
    assert len(table) == len(LIFETIME_KEYS)


def test_lifetime_continues_the_engines_own_pathway():
    """A relapsing child's lifetime is the pathway the engine ran with the child's own clone:
    transplant, CAR-T, second relapse and death after relapse agree within the first-line
    horizon, child by child (they used to be redrawn with a donor clone)."""
    seed = 5
    cohort = sample_cohort(6000, seed=seed)
    out = simulate(cohort, load_protocol("aall1731"), seed=seed)
    p = out.patients.reset_index(drop=True)
    cov = cohort.set_index("patient_id").loc[p["patient_id"], ["age_years", "genetics"]]
    lt = trial_columns(p, cov.reset_index(drop=True), seed=seed, horizon_day=out.horizon_days)
    h = float(out.horizon_days)
    assert p["relapse_day"].notna().sum() > 300
    for col in ("hsct_day", "cart_day", "relapse2_day"):
        engine_days = p[col].to_numpy(dtype=float)
        life = np.where(lt[col] < h, lt[col], np.nan)
        np.testing.assert_array_equal(engine_days, life)
    after_relapse_death = p["relapse_day"].notna() & p["death_day"].notna()
    np.testing.assert_array_equal(
        p.loc[after_relapse_death, "death_day"].to_numpy(dtype=float),
        lt["lifetime_death_day"][after_relapse_death.to_numpy()],
    )
