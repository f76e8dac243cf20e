"""The two-arm analysis carries the tests for non-proportional hazards (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinasim.analysis.read import validate_adtte
from blinasim.analysis.run import analyze_table, veteran_adtte
from blinasim.cli import main
from blinasim.jobs.analyze import analyze_example


def test_example_report_has_the_nph_tests(tmp_path: Path) -> None:
    analyze_example(tmp_path)
    e = json.loads((tmp_path / "summary.json").read_text())["endpoints"]["OS"]
    n = e["nonproportional_hazards"]
    assert n["stratified"]
    fh00 = n["weighted_logrank"][0]
    assert fh00["test"] == "FH(rho=0, gamma=0)"
    # FH(0, 0) is the stratified log-rank test: z^2 is its chi-square
    assert fh00["z"] ** 2 == pytest.approx(e["logrank"]["chisq"], rel=1e-9)
    assert 0.0 < n["maxcombo"]["p_one_sided"] <= 1.0
    html = (tmp_path / "report.html").read_text()
    assert "MaxCombo" in html
    assert "Magirr-Burman" in html


def test_no_events_in_an_arm_is_not_estimable() -> None:
    df = veteran_adtte()
    df.loc[df["TRT01P"] == "test", "CNSR"] = 1
    run = analyze_table(validate_adtte(df), source="x", milestone_years=0.5)
    n = run.summary()["endpoints"]["OS"]["nonproportional_hazards"]
    assert n == {"not_estimable": "no events in arm test"}


def test_milestone_past_follow_up_is_not_estimable() -> None:
    rng = np.random.default_rng(4)
    n = 200
    df = pd.DataFrame(
        {
            "USUBJID": [str(i) for i in range(n)],
            "PARAMCD": "OS",
            "TRT01P": np.repeat(["control", "new"], n // 2),
            "AVAL": np.round(rng.uniform(10, 700, n)),
            "CNSR": rng.integers(0, 2, n),
        }
    )
    run = analyze_table(validate_adtte(df), source="x", milestone_years=5.0)
    ms = run.summary()["endpoints"]["OS"]["nonproportional_hazards"]["milestone"]
    assert ms["not_estimable"].startswith("last follow-up")


def test_parametric_fits_per_arm_in_the_report(tmp_path: Path) -> None:
    analyze_example(tmp_path)
    e = json.loads((tmp_path / "summary.json").read_text())["endpoints"]["OS"]
    pf = e["parametric_fits"]
    assert pf["horizons_days"] == [182.625, 365.25]
    fits = pd.DataFrame(pf["fits"])
    assert set(fits["arm"]) == {"standard", "test"}
    assert set(fits["distribution"]) == {
        "exponential", "weibull", "lognormal", "loglogistic", "gompertz", "gengamma",
        "Royston-Parmar, 1 knot", "Weibull mixture cure",
    }  # fmt: skip
    assert fits["converged"].all()
    # the survival predicted at the milestone is close to Kaplan-Meier's for the best model
    for arm, g in fits.groupby("arm"):
        best = g.loc[g["aic"].idxmin()]
        km = e["milestone_survival"][arm]["estimate"]
        assert abs(best["milestone_survival"] - km) < 0.1
    html = (tmp_path / "report.html").read_text()
    assert "NICE DSU TSD 14" in html


def test_extrapolate_sets_the_horizon_of_the_parametric_predictions(tmp_path: Path) -> None:
    """`blinasim analyze FILE --extrapolate 5`: the fits predict survival at 5 years."""
    csv = tmp_path / "veteran.csv"
    veteran_adtte().to_csv(csv, index=False)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as ex:
        main(
            ["analyze", str(csv), "--milestone-years", "0.5", "--extrapolate", "5", "-o", str(out)]
        )
    assert ex.value.code in (0, None)
    e = json.loads((out / "summary.json").read_text())["endpoints"]["OS"]
    assert e["parametric_fits"]["horizons_days"] == [182.625, 5 * 365.25]
    fits = pd.DataFrame(e["parametric_fits"]["fits"])
    # five years out, every model predicts less survival than at six months
    assert (fits["horizon_survival"] < fits["milestone_survival"]).all()
    assert "5 years" in (out / "report.html").read_text()
    with pytest.raises(SystemExit) as ex:
        main(["analyze", str(csv), "--extrapolate", "0", "-o", str(tmp_path / "bad")])
    assert ex.value.code == 2
