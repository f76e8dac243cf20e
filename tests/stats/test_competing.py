"""cumulative_incidence / gray_test against R cmprsk golden values, lifelines, and properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.errors import InputError
from blinasim.stats.competing import (
    CIFCurve,
    cumulative_incidence,
    gray_test,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "cuminc_cmprsk.json"
CASES: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["cases"]
RTOL = 1e-6


def _vec(x: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=np.float64))


def _corners(c: CIFCurve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A curve in cmprsk's plotting layout: 0, each jump time twice, last follow-up."""
    k = len(c.time)

    def steps(v: np.ndarray) -> np.ndarray:
        before = np.concatenate(([0.0], v))[:k]
        last = v[-1] if k else 0.0
        return np.concatenate(([0.0], np.column_stack([before, v]).ravel(), [last]))

    x = np.concatenate(([0.0], np.repeat(c.time, 2), [c.max_time]))
    return x, steps(c.estimate), steps(c.variance)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cuminc_matches_cmprsk(case: dict[str, Any]) -> None:
    inp, ex = case["input"], case["expected"]
    r = cumulative_incidence(inp["time"], inp["cause"], group=inp["group"])
    assert list(r.causes) == [int(v) for v in np.atleast_1d(ex["causes"])]
    if inp["group"] is not None:
        assert [str(g) for g in r.groups] == [str(g) for g in np.atleast_1d(ex["groups"])]
    assert len(r.curves) == len(ex["curves"])
    for curve, expected in zip(r.curves, ex["curves"], strict=True):
        assert curve.cause == expected["cause"]
        x, f, v = _corners(curve)
        np.testing.assert_allclose(x, _vec(expected["time"]), rtol=RTOL)
        np.testing.assert_allclose(f, _vec(expected["est"]), rtol=RTOL, atol=1e-14)
        np.testing.assert_allclose(v, _vec(expected["var"]), rtol=RTOL, atol=1e-16)
    tp = r.at(ex["timepoints"]["times"])
    shape = tp.estimate.shape
    e_est = np.array(ex["timepoints"]["est"], dtype=np.float64).reshape(shape)
    e_var = np.array(ex["timepoints"]["var"], dtype=np.float64).reshape(shape)
    np.testing.assert_array_equal(np.isnan(tp.estimate), np.isnan(e_est))
    np.testing.assert_allclose(tp.estimate, e_est, rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(tp.variance, e_var, rtol=RTOL, atol=1e-16)


TEST_CASES = [c for c in CASES if c["expected"]["tests"] is not None]


@pytest.mark.parametrize("case", TEST_CASES, ids=[c["name"] for c in TEST_CASES])
def test_gray_matches_cmprsk(case: dict[str, Any]) -> None:
    inp, tests = case["input"], case["expected"]["tests"]
    causes = np.atleast_1d(tests["cause"])
    for k, stat, pv, df in zip(
        causes, _vec(tests["stat"]), _vec(tests["pv"]), _vec(tests["df"]), strict=True
    ):
        g = gray_test(
            inp["time"],
            inp["cause"],
            inp["group"],
            cause_of_interest=int(k),
            strata=inp["strata"],
            rho=case["rho"],
        )
        np.testing.assert_allclose(g.statistic, stat, rtol=RTOL)
        assert g.df == int(df)
        # R computes 1 - pchisq(): absolute precision ~1e-16, and 0 where we give the tail
        np.testing.assert_allclose(g.p, pv, rtol=RTOL, atol=1e-14)


def _pbc() -> dict[str, Any]:
    return next(c for c in CASES if c["name"] == "pbc_trt")["input"]


def test_frames_and_lookup() -> None:
    inp = _pbc()
    r = cumulative_incidence(inp["time"], inp["cause"], group=inp["group"])
    f = r.to_frame()
    assert list(f.columns) == ["group", "cause", "time", "estimate", "variance", "std_err"]
    assert set(f["cause"]) == {1, 2}
    c = r.curve("2", 1)
    assert c.group == "2"
    assert c.cause == 1
    tp = r.at([1000, 0, 1000, 99999]).to_frame()
    assert len(tp) == 4 * 3  # 4 curves, 3 distinct times
    assert tp.loc[tp["time"] == 0, "estimate"].eq(0).all()
    assert tp.loc[tp["time"] == 99999, "estimate"].isna().all()
    with pytest.raises(InputError, match="curve"):
        r.curve("3", 1)
    g = gray_test(inp["time"], inp["cause"], inp["group"])
    assert list(g.to_frame().columns) == ["cause", "statistic", "df", "p"]


def test_input_types() -> None:
    inp = _pbc()
    base = cumulative_incidence(inp["time"], inp["cause"], group=inp["group"])
    other = cumulative_incidence(
        pl.Series(inp["time"]), pd.Series(inp["cause"]), group=pl.Series(inp["group"])
    )
    for a, b in zip(base.curves, other.curves, strict=True):
        np.testing.assert_array_equal(a.estimate, b.estimate)
        np.testing.assert_array_equal(a.variance, b.variance)


def test_point_estimates_match_lifelines() -> None:
    lifelines = pytest.importorskip("lifelines")
    g = np.random.default_rng(11)
    n = 150
    t = g.exponential(size=n)  # continuous: no ties, so lifelines does not jitter
    cause = g.choice([0, 1, 2], size=n, p=[0.3, 0.4, 0.3])
    r = cumulative_incidence(t, cause)
    for k in (1, 2):
        ajf = lifelines.AalenJohansenFitter(calculate_variance=False).fit(
            t, cause, event_of_interest=k
        )
        lf = ajf.cumulative_density_.iloc[:, 0]
        grid = lf.index.to_numpy()
        grid = grid[grid <= t.max()]
        est, _ = r.curve("all", k).at(grid)
        np.testing.assert_allclose(est, lf.loc[grid].to_numpy(), rtol=1e-9, atol=1e-12)


def _km_all_cause(t: np.ndarray, c: np.ndarray, at: np.ndarray) -> np.ndarray:
    times = np.unique(t)
    s = 1.0
    surv_at = []
    k = 0
    for tt in np.sort(at):
        while k < len(times) and times[k] <= tt:
            n_risk = (t >= times[k]).sum()
            d = ((t == times[k]) & (c > 0)).sum()
            s *= 1.0 - d / n_risk
            k += 1
        surv_at.append(s)
    return np.array(surv_at)


competing_data = st.integers(5, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 12), min_size=n, max_size=n),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n),
        st.lists(st.sampled_from(["s", "t"]), min_size=n, max_size=n),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=40, deadline=None)
