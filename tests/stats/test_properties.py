"""Invariants of the survival statistics (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.stats import (
    kaplan_meier,
    km_survival_at_batched,
    logrank_test,
    logrank_test_batched,
    nelson_aalen,
    rmst,
)

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def survival_data(draw, min_size=2, max_size=60, n_groups=2, n_strata=3):
    n = draw(st.integers(min_size, max_size))
    # few distinct times so that ties are common; time 0 allowed
    time = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    group = draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n))
    strata = draw(st.lists(st.integers(0, n_strata - 1), min_size=n, max_size=n))
    perm = draw(st.permutations(range(n)))
    return (
        np.array(time, dtype=float),
        np.array(event),
        np.array(group),
        np.array(strata),
        np.array(perm),
    )


@SETTINGS
@given(survival_data(min_size=1))
def test_km_non_increasing_in_unit_interval(data):
    t, e, _g, _s, _p = data
    fit = kaplan_meier(t, e)
    assert np.all((fit.survival >= 0) & (fit.survival <= 1))
    assert np.all(np.diff(fit.survival) <= 0)
    ok = ~np.isnan(fit.lower)
    assert np.all(fit.lower[ok] <= fit.survival[ok] + 1e-12)
    assert np.all(fit.upper[ok] >= fit.survival[ok] - 1e-12)
    assert fit.n_event.sum() == e.sum()
    assert fit.n_event.sum() + fit.n_censor.sum() == len(t)
    na = nelson_aalen(t, e)
    assert np.all(np.diff(na.cumhaz) >= 0)


@SETTINGS
@given(survival_data())
def test_statistics_invariant_to_row_order(data):
    t, e, g, s, p = data
    a = kaplan_meier(t, e)
    b = kaplan_meier(t[p], e[p])
    np.testing.assert_array_equal(a.survival, b.survival)
    np.testing.assert_array_equal(a.std_err_log, b.std_err_log)
    if len(np.unique(g)) == 2:
        la = logrank_test(t, e, g, strata=s, rho=0.5)
        lb = logrank_test(t[p], e[p], g[p], strata=s[p], rho=0.5)
        np.testing.assert_array_equal(la.observed, lb.observed)
        np.testing.assert_array_equal(la.variance, lb.variance)
        assert la.chisq == lb.chisq
        ra = rmst(t, e, 6.0, group=g)
        rb = rmst(t[p], e[p], 6.0, group=g[p])
        np.testing.assert_array_equal(ra.rmst, rb.rmst)
        np.testing.assert_array_equal(ra.std_err, rb.std_err)


@SETTINGS
@given(survival_data(n_groups=3))
def test_one_stratum_equals_plain_test(data):
    t, e, g, _s, _p = data
    if len(np.unique(g)) < 2:
        return
    a = logrank_test(t, e, g)
    b = logrank_test(t, e, g, strata=np.zeros(len(t), dtype=int))
    np.testing.assert_array_equal(a.expected, b.expected)
    np.testing.assert_array_equal(a.variance, b.variance)
    assert a.chisq == b.chisq
    assert a.df == b.df
    # O - E sums to zero over groups, V rows sum to zero
    np.testing.assert_allclose((a.observed - a.expected).sum(), 0.0, atol=1e-9)
    np.testing.assert_allclose(a.variance.sum(axis=1), 0.0, atol=1e-9)


@SETTINGS
@given(st.lists(survival_data(min_size=2, max_size=30), min_size=1, max_size=4), st.data())
def test_batched_equals_single(trials, draw):
    n = max(len(tr[0]) for tr in trials)
    reps = len(trials)
    time = np.full((reps, n), np.nan)
    event = np.zeros((reps, n), dtype=int)
    group = np.zeros((reps, n), dtype=int)
    strata = np.zeros((reps, n), dtype=int)
    mask = np.zeros((reps, n), dtype=bool)
    for r, (t, e, g, s, _p) in enumerate(trials):
        k = len(t)
        time[r, :k], event[r, :k], group[r, :k], strata[r, :k] = t, e, g, s
        mask[r, :k] = True
    rho = draw.draw(st.sampled_from([0.0, 1.0]))
    res = logrank_test_batched(time, event, group, strata, mask=mask, rho=rho)
    at = np.array([0.0, 2.0, 5.5, 12.0])
    km = km_survival_at_batched(time, event, at, group, mask=mask)
    for r, (t, e, g, s, _p) in enumerate(trials):
        if len(np.unique(g)) == 2:
            one = logrank_test(t, e, g, strata=s, rho=rho)
            assert res.chisq[r] == one.chisq
            assert res.z[r] == one.z
        for gg in range(km.survival.shape[1]):
            sel = g == gg
            if sel.any():
                single = kaplan_meier(t[sel], e[sel]).at(at)
                np.testing.assert_array_equal(km.survival[r, gg], single.survival)
                np.testing.assert_array_equal(km.std_err[r, gg], single.std_err)
            else:
                assert np.all(np.isnan(km.survival[r, gg]))
