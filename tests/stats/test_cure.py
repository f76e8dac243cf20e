"""Mixture cure models (blinasim.stats.cure) against R: tests/golden/cure.json from
scripts/golden/cure.R (flexsurvcure's mixture model written out with survival's
dsurvreg/psurvreg, fitted by nlminb/optim on survival::colon recurrences, arm Obs)."""

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
from blinasim.stats.cure import LATENT, fit_cure
from blinasim.stats.parametric import fit_parametric

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "cure.json"


@cache
def golden() -> dict[str, Any]:
    return dict(json.loads(GOLDEN.read_text()))


@pytest.mark.parametrize("f", golden()["fits"], ids=lambda f: f["latent"])
def test_matches_r(f: dict[str, Any]) -> None:
    i = golden()["input"]
    r = fit_cure(i["time"], i["event"], f["latent"])
    assert r.converged
    np.testing.assert_allclose(r.coef, f["coef"], rtol=1e-5)
    np.testing.assert_allclose(r.var, np.asarray(f["var"]), rtol=2e-3)
    assert r.loglik == pytest.approx(f["loglik"], rel=1e-9)
    assert r.cured_fraction == pytest.approx(f["cured_fraction"], rel=1e-5)
    # the mixture nests the latent model (cured fraction 0): never a worse fit
    assert r.loglik >= fit_parametric(i["time"], i["event"], f["latent"]).loglik - 1e-9


@settings(max_examples=12, derandomize=True, deadline=None)
@given(st.sampled_from(LATENT), st.integers(0, 10_000), st.floats(0.1, 0.6))
def test_invariants(latent: str, seed: int, cured: float) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    t = np.where(rng.uniform(size=n) < cured, np.inf, rng.weibull(1.5, n) * 200.0)
    c = rng.uniform(100.0, 1500.0, n)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    r = fit_cure(time, event, latent)
    assert 0.0 < r.cured_fraction < 1.0
    s = r.survival(np.linspace(0.0, 1e5, 60))["survival"].to_numpy()
    assert s[0] == pytest.approx(1.0)
    assert np.all(np.diff(s) <= 1e-12)
    assert s[-1] >= r.cured_fraction - 1e-9


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="one of exponential"):
        fit_cure([1.0, 2.0, 3.0], [1, 1, 0], "gompertz")
    with pytest.raises(InputError, match="at least two events"):
        fit_cure([1.0, 2.0, 3.0], [1, 0, 0])
