"""Guyot reconstruction (blinasim.stats.guyot): against the truth of a real trial whose curves
R drew (tests/golden/guyot.json from scripts/golden/guyot.R: survival::colon), on simulated
trials (draw a KM, read points off it, reconstruct, compare), and its invariants."""

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
from blinasim.stats import cox_ph, kaplan_meier
from blinasim.stats.guyot import reconstruct_ipd

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "guyot.json"


@cache
def golden() -> dict[str, Any]:
    return dict(json.loads(GOLDEN.read_text()))


def rebuild(a: dict[str, Any], *, with_events: bool = True) -> tuple[np.ndarray, np.ndarray, Any]:
    r = reconstruct_ipd(
        a["points"]["time"],
        a["points"]["survival"],
        a["at_risk"]["time"],
        a["at_risk"]["n_risk"],
        total_events=a["total_events"] if with_events else None,
    )
    return r.time, r.event, r


@pytest.mark.parametrize("with_events", [True, False])
def test_colon_reconstruction_close_to_the_truth(with_events: bool) -> None:
    g = golden()
    arms = []
    for a in g["arms"]:
        t, e, r = rebuild(a, with_events=with_events)
        assert len(t) == a["n"]
        if with_events:
            assert r.n_events == a["total_events"]
        else:
            assert abs(r.n_events - a["total_events"]) <= 0.05 * a["total_events"]
        km = kaplan_meier(t, e).at(a["true_km"]["time"]).survival
        assert np.max(np.abs(km - np.asarray(a["true_km"]["surv"]))) < 0.01
        c = r.checks
        assert c.max_abs_error < 0.01
        assert c.rmse < 0.005
        published = c.at_risk["n_risk"].to_numpy()
        estimated = c.at_risk["n_risk_estimated"].to_numpy()
        assert np.max(np.abs(published - estimated)) <= 2
        arms.append((t, e))
    time = np.concatenate([x[0] for x in arms])
    event = np.concatenate([x[1] for x in arms])
    trt = np.repeat([0.0, 1.0], [len(arms[0][0]), len(arms[1][0])])
    hr = float(cox_ph(time, event, trt).hr[0])
    # within a fifth of the true HR's standard error on the log scale
    assert abs(np.log(hr / g["true_hr"])) < 0.2 * g["true_hr_se_log"]


def read_off(time: np.ndarray, event: np.ndarray, step: float, every: float) -> tuple[Any, ...]:
    """What a reader of the figure has: the curve sampled, and the numbers at risk."""
    km = kaplan_meier(time, event)
    end = float(time.max())
    drops = km.time[km.n_event > 0]
    grid = np.arange(0.0, end, step)
    pt = np.concatenate([grid, drops, drops])
    s = np.concatenate([km.at(grid).survival, km.at(drops - 1e-9).survival, km.at(drops).survival])
    rt = np.arange(0.0, end, every)
    return pt, np.round(s, 3), rt, km.at(rt).n_risk


def simulated_arm(n: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.exponential(scale, n)
    c = rng.uniform(6.0, 60.0, n)
    return np.round(np.minimum(t, c), 2), (t <= c).astype(np.int64)


def test_simulated_trial_km_and_hazard_ratio() -> None:
    truth, rebuilt = [], []
    for scale, seed in ((30.0, 11), (55.0, 12)):
        t, e = simulated_arm(400, scale, seed)
        pt, s, rt, nr = read_off(t, e, step=1.0, every=6.0)
        r = reconstruct_ipd(pt, s, rt, nr, total_events=int(e.sum()))
        km_true = kaplan_meier(t, e)
        end = float(km_true.time[km_true.n_risk >= 20].max())  # the tail of few at risk aside
        grid = np.linspace(0.0, end, 300)
        diff = (
            kaplan_meier(r.time, r.event).at(grid).survival - kaplan_meier(t, e).at(grid).survival
        )
        assert np.max(np.abs(diff)) < 0.01
        truth.append((t, e))
        rebuilt.append((r.time, r.event))
    hrs = []
    for pair in (truth, rebuilt):
        time = np.concatenate([p[0] for p in pair])
        event = np.concatenate([p[1] for p in pair])
        g = np.repeat([0.0, 1.0], [len(pair[0][0]), len(pair[1][0])])
        hrs.append(float(cox_ph(time, event, g).hr[0]))
    assert abs(np.log(hrs[1] / hrs[0])) < 0.03


@settings(max_examples=30, derandomize=True, deadline=None)
@given(
    st.integers(30, 400),
    st.floats(10.0, 120.0),
    st.integers(0, 2**31),
    st.booleans(),
)
def test_invariants(n: int, scale: float, seed: int, with_events: bool) -> None:
    t, e = simulated_arm(n, scale, seed)
    pt, s, rt, nr = read_off(t, e, step=2.0, every=12.0)
    r = reconstruct_ipd(pt, s, rt, nr, total_events=int(e.sum()) if with_events else None)
    assert len(r.time) == n  # everyone randomized is in the reconstruction
    assert set(np.unique(r.event)) <= {0, 1}
    assert r.time.min() >= 0.0
    assert r.time.max() <= pt.max()
    assert r.checks.max_abs_error >= 0.0
    assert r.checks.rmse <= r.checks.max_abs_error + 1e-12
    if with_events and r.checks.dropped_at_risk_rows == 0:
        assert r.n_events <= e.sum()
    est = r.checks.points["estimated"].to_numpy()
    assert np.all(np.diff(est[np.argsort(r.checks.points["time"].to_numpy(), kind="stable")]) <= 0)


def test_one_interval_needs_only_the_number_randomized() -> None:
    t, e = simulated_arm(200, 40.0, 3)
    pt, s, _rt, _nr = read_off(t, e, step=1.0, every=6.0)
    r = reconstruct_ipd(pt, s, [0.0], [200], total_events=int(e.sum()))
    assert len(r.time) == 200
    assert r.n_events == e.sum()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"survival": [1.0, 80.0, 60.0]}, "survival in \\[0, 1\\]"),
        ({"risk_time": [5.0, 10.0]}, "first at-risk time 0"),
        ({"risk_time": [0.0, 0.0]}, "increasing from 0"),
        ({"n_risk": [100, 120]}, "not increasing"),
        ({"n_risk": [100.5, 90]}, "whole numbers"),
        ({"time": [0.0, np.nan, 3.0]}, "finite"),
        ({"total_events": 500}, "whole number in 0..100"),
    ],
)
def test_bad_inputs_are_input_errors(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "time": [0.0, 2.0, 3.0],
        "survival": [1.0, 0.8, 0.6],
        "risk_time": [0.0, 2.5],
        "n_risk": [100, 70],
    }
    args.update(kwargs)
    te = args.pop("total_events", None)
    with pytest.raises(InputError, match=match):
        reconstruct_ipd(**args, total_events=te)
