"""The relapse trials' published results (held out, checked against the sources) load."""

from importlib import resources

import pytest

from blinasim.targets import load_targets


@pytest.fixture(scope="module")
def targets():
    path = resources.files("blinasim") / "data" / "targets" / "relapse_trials.yaml"
    return load_targets(str(path))


def test_every_relapse_trial_target_is_held_out(targets):
    assert targets.targets
    assert {t.role for t in targets.targets} == {"held_out"}


@pytest.mark.parametrize(
    ("quantity", "study", "arm", "events", "n"),
    [
        ("mrd_response", "AALL1331 (Brown 2021)", "blinatumomab", 79, 105),
        ("mrd_response", "AALL1331 (Brown 2021)", "chemotherapy", 33, 103),
        ("hsct", "AALL1331 (Brown 2021)", "blinatumomab", 74, 105),
        ("hsct", "AALL1331 (Brown 2021)", "chemotherapy", 44, 103),
        ("mrd_response", "20120215 (Locatelli 2021)", "blinatumomab", 44, 49),
        ("mrd_response", "20120215 (Locatelli 2021)", "chemotherapy", 26, 48),
        ("hsct", "20120215 (Locatelli 2021)", "blinatumomab", 48, 54),
        ("hsct", "20120215 (Locatelli 2021)", "chemotherapy", 38, 54),
    ],
)
def test_verified_counts(targets, quantity, study, arm, events, n):
    t = targets.published(quantity, study=study, arm=arm)
    assert t.estimate == pytest.approx(events / n, abs=5e-4)
    assert "Table 2" in t.source


def test_dfs_and_hazard_ratio(targets):
    blina = targets.published("dfs", study="AALL1331 (Brown 2021)", arm="blinatumomab")
    chemo = targets.published("dfs", study="AALL1331 (Brown 2021)", arm="chemotherapy")
    assert (blina.estimate, chemo.estimate) == (0.544, 0.390)
    hr = targets.published("hazard_ratio", study="20120215 (Locatelli 2021)")
    assert hr.estimate == 0.33
    # not verified in the source: no OS or hazard-ratio target for AALL1331
    assert not targets.find("os", study="AALL1331 (Brown 2021)")
    assert not targets.find("hazard_ratio", study="AALL1331 (Brown 2021)")
