"""The shortcuts that make the pathway and the lifetime cheaper give the same numbers.

Categorical columns read through their categories, draws shared by a child's rows, the
blinatumomab infusion on the consolidated children only, and block kills remembered per
parameter section (``benchmarks/lifetime_cea.py`` times them).
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from blinasim.model import _draws
from blinasim.model import after_relapse as ar
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse import lifetime as lt
from blinasim.model.after_relapse.clone import clone_index
from blinasim.model.after_relapse.history import _shared_draws, lifetime
from blinasim.model.after_relapse.kinetics import Path, _crossing, relapse_time
from blinasim.model.after_relapse.labels import label_codes
from blinasim.model.after_relapse.late_effects import (
    EXPOSURES,
    LATE_EFFECTS,
    STREAM,
    LateEffectsParams,
    late_effects,
)
from blinasim.model.after_relapse.pathway import RISK_GROUPS, SITES, Salvage, site_codes
from blinasim.model.after_relapse.salvage_protocols import block_kill, block_kills, load_salvage
from blinasim.model.leukemia import ChemoParams
from blinasim.model.pd import BlinaParams, infusion_response
from blinasim.units import DAYS_PER_YEAR


@pytest.fixture(scope="module")
def ap() -> AfterRelapseParams:
    return AfterRelapseParams.load()


def _loop_codes(values, labels):
    """The per-row reference: ``labels.index`` of each value, -1 for anything else."""
    return np.array(
        [labels.index(v) if isinstance(v, str) and v in labels else -1 for v in values],
        dtype=np.int8,
    )


VALUES = ["cns", None, "marrow", "combined", "marrow", np.nan, "other", "cns"]


@pytest.mark.parametrize("labels", [SITES, RISK_GROUPS, ("marrow",)])
def test_label_codes_categorical_object_and_array_agree(labels):
    want = _loop_codes(VALUES, labels)
    cat = pd.Series(pd.Categorical(VALUES, categories=["zzz", "other", *SITES]))
    cases = [(cat, want), (cat.astype(object), want), (np.array(VALUES, dtype=object), want)]
    cases.append((cat.iloc[::-1], want[::-1]))
    for x, ref in cases:
        got = label_codes(x, labels)
        assert got.dtype == np.int8
        np.testing.assert_array_equal(got, ref)


def test_site_codes_and_risk_groups_from_columns():
    sites = pd.Series(pd.Categorical(VALUES))
    np.testing.assert_array_equal(site_codes(sites), _loop_codes(VALUES, SITES))
    n = len(VALUES)
    rg = ["high", None, "low", "intermediate", None, "low", "high", None]
    table = pd.DataFrame(
        {
            "relapse_risk_group": pd.Categorical(rg),
            "reinduction_mrd": np.full(n, np.nan),
            "salvage_refractory": np.zeros(n, bool),
            "salvage_blinatumomab": np.zeros(n, bool),
            **{
                c: np.full(n, np.nan)
                for c in (
                    "salvage_hsct_day",
                    "salvage_cart_day",
                    "salvage_relapse2_day",
                    "salvage_death_day",
                )
            },
            "salvage_death_cause": np.full(n, -1, dtype=np.int8),
        }
    )
    for t in (table, table.astype({"relapse_risk_group": object})):
        sal = Salvage.from_columns(t)
        assert sal is not None
        np.testing.assert_array_equal(sal.risk_group, _loop_codes(rg, RISK_GROUPS))


def _inputs(n, seed):
    r = np.random.default_rng(seed)
    rd = np.where(r.random(n) < 0.5, r.uniform(60.0, 3000.0, n), np.inf)
    return {
        "age_years": r.uniform(1.0, 12.0, n),
        "first_line_death_day": np.where(
            np.isinf(rd) & (r.random(n) < 0.1), r.uniform(10.0, 3000.0, n), np.inf
        ),
        "relapse_day": rd,
        "site": np.where(np.isfinite(rd), r.integers(0, 3, n), -1),
        "cd19_negative": r.random(n) < 0.2,
        "favorable_genetics": r.random(n) < 0.3,
    }


@pytest.mark.parametrize("contiguous", [True, False])
def test_lifetime_of_a_childs_rows_shares_its_draws_with_the_same_numbers(ap, contiguous):
    # two rows per child (two arms, different first-line outcomes): each row's lifetime is
    # the one it gets alone
    n = 3000
    ids = np.arange(n, dtype=np.int64) if contiguous else np.arange(n, dtype=np.int64) * 7 + 5
    a, b = _inputs(n, 1), _inputs(n, 2)
    kw = {"horizon_day": 3653.0, "seed": 17, "ap": ap}
    alone = [lifetime(ids, **x, **kw) for x in (a, b)]
    both = {k: np.concatenate([a[k], b[k]]) for k in a}
    order = np.argsort(np.concatenate([ids, ids]), kind="stable")  # sorted, with repeats
    for rows in (order, np.random.default_rng(3).permutation(2 * n)):
        pid = np.concatenate([ids, ids])[rows]
        assert _shared_draws(17, pid) is not None
        got = lifetime(pid, **{k: v[rows] for k, v in both.items()}, **kw)
        for f in dataclasses.fields(got):
            x = getattr(got, f.name)
            if isinstance(x, dict):
                for k in x:
                    want = np.concatenate(
                        [alone[0].late_effect_days[k], alone[1].late_effect_days[k]]
                    )[rows]
                    np.testing.assert_array_equal(x[k], want)
            else:
                want = np.concatenate([getattr(alone[0], f.name), getattr(alone[1], f.name)])
                np.testing.assert_array_equal(x, want[rows])


def test_shared_draws_only_with_repeated_ids():
    assert _shared_draws(1, np.arange(10)) is None
    assert _shared_draws(1, np.array([5, 3, 9])) is None
    assert _shared_draws(1, np.array([4])) is None
    memo = _shared_draws(1, np.array([8, 2, 8, 2, 9]))
    assert memo is not None
    ids = np.array([8, 2, 8, 2, 9])
    np.testing.assert_array_equal(
        _draws.uniforms(1, "after_relapse.lifetime", ids, k=2, cache=memo),
        _draws.uniforms(1, "after_relapse.lifetime", ids, k=2),
    )


def test_infusion_of_a_subset_is_the_subset_of_the_infusion():
    # the pathway runs the blinatumomab cycles on the consolidated children only
    bp = BlinaParams.load()
    r = np.random.default_rng(5)
    n = 1001
    x = r.uniform(5.0, 25.0, n)
    g = r.uniform(0.01, 0.1, n)
    pot = r.uniform(0.05, 2.0, n)
    full = infusion_response(x, g, pot, 28.0, bp)
    for on in (np.flatnonzero(r.random(n) < 0.4), np.arange(3), np.arange(n - 17, n)):
        sub = infusion_response(x[on], g[on], pot[on], 28.0, bp)
        for f in ("log_end", "lost_cells", "mean_kill", "bcells_end"):
            np.testing.assert_array_equal(getattr(sub, f), getattr(full, f)[on])
        # and the numpy steps after it, on a copy of the subset
        lost = np.log(np.maximum(full.lost_cells, 1e-300)) + g * 7.0
        sub_lost = np.log(np.maximum(sub.lost_cells, 1e-300)) + g[on] * 7.0
        np.testing.assert_array_equal(sub_lost, lost[on])
        np.testing.assert_array_equal(
            np.logaddexp(x[on] + g[on] * 35.0, sub_lost), np.logaddexp(x + g * 35.0, lost)[on]
        )


def test_block_kills_are_remembered_per_section_object(ap):
    cp = ChemoParams.load()
    proto = load_salvage("ukall_r3")
    k1 = block_kills(proto, cp, ap)
    assert k1 == {b: block_kill(proto, b, cp, ap) for b in proto.blocks}
    assert block_kills(proto, cp, ap) is k1
    # another section (even an equal one) is computed afresh, and a changed one differs
    same = dataclasses.replace(cp)
    assert block_kills(proto, same, ap) == k1
    assert block_kills(proto, same, ap) is not k1
    more = dataclasses.replace(cp, kill_induction_per_day=2.0 * cp.kill_induction_per_day)
    assert block_kills(proto, more, ap) == {b: block_kill(proto, b, more, ap) for b in proto.blocks}


def test_salvage_with_and_without_blinatumomab_children_runs(ap):
    # every child consolidated with blinatumomab, and none: the padded path stays aligned
    n = 500
    r = np.random.default_rng(8)
    ids = np.arange(n)
    day = r.uniform(100.0, 2000.0, n)
    args = (ids, day, np.zeros(n, int), np.zeros(n, bool), np.zeros(n, bool))
    for cons in ("blinatumomab", "chemotherapy"):
        s = ar.salvage(*args, seed=4, ap=ap, consolidation=cons)
        hi = (s.risk_group >= 1) & ~s.refractory & np.isfinite(s.reinduction_mrd)
        assert s.blinatumomab_consolidation.any() == (cons == "blinatumomab" and hi.any())
        assert np.isfinite(s.mrd_after_cycle1[hi & np.isinf(s.death_day)]).all()


def _loop_crossing(t, x, growth, level, start):
    """The segment-by-segment reference of :func:`kinetics._crossing`."""
    n, k = x.shape
    rows = np.arange(n)
    out = np.where(x[rows, start] >= level, t[rows, start], np.inf)
    for j in range(k - 1):
        a, b = x[:, j], x[:, j + 1]
        hit = np.isinf(out) & (j >= start) & (a < level) & (b >= level)
        frac = np.where(hit, (level - a) / np.where(b > a, b - a, 1.0), 0.0)
        out = np.where(hit, t[:, j] + frac * (t[:, j + 1] - t[:, j]), out)
    tail = np.isinf(out) & (growth > 0) & (x[:, -1] < level)
    return np.where(tail, t[:, -1] + (level - x[:, -1]) / np.where(growth > 0, growth, 1.0), out)


@pytest.mark.parametrize("k", [1, 2, 8, 12])
def test_crossing_of_all_segments_at_once_is_the_segment_loop(k):
    r = np.random.default_rng(k)
    n = 4000
    t = np.cumsum(r.uniform(0.0, 60.0, (n, k)) * (r.random((n, k)) < 0.8), axis=1)
    x = r.normal(20.0, 6.0, (n, k))
    x[r.random((n, k)) < 0.05] = -700.0
    growth = np.where(r.random(n) < 0.1, 0.0, r.uniform(0.005, 0.1, n))
    start = r.integers(0, k, n)
    for level in (21.0, r.uniform(15.0, 25.0, n)):
        np.testing.assert_array_equal(
            _crossing(t, x, growth, level, start), _loop_crossing(t, x, growth, level, start)
        )


def test_salvage_rows_with_a_chunk_draw_memo_gives_the_same_pathway(ap):
    # the engine may pass its chunk's memo: each arm's relapsing children read from it
    r = np.random.default_rng(12)
    n = 3000
    chunk = np.sort(r.choice(20_000, n, replace=False)).astype(np.int64)
    memo = _draws.ChunkDraws(9, chunk)
    for arm in range(3):
        sel = np.sort(r.choice(n, 1200, replace=False))
        pid = chunk[sel]
        rd = np.where(r.random(sel.size) < 0.3, r.uniform(100.0, 3000.0, sel.size), np.inf)
        site = np.where(np.isfinite(rd), r.choice(np.array(SITES, dtype=object), sel.size), None)
        args = (pid, rd, site, r.random(sel.size) < 0.1, r.random(sel.size) < 0.3)
        kw = {"seed": 9, "ap": ap, "age_at_relapse_years": r.uniform(1.0, 15.0, sel.size)}
        plain = ar.salvage_rows(*args, **kw)
        cached = ar.salvage_rows(*args, **kw, cache=memo)
        for f in dataclasses.fields(plain):
            np.testing.assert_array_equal(getattr(cached, f.name), getattr(plain, f.name))
        assert np.isfinite(plain.death_day).any(), arm


def test_relapse_time_of_two_stacked_paths_is_each_paths():
    r = np.random.default_rng(21)
    n = 700
    paths = []
    for _ in range(2):
        p = Path()
        p.start(np.zeros(n), r.uniform(20.0, 25.0, n))
        for _ in range(6):
            p.linear(r.uniform(0.0, 60.0, n), r.normal(-0.2, 0.3, n))
            p.jump(p.now - r.uniform(0.0, 3.0, n), r.random(n) < 0.3)
        paths.append(p)
    g = r.uniform(0.0, 0.08, n)
    level = r.uniform(20.0, 24.0, n)
    u = r.random((n, 2))
    one = [relapse_time(p, g, level, 0.01, u[:, i]) for i, p in enumerate(paths)]
    both = relapse_time(
        paths[0].stacked(paths[1]),
        np.concatenate([g, g]),
        np.concatenate([level, level]),
        0.01,
        u.T.ravel(),
    )
    np.testing.assert_array_equal(both, np.concatenate(one))
    assert np.isfinite(both).any()
    assert np.isinf(both).any()


def _loop_late_effects(ids, r, h, death, seed, params, age0):
    """The exposure-by-exposure reference of :func:`late_effects` on every child."""
    starts = (np.zeros(ids.size), r, h)
    got = (np.ones(ids.size, dtype=bool), np.isfinite(r), np.isfinite(h))
    limit = params.growth_hormone_deficiency_max_age_years
    growing = tuple(
        ok & (age0 + np.where(ok, s, 0.0) / DAYS_PER_YEAR < limit)
        for s, ok in zip(starts, got, strict=True)
    )
    days = {}
    for e in LATE_EFFECTS:
        uw = _draws.uniforms(seed, f"{STREAM}.{e}", ids, k=2)
        u, w = uw[:, 0], uw[:, 1]
        start = np.full(ids.size, np.inf)
        received = growing if e == "growth_hormone_deficiency" else got
        for x, s, ok in zip(EXPOSURES[::-1], starts[::-1], received[::-1], strict=True):
            start = np.where(ok & (u < params.probability(e, x)), s, start)
        a, b = params.window(e)
        day = start + (a + (b - a) * w) * DAYS_PER_YEAR
        days[e] = np.where(day < death, day, np.inf)
    return days


def test_late_effects_on_the_exposed_children_only_are_the_exposure_loop():
    params = LateEffectsParams.load()
    r = np.random.default_rng(33)
    n = 20_000
    ids = np.sort(r.choice(60_000, n, replace=False)).astype(np.int64)
    rd = np.where(r.random(n) < 0.3, r.uniform(50.0, 4000.0, n), np.inf)
    hd = np.where(np.isfinite(rd) & (r.random(n) < 0.5), rd + r.uniform(50.0, 400.0, n), np.inf)
    death = np.where(r.random(n) < 0.4, r.uniform(10.0, 40_000.0, n), np.inf)
    age0 = r.uniform(0.5, 18.0, n)
    got = late_effects(ids, rd, hd, death, seed=4, params=params, age_at_diagnosis_years=age0)
    want = _loop_late_effects(ids, rd, hd, death, 4, params, age0)
    for e in LATE_EFFECTS:
        np.testing.assert_array_equal(got.days[e], want[e])
        assert np.isfinite(got.days[e]).any(), e


@pytest.mark.parametrize("size", [2, 3, 111])
def test_interp_on_the_age_grid_is_np_interp(size):
    r = np.random.default_rng(size)
    grids = [lt.life_table().cumulative_hazard(0.5)[:size], np.cumsum(r.exponential(1.0, size))]
    grids.append(r.normal(0.0, 1e3, size))  # not monotone: any values
    ints = np.arange(-1.0, size + 1.0)
    x = np.concatenate(
        [
            r.uniform(-3.0, size + 3.0, 200_000),
            ints,
            np.nextafter(ints, np.inf),
            np.nextafter(ints, -np.inf),
            [np.inf, -np.inf, 1e300, -1e300, 0.0, -0.0, size - 1.0],
        ]
    )
    ages = np.arange(size, dtype=np.float64)
    for fp in grids:
        for q in (x, x[:5], x[:0]):
            np.testing.assert_array_equal(lt.interp_ages(q, fp), np.interp(q, ages, fp))
        with_nan = np.concatenate([x[:50], [np.nan]])
        np.testing.assert_array_equal(lt.interp_ages(with_nan, fp), np.interp(with_nan, ages, fp))


def test_clone_index_by_columns_is_the_row_argmin():
    r = np.random.default_rng(6)
    n = 50_000
    cross = np.round(r.uniform(0.0, 50.0, (n, 6)))  # many ties
    cross[r.random((n, 6)) < 0.5] = np.inf
    cross[:10] = np.inf  # never crossed
    cross[10:20, :] = 0.0
    cross[15:20, 1] = -0.0

    def want(c):
        marrow_first = c[:, :3].min(axis=1) <= c[:, 3:].min(axis=1)
        return np.where(marrow_first, c[:, :3].argmin(axis=1), c[:, 3:].argmin(axis=1))

    got = clone_index(cross)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want(cross))
    assert set(np.unique(got)) == {0, 1, 2}
    cross[5, 2] = np.nan  # NaN: numpy's own row reductions
    cross[25, 4] = np.nan
    np.testing.assert_array_equal(clone_index(cross), want(cross))


def test_interp_on_an_increasing_grid_is_np_interp():
    r = np.random.default_rng(44)
    hgrid = lt.life_table().cumulative_hazard(0.5)
    ages = np.arange(hgrid.size, dtype=np.float64)
    grids = [
        (hgrid, ages),
        (np.cumsum(r.exponential(1.0, 40)), r.normal(0.0, 5.0, 40)),
        (np.array([0.0, 1e-9, 2e-9, 5.0]), np.array([1.0, 2.0, 3.0, 4.0])),
        (np.array([0.0, 1.0]), np.array([3.0, 4.0])),  # two points: np.interp itself
        (np.array([0.0, 1.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0, 3.0])),  # repeated point
    ]
    for xp, fp in grids:
        span = xp[-1] - xp[0]
        x = np.concatenate(
            [
                r.uniform(xp[0] - 0.1 * span, xp[-1] + 0.1 * span, 100_000),
                xp,
                np.nextafter(xp, np.inf),
                np.nextafter(xp, -np.inf),
                [np.inf, -np.inf, 1e308, -1e308, -0.0],
            ]
        )
        for q in (x, x[:3], x[:0]):
            np.testing.assert_array_equal(lt.interp_increasing(q, xp, fp), np.interp(q, xp, fp))
        q = np.concatenate([x[:20], [np.nan]])
        np.testing.assert_array_equal(lt.interp_increasing(q, xp, fp), np.interp(q, xp, fp))


def test_death_after_smn_only_for_the_children_with_one_is_the_whole_computation(ap):
    r = np.random.default_rng(9)
    n = 20_000
    ids = np.arange(n, dtype=np.int64) * 3
    smn = np.where(r.random(n) < 0.2, r.uniform(100.0, 5000.0, n), np.inf)
    got = ar.death_after_smn_day(ids, smn, seed=5, ap=ap)
    u = _draws.uniforms(5, "after_relapse.death_after_smn", ids, k=2)
    pi = ar.cure_fraction(np.full(n, ap.smn_os5), ap.median_survival_uncured_days)
    delay = -np.log(u[:, 1]) * ap.median_survival_uncured_days / np.log(2.0)
    want = np.where(np.isfinite(smn), np.where(u[:, 0] < pi, np.inf, smn + delay), np.inf)
    np.testing.assert_array_equal(got, want)
    assert np.isfinite(got).any()
    assert (np.isinf(got) & np.isfinite(smn)).any()
