import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from blinasim.analysis.core import analyze_endpoint
from blinasim.analysis.read import validate_adtte
from blinasim.analysis.run import veteran_adtte
from blinasim.errors import InputError
from blinasim.jobs.analyze import analyze_example
from blinasim.stats import cox_ph, kaplan_meier, logrank_test

# R 4.x, survival 3.5:
#   coxph(Surv(time, status) ~ I(trt == 2) + strata(celltype), veteran)  -> HR 1.184196 (0.8029436, 1.746473)
#   survdiff(Surv(time, status) ~ trt + strata(celltype), veteran)$chisq -> 0.7017433
R_HR = (1.184196, 0.8029436, 1.746473)
R_LOGRANK_CHISQ = 0.7017433


def test_veteran_matches_r():
    a = analyze_endpoint(validate_adtte(veteran_adtte()), paramcd="OS", milestone_days=182.625)
    assert a.control == "standard"
    assert a.stratified
    np.testing.assert_allclose(
        [a.hazard_ratio.estimate, a.hazard_ratio.lower, a.hazard_ratio.upper], R_HR, rtol=1e-6
    )
    np.testing.assert_allclose(a.logrank_chisq, R_LOGRANK_CHISQ, rtol=1e-6)
    assert [x.n for x in a.arms] == [69, 68]


def test_analysis_agrees_with_direct_calls_and_cif():
    rng = np.random.default_rng(3)
    n = 400
    arm = np.repeat(["chemotherapy", "blinatumomab"], n // 2)
    t = rng.exponential(np.where(arm == "blinatumomab", 3000, 1200))
    c = rng.uniform(200, 1500, n)
    cause = np.where(t <= c, rng.integers(1, 3, n), 0)
    df = validate_adtte(
        pd.DataFrame(
            {
                "USUBJID": np.arange(n).astype(str),
                "PARAMCD": "DFS",
                "ARM": arm,
                "AVAL": np.minimum(t, c),
                "CNSR": (cause == 0).astype(int),
                "CAUSE": cause,
            }
        )
    )
    a = analyze_endpoint(df, paramcd="DFS", milestone_days=365.25, control="chemotherapy")
    time, event = df["AVAL"].to_numpy(), df["EVENT"].to_numpy()
    trt = (df["ARM"] == "blinatumomab").to_numpy().astype(float)
    assert a.treatment == "blinatumomab"
    assert a.hazard_ratio.estimate == pytest.approx(
        float(cox_ph(time, event, trt).hr[0]), rel=1e-12
    )
    assert a.logrank_p == pytest.approx(logrank_test(time, event, trt).p_value, rel=1e-12)
    m = (df["ARM"] == "blinatumomab").to_numpy()
    assert a.arm("blinatumomab").milestone.estimate == pytest.approx(
        float(kaplan_meier(time[m], event[m]).at([365.25]).survival[0])
    )
    assert a.hazard_ratio.estimate < 1
    assert a.cif is not None
    assert a.cif_milestone is not None
    assert set(a.gray_p) == {1, 2}
    # the two causes' incidences add up to 1 - KM in each arm (no censoring-dependent gap)
    for arm_name in ("blinatumomab", "chemotherapy"):
        rows = a.cif_milestone[a.cif_milestone["group"] == arm_name]
        assert rows["estimate"].sum() == pytest.approx(
            1 - a.arm(arm_name).milestone.estimate, abs=1e-9
        )


def test_needs_two_arms():
    df = validate_adtte(veteran_adtte().assign(TRT01P="x"))
    with pytest.raises(InputError, match="at least two arms"):
        analyze_endpoint(df, paramcd="OS")


def test_example_writes_report(tmp_path):
    run = analyze_example(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["endpoints"]["OS"]["n"] == {"standard": 69, "test": 68}
    assert summary["reference_arm"]["arm"] == "standard"
    html = (tmp_path / "report.html").read_text()
    assert "not medical advice" in html
    # R's veteran trial is real data: the statement says so, not "simulations"
    assert "Analysis of the data in survival::veteran" in html
    assert "predictions are simulations" not in html
    assert run.out_dir == tmp_path


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blinasim", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_cli_analyze_round_trip_and_errors(tmp_path):
    f = tmp_path / "adtte.csv"
    veteran_adtte().to_csv(f, index=False)
    out = cli("analyze", str(f), "--milestone-years", "0.5", "--out", str(tmp_path / "o"))
    assert out.returncode == 0, out.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["endpoints"]["OS"]["hazard_ratio"]["estimate"] == pytest.approx(R_HR[0], rel=1e-6)
    bad = tmp_path / "bad.csv"
    veteran_adtte().assign(CNSR=2).to_csv(bad, index=False)
    out = cli("analyze", str(bad), cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "CNSR (rows 1, 2, 3, 4, 5 and 132 more): expected CNSR 0 (event) or 1" in " ".join(
        out.stderr.split()
    )
    out = cli("analyze", str(f), "--param", "DFS", cwd=tmp_path)
    assert out.returncode == 2
    assert "PARAMCD DFS" in out.stderr
