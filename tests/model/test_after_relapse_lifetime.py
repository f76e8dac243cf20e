"""Death to age 100 on the shipped life table with survivors' late-mortality SMRs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse import lifetime as lt


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
