import numpy as np
import pytest

from blinasim.model import toxicity
from blinasim.model.arms import model_plans as _model_plans


def _post_randomization(plan):
    return [p.span for p in plan.phases if p.start >= plan.randomization_day]


@pytest.mark.parametrize(
    ("arm", "high", "fn", "sepsis"),
    [
        ("A", False, 149 / 376, 19 / 376),
        ("B", False, 165 / 351, 52 / 351),
        ("C", True, 140 / 277, 47 / 277),
        ("D", True, 156 / 273, 57 / 273),
    ],
)
def test_fitted_hazards_reproduce_aall1731_counts(protocol, mp, arm, high, fn, sepsis):
    plan = _model_plans(protocol)[arm]
    spans = _post_randomization(plan)
    hr_fn = mp.toxicity.fn_sr_high_hazard_ratio if high else 1.0
    hr_sepsis = mp.toxicity.sepsis_sr_high_hazard_ratio if high else 1.0
    # binomial SE of the published proportions is 1.1-3 points
    assert toxicity.probability_any(
        "febrile_neutropenia", spans, mp.toxicity, hr_fn
    ) == pytest.approx(fn, abs=0.03)
    assert toxicity.probability_any("sepsis", spans, mp.toxicity, hr_sepsis) == pytest.approx(
        sepsis, abs=0.03
    )


def test_crs_only_in_blinatumomab_phases(protocol, mp):
    plans = _model_plans(protocol)
    assert (
        toxicity.probability_any(
            "cytokine_release_syndrome", [p.span for p in plans["A"].phases], mp.toxicity
        )
        == 0.0
    )
    p_b = toxicity.probability_any(
        "cytokine_release_syndrome", [p.span for p in plans["B"].phases], mp.toxicity
    )
    assert p_b == pytest.approx(2 / 624, abs=0.002)


def test_events_respect_stop_day_and_phase_bounds(protocol, mp):
    plan = _model_plans(protocol)["B"]
    spans = [p.span for p in plan.phases]
    ids = np.arange(20_000)
    stop = np.full(ids.size, 120.0)
    ae = toxicity.adverse_events(
        ids, spans, stop, np.zeros(ids.size, dtype=bool), seed=4, tp=mp.toxicity
    )
    assert np.all(ae.day < 120.0)
    bounds = {s.name: (s.start, s.end) for s in spans}
    for name, day in zip(ae.phase, ae.day, strict=True):
        lo, hi = bounds[name]
        assert lo <= day < hi


def test_death_in_remission_by_inverse_cumulative_hazard(protocol, mp):
    plan = _model_plans(protocol)["A"]
    spans = [p.span for p in plan.phases]
    ids = np.arange(400_000)
    d = toxicity.death_in_remission_day(ids, spans, seed=5, tp=mp.toxicity)
    h = sum(mp.toxicity.trm_hazard(s.kind) * (s.end - s.start) for s in spans)
    assert np.isfinite(d).mean() == pytest.approx(1 - np.exp(-h), abs=0.001)
    ind = spans[0]
    expect = 1 - np.exp(-mp.toxicity.trm_hazard("induction") * (ind.end - ind.start))
    assert np.mean(d < ind.end) == pytest.approx(expect, abs=0.0006)
