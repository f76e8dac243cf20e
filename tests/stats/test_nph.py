"""Weighted log-rank, MaxCombo, RMST and milestone tests (blinasim.stats.nph) against R.

Golden file tests/golden/nph.json (scripts/golden/nph.R). Which peer each value comes from:
  survdiff   R survival::survdiff(rho = r): chi-square of FH(r, 0) (r = 0, 0.5, 1)
  wlr        base-R transcription of simtrial's counting_process/fh_weight/mb_weight/
             early_zero_weight/wlr (simtrial is not installable here)
  maxcombo   the same transcription for z and the correlation; the p-value from
             mvtnorm::pmvnorm with the deterministic Miwa algorithm (a numerical integral:
             5e-5 absolute allowed)
  rmst       transcription of simtrial's rmst_single_arm/diff_rmst (on survfit)
  milestone  R summary.survfit at the milestone (simtrial's milestone)
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from blinasim.errors import InputError
from blinasim.stats import logrank_test
from blinasim.stats.nph import (
    FH,
    EarlyZero,
    MagirrBurman,
    maxcombo,
    milestone_test,
    rmst_test,
    weighted_logrank,
    weighted_logrank_batched,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "nph.json"
RTOL = 1e-6


@cache
def cases() -> list[dict[str, Any]]:
    return list(json.loads(GOLDEN.read_text())["cases"])


def data(c: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    i = c["input"]
    return np.asarray(i["time"]), np.asarray(i["event"]), np.asarray(i["group"]), i.get("strata")


def weight_of(label: str, c: dict[str, Any]) -> Any:
    if label == "MB":
        return MagirrBurman(*(float("inf") if v == "Inf" else v for v in c["mb"]))
    if label == "MB(Inf,2)":
        return MagirrBurman(float("inf"), 2.0)
    if label == "EZ":
        return EarlyZero(c["early_period"])
    rho, gamma = label[3:-1].split(",")
    return FH(float(rho), float(gamma))


@pytest.mark.parametrize("c", cases(), ids=lambda c: c["name"])
def test_weighted_logrank_matches_simtrial_formulas(c: dict[str, Any]) -> None:
    t, e, g, s = data(c)
    for w in c["expected"]["wlr"]:
        r = weighted_logrank(t, e, g, strata=s, weight=weight_of(w["weight"], c))
        np.testing.assert_allclose(
            [r.estimate, r.se, r.z], [w["estimate"], w["se"], w["z"]], rtol=RTOL
        )


@pytest.mark.parametrize("c", cases(), ids=lambda c: c["name"])
def test_fh_rho_0_matches_survdiff(c: dict[str, Any]) -> None:
    t, e, g, s = data(c)
    for sd in c["expected"]["survdiff"]:
        r = weighted_logrank(t, e, g, strata=s, weight=FH(sd["rho"], 0.0))
        np.testing.assert_allclose(r.chisq, sd["chisq"], rtol=RTOL)
        assert r.chisq == pytest.approx(
            logrank_test(t, e, g, strata=s, rho=sd["rho"]).chisq, rel=1e-9
        )


@pytest.mark.parametrize("c", cases(), ids=lambda c: c["name"])
def test_maxcombo(c: dict[str, Any]) -> None:
    t, e, g, s = data(c)
    m = c["expected"]["maxcombo"]
    r = maxcombo(t, e, g, strata=s)
    np.testing.assert_allclose(r.z, m["z"], rtol=RTOL)
    np.testing.assert_allclose(r.corr, np.asarray(m["corr"]), rtol=RTOL)
    assert r.z_min == pytest.approx(m["z_min"], rel=RTOL)
    assert abs(r.p_value - m["p_miwa"]) < 5e-5
    assert r.p_value == maxcombo(t, e, g, strata=s).p_value  # reproducible (fixed QMC seed)


@pytest.mark.parametrize("c", cases(), ids=lambda c: c["name"])
def test_rmst_and_milestone(c: dict[str, Any]) -> None:
    t, e, g, _ = data(c)
    ex = c["expected"]
    r = rmst_test(t, e, g, c["tau"])
    want = ex["rmst"]
    np.testing.assert_allclose(
        [r.control, r.experimental, r.estimate, r.se],
        [want["control"], want["experimental"], want["estimate"], want["se"]],
        rtol=RTOL,
    )
    m = milestone_test(t, e, g, c["ms_time"])
    want = ex["milestone"]
    np.testing.assert_allclose(
        [m.control, m.experimental, m.estimate, m.se],
        [want["control"], want["experimental"], want["estimate"], want["se"]],
        rtol=RTOL,
    )
    assert m.z == pytest.approx(m.estimate / m.se)


def trial(seed: int, n: int, hr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    t = rng.exponential(np.where(g == 1, 10.0 / hr, 10.0))
    c = rng.uniform(2.0, 30.0, n)
    return np.round(np.minimum(t, c), 1), (t <= c).astype(int), g


@settings(max_examples=25, derandomize=True, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.3, 3.0), st.floats(0.0, 2.0), st.floats(0.0, 2.0))
def test_invariants(seed: int, hr: float, rho: float, gamma: float) -> None:
    t, e, g = trial(seed, 120, hr)
    if e[g == 0].sum() == 0 or e[g == 1].sum() == 0:
        return
    w = weighted_logrank(t, e, g, weight=FH(rho, gamma))
    # swapping the groups flips the sign and nothing else
    flipped = weighted_logrank(t, e, 1 - g, weight=FH(rho, gamma))
    assert flipped.z == pytest.approx(-w.z, rel=1e-9, abs=1e-12)
    assert w.p_value == pytest.approx(1.0 - flipped.p_value, abs=1e-12)
    # rescaling time changes nothing (weights depend on S only)
    assert weighted_logrank(t * 7.0, e, g, weight=FH(rho, gamma)).z == pytest.approx(w.z, rel=1e-9)
    m = maxcombo(t, e, g)
    assert np.all(np.abs(np.diag(m.corr) - 1) < 1e-12)
    assert np.all(m.corr <= 1 + 1e-12)
    # the MaxCombo p lies between the smallest single-test p and 4 times it
    p_single = float(np.min(norm.cdf(m.z)))
    assert p_single - 1e-5 <= m.p_value <= min(1.0, 4 * p_single) + 1e-5


def test_bad_weights_and_groups() -> None:
    t, e, g = trial(1, 50, 1.0)
    with pytest.raises(InputError, match="rho and gamma >= 0"):
        weighted_logrank(t, e, g, weight=FH(-1.0, 0.0))
    with pytest.raises(InputError, match="both groups"):
        weighted_logrank(t, e, np.zeros_like(g))
    with pytest.raises(InputError, match="shorter group's last time"):
        rmst_test(t, e, g, 1e6)


@pytest.mark.parametrize("c", cases(), ids=lambda c: c["name"])
def test_batched_matches_golden(c: dict[str, Any]) -> None:
    t, e, g, s = data(c)
    codes = None if s is None else np.unique(np.asarray(s), return_inverse=True)[1]
    rg = [(0.0, 0.0), (0.0, 0.5), (0.5, 0.0), (1.0, 0.0), (0.5, 0.5), (0.0, 1.0)]
    b = weighted_logrank_batched(t[None, :], e[None, :], g[None, :], codes, rho_gamma=rg)
    want = [w["z"] for w in c["expected"]["wlr"] if w["weight"].startswith("FH")]
    np.testing.assert_allclose(b.z[0], want, rtol=RTOL)
    mc = weighted_logrank_batched(t[None, :], e[None, :], g[None, :], codes)
    np.testing.assert_allclose(mc.corr[0], np.asarray(c["expected"]["maxcombo"]["corr"]), rtol=RTOL)
    assert abs(mc.maxcombo_p()[0] - c["expected"]["maxcombo"]["p_miwa"]) < 5e-5


def test_batched_equals_single_trial_with_mask_and_strata() -> None:
    rng = np.random.default_rng(7)
    reps, n = 6, 240
    g = rng.integers(0, 2, (reps, n))
    st_codes = rng.integers(0, 3, (reps, n))
    t = np.ceil(rng.exponential(np.where(g == 1, 500.0, 300.0)))
    c = np.ceil(rng.uniform(50, 900, (reps, n)))
    time, event = np.minimum(t, c), (t <= c).astype(int)
    mask = rng.uniform(size=(reps, n)) < 0.8
    time_padded = np.where(mask, time, np.nan)  # padded cells are never read
    b = weighted_logrank_batched(time_padded, event, g, st_codes, mask=mask)
    for r in range(reps):
        m = mask[r]
        for k, (rho, gamma) in enumerate(b.rho_gamma):
            one = weighted_logrank(
                time[r, m], event[r, m], g[r, m], strata=st_codes[r, m], weight=FH(rho, gamma)
            )
            assert b.z[r, k] == pytest.approx(one.z, rel=1e-10)
        single = maxcombo(time[r, m], event[r, m], g[r, m], strata=st_codes[r, m])
        np.testing.assert_allclose(b.corr[r], single.corr, rtol=1e-10)
        np.testing.assert_allclose(-b.z[r], single.z, rtol=1e-10)
