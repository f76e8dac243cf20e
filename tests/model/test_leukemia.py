import dataclasses
import math

import numpy as np
import pytest

from blinasim.model import _draws, mrd, pk
from blinasim.model.leukemia import (
    _Z_GRID,
    Biology,
    Schedule,
    _log_quantile_table,
    _uniform_grid_interp,
    draw_biology,
    potential_kill,
    simulate_trajectories,
)


def _bio(cohort, mp, seed=3):
    return draw_biology(
        cohort["patient_id"].to_numpy(),
        cohort["genetics"].astype(str).to_numpy(),
        cohort["cns_status"].astype(str).to_numpy(),
        seed=seed,
        lp=mp.leukemia,
        cp=mp.chemo,
        bp=mp.blina,
    )


def _schedule(edges, chemo=None, it=None, blina=None):
    e = np.asarray(edges, dtype=float)
    n = e.size - 1
    z = np.zeros(n)
    return Schedule(
        start=e[:-1],
        end=e[1:],
        chemo_kill=z if chemo is None else np.asarray(chemo, float),
        it_kill=z if it is None else np.asarray(it, float),
        blina_dose=z if blina is None else np.asarray(blina, float),
        blina_unit="µg/m²/day",
        phase=np.arange(n),
    )


def test_untreated_growth_matches_published_mean_and_sd(cohort, mp):
    g = _bio(cohort, mp).growth_per_day
    assert g.mean() == pytest.approx(0.069, abs=0.003)
    assert g.std() == pytest.approx(0.073, abs=0.004)


def test_untreated_marrow_grows_log_linearly(cohort, mp):
    bio = _bio(cohort.iloc[:2000], mp)
    tr = simulate_trajectories(
        bio,
        _schedule([0, 30]),
        np.zeros((2000, 1)),
        np.array([0.0, 10.0]),
        lp=mp.leukemia,
        cp=mp.chemo,
        bp=mp.blina,
    )
    slope = (tr.log_count_at[:, 0, 1] - tr.log_count_at[:, 0, 0]) / 10.0
    np.testing.assert_allclose(slope, bio.growth_per_day, rtol=1e-9, atol=1e-12)
    assert np.mean(slope) == pytest.approx(0.069, abs=0.006)


def test_initial_burden_and_clone_fractions(cohort, mp):
    bio = _bio(cohort, mp)
    total = np.exp(bio.log_n0).sum(axis=1)
    assert np.all((total > 0.99e11) & (total < 1.01e12))
    frac_r = np.exp(bio.log_n0[:, 1]) / np.exp(bio.log_n0[:, :3]).sum(axis=1)
    assert np.median(np.log10(frac_r)) == pytest.approx(
        mp.leukemia.resistant_log10_fraction_mean, abs=0.05
    )
    cns2 = cohort["cns_status"].astype(str).to_numpy() == "CNS2"
    cns_share = np.exp(bio.log_n0[:, 3:]).sum(axis=1) / total
    assert np.median(cns_share[cns2]) > 2 * np.median(cns_share[~cns2])


def test_favorable_genetics_more_sensitive(cohort, mp):
    bio = _bio(cohort, mp)
    gen = cohort["genetics"].astype(str).to_numpy()
    s = np.log(bio.sensitivity)
    assert (
        s[gen == "favorable"].mean() > s[gen == "neutral"].mean() > s[gen == "unfavorable"].mean()
    )


def _single(log_n0, g, u, mp, rate_sched, q=()):
    n = len(u)
    bio = Biology(
        log_n0=np.tile(np.asarray(log_n0, float), (n, 1)),
        growth_per_day=np.full(n, g),
        resistant_growth_per_day=np.full(n, g * mp.leukemia.resistant_growth_factor),
        sensitivity=np.ones(n),
        genetic_factor=np.ones(n),
        resistance_factor=np.ones(n),
        tcell_fitness=np.ones(n),
        cns_kill_factor=np.ones(n),
        extinction_u=np.repeat(np.asarray(u, float)[:, None], 6, axis=1),
        dormancy_u=np.full((n, 6), 0.5),
    )
    return simulate_trajectories(
        bio,
        rate_sched,
        np.zeros((n, rate_sched.start.size)),
        np.asarray(q, float),
        lp=mp.leukemia,
        cp=mp.chemo,
        bp=mp.blina,
    )


def test_extinction_is_poisson_at_the_nadir(mp):
    # marrow sensitive clone: 1e6 cells, killed at net -0.1/day for 160 days, then regrows
    g = 0.05
    log0 = [math.log(1e6)] + [-50.0] * 5
    sched = _schedule([0, 160, 3000], chemo=[g + 0.1, 0.0])
    u = _draws.uniforms(9, "test.ext", np.arange(40_000))
    tr = _single(log0, g, u, mp, sched)
    nadir = 1e6 * math.exp(-0.1 * 160)
    p_est = g / (g + mp.leukemia.death_rate_per_day)
    expected_survival = 1 - math.exp(-nadir * p_est)
    survived = ~tr.extinct[:, 0]
    assert survived.mean() == pytest.approx(expected_survival, abs=0.01)
    assert np.all(tr.nadir_day[:, 0] == 160.0)
    # survivors regrow to the relapse burden after the nadir; the extinct never relapse
    assert np.all(np.isinf(tr.cross_day[~survived, 0]))
    assert np.all((tr.cross_day[survived, 0] > 160) & np.isfinite(tr.cross_day[survived, 0]))


