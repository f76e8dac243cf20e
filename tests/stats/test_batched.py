"""Batched log-rank and milestone KM equal the single-trial functions, replicate by replicate."""

from __future__ import annotations

import numpy as np
import pytest

from blinasim import InputError
from blinasim.stats import (
    kaplan_meier,
    km_survival_at_batched,
    logrank_test,
    logrank_test_batched,
)


def _trials(reps=40, n=150, seed=7, n_strata=3):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, (reps, n))
    strata = rng.integers(0, n_strata, (reps, n))
    hazard = 0.1 * np.exp(-0.4 * group + 0.3 * strata)
    event_time = np.ceil(rng.exponential(1 / hazard))  # integer times: many ties
    cens = np.ceil(rng.uniform(0, 25, (reps, n)))
    time = np.minimum(event_time, cens)
    event = (event_time <= cens).astype(np.int8)
    time[:, :3] = 0.0  # events and censorings at time 0
    event[:, :2] = 1
    return time, event, group, strata


@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_logrank_batched_equals_single(rho):
    time, event, group, strata = _trials()
    res = logrank_test_batched(time, event, group, strata, rho=rho)
    for r in range(time.shape[0]):
        one = logrank_test(time[r], event[r], group[r], strata=strata[r], rho=rho)
        assert res.observed[r] == one.observed[1]
        assert res.expected[r] == one.expected[1]
        assert res.variance[r] == one.variance[1, 1]
        assert res.z[r] == one.z
        assert res.chisq[r] == one.chisq
        assert res.p_value[r] == one.p_value
    assert res.to_frame().shape == (time.shape[0], 8)


def test_logrank_batched_mask_and_broadcast():
    time, event, group, strata = _trials(reps=10)
    rng = np.random.default_rng(3)
    mask = rng.uniform(size=time.shape) < 0.7
    padded = np.where(mask, time, np.nan)  # padding may hold NaN
    shared_group = group[0]
    res = logrank_test_batched(padded, event, shared_group, strata, mask=mask)
    for r in range(time.shape[0]):
        m = mask[r]
        one = logrank_test(time[r, m], event[r, m], shared_group[m], strata=strata[r, m])
        assert res.chisq[r] == one.chisq
        assert res.z[r] == one.z
        assert res.n[r] == m.sum()


def test_logrank_batched_unstratified_and_degenerate():
    time, event, group, _ = _trials(reps=5)
    res = logrank_test_batched(time, event, group)
    for r in range(5):
        assert res.chisq[r] == logrank_test(time[r], event[r], group[r]).chisq
    none = logrank_test_batched(time, np.zeros_like(event), group)
    np.testing.assert_array_equal(none.z, 0.0)
    np.testing.assert_array_equal(none.p_value, 1.0)


def test_km_batched_equals_single():
    time, event, group, _ = _trials(reps=25)
    at = np.array([0.0, 0.5, 3.0, 7.0, 12.0, 100.0])
    res = km_survival_at_batched(time, event, at, group)
    assert res.survival.shape == (25, 2, len(at))
    for r in range(25):
        for g in range(2):
            sel = group[r] == g
            one = kaplan_meier(time[r, sel], event[r, sel]).at(at)
            np.testing.assert_array_equal(res.survival[r, g], one.survival)
            np.testing.assert_array_equal(res.std_err[r, g], one.std_err)
            assert res.n[r, g] == sel.sum()
    pooled = km_survival_at_batched(time, event, 7.0)
    assert pooled.survival.shape == (25, 1, 1)
    one = kaplan_meier(time[3], event[3]).at(7.0)
    assert pooled.survival[3, 0, 0] == one.survival[0]
    assert len(pooled.to_frame()) == 25


def test_km_batched_empty_group_is_nan():
    time = np.array([[1.0, 2.0, 3.0]])
    res = km_survival_at_batched(time, [[1, 1, 0]], [2.0], [[0, 0, 2]])
    assert res.survival.shape == (1, 3, 1)
    assert np.isnan(res.survival[0, 1, 0])
    np.testing.assert_array_equal(res.n, [[2, 0, 1]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time": np.ones(5)}, r"time: expected a 2-D array"),
        ({"event": np.ones((2, 4))}, r"event: expected shape \(2, 5\)"),
        ({"group": np.full((2, 5), 2)}, r"group: expected codes in 0..1"),
        ({"time": np.full((2, 5), np.nan)}, r"time: expected finite times"),
        ({"time": -np.ones((2, 5))}, r"time: expected non-negative"),
        ({"event": np.full((2, 5), 0.5)}, r"event: expected integer codes"),
        ({"strata": np.full((2, 5), -1)}, r"strata: expected codes"),
        ({"rho": -0.5}, "rho"),
    ],
)
def test_batched_bad_input(kwargs, match):
    args = {
        "time": np.ones((2, 5)),
        "event": np.ones((2, 5), dtype=int),
        "group": np.zeros((2, 5), dtype=int),
        "strata": None,
    }
    rho = kwargs.pop("rho", 0.0)
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        logrank_test_batched(**args, rho=rho)


@pytest.mark.parametrize(
    "values",
    [
        np.array([]),
        np.array([3.0]),
        np.array([0.0, -0.0, 5.0, 0.0, 2.5, 2.5, 1e300, 1e-300]),
        np.ceil(np.random.default_rng(1).uniform(0, 3000, 1440)),
        np.random.default_rng(2).uniform(0, 3000, 1440),
        # equal in their top 32 bits: the insertion pass runs out of budget -> argsort
        1000.0 + np.random.default_rng(3).permutation(1440) * 1e-10,
    ],
    ids=["empty", "one", "zeros", "integer", "continuous", "near-ties"],
)
def test_radix_sort_sorts_with_payload(values):
    from blinasim.stats._kernels import radix_sort

    t = values + 0.0
    c = np.arange(len(t), dtype=np.int64)
    radix_sort(t, c)
    np.testing.assert_array_equal(t, np.sort(values + 0.0))
    np.testing.assert_array_equal(values[c] + 0.0, t)  # payload travelled with its key


def test_batched_negative_zero_and_near_ties_equal_single():
    rng = np.random.default_rng(9)
    n = 300
    time = np.vstack([1000.0 + rng.permutation(n) * 1e-10, rng.uniform(0, 5, n)])
    time[1, :20] = -0.0
    event = rng.integers(0, 2, (2, n))
    group = rng.integers(0, 2, (2, n))
    res = logrank_test_batched(time, event, group)
    km = km_survival_at_batched(time, event, [0.0, 1000.0 + 1e-8, 3.0], group)
    for r in range(2):
        assert res.chisq[r] == logrank_test(time[r], event[r], group[r]).chisq
        for g in range(2):
            sel = group[r] == g
            one = kaplan_meier(time[r, sel], event[r, sel]).at([0.0, 1000.0 + 1e-8, 3.0])
            np.testing.assert_array_equal(km.survival[r, g], one.survival)