@given(data=competing_data)
def test_cif_properties(data: tuple[Any, ...]) -> None:
    times, causes, groups, _, rnd = data
    t = np.asarray(times, dtype=np.float64)
    c = np.asarray(causes)
    c[0] = max(c[0], 1)
    g = np.asarray(groups)
    r = cumulative_incidence(t, c, group=g)
    grid = np.arange(0.0, 13.0, 0.5)
    for lab in r.groups:
        sel = g == lab
        total = np.zeros(len(grid))
        for k in r.causes:
            est, var = r.curve(lab, k).at(grid)
            ok = ~np.isnan(est)
            assert np.all(np.diff(est[ok]) >= -1e-12)  # non-decreasing
            assert np.all((est[ok] >= 0) & (est[ok] <= 1 + 1e-12))
            assert np.all(var[ok] >= -1e-12)
            total += np.nan_to_num(est)
        upto = grid <= t[sel].max()
        assert np.all(total[upto] <= 1 + 1e-12)  # sum over causes at most 1
        # and sum of CIFs + all-cause KM survival = 1 (Aalen-Johansen identity)
        km = _km_all_cause(t[sel], c[sel], grid[upto])
        np.testing.assert_allclose(total[upto] + km, 1.0, atol=1e-12)
    perm = list(range(len(t)))
    rnd.shuffle(perm)
    r2 = cumulative_incidence(t[perm], c[perm], group=g[perm])
    for a, b in zip(r.curves, r2.curves, strict=True):
        np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-12)
        np.testing.assert_allclose(a.variance, b.variance, rtol=1e-10, atol=1e-15)