def test_large_clone_crossing_time_is_closed_form(mp):
    g = 0.04
    log0 = [math.log(1e9)] + [-50.0] * 5
    sched = _schedule([0, 10, 3000], chemo=[g + 0.2, 0.0])
    tr = _single(log0, g, np.full(5, 0.5), mp, sched)
    low = math.log(1e9) - 0.2 * 10
    expect = 10 + (math.log(mp.leukemia.relapse_cells_marrow) - low) / g
    np.testing.assert_allclose(tr.cross_day[:, 0], expect, rtol=1e-12)
    assert not tr.extinct[:, 0].any()


def test_clone_growing_through_therapy_relapses_on_therapy(mp):
    # net rate positive during a long 'maintenance' segment: relapse before therapy ends
    g = 0.06
    log0 = [-50.0, math.log(1e8)] + [-50.0] * 4
    sched = _schedule([0, 700, 3000], chemo=[0.005, 0.0])
    # resistant clone net rate 0.06 * growth factor - 0.005 > 0 throughout
    rate = g * mp.leukemia.resistant_growth_factor - 0.005
    assert rate > 0
    expect = (math.log(mp.leukemia.relapse_cells_marrow) - math.log(1e8)) / rate
    assert expect < 700
    tr = _single(log0, g, np.full(3, 0.5), mp, sched)
    np.testing.assert_allclose(tr.cross_day[:, 1], expect, rtol=1e-12)


def test_one_blinatumomab_cycle_clears_mrd_in_most_mrd_positive(cohort, mp):
    """78% (adults, MRD >= 1e-3, BLAST) to 93% (children, Locatelli 2021).

    Virtual children, so the bound is the Clopper-Pearson 95% interval of the pediatric
    figure, 27/29: 0.772-0.992.
    """
    ids = cohort["patient_id"].to_numpy()
    bio = _bio(cohort, mp)
    normal = mp.leukemia.normal_marrow_cells
    bsa = cohort["bsa_m2"].to_numpy()
    ex = pk.exposure(bsa, _draws.normals(3, "pk.eta_cl", ids), mp.pk)
    css = pk.steady_state_pg_per_ml(pk.daily_dose_ug(15.0, "µg/m²/day", bsa, mp.pk), ex.cl_l_per_h)
    sched = _schedule([0, 28, 29], blina=[15.0, 0.0])
    bk = np.zeros((ids.size, 2))
    bk[:, 0] = potential_kill(css, bio.tcell_fitness, mp.blina)
    cleared = []
    for start in (1e-3, 1e-2):
        f_neg = np.exp(bio.log_n0[:, 2] - np.logaddexp.reduce(bio.log_n0[:, :3], axis=1))
        log0 = np.full((ids.size, 6), -np.inf)
        log0[:, 0] = np.log(start * normal * (1 - f_neg))
        log0[:, 2] = np.log(start * normal * f_neg)
        b = dataclasses.replace(bio, log_n0=log0)
        tr = simulate_trajectories(
            b, sched, bk, np.array([28.0]), lp=mp.leukemia, cp=mp.chemo, bp=mp.blina
        )
        frac = mrd.leukemic_fraction(np.exp(tr.log_count_at[:, :3, 0]).sum(axis=1), normal)
        u = _draws.uniforms(3, "test.assay", ids)
        cleared.append(np.mean(mrd.flow(frac, u, mp.mrd) == 0))
    assert all(0.772 <= c <= 0.992 for c in cleared), cleared


def test_schedule_validation():
    with pytest.raises(ValueError, match="contiguous"):
        Schedule(
            np.array([0.0, 5.0]),
            np.array([4.0, 6.0]),
            np.zeros(2),
            np.zeros(2),
            np.zeros(2),
            "µg/m²/day",
            np.zeros(2, dtype=np.int64),
        )


def test_uniform_grid_interp_is_numpy_interp_bit_for_bit():
    """The inverse-CDF tables' interpolation equals np.interp exactly (grid nodes, ties,
    the infinite top of a gamma table, out-of-range and NaN scores included)."""
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [
            rng.normal(0.0, 3.0, 200_000),
            _Z_GRID,
            np.nextafter(_Z_GRID, 10.0),
            np.nextafter(_Z_GRID, -10.0),
            [-20.0, 20.0, np.nan, np.inf, -np.inf],
        ]
    )
    for dist, a, b in (("gamma", 0.89, 0.0), ("gamma", 4.0, 0.0), ("beta", 1.5, 0.8)):
        fp = _log_quantile_table(dist, a, b)
        out = np.empty_like(x)
        _uniform_grid_interp(x, _Z_GRID, fp, out)
        np.testing.assert_array_equal(out, np.interp(x, _Z_GRID, fp))
