import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from blinasim.economics import Discounter
from blinasim.units import DAYS_PER_YEAR

Y = DAYS_PER_YEAR


def test_continuous_factor_and_spell_by_hand():
    d = Discounter(0.03, "continuous")
    assert d.factor(2 * Y) == pytest.approx(1.03**-2)
    assert d.factor(0.5 * Y) == pytest.approx(1.03**-0.5)
    # a rate of 1 per year over the first year: (1 - 1/1.03) / ln(1.03)
    assert d.spell(0.0, Y) == pytest.approx((1 - 1 / 1.03) / math.log(1.03))
    # from year 1 to 3
    exact = (1.03**-1 - 1.03**-3) / math.log(1.03)
    assert d.spell(Y, 3 * Y) == pytest.approx(exact)


def test_annual_factor_and_spell_by_hand():
    d = Discounter(0.03, "annual")
    assert d.factor(0.99 * Y) == pytest.approx(1.0)
    assert d.factor(1.5 * Y) == pytest.approx(1 / 1.03)
    assert d.factor(2.0 * Y) == pytest.approx(1.03**-2)
    # 2.5 years: 1 + 1/1.03 + 0.5/1.03**2
    assert d.cumulative(2.5 * Y) == pytest.approx(1 + 1 / 1.03 + 0.5 / 1.03**2)
    assert d.spell(0.5 * Y, 1.25 * Y) == pytest.approx(0.5 + 0.25 / 1.03)


@pytest.mark.parametrize("mode", ["continuous", "annual"])
def test_zero_rate_counts_years_and_empty_spells(mode):
    d = Discounter(0.0, mode)
    assert d.spell(10.0, 10.0 + Y) == pytest.approx(1.0)
    assert d.spell(5.0, 3.0) == 0.0
    assert d.factor(123.0) == 1.0
    # never: no warning, zero
    assert d.factor(np.inf) == 0.0
    assert d.spell(np.inf, np.inf) == 0.0
    assert Discounter(0.03, mode).spell(np.inf, np.inf) == 0.0
    assert Discounter(0.03, mode).cumulative(np.inf) == pytest.approx(
        1 / math.log(1.03) if mode == "continuous" else 1 / (1 - 1 / 1.03)
    )


@given(
    a=st.floats(0, 40 * Y),
    b=st.floats(0, 40 * Y),
    c=st.floats(0, 40 * Y),
    r=st.floats(0.0, 0.1),
    mode=st.sampled_from(["continuous", "annual"]),
)
def test_spells_add_up(a, b, c, r, mode):
    a, b, c = sorted((a, b, c))
    d = Discounter(r, mode)
    assert d.spell(a, b) + d.spell(b, c) == pytest.approx(d.spell(a, c), abs=1e-9)
    assert 0.0 <= d.spell(a, c) <= (c - a) / Y + 1e-12


@given(t=st.floats(0, 60 * Y), r=st.floats(0.001, 0.1))
def test_continuous_spell_is_the_integral_of_the_factor(t, r):
    d = Discounter(r, "continuous")
    grid = np.linspace(0.0, t, 2001)
    f = d.factor(grid)
    numeric = float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(grid))) / Y
    assert d.spell(0.0, t) == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_bad_rate_or_mode():
    with pytest.raises(ValueError, match="rate"):
        Discounter(-0.1)
    with pytest.raises(ValueError, match="mode"):
        Discounter(0.03, "monthly")  # type: ignore[arg-type]
