"""Parametric outcome laws, accrual and randomization."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.trial.accrual import cumulative_intensity, enrollment_days
from blinasim.trial.design import (
    Accrual,
    Allocation,
    Arm,
    Exponential,
    MixtureCure,
    PiecewiseExponential,
    Weibull,
    design_from_dict,
)
from blinasim.trial.randomization import block_assignments
from blinasim.trial.sources.parametric import ParametricOutcomes, inverse_survival, survival

from .conftest import small_doc

LAWS = [
    Exponential(dist="exponential", survival=0.88, at_years=3),
    Exponential(dist="exponential", median_years=4),
    PiecewiseExponential(
        dist="piecewise_exponential", breaks_years=[1, 3], hazards_per_year=[0.1, 0.0, 0.05]
    ),
    Weibull(dist="weibull", shape=0.8, scale_years=12),
    MixtureCure(
        dist="mixture_cure",
        cure_fraction=0.7,
        uncured=Weibull(dist="weibull", shape=1.5, scale_years=2),
    ),
]


@pytest.mark.parametrize("law", LAWS, ids=lambda x: x.dist)
@settings(max_examples=50, deadline=None)
@given(u=st.floats(0.001, 0.999), hr=st.floats(0.2, 3.0))
def test_inverse_survival_inverts_survival(law, u: float, hr: float) -> None:
    t = inverse_survival(law, np.array([u]), hr)
    if np.isfinite(t[0]):
        assert survival(law, t, hr)[0] == pytest.approx(u, rel=1e-9, abs=1e-12)
    else:  # cured, or no hazard left
        assert survival(law, np.array([1e7]), hr)[0] >= u - 1e-12


def test_exponential_parametrizations_agree() -> None:
    e = Exponential(dist="exponential", survival=0.5, at_years=4)
    m = Exponential(dist="exponential", median_years=4)
    assert e.rate_per_day() == pytest.approx(m.rate_per_day())


def test_cure_fraction_and_hazard_ratio_by_simulation() -> None:
    law = LAWS[-1]
    u = np.random.default_rng(0).random(200_000)
    t = inverse_survival(law, u)
    assert np.mean(~np.isfinite(t)) == pytest.approx(0.7, abs=0.005)
    t2 = inverse_survival(LAWS[0], u, 0.5)
    s = np.mean(t2 > 3 * 365.25)
    assert s == pytest.approx(0.88**0.5, abs=0.004)


def test_parametric_source_common_random_numbers(small_design) -> None:
    src = ParametricOutcomes(small_design)
    patient = np.arange(50)
    stratum = np.zeros(50, dtype=np.int64)
    a0 = src.outcomes(patient, stratum, np.zeros(50, dtype=np.int64), seed=3, replicate=2)
    a1 = src.outcomes(patient, stratum, np.ones(50, dtype=np.int64), seed=3, replicate=2)
    # hazard ratio 0.5 on the same uniform: S1(t1) = S0(t0)  <=> t1 = t0 / 0.5 (exponential)
    np.testing.assert_allclose(a1.dfs, a0.dfs / 0.5)
    sub = src.outcomes(
        patient[10:20], stratum[10:20], np.zeros(10, dtype=np.int64), seed=3, replicate=2
    )
    np.testing.assert_array_equal(sub.dfs, a0.dfs[10:20])


def test_enrolment_mix() -> None:
    d = design_from_dict(small_doc())
    enr = ParametricOutcomes(d).enroll(40_000, seed=1, replicate=0)
    frac = np.bincount(enr.risk_group, minlength=3) / 40_000
    np.testing.assert_allclose(frac, [0.3, 0.4, 0.3], atol=0.01)
    assert np.mean(enr.stratum[enr.risk_group == 1] >= 0) == pytest.approx(0.9, abs=0.01)
    assert not enr.randomizable[enr.risk_group == 0].any()


def test_accrual_uniform_follows_intensity() -> None:
    acc = Accrual.model_validate(
        {
            "start_date": "2020-01-01",
            "process": "uniform",
            "target_randomized": 10,
            "periods": [{"months": 6, "rate_per_month": 10}, {"rate_per_month": 30}],
        }
    )
    days = enrollment_days(acc, 300, seed=0, replicate=0)
    assert np.all(np.diff(days) > 0)
    expected = cumulative_intensity(acc, days)
    np.testing.assert_allclose(expected, np.arange(300), atol=1e-9)


def test_accrual_poisson_is_prefix_stable() -> None:
    acc = Accrual.model_validate(
        {"start_date": "2020-01-01", "target_randomized": 10, "periods": [{"rate_per_month": 30}]}
    )
    a = enrollment_days(acc, 5000, seed=4, replicate=1)
    b = enrollment_days(acc, 100, seed=4, replicate=1)
    np.testing.assert_array_equal(a[:100], b)
    assert a.size / (a[-1] / 30.4375) == pytest.approx(30, rel=0.05)


@pytest.mark.parametrize(("ratio", "blocks"), [((1, 1), [2, 4]), ((1, 2), [3, 6]), ((2, 1), [3])])
def test_permuted_blocks_stay_balanced(ratio, blocks) -> None:
    alloc = Allocation(
        control=Arm(id="a", label="A"),
        experimental=Arm(id="b", label="B"),
        ratio=ratio,
        block_sizes=blocks,
    )
    arms = block_assignments(1000, alloc, seed=2, replicate=0, stratum=0)
    share = ratio[1] / sum(ratio)
    drift = np.cumsum(arms - share)
    assert np.abs(drift).max() <= max(blocks) * max(share, 1 - share) + 1e-9
    again = block_assignments(400, alloc, seed=2, replicate=0, stratum=0)
    np.testing.assert_array_equal(arms[:400], again)
