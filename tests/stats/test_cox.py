"""cox_ph against R survival::coxph golden values (scripts/golden/cox_competing.R) and lifelines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from blinasim.errors import InputError
from blinasim.stats.cox import CoxResult, cox_ph

GOLDEN = Path(__file__).parents[1] / "golden" / "cox_coxph.json"
CASES: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["cases"]
RTOL = 1e-6


def _vec(x: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=np.float64))


def _mat(x: Any, k: int) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(k, k)


def _fit(case: dict[str, Any]) -> CoxResult:
    inp = case["input"]
    names = [str(v) for v in np.atleast_1d(inp["covariate_names"])]
    cov = pd.DataFrame({k: _vec(inp["covariates"][k]) for k in names})
    return cox_ph(
        inp["time"],
        inp["event"],
        cov,
        strata=inp["strata"],
        weights=inp["weights"],
        ties=case["ties"],
        robust=case["robust"],
    )


def _close(actual: Any, expected: Any) -> None:
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    e = np.where(np.isnan(e) & np.isinf(a), a, e)  # JSON has no Inf: R's Inf arrives as null
    np.testing.assert_allclose(a, e, rtol=RTOL)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_r_coxph(case: dict[str, Any]) -> None:
    ex = case["expected"]
    r = _fit(case)
    k = len(r.names)
    assert list(r.names) == [str(v) for v in np.atleast_1d(ex["names"])]
    _close(r.coef, _vec(ex["coef"]))
    _close(r.se, _vec(ex["se"]))
    _close(r.var, _mat(ex["var"], k))
    _close(r.naive_var, _mat(ex["naive_var"], k))
    _close(r.z, _vec(ex["z"]))
    _close(r.p, _vec(ex["p"]))
    _close(r.hr, _vec(ex["hr"]))
    _close(r.hr_lower, _vec(ex["hr_lower"]))
    _close(r.hr_upper, _vec(ex["hr_upper"]))
    _close([r.loglik_null, r.loglik], ex["loglik"])
    _close(r.score_test.statistic, ex["score"])
    _close(r.wald_test.statistic, ex["wald"])
    assert r.iterations == ex["iter"]
    assert r.converged
    # R's "coefficient may be infinite" / "did not converge" warnings, kept in the record
    assert len(r.warnings) == len(np.atleast_1d(ex["warnings"]))
    assert r.n == ex["n"]
    assert r.n_events == ex["nevent"]
    _close(r.lr_test.statistic, 2 * (ex["loglik"][1] - ex["loglik"][0]))
    for test, key in ((r.lr_test, "logtest"), (r.wald_test, "waldtest"), (r.score_test, "sctest")):
        # summary.coxph rounds the statistics to 2 decimals but not the p-values
        assert abs(test.statistic - ex[key]["test"]) <= 0.005 + 1e-9
        _close(test.p, ex[key]["pvalue"])
        assert test.df == ex[key]["df"]
    if case["robust"]:
        assert r.robust_se is not None
        assert r.robust_score_test is not None
        _close(r.robust_se, _vec(ex["robust_se"]))
        _close(r.robust_score_test.statistic, np.ravel(ex["robust_score"])[0])
    else:
        assert r.robust_se is None
        assert r.robust_score_test is None


def test_to_frame_and_tests_frame() -> None:
    case = next(c for c in CASES if c["name"] == "ovarian_robust")
    r = _fit(case)
    f = r.to_frame()
    assert list(f.index) == ["age", "ecog.ps", "rx"]
    assert list(f.columns) == ["coef", "hr", "se", "robust_se", "z", "p", "hr_lower", "hr_upper"]
    np.testing.assert_allclose(f["hr"].to_numpy(), np.exp(r.coef))
    t = r.tests_frame()
    assert list(t.index) == ["likelihood_ratio", "wald", "score", "robust_score"]
    assert (t["df"] == 3).all()


def _lung() -> tuple[dict[str, Any], pd.DataFrame]:
    case = next(c for c in CASES if c["name"] == "lung_efron")
    inp = case["input"]
    df = pd.DataFrame({k: _vec(v) for k, v in inp["covariates"].items()})
    return inp, df


def test_input_types_keep_names() -> None:
    inp, df = _lung()
    base = cox_ph(inp["time"], inp["event"], df)
    polars_fit = cox_ph(pl.Series(inp["time"]), pl.Series(inp["event"]), pl.from_pandas(df))
    assert polars_fit.names == ("age", "sex", "ph.ecog")
    np.testing.assert_allclose(polars_fit.coef, base.coef, rtol=1e-12)
    arr = cox_ph(np.asarray(inp["time"]), np.asarray(inp["event"]), df.to_numpy())
    assert arr.names == ("x1", "x2", "x3")
    np.testing.assert_allclose(arr.coef, base.coef, rtol=1e-12)
    one = cox_ph(inp["time"], inp["event"], df["sex"])
    assert one.names == ("sex",)
    assert cox_ph(inp["time"], inp["event"], df["sex"].to_numpy()).names == ("x",)
    boolean = cox_ph(inp["time"], np.asarray(inp["event"]).astype(bool), df["sex"] == 2)
    np.testing.assert_allclose(boolean.coef, one.coef, rtol=1e-10)  # sex is 1/2


def test_matches_lifelines_efron() -> None:
    lifelines = pytest.importorskip("lifelines")
    inp, df = _lung()
    d = df.assign(T=_vec(inp["time"]), E=_vec(inp["event"]))
    cph = lifelines.CoxPHFitter().fit(d, "T", "E", fit_options={"precision": 1e-12})
    r = cox_ph(inp["time"], inp["event"], df)
    np.testing.assert_allclose(r.coef, cph.params_[list(r.names)].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(r.se, cph.standard_errors_[list(r.names)].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(r.loglik, cph.log_likelihood_, rtol=1e-9)
    lrt = cph.log_likelihood_ratio_test()
    np.testing.assert_allclose(r.lr_test.statistic, lrt.test_statistic, rtol=1e-6)


def test_matches_lifelines_strata() -> None:
    lifelines = pytest.importorskip("lifelines")
    case = next(c for c in CASES if c["name"] == "veteran_strata_efron")
    inp = case["input"]
    df = pd.DataFrame({k: _vec(v) for k, v in inp["covariates"].items()})
    d = df.assign(T=_vec(inp["time"]), E=_vec(inp["event"]), cell=inp["strata"])
    cph = lifelines.CoxPHFitter().fit(
        d, "T", "E", strata=["cell"], fit_options={"precision": 1e-12}
    )
    r = _fit(case)
    np.testing.assert_allclose(r.coef, cph.params_[list(r.names)].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(r.loglik, cph.log_likelihood_, rtol=1e-9)


def test_breslow_equals_efron_without_ties() -> None:
    g = np.random.default_rng(5)
    n = 200
    x = g.normal(size=(n, 2))
    t = g.exponential(size=n) * np.exp(-0.5 * x[:, 0])
    e = (g.uniform(size=n) < 0.7).astype(int)
    a = cox_ph(t, e, x, ties="efron")
    b = cox_ph(t, e, x, ties="breslow")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-12)


def test_integer_weights_equal_replication() -> None:
    g = np.random.default_rng(9)
    n = 120
    x = g.normal(size=n)
    t = np.ceil(g.exponential(size=n) * 5)
    e = (g.uniform(size=n) < 0.8).astype(int)
    w = g.integers(1, 4, size=n)
    weighted = cox_ph(t, e, x, weights=w, ties="breslow")
    rep = np.repeat(np.arange(n), w)
    replicated = cox_ph(t[rep], e[rep], x[rep], ties="breslow")
    np.testing.assert_allclose(weighted.coef, replicated.coef, rtol=1e-9)
    np.testing.assert_allclose(weighted.naive_var, replicated.naive_var, rtol=1e-9)


def test_one_stratum_equals_unstratified() -> None:
    inp, df = _lung()
    a = cox_ph(inp["time"], inp["event"], df)
    b = cox_ph(inp["time"], inp["event"], df, strata=["s"] * len(df))
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(15, 80),
    ties=st.sampled_from(["efron", "breslow"]),
    robust=st.booleans(),
)
def test_row_order_invariance(seed: int, n: int, ties: str, robust: bool) -> None:
    g = np.random.default_rng(seed)
    x = np.column_stack([g.integers(0, 2, n), g.normal(size=n)])
    t = np.ceil(g.exponential(size=n) * 4 * np.exp(-0.5 * x[:, 0]))
    e = (g.uniform(size=n) < 0.75).astype(int)
    e[0] = 1
    s = g.integers(0, 2, n)
    w = g.uniform(0.5, 2.0, n)
    if np.ptp(x[:, 0][e == 1]) == 0 or np.ptp(x[:, 0]) == 0:
        x[:, 0] = g.normal(size=n)
    perm = g.permutation(n)
    try:
        a = cox_ph(t, e, x, strata=s, weights=w, ties=ties, robust=robust)  # type: ignore[arg-type]
    except InputError:
        return  # a random design can be degenerate (e.g. no event in a stratum's risk sets)
    assume(not a.warnings)  # monotone likelihood: coefficients drift, nothing stable to compare
    b = cox_ph(t[perm], e[perm], x[perm], strata=s[perm], weights=w[perm], ties=ties, robust=robust)  # type: ignore[arg-type]
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(b.var, a.var, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-10)
    assert b.iterations == a.iterations


def test_monotone_likelihood_is_reported() -> None:
    # every event in arm 1: the MLE is +inf; R warns that the coefficient may be infinite
    t = np.arange(1.0, 21.0)
    arm = np.r_[np.ones(10), np.zeros(10)]
    e = arm.astype(int)
    r = cox_ph(t, e, arm)
    assert r.warnings
    assert "infinite" in r.warnings[0] or "converge" in r.warnings[0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"time": [1.0, 2.0], "event": [1, 0, 1], "covariates": [1.0, 2.0]}, "event"),
        ({"time": [1.0, np.nan, 3.0], "event": [1, 0, 1], "covariates": [1, 2, 3]}, "time[1]"),
        ({"time": [1.0, -2.0, 3.0], "event": [1, 0, 1], "covariates": [1, 2, 3]}, "time[1]"),
        ({"time": [1.0, 2.0, 3.0], "event": [1, 2, 1], "covariates": [1, 2, 3]}, "event[1]"),
        ({"time": [1.0, 2.0, 3.0], "event": [0, 0, 0], "covariates": [1, 2, 3]}, "event"),
        ({"time": [1.0, 2.0, 3.0], "event": [1, 0, 1], "covariates": [1, 2]}, "covariates"),
        (
            {"time": [1.0, 2.0, 3.0], "event": [1, 0, 1], "covariates": [1, np.nan, 3]},
            "covariates[x][1]",
        ),
        ({"time": [1.0, 2.0, 3.0], "event": [1, 0, 1], "covariates": [2, 2, 2]}, "covariates"),
        (
            {
                "time": [1.0, 2.0, 3.0, 4.0],
                "event": [1, 0, 1, 1],
                "covariates": np.c_[[1, 2, 3, 5], [2, 4, 6, 10]],
            },
            "covariates",
        ),
        (
            {
                "time": [1.0, 2.0, 3.0],
                "event": [1, 0, 1],
                "covariates": [1, 2, 3],
                "weights": [1, 0, 1],
            },
            "weights[1]",
        ),
        (
            {"time": [1.0, 2.0, 3.0], "event": [1, 0, 1], "covariates": [1, 2, 3], "ties": "x"},
            "ties",
        ),
        (
            {
                "time": [1.0, 2.0, 3.0],
                "event": [1, 0, 1],
                "covariates": [1, 2, 3],
                "strata": [1, 2],
            },
            "strata",
        ),
        (
            {
                "time": [1.0, 2.0, 3.0],
                "event": [1, 0, 1],
                "covariates": pd.DataFrame({"arm": ["a", "b", "a"]}),
            },
            "covariates[arm]",
        ),
    ],
)
def test_bad_input(kwargs: dict[str, Any], field: str) -> None:
    kw = dict(kwargs)
    time, event, cov = kw.pop("time"), kw.pop("event"), kw.pop("covariates")
    with pytest.raises(InputError) as info:
        cox_ph(time, event, cov, **kw)
    msg = str(info.value)
    assert msg.startswith(f"{field}: expected")
    assert "\n" not in msg
