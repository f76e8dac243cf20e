"""Log-rank / G-rho tests against R survdiff (golden file) and lifelines."""

from __future__ import annotations

import numpy as np
import pytest
from _golden_survival import arr, case_ids, cases, close

from blinasim import InputError
from blinasim.stats import logrank_test


def _data(case):
    d = case["data"]
    strata = None if d.get("strata") is None else arr(d["strata"]).astype(int)
    return arr(d["time"]), arr(d["event"]).astype(int), arr(d["group"]).astype(int), strata


@pytest.mark.parametrize("case", cases(), ids=case_ids())
def test_logrank_matches_survdiff(case):
    t, e, g, s = _data(case)
    assert case["logrank"], "golden case without log-rank results"
    for ref in case["logrank"]:
        res = logrank_test(t, e, g, strata=s if ref["stratified"] else None, rho=ref["rho"])
        close(res.observed, ref["observed"])
        close(res.expected, ref["expected"])
        close(res.variance, np.array(ref["var"], dtype=float))
        close(res.chisq, ref["chisq"])
        close(res.p_value, ref["p"])
        assert res.df == ref["df"]
        if len(res.groups) == 2:
            assert res.z**2 == pytest.approx(res.chisq, rel=1e-12)
            assert res.n_strata == (len(np.unique(s)) if ref["stratified"] else 1)
        else:
            assert np.isnan(res.z)


def test_string_labels_sorted_and_frame():
    case = cases()[0]
    t, e, g, _s = _data(case)
    labels = np.where(g == 0, "m", "f")  # sorted: f < m, so group 0 becomes the second label
    a = logrank_test(t, e, g)
    b = logrank_test(t, e, labels)
    assert b.groups == ["f", "m"]
    np.testing.assert_allclose(b.observed, a.observed[::-1])
    assert b.chisq == pytest.approx(a.chisq, rel=1e-12)
    assert b.z == pytest.approx(-a.z, rel=1e-12)
    frame = b.to_frame()
    assert list(frame["group"]) == ["f", "m"]
    assert frame["n"].sum() == len(t)


def test_matches_lifelines():
    lifelines = pytest.importorskip("lifelines.statistics")
    for case in cases():
        t, e, g, _s = _data(case)
        ours = logrank_test(t, e, g)
        theirs = lifelines.multivariate_logrank_test(t, g, e)
        assert ours.chisq == pytest.approx(theirs.test_statistic, rel=1e-8)
        if len(ours.groups) == 2:
            two = lifelines.logrank_test(t[g == 0], t[g == 1], e[g == 0], e[g == 1])
            assert ours.p_value == pytest.approx(two.p_value, rel=1e-8)


def test_one_stratum_equals_plain():
    case = cases()[1]
    t, e, g, _s = _data(case)
    a = logrank_test(t, e, g)
    b = logrank_test(t, e, g, strata=np.full(len(t), "x"))
    np.testing.assert_array_equal(a.observed, b.observed)
    np.testing.assert_array_equal(a.variance, b.variance)
    assert a.chisq == b.chisq


def test_no_events_gives_zero_statistic():
    res = logrank_test([1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 1, 1])
    assert res.chisq == 0.0
    assert res.p_value == 1.0
    assert res.df == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"group": [0, 0, 0]}, "group: expected at least two groups"),
        ({"group": [0, 1]}, "group: expected length 3"),
        ({"group": [0.0, np.nan, 1.0]}, r"group\[1\]: expected no missing labels"),
        ({"group": [0, 1, 1], "strata": [1, 2]}, "strata: expected length 3"),
        ({"group": [0, 1, 1], "rho": -1}, "rho: expected a finite number >= 0"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        logrank_test([1, 2, 3], [1, 0, 1], **kwargs)


@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_integer_time_counting_path_equals_sorting_path(rho):
    """Large integer-valued samples are counted without sorting; results are identical."""
    rng = np.random.default_rng(5)
    n = 6000
    t = rng.integers(0, 300, n).astype(float)
    e = rng.integers(0, 2, n)
    g = rng.integers(0, 3, n)
    s = rng.integers(0, 2, n)
    fast = logrank_test(t, e, g, strata=s, rho=rho)
    slow = logrank_test(t + 0.5, e, g, strata=s, rho=rho)  # not integer-valued: sorting path
    np.testing.assert_array_equal(fast.observed, slow.observed)
    np.testing.assert_array_equal(fast.expected, slow.expected)
    np.testing.assert_array_equal(fast.variance, slow.variance)
    assert fast.chisq == slow.chisq
