"""Royston-Parmar models (blinasim.stats.spline) against R: tests/golden/spline.json from
scripts/golden/spline.R (flexsurvspline's hazard-scale model written out, fitted by
nlminb/optim with the analytic gradient; survival::lung and survival::colon)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.errors import InputError
from blinasim.stats.parametric import fit_parametric
from blinasim.stats.spline import fit_spline

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "spline.json"


@cache
def golden() -> dict[str, Any]:
    return dict(json.loads(GOLDEN.read_text()))


def data(name: str) -> dict[str, Any]:
    return dict(golden()["inputs"]["lung" if name.startswith("lung") else "colon_obs"])


@pytest.mark.parametrize("c", golden()["cases"], ids=lambda c: c["name"])
def test_matches_r(c: dict[str, Any]) -> None:
    d = data(c["name"])
    r = fit_spline(d["time"], d["event"], k=c["k"])
    assert r.converged
    np.testing.assert_allclose(r.knots, c["knots"], rtol=1e-12)
    np.testing.assert_allclose(r.gamma, c["gamma"], rtol=1e-5)
    np.testing.assert_allclose(r.var, np.asarray(c["var"]), rtol=2e-3)  # R: numeric Hessian
    assert r.loglik == pytest.approx(c["loglik"], rel=1e-9)
    times = golden()["meta"]["times"]
    np.testing.assert_allclose(r.survival(times)["survival"], c["surv"], rtol=1e-6)


def test_no_internal_knot_is_the_weibull_model() -> None:
    d = data("lung")
    r = fit_spline(d["time"], d["event"], k=0)
    w = fit_parametric(d["time"], d["event"], "weibull")
    assert r.loglik == pytest.approx(w.loglik, rel=1e-12)
    sigma = float(np.exp(w.coef[1]))
    np.testing.assert_allclose(r.gamma, [-w.coef[0] / sigma, 1 / sigma], rtol=1e-9)
    # the same model in another parameterisation: the same delta-method interval
    times = [100.0, 365.0, 730.0]
    np.testing.assert_allclose(
        r.survival(times)[["survival", "lower", "upper"]].to_numpy(),
        w.survival(times)[["survival", "lower", "upper"]].to_numpy(),
        rtol=1e-6,
    )


@settings(max_examples=12, derandomize=True, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 3))
def test_invariants(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    n = 250
    t = rng.lognormal(5.0, 1.0, n)
    c = rng.uniform(50.0, 1500.0, n)
    time, event = np.round(np.minimum(t, c), 1) + 0.1, (t <= c).astype(int)
    r = fit_spline(time, event, k=k)
    assert r.converged
    frame = r.survival(np.linspace(0.0, 3000.0, 61))
    s = frame["survival"].to_numpy()
    assert s[0] == 1.0
    assert np.all(np.diff(s) <= 1e-12)
    assert np.all(frame["lower"] <= frame["survival"] + 1e-15)
    assert np.all(frame["upper"] >= frame["survival"] - 1e-15)
    # more knots never fit worse (nested models)
    if k > 0:
        assert r.loglik >= fit_spline(time, event, k=0).loglik - 1e-6


def test_bad_inputs() -> None:
    d = data("lung")
    with pytest.raises(InputError, match="internal knots"):
        fit_spline(d["time"], d["event"], k=-1)
    with pytest.raises(InputError, match="at least 4 events"):
        fit_spline([1.0, 2.0, 3.0], [1, 1, 0], k=2)
