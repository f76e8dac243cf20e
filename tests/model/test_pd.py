"""Blinatumomab pharmacodynamics: effector-to-target kill, dose, antigen loss, dormancy."""

import dataclasses
import math

import numpy as np
import pytest

from blinasim.config import ParameterSet
from blinasim.model import _kernel, pd
from blinasim.model.engine import ModelParams
from blinasim.model.leukemia import Biology, Schedule, simulate_trajectories


@pytest.fixture(scope="module")
def mp():
    return ModelParams.from_parameters(ParameterSet.load())


def _bio(n, log_n0, g=0.05, sens=1.0):
    return Biology(
        log_n0=np.tile(np.asarray(log_n0, float), (n, 1)),
        growth_per_day=np.full(n, g),
        resistant_growth_per_day=np.full(n, g),
        sensitivity=np.full(n, sens),
        genetic_factor=np.ones(n),
        resistance_factor=np.ones(n),
        tcell_fitness=np.ones(n),
        cns_kill_factor=np.ones(n),
        extinction_u=np.full((n, 6), 0.5),
        dormancy_u=np.full((n, 6), 0.5),
    )


def _schedule(edges, chemo=None, blina=None):
    e = np.asarray(edges, dtype=float)
    k = e.size - 1
    z = np.zeros(k)
    return Schedule(
        start=e[:-1],
        end=e[1:],
        chemo_kill=z if chemo is None else np.asarray(chemo, float),
        it_kill=z,
        blina_dose=z if blina is None else np.asarray(blina, float),
        blina_unit="µg/m²/day",
        phase=np.zeros(k, dtype=np.int64),
    )


def test_kernel_constants_match_pd():
    assert _kernel.PD_STEP_DAYS == pd.PD_STEP_DAYS
    assert _kernel.ET_SATURATED == pd.ET_SATURATED


def test_kill_per_cell_falls_with_burden(mp):
    """Same patient, same dose: a full marrow is killed far more slowly than MRD."""
    bp = mp.blina
    log_n0 = np.log([1e6, 1e9, 1e11, 1e12])
    pot = np.full(4, 0.8)
    res = pd.infusion_response(log_n0, np.full(4, 0.05), pot, 28.0, bp)
    assert np.all(np.diff(res.mean_kill) < 0)
    assert res.mean_kill[0] == pytest.approx(0.8, rel=0.05)  # nearly saturated at MRD level
    assert res.mean_kill[-1] < 0.8 * bp.et50_cells / (bp.et50_cells + 1e12) * 5


def test_dose_response_is_monotone_and_saturating(mp):
    css = np.array([[50.0, 150.0, 400.0, 1e5]])
    k = pd.potential_kill(css, np.ones(1), mp.blina)[0]
    assert np.all(np.diff(k) > 0)
    assert k[-1] == pytest.approx(mp.blina.kmax_per_day, rel=0.01)
    assert k[1] == pytest.approx(
        mp.blina.kmax_per_day * 150.0 / (150.0 + mp.blina.ec50_pg_per_ml), rel=1e-12
    )


def test_kernel_infusion_matches_numpy_twin(mp):
    """The kernel's joint marrow pass and pd.infusion_response agree (one CD19+ clone)."""
    n = 5
    log_b = np.log([1e9, 3e10, 1e11, 3e11, 1e12])
    g = 0.05
    pot = np.array([0.2, 0.4, 0.6, 0.9, 1.2])
    bio = _bio(n, [0.0, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf], g=g)
    bio = dataclasses.replace(bio, log_n0=np.column_stack([log_b, np.full((n, 5), -np.inf)]))
    sched = _schedule([0.0, 28.0, 28.5], blina=[15.0, 0.0])
    bk = np.zeros((n, 2))
    bk[:, 0] = pot
    tr = simulate_trajectories(
        bio, sched, bk, np.array([28.0]), lp=mp.leukemia, cp=mp.chemo, bp=mp.blina
    )
    twin = pd.infusion_response(log_b, np.full(n, g), pot, 28.0, mp.blina)
    # where fewer than ~30 lineages are expected, the kernel draws the survivors (Poisson)
    big = twin.log_end > math.log(200.0)
    assert big.sum() >= 3
    np.testing.assert_allclose(tr.log_count_at[big, 0, 0], twin.log_end[big], rtol=1e-10)


