"""Kaplan-Meier and Nelson-Aalen against R survival (golden file) and lifelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _golden_survival import arr, case_ids, cases, close, num

from blinasim import InputError
from blinasim.stats import kaplan_meier, nelson_aalen


def _data(case):
    d = case["data"]
    return arr(d["time"]), arr(d["event"]).astype(int)


def _check_km(fit, ref):
    close(fit.time, ref["time"])
    close(fit.n_risk, ref["n_risk"])
    close(fit.n_event, ref["n_event"])
    close(fit.n_censor, ref["n_censor"])
    close(fit.survival, ref["surv"])
    close(fit.std_err_log, ref["std_err_log"])
    close(fit.lower, ref["lower"])
    close(fit.upper, ref["upper"])
    surv = arr(ref["surv"])
    with np.errstate(invalid="ignore"):
        expected_se = np.where(surv == 0, np.nan, surv * arr(ref["std_err_log"]))
    close(fit.std_err, expected_se)
    at = fit.at(arr(ref["at"]["time"]))
    close(at.survival, ref["at"]["surv"])
    close(at.std_err, ref["at"]["std_err"])
    close(at.lower, ref["at"]["lower"])
    close(at.upper, ref["at"]["upper"])
    close(at.n_risk, ref["at"]["n_risk"])
    med = fit.median()
    close(med.time, ref["median"])
    close(med.lower, ref["median_lower"])
    close(med.upper, ref["median_upper"])


@pytest.mark.parametrize("case", cases(), ids=case_ids())
@pytest.mark.parametrize("conf_index", [0, 1, 2], ids=["plain", "log", "log-log"])
def test_km_matches_r_survfit(case, conf_index):
    ref = case["km"][conf_index]
    t, e = _data(case)
    _check_km(kaplan_meier(t, e, conf_type=ref["conf_type"]), ref)


@pytest.mark.parametrize("case", cases(), ids=case_ids())
def test_km_one_group_matches_r(case):
    t, e = _data(case)
    g = arr(case["data"]["group"])
    _check_km(kaplan_meier(t[g == 0], e[g == 0]), case["km_group0"])


_NOT_FLAT = [c for c in cases() if c["name"] != "flat_half"]


@pytest.mark.parametrize("case", _NOT_FLAT, ids=[c["name"] for c in _NOT_FLAT])
def test_median_matches_print_survfit(case):
    """print.survfit's median (survmean) agrees with quantile.survfit on these data."""
    ref = case["km"][2]
    t, e = _data(case)
    med = kaplan_meier(t, e).median()
    close(med.time, ref["print_median"])
    close(med.lower, ref["print_median_lower"])
    close(med.upper, ref["print_median_upper"])


@pytest.mark.parametrize("case", cases(), ids=case_ids())
def test_nelson_aalen_matches_r(case):
    ref = case["nelson_aalen"]
    t, e = _data(case)
    na = nelson_aalen(t, e)
    close(na.time, ref["time"])
    close(na.cumhaz, ref["cumhaz"])
    close(na.std_err, ref["std_chaz"])
    close(na.variance, arr(ref["std_chaz"]) ** 2)


def test_flat_half_median_follows_quantile_survfit():
    """S = 0.5 from t = 5 to the last (censored) time 10: quantile.survfit gives the midpoint
    (5 + 10) / 2 = 7.5, print.survfit gives 5; we follow quantile.survfit."""
    case = next(c for c in cases() if c["name"] == "flat_half")
    t, e = _data(case)
    fit = kaplan_meier(t, e)
    assert fit.median().time == 7.5
    assert num(case["km"][2]["median"]) == 7.5
    assert num(case["km"][2]["print_median"]) == 5.0


def test_km_matches_lifelines():
    lifelines = pytest.importorskip("lifelines")
    case = next(c for c in cases() if c["name"] == "ties_strata_time0")
    t, e = _data(case)
    fit = kaplan_meier(t, e)
    kmf = lifelines.KaplanMeierFitter().fit(t, e)
    sf = kmf.survival_function_.iloc[:, 0]
    ours = fit.at(sf.index.to_numpy())
    np.testing.assert_allclose(ours.survival, sf.to_numpy(), rtol=1e-10)
    ci = kmf.confidence_interval_survival_function_
    inner = (ours.survival > 0) & (ours.survival < 1)
    np.testing.assert_allclose(ours.lower[inner], ci.iloc[:, 0].to_numpy()[inner], rtol=1e-8)
    np.testing.assert_allclose(ours.upper[inner], ci.iloc[:, 1].to_numpy()[inner], rtol=1e-8)
    assert fit.median().time == pytest.approx(kmf.median_survival_time_)


