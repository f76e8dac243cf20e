"""More than two arms in ``blinasim analyze`` (issue 17), against R (tests/golden/karms.json,
made by scripts/golden/karms.R: survfit, survdiff, coxph with a factor, pairwise survdiff with
p.adjust(method = "holm"), survfit rmean)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.analysis.core import analyze_endpoint
from blinasim.analysis.read import validate_adtte
from blinasim.analysis.run import analyze_table
from blinasim.stats.multiplicity import holm

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "karms.json"
RTOL = 1e-6


@cache
def cases() -> list[dict[str, Any]]:
    return list(json.loads(GOLDEN.read_text())["cases"])


def frame(c: dict[str, Any]) -> pd.DataFrame:
    inp = c["input"]
    n = len(inp["time"])
    df = pd.DataFrame(
        {
            "USUBJID": [str(i) for i in range(n)],
            "PARAMCD": "OS",
            "ARM": inp["arm"],
            "AVAL": inp["time"],
            "CNSR": 1 - np.asarray(inp["event"], dtype=int),
        }
    )
    if inp.get("strata") is not None:
        df["STRATUM"] = inp["strata"]
    return validate_adtte(df)


@pytest.mark.parametrize("c", cases(), ids=lambda c: c["name"])
def test_k_arms_match_r(c: dict[str, Any]) -> None:
    ex = c["expected"]
    a = analyze_endpoint(
        frame(c),
        paramcd="OS",
        milestone_days=c["milestone"],
        tau_days=c["tau"],
        control=c["control"],
    )
    assert [s.arm for s in a.arms] == ex["arms"]
    assert a.stratified == (c["input"].get("strata") is not None)
    for s, k in zip(a.arms, ex["km"], strict=True):
        assert (s.n, s.events) == (k["n"], k["events"])
        got = [s.milestone.estimate, s.milestone.se, s.milestone.lower, s.milestone.upper]
        np.testing.assert_allclose(
            got, [k["surv"], k["std_err"], k["lower"], k["upper"]], rtol=RTOL
        )
        median = np.nan if k["median"] == "NA" else k["median"]  # "NA": not reached
        np.testing.assert_allclose(s.median_days, median, rtol=RTOL)
    lr = ex["logrank"]
    assert a.logrank_df == lr["df"]
    np.testing.assert_allclose([a.logrank_chisq, a.logrank_p], [lr["chisq"], lr["p"]], rtol=RTOL)
    comp = {x.arm: x for x in a.comparisons}
    assert list(comp) == ex["cox"]["arm"] == ex["pairwise"]["arm"]
    cx, pw, rm = ex["cox"], ex["pairwise"], ex["rmst"]
    for j, arm in enumerate(cx["arm"]):
        x = comp[arm]
        hr = x.hazard_ratio
        np.testing.assert_allclose(
            [hr.estimate, hr.lower, hr.upper, x.hazard_ratio_p, np.log(hr.estimate), hr.se],
            [cx["hr"][j], cx["lower"][j], cx["upper"][j], cx["p"][j], cx["coef"][j], cx["se"][j]],
            rtol=RTOL,
        )
        np.testing.assert_allclose(
            [x.logrank_chisq, x.logrank_p, x.logrank_p_holm],
            [pw["chisq"][j], pw["p"][j], pw["p_holm"][j]],
            rtol=RTOL,
        )
        d = x.rmst_difference
        np.testing.assert_allclose(
            [d.estimate, d.se, d.lower, d.upper],
            [
                rm["difference"][j],
                rm["difference_se"][j],
                rm["difference_lower"][j],
                rm["difference_upper"][j],
            ],
            rtol=RTOL,
        )
    np.testing.assert_allclose(a.tau_days, rm["tau"], rtol=RTOL)
    s = a.summary()
    assert s["multiplicity"] == "Holm"
    assert "hazard_ratio" not in s
    assert s["treatments"] == ex["arms"][1:]


def test_holm_matches_r_p_adjust() -> None:
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005, NA), "holm") -> 0.03 0.06 0.06 0.02 NA
    np.testing.assert_allclose(
        holm([0.01, 0.04, 0.03, 0.005, np.nan]), [0.03, 0.06, 0.06, 0.02, np.nan], rtol=1e-12
    )


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_holm_invariants(p: list[float]) -> None:
    raw = np.asarray(p)
    adj = holm(raw)
    assert np.all(adj >= raw)
    assert np.all(adj <= 1.0)
    assert np.all(adj <= np.minimum(raw * len(raw), 1.0) + 1e-15)  # never above Bonferroni
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adj[order]) >= 0)  # same order as the raw p-values
    assert adj.min() == pytest.approx(min(1.0, raw.min() * len(raw)))


def three_arms(n: int = 450, seed: int = 5, **rates: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rates = rates or {"placebo": 0.10, "low dose": 0.07, "high dose": 0.04}
    arm = rng.choice(list(rates), n)
    t = rng.exponential(365.25 / np.array([rates[a] for a in arm]))
    c = rng.uniform(0.5, 5.0, n) * 365.25
    return pd.DataFrame(
        {
            "USUBJID": [f"S{i}" for i in range(n)],
            "PARAMCD": "DFS",
            "TRT01P": arm,
            "AVAL": np.round(np.minimum(t, c)),
            "CNSR": (t > c).astype(int),
        }
    )


@settings(max_examples=15, derandomize=True, deadline=None)
@given(st.integers(0, 10_000), st.permutations(["Z arm", "arm a", "mid"]))
def test_arm_labels_do_not_change_comparisons(seed: int, names: list[str]) -> None:
    """Renaming the experimental arms permutes, never changes, their comparisons."""
    df = validate_adtte(three_arms(120, seed).assign(TRT01P=lambda d: d["TRT01P"].str.strip()))
    base = analyze_endpoint(df, paramcd="DFS", control="placebo")
    mapping = dict(zip(["high dose", "low dose"], names[:2], strict=True))
    renamed = analyze_endpoint(
        df.assign(ARM=df["ARM"].replace(mapping)), paramcd="DFS", control="placebo"
    )
    by_name = {c.arm: c for c in renamed.comparisons}
    for c in base.comparisons:
        r = by_name[mapping[c.arm]]
        for attr in ("logrank_p", "logrank_p_holm"):
            assert getattr(r, attr) == pytest.approx(getattr(c, attr), rel=1e-9, nan_ok=True)
        assert r.hazard_ratio.estimate == pytest.approx(
            c.hazard_ratio.estimate, rel=1e-7, nan_ok=True
        )
    assert renamed.logrank_chisq == pytest.approx(base.logrank_chisq, rel=1e-9, nan_ok=True)


def test_arm_without_events_is_not_estimable_and_others_still_are() -> None:
    df = three_arms()
    none = df["TRT01P"] == "high dose"
    df.loc[none, "CNSR"] = 1
    a = analyze_endpoint(validate_adtte(df), paramcd="DFS", control="placebo")
    comp = {c.arm: c for c in a.comparisons}
    assert comp["high dose"].hazard_ratio.note == "no events in arm high dose"
    assert comp["low dose"].hazard_ratio.estimable
    assert np.isfinite(comp["high dose"].logrank_p)  # the control has events


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blinasim", *args], capture_output=True, text=True, check=False
    )


def test_cli_three_arms_report_shows_every_arm(tmp_path: Path) -> None:
    f = tmp_path / "three.csv"
    three_arms().to_csv(f, index=False)
    out = cli("analyze", str(f), "--milestone-years", "2", "--out", str(tmp_path / "o"))
    assert out.returncode == 0, out.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    e = s["endpoints"]["DFS"]
    assert s["reference_arm"]["arm"] == "placebo"
    assert [c["arm"] for c in e["comparisons"]] == ["high dose", "low dose"]
    assert e["logrank"]["df"] == 2
    html = (tmp_path / "o" / "report.html").read_text()
    for arm in ("placebo", "low dose", "high dose"):
        assert arm in html
    assert "high dose vs placebo" in html
    assert "low dose vs placebo" in html
    assert "Holm" in html
    assert "high dose vs placebo" in out.stdout.replace("\n", " ")


def test_pooled_replicates_with_three_arms() -> None:
    frames = [three_arms(150, seed).assign(REPLICATE=seed) for seed in (1, 2, 3)]
    df = validate_adtte(pd.concat(frames, ignore_index=True))
    run = analyze_table(df, source="three arms", milestone_years=2.0, control="placebo")
    e = run.summary()["endpoints"]["DFS"]
    quantities = [r["quantity"] for r in e["pooled"]]
    assert "hazard ratio high dose vs placebo" in quantities
    assert "log-rank p low dose vs placebo (Holm)" in quantities
    assert e["treatments"] == ["high dose", "low dose"]
    assert len(e["per_replicate"]) == 3
