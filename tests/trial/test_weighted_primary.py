"""Weighted log-rank and MaxCombo tests as a design's primary test (fixed designs)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from blinasim.errors import InputError
from blinasim.trial.design import design_from_dict
from blinasim.trial.operating import replicate

from .conftest import small_doc

N = 40


def _fixed(test: str, **primary: object) -> dict[str, object]:
    doc = small_doc()
    doc["analyses"] = [{"name": "final", "events": 60}]
    doc["early_stop"] = {}
    doc["primary"] = {"test": test, **primary}
    return doc


def test_fh00_is_the_stratified_logrank() -> None:
    """FH(0, 0) stratified by the randomization strata is the stratified log-rank test."""
    lr = replicate(design_from_dict(_fixed("stratified_logrank")), N, seed=3, workers=1)
    fh = replicate(design_from_dict(_fixed("weighted_logrank", fh=[0, 0])), N, seed=3, workers=1)
    np.testing.assert_allclose(fh.outcomes.z, lr.outcomes.z, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(fh.outcomes.decision, lr.outcomes.decision)
    assert fh.rejection_probability == lr.rejection_probability


def test_late_weights_change_the_test_and_maxcombo_decides_on_its_p() -> None:
    late = replicate(design_from_dict(_fixed("weighted_logrank", fh=[0, 1])), N, seed=3, workers=1)
    lr = replicate(design_from_dict(_fixed("stratified_logrank")), N, seed=3, workers=1)
    assert not np.allclose(late.outcomes.z, lr.outcomes.z)
    mc = replicate(design_from_dict(_fixed("maxcombo")), N, seed=3, workers=1)
    z = mc.outcomes.z[:, 0]
    crit = mc.outcomes.critical[:, 0]
    # one-sided alpha 0.025: reject when the MaxCombo p <= 0.025, i.e. z >= 1.96
    np.testing.assert_allclose(crit, stats.norm.ppf(1 - 0.025), rtol=1e-9)
    rejected = mc.outcomes.rejected
    np.testing.assert_array_equal(rejected, z >= crit)
    assert 0 < rejected.mean() < 1


def test_weighted_tests_need_a_single_analysis() -> None:
    doc = small_doc()
    doc["primary"] = {"test": "maxcombo"}
    with pytest.raises(InputError, match="single analysis"):
        design_from_dict(doc, file="<d>")
    doc = _fixed("weighted_logrank", fh=[-1, 0])
    with pytest.raises(InputError, match="rho and gamma"):
        design_from_dict(doc, file="<d>")