def test_antigen_loss_makes_cd19_negative_cells_in_proportion_to_burden(mp):
    bp = dataclasses.replace(mp.blina, antigen_loss_per_cell_day=1e-7)
    lo = pd.infusion_response(np.log([1e8]), np.full(1, 0.05), np.full(1, 1.0), 28.0, bp)
    hi = pd.infusion_response(np.log([1e11]), np.full(1, 0.05), np.full(1, 1.0), 28.0, bp)
    assert lo.lost_cells[0] > 0
    assert hi.lost_cells[0] > 100 * lo.lost_cells[0]
    none = dataclasses.replace(bp, antigen_loss_per_cell_day=0.0)
    z = pd.infusion_response(np.log([1e11]), np.full(1, 0.05), np.full(1, 1.0), 28.0, none)
    assert z.lost_cells[0] == 0.0


def test_antigen_loss_feeds_the_cd19_negative_clone_in_the_kernel(mp):
    n = 1
    bio = _bio(n, [math.log(1e10)] + [-np.inf] * 5, g=0.05)
    sched = _schedule([0.0, 28.0, 60.0], blina=[15.0, 0.0])
    bk = np.array([[1.0, 0.0]])
    q = np.array([59.0])
    out = {}
    for rate in (0.0, 1e-6):
        bp = dataclasses.replace(mp.blina, antigen_loss_per_cell_day=rate)
        tr = simulate_trajectories(bio, sched, bk, q, lp=mp.leukemia, cp=mp.chemo, bp=bp)
        out[rate] = tr.log_count_at[0, 2, 0]
    assert out[0.0] == -np.inf
    assert np.isfinite(out[1e-6])


def test_dormancy_delays_only_regrowth_after_therapy(mp):
    n = 4000
    g = 0.03
    rate = mp.leukemia.dormancy_exit_per_cell_day
    lag_large = math.log1p(g / rate) / g
    sched = _schedule([0.0, 700.0, 20000.0], chemo=[g + 0.001, 0.0])
    zero = np.zeros((n, 2))
    kw = {"lp": mp.leukemia, "cp": mp.chemo, "bp": mp.blina}
    u = np.random.default_rng(1).uniform(size=(n, 6))
    # a large clone held down by therapy until day 700 (5,000 cells left): the lag is the
    # deterministic log(1 + r/rate)/r
    big = dataclasses.replace(_bio(n, [math.log(1e4)] + [-np.inf] * 5, g=g), dormancy_u=u)
    base = simulate_trajectories(big, sched, zero, np.empty(0), **kw)
    lp_off = dataclasses.replace(mp.leukemia, dormancy_exit_per_cell_day=0.0)
    nodorm = simulate_trajectories(big, sched, zero, np.empty(0), **{**kw, "lp": lp_off})
    np.testing.assert_array_equal(base.cross_day, nodorm.cross_day)  # no therapy end given
    dorm = simulate_trajectories(big, sched, zero, np.empty(0), **kw, therapy_end=700.0)
    np.testing.assert_allclose(dorm.cross_day[:, 0] - base.cross_day[:, 0], lag_large, rtol=1e-9)
    # a few survivors (about 20 cells at the nadir): also an exponential wait for the first
    few = dataclasses.replace(_bio(n, [math.log(40.0)] + [-np.inf] * 5, g=g), dormancy_u=u)
    b2 = simulate_trajectories(few, sched, zero, np.empty(0), **kw)
    d2 = simulate_trajectories(few, sched, zero, np.empty(0), **kw, therapy_end=700.0)
    alive = np.isfinite(b2.cross_day[:, 0])
    assert alive.mean() > 0.2
    lag = d2.cross_day[alive, 0] - b2.cross_day[alive, 0]
    assert np.all(lag >= lag_large - 1e-9)
    assert lag.std() > 0
    # a clone that grows through therapy is never delayed
    sched2 = _schedule([0.0, 700.0, 20000.0], chemo=[0.0, 0.0])
    grow = simulate_trajectories(big, sched2, zero, np.empty(0), **kw)
    grow_d = simulate_trajectories(big, sched2, zero, np.empty(0), **kw, therapy_end=700.0)
    np.testing.assert_array_equal(grow.cross_day, grow_d.cross_day)
