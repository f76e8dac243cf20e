"""The mechanistic outcome source (blinasim.model) behind the trial engine."""

from __future__ import annotations

import numpy as np
import pytest

from blinasim.analysis.read import validate_adtte
from blinasim.config import ParameterSet
from blinasim.trial.design import design_from_dict, load_design
from blinasim.trial.operating import replicate
from blinasim.trial.run import run_trial
from blinasim.trial.sources.mechanistic import MechanisticOutcomes


def _small(bank_size: int | None = None):
    doc = load_design("aall1731").model_dump(mode="json")
    doc["accrual"]["target_randomized"] = 160
    doc["analyses"] = [{"name": "interim", "events": 8}, {"name": "final", "events": 16}]
    doc["outcomes"]["bank_size"] = bank_size
    return design_from_dict(doc, file="<small aall1731>")


def test_model_decides_risk_groups_and_randomization() -> None:
    d = _small()
    src = MechanisticOutcomes(d)
    enr = src.enroll(300, seed=4, replicate=0)
    names = np.array(enr.risk_group_names, dtype=object)[enr.risk_group]
    fav = names == "SR-Favorable"
    assert fav.any()
    assert not enr.randomizable[fav].any()
    rand = enr.randomizable
    np.testing.assert_array_equal(np.isfinite(enr.randomization_delay), rand)
    avg = rand & (names == "SR-Average")
    high = rand & (names == "SR-High")
    # both strata are randomized at the end of consolidation (AALL1731 schema)
    assert np.unique(enr.randomization_delay[avg | high]).size == 1
    assert enr.screened is not None
    assert enr.screened[-1] >= 300


def test_common_random_numbers_across_arms() -> None:
    d = _small()
    src = MechanisticOutcomes(d)
    enr = src.enroll(300, seed=4, replicate=0)
    pat = np.flatnonzero(enr.randomizable)
    st = enr.stratum[pat]
    a = src.outcomes(pat, st, np.zeros(pat.size, dtype=np.int64), seed=4, replicate=0)
    b = src.outcomes(pat, st, np.ones(pat.size, dtype=np.int64), seed=4, replicate=0)
    assert np.isfinite(a.dfs).sum() > np.isfinite(b.dfs).sum()  # blinatumomab prevents relapses
    assert (a.dfs >= 0).all()
    again = src.outcomes(pat[:20], st[:20], np.zeros(20, dtype=np.int64), seed=4, replicate=0)
    np.testing.assert_array_equal(again.dfs, a.dfs[:20])


def test_run_trial_mechanistic_adtte() -> None:
    r = run_trial(_small(), seed=2)
    clean = validate_adtte(r.adtte)
    assert len(clean) == len(r.adtte)
    dfs = r.adtte[r.adtte["PARAMCD"] == "DFS"]
    causes = set(dfs.loc[dfs["CNSR"] == 0, "EVNTDESC"])
    assert causes <= {"RELAPSE", "DEATH IN REMISSION", "SECOND MALIGNANCY"}
    assert "RELAPSE" in causes
    assert r.consort.screened >= r.consort.enrolled


@pytest.mark.parametrize("block", [2, 5])
def test_bank_mode_is_blocking_invariant(block: int) -> None:
    d = _small(bank_size=2000)
    a = replicate(d, 6, seed=3, workers=1, block_size=6)
    b = replicate(d, 6, seed=3, workers=1, block_size=block)
    np.testing.assert_array_equal(a.outcomes.report_z, b.outcomes.report_z)
    one = run_trial(d, seed=3, replicate=4)
    assert one.estimates.logrank_z == pytest.approx(a.outcomes.report_z[4])


def test_explicit_parameters_are_used() -> None:
    """Parameters that differ from the shipped ones change the trial; equal ones do not."""
    d = _small()
    base = ParameterSet.load()
    k = base.value("chemo.kill_maintenance_per_day")
    weak = base.with_values({"chemo.kill_maintenance_per_day": 0.25 * k})
    default = run_trial(d, seed=2)
    assert run_trial(d, seed=2, params=base).adtte.equals(default.adtte)
    changed = run_trial(d, seed=2, params=weak)
    assert not changed.adtte.equals(default.adtte)

    # weaker maintenance chemotherapy: relapses come sooner, so the event-driven looks too
    assert changed.data_cut < default.data_cut
