"""run_trial: ADaM data, CONSORT, looks, estimates, reproducibility."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from blinasim.analysis.core import analyze_endpoint
from blinasim.analysis.read import validate_adtte
from blinasim.io.adam import ADTTE_COLUMNS
from blinasim.stats import kaplan_meier
from blinasim.trial.design import design_from_dict
from blinasim.trial.looks import BoundaryCache, evaluate_block
from blinasim.trial.patients import (
    PatientBlock,
    simulate_block,
    simulate_patients,
    stack_patients,
)
from blinasim.trial.run import run_trial
from blinasim.trial.sources import outcome_source
from blinasim.units import DAYS_PER_YEAR

from .conftest import small_doc


@pytest.fixture(scope="module")
def result():
    return run_trial(design_from_dict(small_doc()), seed=11)


def test_adtte_layout_and_reader(result) -> None:
    ad = result.adtte
    assert tuple(ad.columns) == ADTTE_COLUMNS
    assert set(ad["PARAMCD"]) == {"DFS", "OS", "EFS"}
    assert set(ad["CNSR"]) <= {0, 1}
    assert (ad["AVAL"] >= 0).all()
    ev = ad["CNSR"] == 0
    assert (ad.loc[ev, "EVNTDESC"] != "").all()
    assert (ad.loc[~ev, "CNSDTDSC"] != "").all()
    clean = validate_adtte(ad)
    assert len(clean) == len(ad)
    # each patient: OS time >= DFS time; EFS = DFS + randomization delay
    wide = ad.pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    assert (wide["OS"] >= wide["DFS"] - 1e-9).all()
    assert (wide["EFS"] > wide["DFS"]).all()


def test_consort_adds_up(result) -> None:
    c = result.consort
    assert sum(c.by_risk_group.values()) == c.enrolled
    assert sum(c.randomized.values()) + c.not_randomized_closed == c.reached_randomization
    n_dfs = (result.adtte["PARAMCD"] == "DFS").sum()
    assert n_dfs == sum(c.randomized.values())
    dfs = result.adtte[result.adtte["PARAMCD"] == "DFS"]
    assert c.crossed_over == (dfs["CNSDTDSC"] == "CROSSOVER").sum()
    assert isinstance(c.to_frame(), pd.DataFrame)


def test_looks_and_estimates_are_consistent(result) -> None:
    looks = result.looks
    assert looks[0].events == 30
    assert all(a.day < b.day for a, b in itertools.pairwise(looks))
    last = looks[-1]
    assert last.decision in {"efficacy", "continue", "futility"}
    e = result.estimates
    dfs = result.adtte[result.adtte["PARAMCD"] == "DFS"]
    ctrl = dfs[dfs["TRT01P"] == "Arm A"]
    km = kaplan_meier(ctrl["AVAL"], 1 - ctrl["CNSR"]).at(3 * 365.25)
    assert e.dfs_milestone["Arm A"] == pytest.approx(float(km.survival[0]))
    assert 0 < e.hazard_ratio_lower < e.hazard_ratio < e.hazard_ratio_upper
    assert 0 <= e.logrank_p <= 1
    assert np.isfinite(e.rmst_difference_days)
    assert sum(e.events.values()) == int((dfs["CNSR"] == 0).sum())


def test_run_trial_is_reproducible_and_seed_dependent() -> None:
    d = design_from_dict(small_doc())
    a = run_trial(d, seed=5)
    b = run_trial(d, seed=5)
    pd.testing.assert_frame_equal(a.adtte, b.adtte)
    c = run_trial(d, seed=6)
    assert not a.adtte["AVAL"].equals(c.adtte["AVAL"])


def test_run_trial_equals_its_replicate_in_a_block() -> None:
    d = design_from_dict(small_doc())
    src = outcome_source(d)
    trials = [simulate_patients(d, src, seed=9, replicate=r) for r in range(4)]
    fast = simulate_block(d, src, seed=9, replicates=range(4))
    slow = stack_patients(trials)
    for f in dataclasses.fields(PatientBlock):  # the vectorized path draws the same trials
        np.testing.assert_array_equal(getattr(fast, f.name), getattr(slow, f.name))
    block = evaluate_block(d, fast, BoundaryCache(d))
    one = run_trial(d, seed=9, replicate=2)
    k = len(one.looks)
    np.testing.assert_allclose([lk.z for lk in one.looks], block.z[2, :k])
    assert one.estimates.logrank_z == pytest.approx(block.report_z[2])


def test_early_stop_closes_randomization_and_crosses_over() -> None:
    doc = small_doc()
    doc["outcomes"]["models"][2]["hazard_ratio"] = 0.15  # overwhelming benefit: stop at look 1
    doc["accrual"]["target_randomized"] = 2000
    d = design_from_dict(doc)
    r = run_trial(d, seed=3)
    assert r.stopped_early
    assert r.looks[0].decision == "efficacy"
    assert r.consort.not_randomized_closed > 0
    assert r.consort.crossed_over > 0
    dfs = r.adtte[r.adtte["PARAMCD"] == "DFS"]
    crossed = dfs[dfs["CNSDTDSC"] == "CROSSOVER"]
    assert len(crossed) == r.consort.crossed_over
    assert (crossed["TRT01P"] == "Arm A").all()


def test_looks_by_date_and_information_fraction() -> None:
    doc = small_doc()
    doc["analyses"] = [
        {"name": "year 3", "date": "2024-01-01"},
        {"name": "final", "information_fraction": 1.0},
    ]
    doc["monitoring"]["planned_events"] = 60
    d = design_from_dict(doc)
    r = run_trial(d, seed=21)
    first = r.looks[0]
    assert str(first.date) == "2024-01-01"
    assert first.information_fraction == pytest.approx(first.events / 60)
    # the bound of the first look is the asOF bound at the observed information
    from blinasim.trial.monitoring import group_sequential_design

    gs = group_sequential_design([first.events / 60, 1.0])
    assert first.critical_value == pytest.approx(gs.critical_values[0])
    if len(r.looks) > 1:
        assert r.looks[1].events == 60


def _early_stop_design():
    doc = small_doc()
    doc["outcomes"]["models"][2]["hazard_ratio"] = 0.15  # overwhelming benefit: stop at look 1
    doc["accrual"]["target_randomized"] = 2000
    return design_from_dict(doc)


def test_trial_rmst_is_the_analysis_rmst(result) -> None:
    """One RMST definition: the trial's estimate is analyze_endpoint's on its ADTTE."""
    an = analyze_endpoint(
        validate_adtte(result.adtte),
        paramcd="DFS",
        milestone_days=3 * DAYS_PER_YEAR,
        control="Arm A",
    )
    e = result.estimates
    assert e.rmst_tau_years * DAYS_PER_YEAR == pytest.approx(an.tau_days, rel=1e-12)
    assert e.rmst_difference_days == pytest.approx(an.rmst_difference.estimate, rel=1e-12)
    assert e.rmst_difference_se == pytest.approx(an.rmst_difference.se, rel=1e-12)
    assert result.data_cut == e.data_cut


def test_rmst_horizon_is_the_shorter_arms_last_follow_up() -> None:
    """A short trial and a long tau: tau stops at the shorter arm's last follow-up.

    (Before the one definition, the trial cut tau at the overall maximum time instead.)
    """
    doc = _early_stop_design().model_dump(mode="json")
    doc["primary"]["rmst_tau_years"] = 10.0
    r = run_trial(design_from_dict(doc), seed=3)
    dfs = r.adtte[r.adtte["PARAMCD"] == "DFS"]
    last = dfs.groupby("TRT01P")["AVAL"].max()
    tau = r.estimates.rmst_tau_years * DAYS_PER_YEAR
    assert tau == pytest.approx(last.min(), rel=1e-12)
    assert tau < last.max()
    assert np.isfinite(r.estimates.rmst_difference_days)


def test_crossover_is_the_same_in_the_batched_and_the_one_trial_path() -> None:
    d = _early_stop_design()
    src = outcome_source(d)
    block = evaluate_block(d, simulate_block(d, src, seed=3, replicates=range(3)), BoundaryCache(d))
    for r in range(3):
        one = run_trial(d, seed=3, replicate=r)
        assert one.stopped_early == bool(block.early_stop[r])
        assert one.consort.crossed_over == int(block.crossed_over[r])
    assert block.crossed_over.sum() > 0
