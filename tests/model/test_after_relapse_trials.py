"""The two relapse trials: virtual cohorts and predicted summaries (never fitted)."""

import json

import numpy as np
import pytest

from blinasim.cli import main
from blinasim.errors import InputError
from blinasim.jobs.relapse_run import run_relapse_trial
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse.trials import TRIALS, RelapseTrial, predict, relapsed_cohort


@pytest.fixture(scope="module")
def ap() -> AfterRelapseParams:
    return AfterRelapseParams.load()


@pytest.mark.parametrize("name", TRIALS)
def test_cohort_matches_eligibility(name):
    spec = RelapseTrial.load(name)
    c = relapsed_cohort(spec, 20_000, seed=1)
    assert (c.age_at_relapse >= spec.age_min_years).all()
    assert (c.age_at_relapse <= spec.age_max_years).all()
    marrow = np.mean(c.site != 1)
    assert marrow == pytest.approx(spec.share_marrow_involving, abs=0.02)
    again = relapsed_cohort(spec, 20_000, seed=1)
    np.testing.assert_array_equal(c.relapse_day, again.relapse_day)


@pytest.mark.parametrize("name", TRIALS)
def test_prediction_has_the_summary_keys(name, ap):
    spec = RelapseTrial.load(name)
    res = predict(spec, replicates=20, seed=3, ap=ap)
    eps = {m["endpoint"] for m in res["milestones"]}
    assert eps == {spec.endpoint, "os"}
    assert {m["years"] for m in res["milestones"]} == {1, 2, 3}
    assert {m["arm"] for m in res["milestones"]} == {"blinatumomab", "chemotherapy"}
    for m in res["milestones"]:
        assert 0.0 <= m["lower"] <= m["estimate"] <= m["upper"] <= 1.0
    by = {(m["endpoint"], m["years"], m["arm"]): m["estimate"] for m in res["milestones"]}
    for arm in ("blinatumomab", "chemotherapy"):
        assert by[("os", 1, arm)] >= by[("os", 2, arm)] >= by[("os", 3, arm)]
        assert by[(spec.endpoint, 3, arm)] <= by[("os", 3, arm)]
        assert 0.0 <= res["hsct"][arm] <= 1.0
    assert set(res["hazard_ratio"]) == {spec.endpoint, "os"}
    h = res["hazard_ratio"][spec.endpoint]
    assert h["lower"] <= h["estimate"] <= h["upper"]
    # blinatumomab consolidation lowers the risk of a second relapse in the model
    assert h["estimate"] < 1.0
    assert set(res["mrd_negative_after_cycle1"]) == {"blinatumomab", "chemotherapy"}
    # MRD after the randomized cycle comes from the kinetics: not everyone is negative
    mrd = res["mrd_negative_after_cycle1"]
    assert mrd["chemotherapy"]["estimate"] < mrd["blinatumomab"]["estimate"]
    r = res["reinduction"]
    assert r["candidates"] >= 10_000
    assert 0.0 < r["died"] < 0.1
    assert 0.0 < r["refractory"] < 0.5
    assert 0.0 < r["mrd_positive_marrow"] < 1.0


def test_unknown_trial_is_refused():
    with pytest.raises(ValueError, match="unknown relapse trial"):
        RelapseTrial.load("aall9999")


def test_run_writes_summary_with_the_issue_keys(tmp_path):
    r = run_relapse_trial("20120215", replicates=5, seed=2, out=tmp_path / "r")
    doc = json.loads((r.out / "summary.json").read_text())
    for key in ("milestones", "hazard_ratio", "mrd_negative_after_cycle1", "hsct", "disclaimer"):
        assert key in doc
    assert set(doc["hsct"]) == {"blinatumomab", "chemotherapy"}
    with pytest.raises(InputError):
        run_relapse_trial("20120215", replicates=5, seed=2, out=tmp_path / "p", protocol="x")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "20120215", "--seed", "-1", "-r", "2"], "--seed: expected a non-negative seed"),
        (["run", "20120215", "-r", "1"], "at least 2 replicates"),
        (["run", "nonsense"], "a known trial (aall1731, aall1331, 20120215)"),
    ],
)
def test_user_mistakes_are_one_line_exit_2(args, words, tmp_path, capsys):
    with pytest.raises(SystemExit) as ex:
        main([*args, "--out", str(tmp_path / "o")])
    assert ex.value.code == 2
    err = capsys.readouterr().err.strip()
    assert words in err
    assert "Traceback" not in err
