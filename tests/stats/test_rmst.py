"""RMST against R survival (summary(fit, rmean = tau)) and survRM2's contrast formulas."""

from __future__ import annotations

import numpy as np
import pytest
from _golden_survival import arr, case_ids, cases, close

from blinasim import InputError
from blinasim.stats import rmst


def _data(case):
    d = case["data"]
    return arr(d["time"]), arr(d["event"]).astype(int), arr(d["group"]).astype(int)


@pytest.mark.parametrize("case", cases(), ids=case_ids())
def test_rmst_matches_r(case):
    ref = case["rmst"]
    t, e, g = _data(case)
    res = rmst(t, e, ref["tau"], group=g)
    close(res.rmst, ref["rmst"])
    close(res.std_err, ref["se"])
    overall = rmst(t, e, ref["tau"])
    close(overall.rmst, ref["overall_rmst"])
    close(overall.std_err, ref["overall_se"])
    if "diff" in ref:
        d = res.difference
        r = res.ratio
        assert d is not None
        assert r is not None
        close([d.estimate, d.std_err, d.lower, d.upper, d.p_value], ref["diff"])
        close([r.estimate, r.std_err, r.lower, r.upper, r.p_value], ref["ratio"])
    else:
        assert res.difference is None
        assert res.ratio is None


def test_rmst_matches_lifelines():
    pytest.importorskip("lifelines")
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    for case in cases():
        t, e, _g = _data(case)
        tau = case["rmst"]["tau"]
        kmf = KaplanMeierFitter().fit(t, e)
        assert rmst(t, e, tau).rmst[0] == pytest.approx(
            restricted_mean_survival_time(kmf, t=tau), rel=1e-8
        )


def test_tau_before_first_time_and_beyond_last():
    res = rmst([5.0, 6.0], [1, 0], 2.0)
    assert res.rmst[0] == 2.0
    assert res.std_err[0] == 0.0
    # beyond the last time the curve is carried forward: 5 + 0.5 * (10 - 5)
    assert rmst([5.0, 6.0], [1, 0], 10.0).rmst[0] == pytest.approx(7.5)
    frame = rmst([5.0, 6.0, 7.0], [1, 0, 1], 6.0, group=["a", "b", "b"]).to_frame()
    assert list(frame["group"]) == ["a", "b"]
    assert np.all(frame["tau"] == 6.0)


@pytest.mark.parametrize("tau", [0, -1, np.nan, "5"])
def test_bad_tau(tau):
    with pytest.raises(InputError, match="tau"):
        rmst([1, 2], [1, 1], tau)
