"""adverse_events draws exactly what the per-child rule says (probabilities per stratum,
event days only for the children with an event, labels built once)."""

import numpy as np
import pytest

from blinasim.model import _draws, toxicity
from blinasim.model.arms import model_plans as _model_plans


def _per_child(ids, phases, stop, high, *, seed, tp):
    """The rule element-wise over every child (the code before the speed-up, issue 15)."""
    rows = []
    for ph in phases:
        for ev in toxicity.EVENTS:
            hr = toxicity.stratum_hazard_ratio(ev, high, tp)
            p = toxicity.event_probability(ev, ph, tp, hr)
            if not np.any(p > 0.0):
                continue
            u = _draws.uniforms(seed, f"toxicity.{ev}.{ph.name}", ids, k=2)
            hit = u[:, 0] < p
            day = ph.start + (ph.end - ph.start) * np.where(hit, u[:, 0] / np.maximum(p, 1e-300), 0)
            hit &= day < stop
            for i in np.flatnonzero(hit):
                grade = 4 if u[i, 1] < tp.grade4_fraction(ev) else 3
                rows.append((int(i), ph.name, ev, grade, float(day[i])))
    return rows


def _rows(ae):
    return list(
        zip(
            ae.patient_index.tolist(),
            ae.phase.tolist(),
            ae.event.tolist(),
            ae.grade.tolist(),
            ae.day.tolist(),
            strict=True,
        )
    )


@pytest.mark.parametrize("arm", ["A", "B", "D"])
@pytest.mark.parametrize("strata", ["mixed", "all SR-High", "none SR-High"])
@pytest.mark.parametrize("cached", [False, True])
def test_adverse_events_follow_the_per_child_rule(protocol, mp, arm, strata, cached):
    spans = [p.span for p in _model_plans(protocol)[arm].phases]
    g = np.random.default_rng(8)
    chunk = np.flatnonzero(g.random(9000) < 0.6)  # screened ids: gaps
    ids = np.sort(g.choice(chunk, 2500, replace=False))
    high = {
        "mixed": g.random(ids.size) < 0.3,
        "all SR-High": np.ones(ids.size, dtype=bool),
        "none SR-High": np.zeros(ids.size, dtype=bool),
    }[strata]
    stop = np.where(g.random(ids.size) < 0.3, g.uniform(0, 700, ids.size), np.inf)
    cache = _draws.ChunkDraws(6, chunk) if cached else None
    ae = toxicity.adverse_events(ids, spans, stop, high, seed=6, tp=mp.toxicity, cache=cache)
    expect = _per_child(ids, spans, stop, high, seed=6, tp=mp.toxicity)
    assert len(expect) > 100
    assert _rows(ae) == expect
    assert ae.patient_index.dtype == np.int64
    assert ae.grade.dtype == np.int64
    assert ae.phase.dtype == object
    assert ae.event.dtype == object
    # therapy that stops on the very day of an event drops it (the event is not before stop)
    for i, *_, day in expect[:40]:
        stop[i] = day
    ae = toxicity.adverse_events(ids, spans, stop, high, seed=6, tp=mp.toxicity, cache=cache)
    tied = _per_child(ids, spans, stop, high, seed=6, tp=mp.toxicity)
    assert len(tied) < len(expect)
    assert _rows(ae) == tied


def test_no_children_no_events(protocol, mp):
    spans = [p.span for p in _model_plans(protocol)["B"].phases]
    none = np.array([], dtype=np.int64)
    ae = toxicity.adverse_events(
        none, spans, np.empty(0), np.zeros(0, dtype=bool), seed=1, tp=mp.toxicity
    )
    assert ae.patient_index.size == ae.phase.size == ae.event.size == ae.day.size == 0
    assert ae.phase.dtype == object


def test_a_chunk_memo_of_another_seed_is_refused(protocol, mp):
    spans = [p.span for p in _model_plans(protocol)["A"].phases]
    ids = np.arange(50)
    cache = _draws.ChunkDraws(2, ids)
    with pytest.raises(ValueError, match="cache seed"):
        toxicity.adverse_events(
            ids,
            spans,
            np.full(50, np.inf),
            np.zeros(50, dtype=bool),
            seed=1,
            tp=mp.toxicity,
            cache=cache,
        )
