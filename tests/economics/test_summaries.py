import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from blinasim.economics import (
    Values,
    ceac,
    evaluate,
    evpi,
    icer,
    price_threshold,
    quadrant,
    summarize,
    tornado,
)

from .conftest import history, zeroed


@pytest.mark.parametrize(
    ("dc", "dq", "quad", "value"),
    [
        (10_000.0, 0.5, "north-east", 20_000.0),
        (-100.0, 0.5, "dominant", None),
        (0.0, 0.5, "dominant", None),
        (100.0, -0.5, "dominated", None),
        (0.0, -0.5, "dominated", None),
        (-10_000.0, -0.5, "south-west", 20_000.0),
        (100.0, 0.0, "no difference", None),
    ],
)
def test_icer_sign_conventions(dc, dq, quad, value):
    r = icer(dc, dq)
    assert r["quadrant"] == quad == quadrant(dc, dq)
    assert r["value"] == value
    if quad == "south-west":
        assert "saved per QALY lost" in r["statement"]


def _table(dc, dq, base_c=100_000.0, base_q=20.0, dv=None):
    n = len(dc)
    rows = []
    for i in range(n):
        rows.append(
            {"iteration": i, "arm": "chemo", "costs": base_c, "qalys": base_q, "vials": 0.0}
        )
        rows.append(
            {
                "iteration": i,
                "arm": "blina",
                "costs": base_c + dc[i],
                "qalys": base_q + dq[i],
                "vials": 0.0 if dv is None else dv[i],
            }
        )
    return pd.DataFrame(rows)


def test_summarize_north_east_with_interval_and_mixed_quadrants():
    t = _table([10_000.0, 20_000.0, 30_000.0], [1.0, 1.0, 1.0])
    s = summarize(t, comparator="chemo", intervention="blina", threshold=50_000, grid=[0, 25_000])
    assert s["incremental_costs"]["estimate"] == pytest.approx(20_000)
    assert s["icer"]["estimate"] == pytest.approx(20_000)
    assert s["icer"]["quadrant"] == "north-east"
    assert s["icer"]["lower"] is not None
    assert s["nmb"]["estimate"] == pytest.approx(30_000)
    assert s["prob_cost_effective"] == {"50000.0": 1.0}
    assert s["evpi"]["per_child"] == 0.0
    t2 = _table([10_000.0, -5_000.0], [1.0, -0.1])
    s2 = summarize(t2, comparator="chemo", intervention="blina", threshold=50_000, grid=[0])
    assert s2["icer"]["share_in_quadrant"] == 0.5
    assert s2["icer"]["lower"] is None


@settings(max_examples=60, deadline=None)
@given(
    dq=arrays(np.float64, 30, elements=st.floats(0.01, 3.0)),
    dc=arrays(np.float64, 30, elements=st.floats(-1e5, 1e6)),
)
def test_ceac_monotone_when_every_iteration_gains_qalys(dq, dc):
    costs = np.stack([np.zeros(30), dc], axis=1)
    qalys = np.stack([np.zeros(30), dq], axis=1)
    grid = np.linspace(0, 300_000, 61)
    p = ceac(costs, qalys, grid)[:, 1]
    assert np.all(np.diff(p) >= 0)
    assert np.allclose(ceac(costs, qalys, grid).sum(axis=1), 1.0)
    # and decreasing when every iteration loses QALYs
    p_loss = ceac(costs, -qalys, grid)[:, 1]
    assert np.all(np.diff(p_loss) <= 0)


@settings(max_examples=60, deadline=None)
@given(
    c=arrays(np.float64, (25, 3), elements=st.floats(0, 1e6)),
    q=arrays(np.float64, (25, 3), elements=st.floats(0, 40)),
    lam=st.floats(0, 300_000),
)
def test_evpi_is_non_negative(c, q, lam):
    assert evpi(c, q, lam) >= 0.0


def test_evpi_by_hand():
    # two iterations: arm 1 better in one, arm 0 in the other
    c = np.array([[0.0, 10.0], [0.0, 30.0]])
    q = np.zeros((2, 2))
    # NB = -c: E[max] = 0, max E = max(0, -20) = 0 -> 0; flip so arms trade places
    assert evpi(c, q, 1.0) == 0.0
    c = np.array([[0.0, -10.0], [0.0, 30.0]])
    # NB: it 1 (0, 10), it 2 (0, -30): E[max] = 5, max(E) = max(0, -10) = 0
    assert evpi(c, q, 1.0) == pytest.approx(5.0)


def test_price_threshold_reproduces_the_threshold():
    p = price_threshold(d_costs=60_000, d_qalys=1.0, d_vials=20.0, price=3000, threshold=50_000)
    assert p == pytest.approx(3000 - 10_000 / 20)
    dc_at_p = 60_000 + (p - 3000) * 20.0
    assert dc_at_p / 1.0 == pytest.approx(50_000)
    assert price_threshold(1.0, 1.0, 0.0, 3000, 50_000) is None


def test_price_threshold_end_to_end_with_evaluate(canada):
    v = zeroed(
        canada,
        **{
            "blinatumomab.vial_price": 3000.0,
            "chemotherapy.maintenance": 5.0,
            "utilities.first_line.maintenance": 0.87,
            "utilities.after_relapse.short_term": 0.75,
            "utilities.after_hsct.short_term": 0.73,
            "discount.costs": 0.015,
            "discount.effects": 0.015,
        },
    )
    chemo = history(blina=False, death_day=np.array([900.0]), end_day=np.array([900.0]))
    blina = history()
    a, b = evaluate(chemo, v), evaluate(blina, v)
    dc, dq, dv = b.costs - a.costs, b.qalys - a.qalys, b.vials - a.vials
    lam = 50_000.0
    p = price_threshold(dc, dq, dv, 3000.0, lam)
    assert p is not None
    v2 = v.replace(**{"blinatumomab.vial_price": p})
    a2, b2 = evaluate(chemo, v2), evaluate(blina, v2)
    assert (b2.costs - a2.costs) / (b2.qalys - a2.qalys) == pytest.approx(lam)
    t = pd.DataFrame(
        [
            {"iteration": 0, "arm": "chemo", "costs": a.costs, "qalys": a.qalys, "vials": a.vials},
            {"iteration": 0, "arm": "blina", "costs": b.costs, "qalys": b.qalys, "vials": b.vials},
        ]
    )
    s = summarize(
        t, comparator="chemo", intervention="blina", threshold=lam, grid=[], vial_price=3000.0
    )
    assert s["price_threshold"]["estimate"] == pytest.approx(p)


def test_tornado_rows_sorted_by_swing(canada):
    v: Values = canada
    hs = {"chemo": history(blina=False), "blina": history()}
    nmb0, rows = tornado(hs, v, comparator="chemo", intervention="blina")
    assert rows
    assert all(rows[i].swing >= rows[i + 1].swing for i in range(len(rows) - 1))
    names = [r.input for r in rows]
    assert "blinatumomab.vial_price" in names
    vp = next(r for r in rows if r.input == "blinatumomab.vial_price")
    assert vp.nmb_low > nmb0 > vp.nmb_high  # a cheaper vial raises the net benefit