def test_nelson_aalen_matches_lifelines():
    lifelines = pytest.importorskip("lifelines")
    case = cases()[0]
    t, e = _data(case)
    naf = lifelines.NelsonAalenFitter(nelson_aalen_smoothing=False).fit(t, e)
    ch = naf.cumulative_hazard_.iloc[:, 0]
    ours = nelson_aalen(t, e)
    idx = np.searchsorted(ours.time, ch.index.to_numpy()[1:])  # lifelines adds time 0
    np.testing.assert_allclose(ours.cumhaz[idx], ch.to_numpy()[1:], rtol=1e-10)


def test_inputs_pandas_polars_lists_agree():
    t = [5.0, 3.0, 3.0, 8.0, 1.0, 9.0]
    e = [1, 0, 1, 1, 0, 0]
    a = kaplan_meier(t, e)
    b = kaplan_meier(pd.Series(t), pd.Series(e, dtype=bool))
    c = kaplan_meier(pl.Series(t), pl.Series(e))
    for other in (b, c):
        np.testing.assert_array_equal(a.survival, other.survival)
    frame = a.to_frame()
    assert list(frame.columns[:5]) == ["time", "n_risk", "n_event", "n_censor", "survival"]
    assert len(frame) == 5


def test_at_is_right_continuous_step():
    fit = kaplan_meier([1, 2, 3], [1, 1, 0])
    at = fit.at([0.0, 1.0, 1.5, 2.0, 3.0, 10.0])
    np.testing.assert_allclose(at.survival, [1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_array_equal(at.n_risk, [3, 3, 2, 2, 1, 0])
    assert at.std_err[0] == 0.0


@pytest.mark.parametrize(
    ("time", "event", "match"),
    [
        ([1, 2], [1], "event: expected length 2"),
        ([1, np.nan], [1, 0], r"time\[1\]: expected finite"),
        ([1, -2], [1, 0], r"time\[1\]: expected non-negative"),
        ([1, 2], [1, 2], r"event\[1\]: expected codes in 0..1"),
        ([], [], "time: expected at least one observation"),
    ],
)
def test_bad_input(time, event, match):
    with pytest.raises(InputError, match=match):
        kaplan_meier(time, event)
    with pytest.raises(InputError, match=match):
        nelson_aalen(time, event)


def test_bad_options():
    with pytest.raises(InputError, match="conf_type"):
        kaplan_meier([1, 2], [1, 1], conf_type="logit")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="conf_level"):
        kaplan_meier([1, 2], [1, 1], conf_level=95)
    with pytest.raises(InputError, match="probability"):
        kaplan_meier([1, 2], [1, 1]).quantile(1.5)


def test_integer_time_fast_path_equals_sorting_path():
    """Large integer-valued samples are counted without sorting; results are identical."""
    rng = np.random.default_rng(11)
    t = rng.integers(0, 400, 6000).astype(float)
    e = rng.integers(0, 2, 6000)
    fast = kaplan_meier(t, e)
    slow = kaplan_meier(t + 0.5, e)  # not integer-valued: the sorting path
    np.testing.assert_array_equal(fast.time + 0.5, slow.time)
    for name in ("n_risk", "n_event", "n_censor", "survival", "std_err_log", "lower"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    np.testing.assert_array_equal(nelson_aalen(t, e).cumhaz, nelson_aalen(t + 0.5, e).cumhaz)


def test_bundled_veteran_csv_matches_golden_case():
    """src/blinasim/data/examples/veteran.csv is R's survival::veteran (same rows as golden)."""
    from pathlib import Path

    import blinasim

    csv = Path(blinasim.__file__).parent / "data" / "examples" / "veteran.csv"
    vet = pd.read_csv(csv)
    case = next(c for c in cases() if c["name"] == "veteran")
    np.testing.assert_array_equal(vet["time"].to_numpy(), arr(case["data"]["time"]))
    np.testing.assert_array_equal(vet["status"].to_numpy(), arr(case["data"]["event"]))
    ref = case["km"][2]
    close(kaplan_meier(vet["time"], vet["status"]).survival, ref["surv"])