def test_gray_test_with_a_nan_variance_is_not_estimable() -> None:
    # found by hypothesis on a fresh clone: stratum "t" has cause 2 as its only event after
    # the cause-1 events, its variance is NaN, and pivoted QR refused the matrix
    t = np.array([0, 2, 0, 0, 0, 0, 0, 1, 0], dtype=np.float64)
    c = np.array([1, 1, 0, 0, 0, 0, 0, 1, 1])
    g = np.array(["a", "b", "a", "a", "a", "a", "a", "c", "a"])
    s = np.array(["t", "t", "s", "s", "s", "s", "s", "t", "t"])
    nan_seen = False
    for rho in (0.0, 1.0):
        r = gray_test(t, c, g, strata=s, rho=rho)
        if not np.isfinite(r.variance).all():
            nan_seen = True
            assert np.isnan(r.statistic)
            assert np.isnan(r.p)
    assert nan_seen


@settings(max_examples=40, deadline=None)
@given(data=competing_data, rho=st.sampled_from([0.0, 1.0]))
def test_gray_properties(data: tuple[Any, ...], rho: float) -> None:
    times, causes, groups, strata, rnd = data
    t = np.asarray(times, dtype=np.float64)
    c = np.asarray(causes)
    c[0] = 1
    g = np.asarray(groups)
    if len(np.unique(g)) < 2:
        g[0], g[-1] = "a", "b"
    s = np.asarray(strata)
    plain = gray_test(t, c, g, rho=rho)
    one = gray_test(t, c, g, strata=["x"] * len(t), rho=rho)
    np.testing.assert_allclose(one.score, plain.score, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(one.variance, plain.variance, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(np.isnan(one.statistic), np.isnan(plain.statistic))
    if not np.isnan(plain.statistic):
        np.testing.assert_allclose(one.statistic, plain.statistic, rtol=1e-9)
        assert plain.statistic >= -1e-9
        assert 0.0 <= plain.p <= 1.0
    perm = list(range(len(t)))
    rnd.shuffle(perm)
    a = gray_test(t, c, g, strata=s, rho=rho)
    b = gray_test(t[perm], c[perm], g[perm], strata=s[perm], rho=rho)
    np.testing.assert_allclose(b.score, a.score, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.variance, a.variance, rtol=1e-9, atol=1e-12)


def test_gray_statistic_does_not_depend_on_group_labels() -> None:
    case = next(c for c in CASES if c["name"] == "synth_3causes_3groups")
    inp = case["input"]
    g = np.asarray(inp["group"])
    relabel = np.array([{"A": "z", "B": "b", "C": "a"}[v] for v in g])
    a = gray_test(inp["time"], inp["cause"], g)
    b = gray_test(inp["time"], inp["cause"], relabel)
    np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-10)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: cumulative_incidence([1, 2], [1, 0, 1]), "cause"),
        (lambda: cumulative_incidence([1, np.nan], [1, 0]), "time[1]"),
        (lambda: cumulative_incidence([1, -1], [1, 0]), "time[1]"),
        (lambda: cumulative_incidence([1, 2], [1, -1]), "cause[1]"),
        (lambda: cumulative_incidence([1, 2], [1, 1.5]), "cause[1]"),
        (lambda: cumulative_incidence([1, 2], [0, 0]), "cause"),
        (lambda: cumulative_incidence([], []), "time"),
        (lambda: cumulative_incidence([1, 2], [1, 0], group=["a"]), "group"),
        (lambda: cumulative_incidence([1, 2], [1, 0], group=["a", None]), "group[1]"),
        (lambda: gray_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"]), "group"),
        (
            lambda: gray_test([1, 2, 3], [1, 0, 1], ["a", "b", "a"], cause_of_interest=2),
            "cause_of_interest",
        ),
        (lambda: gray_test([1, 2, 3], [1, 0, 1], ["a", "b", "a"], strata=[1, 2]), "strata"),
        (lambda: gray_test([1, 2, 3], [1, 0, 1], ["a", "b", "a"], rho=float("nan")), "rho"),
    ],
)
def test_bad_input(call: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(f"{field}: expected")
    assert "\n" not in msg
