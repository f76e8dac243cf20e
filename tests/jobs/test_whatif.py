"""What-if validation of backbone intensity (blinasim.jobs.whatif)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from blinasim.errors import InputError
from blinasim.jobs import whatif
from blinasim.model.leukemia import ChemoParams
from blinasim.model.plan import arm_plan, reference_intensities
from blinasim.protocol import load_protocol
from blinasim.targets import TargetSet, shipped_target_sets

N = 1500


@pytest.fixture(scope="module")
def report() -> whatif.WhatIfReport:
    return whatif.run_whatif(N, seed=3)


@pytest.mark.parametrize("spec", whatif.COMPARISONS, ids=lambda s: s.id)
def test_the_variants_load_and_differ_only_where_the_trial_did(spec: whatif.WhatIfSpec) -> None:
    proto = load_protocol(whatif.whatif_protocol_path(spec.protocol))
    cp = ChemoParams.load()
    ref = reference_intensities()
    for c, e in zip(spec.control_arms, spec.experimental_arms, strict=True):
        ca, ea = proto.arm(c), proto.arm(e)
        assert ca.stratum == ea.stratum
        assert ca.randomized_after is None
        kc = {p.name: float(p.kill(cp)) for p in arm_plan(ca, ref).phases}
        ke = {p.name: float(p.kill(cp)) for p in arm_plan(ea, ref).phases}
        for ph in ("induction", "consolidation"):
            assert kc[ph] == ke[ph]  # the same start of therapy: the same children randomized
        assert kc != ke


def test_every_target_file_is_loaded_and_backbone_targets_are_held_out() -> None:
    sets = shipped_target_sets()
    assert {"aall1731", "backbone"} <= set(sets)
    backbone = sets["backbone"]
    assert backbone.with_role("held_out") == backbone.targets
    for spec in whatif.COMPARISONS:
        backbone.get(spec.control_target)
        backbone.get(spec.experimental_target)


def test_published_effect_is_the_difference_of_independent_arms() -> None:
    ts = shipped_target_sets()["backbone"]
    spec = next(s for s in whatif.COMPARISONS if s.id == "ccg1991_iv_vs_oral_mtx")
    eff, c, e = whatif.published_effect(ts, spec)
    assert (c, e) == (0.887, 0.926)
    assert eff.estimate == pytest.approx(0.039)
    half = 1.959964 * math.hypot(0.012, 0.014)
    assert (eff.low, eff.high) == pytest.approx((0.039 - half, 0.039 + half))


def test_mixture_interval() -> None:
    one = whatif.mixture_interval([0.02], [0.01])
    assert (one.estimate, one.low, one.high) == pytest.approx((0.02, 0.00040, 0.03960), abs=1e-4)
    two = whatif.mixture_interval([0.0, 0.1], [1e-6, 1e-6])
    assert two.estimate == pytest.approx(0.05)
    assert two.low == pytest.approx(0.0, abs=1e-4)
    assert two.high == pytest.approx(0.1, abs=1e-4)


def test_the_job_runs_and_its_flags_follow_the_intervals(report: whatif.WhatIfReport) -> None:
    assert [r.id for r in report.results] == [s.id for s in whatif.COMPARISONS]
    for r in report.results:
        assert r.predicted.low <= r.predicted.estimate <= r.predicted.high
        assert r.published.low < r.published.estimate < r.published.high
        assert r.hit == (r.published.low <= r.predicted.estimate <= r.published.high)
        assert 0.0 < r.predicted_control < 1.0
        assert r.n_children > 0
    assert report.hits == sum(r.hit for r in report.results)
    assert "not medical advice" in whatif.markdown_table(report)
    assert report.to_dict()["hits"] == report.hits


def _shifted(ts: TargetSet, spec: whatif.WhatIfSpec, effect: float) -> TargetSet:
    """The backbone targets with the experimental arm moved so the published effect is ``effect``."""
    c = ts.get(spec.control_target)
    out = tuple(
        dataclasses.replace(t, estimate=c.estimate + effect)
        if t.id == spec.experimental_target
        else t
        for t in ts.targets
    )
    return dataclasses.replace(ts, targets=out)


def test_hit_is_decided_by_the_published_interval(monkeypatch, report) -> None:
    """Move the published effect onto the prediction (hit), then 5 CI half-widths away (miss)."""
    spec = whatif.COMPARISONS[-1]
    pred = next(r for r in report.results if r.id == spec.id).predicted.estimate
    ts = shipped_target_sets()["backbone"]
    for effect, expect in ((pred, True), (pred + 0.2, False), (pred - 0.2, False)):
        fake = {"backbone": _shifted(ts, spec, effect)}
        monkeypatch.setattr(whatif, "shipped_target_sets", lambda fake=fake: fake)
        again = whatif.run_whatif(N, seed=3, comparisons=[spec.id])
        (r,) = again.results
        assert r.predicted == next(x for x in report.results if x.id == spec.id).predicted
        assert r.hit is expect


def test_posterior_draws_widen_the_interval() -> None:
    spec = "aall0932_pulses_q4_vs_q12"
    point = whatif.run_whatif(800, seed=5, comparisons=[spec]).results[0]
    post = whatif.run_whatif(800, seed=5, draws=3, comparisons=[spec])
    assert post.draws == 3
    assert "posterior" in post.parameters
    r = post.results[0]
    assert np.isfinite([r.predicted.low, r.predicted.high]).all()
    assert r.predicted.high - r.predicted.low >= 0.5 * (point.predicted.high - point.predicted.low)


def test_user_mistakes() -> None:
    with pytest.raises(InputError, match="comparisons"):
        whatif.run_whatif(10, comparisons=["nope"])
    with pytest.raises(InputError):
        whatif.run_whatif(0)


def test_review_point_3_high_dose_methotrexate_saturates() -> None:
    """Issue 13: 5 g/m2 for every IM1 methotrexate dose cut 10-y relapse 11.2% -> 0.7%."""
    rv = whatif.review_intensity(3000, seed=2)
    cp = ChemoParams.load()
    assert rv.im_kill["REF"] == pytest.approx(1.0)
    assert rv.im_kill["NO_DI"] == pytest.approx(1.0)
    assert 1.0 < rv.im_kill["HD_MTX_IM"] < 1.0 + cp.share_interim_maintenance_mtx * cp.x50_mtx
    r = rv.relapse_10y
    assert r["HD_MTX_IM"] <= r["REF"] <= r["NO_DI"]
    assert r["HD_MTX_IM"] > 0.5 * r["REF"]
