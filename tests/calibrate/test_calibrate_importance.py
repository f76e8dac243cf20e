"""Stage 2 (importance sampling, PSIS) on known distributions and the toy simulator."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import user_posterior
from scipy import stats

from blinasim.calibrate.config import ImportanceSpec, load_config
from blinasim.calibrate.importance import (
    CHECKPOINT_IS,
    fit_proposal,
    from_z,
    gpd_fit,
    importance_diagnostics,
    load_importance,
    proposal_draws,
    proposal_logpdf,
    psis,
    run_importance,
    systematic_resample,
    to_z,
)
from blinasim.calibrate.likelihood import FreeParameter
from blinasim.calibrate.sampler import Chain, run_sampler
from blinasim.calibrate.simulator import LogPosterior
from blinasim.errors import InputError

HERE = Path(__file__).parent


class _Stop(Exception):
    pass


# --- PSIS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0.3, 0.7])
def test_gpd_fit_recovers_the_shape(k: float) -> None:
    x = np.sort(stats.genpareto.rvs(k, scale=2.0, size=4000, random_state=11))
    fit = gpd_fit(x)
    # SD of the estimate ~ (1 + k) / sqrt(n) ~ 0.025; the prior shrinks by 10 / 4010
    assert abs(fit.k - k) < 0.1
    assert abs(fit.sigma / 2.0 - 1) < 0.15


@pytest.mark.parametrize("k", [0.3, 0.7])
def test_psis_khat_recovers_a_pareto_tail(k: float) -> None:
    # weights whose whole distribution is a generalized Pareto: the tail's shape is k
    est = [
        psis(np.log(1 + stats.genpareto.rvs(k, size=10_000, random_state=s))).pareto_k
        for s in range(5)
    ]
    # each fit uses 300 tail draws (SD ~0.08); the mean of 5 is within 0.1
    assert abs(float(np.mean(est)) - k) < 0.1
    assert all(abs(e - k) < 0.25 for e in est)


def test_psis_leaves_light_tailed_weights_nearly_unchanged() -> None:
    lw = np.random.default_rng(3).normal(0.0, 0.3, 4000) + 17.0  # any additive constant
    res = psis(lw)
    raw = np.exp(lw - lw.max())
    raw /= raw.sum()
    assert res.pareto_k < 0.5
    np.testing.assert_allclose(res.weights.sum(), 1.0)
    assert np.sum(np.abs(res.weights - raw)) < 0.01  # total variation
    assert abs(res.ess / res.ess_raw - 1) < 0.01
    # only the tail (M = 3 sqrt(S) = 190 largest) changes, the body is only renormalized
    ratio = res.weights / raw
    assert np.sum(~np.isclose(ratio, np.median(ratio), rtol=1e-9, atol=0)) <= 190


def test_psis_flags_heavy_tails_and_failed_draws() -> None:
    lw = np.log(stats.pareto.rvs(0.8, size=3000, random_state=5))  # k = 1 / 0.8 = 1.25
    lw[:10] = -np.inf
    res = psis(lw)
    assert res.pareto_k > 0.7
    assert np.all(res.weights[:10] == 0)
    assert res.weights.sum() == pytest.approx(1.0)
    # smoothing never raises a weight above the largest raw one
    raw = np.exp(lw - lw[10:].max())
    assert res.weights.max() <= raw.max() / raw.sum() * (1 + 1e-9)


def test_pareto_k_threshold_depends_on_the_number_of_draws() -> None:
    from blinasim.calibrate.importance import pareto_k_threshold

    assert pareto_k_threshold(2000) == pytest.approx(0.697, abs=1e-3)
    assert pareto_k_threshold(100) == pytest.approx(0.5)
    assert pareto_k_threshold(10**6) == 0.7


def test_systematic_resampling_is_reproducible_and_proportional() -> None:
    w = np.array([0.5, 0.25, 0.125, 0.125])
    idx = systematic_resample(w, 8, seed=4)
    np.testing.assert_array_equal(idx, systematic_resample(w, 8, seed=4))
    np.testing.assert_array_equal(np.bincount(idx, minlength=4), [4, 2, 1, 1])


# --- proposal -----------------------------------------------------------------------------


def test_proposal_density_matches_scipy_and_draws_extend() -> None:
    g = np.random.default_rng(2)
    z1 = g.normal(size=(400, 3)) * [0.5, 1.0, 2.0] + [1.0, 0.0, -1.0]
    prop = fit_proposal(z1, ImportanceSpec(df=5, scale=1.5, defensive=0.2))
    z = proposal_draws(prop, 3, 4000)
    t = stats.multivariate_t(loc=prop.mean, shape=prop.chol @ prop.chol.T, df=5)
    ref = np.logaddexp(
        math.log(0.8) + t.logpdf(z),
        math.log(0.2) + stats.multivariate_normal(np.zeros(3)).logpdf(z),
    )
    np.testing.assert_allclose(proposal_logpdf(prop, z), ref, rtol=0, atol=1e-10)
    # draw i does not depend on how many are drawn
    np.testing.assert_array_equal(proposal_draws(prop, 3, 40), z[:40])
    # the mixture's mean: 0.8 * centre (t) + 0.2 * 0 (prior); t scale 1.5 * stage-1 SD
    np.testing.assert_allclose(z.mean(axis=0), 0.8 * prop.mean, atol=0.15)
    np.testing.assert_allclose(prop.mean, z1.mean(axis=0))


def test_normal_scores_round_trip() -> None:
    from blinasim.config import ParameterSet

    ps = ParameterSet.load()
    keys = ["chemo.kill_maintenance_per_day", "leukemia.resistant_log10_fraction_mean"]
    free = [FreeParameter(k, ps[k].prior, float(ps[k].value)) for k in keys]  # type: ignore[arg-type]
    z = np.random.default_rng(0).normal(size=(50, 2)) * 2
    np.testing.assert_allclose(to_z(free, from_z(free, z)), z, atol=1e-7)
    far = from_z(free, np.array([[40.0, -40.0]]))  # beyond double precision: the bounds
    assert np.all(np.isfinite(far))


# --- stage 2 on the toy simulator ---------------------------------------------------------


def _normal_config(tmp_path: Path, **importance: float) -> Path:
    from conftest import write_config

    p = write_config(
        tmp_path,
        simulation={"simulator": "toy_sim:LinearToySimulator", "n_patients": 400},
        importance={"draws": 3000, "batch": 500, **importance},
    )
    doc = p.read_text().replace(
        str(HERE / "toy_targets.yaml"), str(HERE / "toy_targets_normal.yaml")
    )
    p.write_text(doc)
    return p


def _exact_marginals(post: LogPosterior) -> list[tuple[float, float]]:
    """Mean and SD of each parameter's exact posterior by quadrature (it factorizes)."""
    out = []
    for j, (t, f) in enumerate(((0.62, lambda x: 0.5 + x), (0.4, lambda x: 0.5 * x))):
        fp = post.free[j]
        se = post.fit_targets[j].se
        lo, hi = fp.ppf(1e-12), fp.ppf(1 - 1e-12)
        x = np.linspace(lo, hi, 200_001)
        logd = np.array([fp.logpdf(float(v)) for v in x[::100]])
        logd = np.interp(x, x[::100], logd) - 0.5 * ((t - f(x)) / se) ** 2
        w = np.exp(logd - logd.max())
        w /= w.sum()
        m = float(np.sum(w * x))
        out.append((m, float(np.sqrt(np.sum(w * (x - m) ** 2)))))
    return out


def _fake_stage1(post: LogPosterior, centre: list[float], sd: list[float]) -> Chain:
    g = np.random.default_rng(9)
    pos = np.asarray(centre) + g.normal(size=(21, 8, 2)) * np.asarray(sd)
    return Chain(
        keys=tuple(fp.key for fp in post.free),
        target_ids=tuple(t.id for t in post.targets),
        chain=pos,
        log_prob=np.zeros((21, 8)),
        blobs=np.zeros((21, 8, post.n_blob)),
        n_evals=168,
        elapsed_s=0.0,
        digest="fake stage 1",
        complete=True,
    )


@pytest.mark.parametrize(
    ("centre", "sd", "good"),
    [
        ([0.12, 0.8], [0.02, 0.1], True),  # stage 1 right
        ([0.15, 0.95], [0.01, 0.05], False),  # stage 1 off-centre and half as wide
    ],
)
def test_importance_weights_give_the_exact_gaussian_posterior(
    tmp_path: Path, centre: list[float], sd: list[float], good: bool
) -> None:
    cfg = load_config(_normal_config(tmp_path))
    post = LogPosterior(cfg)
    exact = _exact_marginals(post)
    assert exact[0][0] == pytest.approx(0.12, abs=1e-3)
    assert exact[1] == pytest.approx((0.8, 0.1), abs=2e-3)
    chain = _fake_stage1(post, centre, sd)
    cfg0 = cfg.model_copy(update={"sampler": cfg.sampler.model_copy(update={"burn_in": 0})})
    run = run_importance(cfg0, chain, tmp_path / "is", workers=1, posterior=post)
    res = psis(run.log_weights)
    w = res.weights
    diag = importance_diagnostics(run, 200)
    assert diag.draws == 3000
    assert diag.khat_threshold == pytest.approx(min(1 - 1 / math.log10(3000), 0.7))
    assert diag.converged == (diag.pareto_k < diag.khat_threshold and diag.ess >= 200)
    if good:
        assert res.pareto_k < 0.7
        assert res.ess > 1000
    for j, (m, s) in enumerate(exact):
        x = run.theta[:, j]
        wm = float(np.sum(w * x))
        wsd = float(np.sqrt(np.sum(w * (x - wm) ** 2)))
        mcse = s / math.sqrt(res.ess)
        assert abs(wm - m) < 4 * mcse, (j, wm, m, mcse)
        assert abs(wsd / s - 1) < 0.1, (j, wsd, s)


def _toy_two_stage(tmp_path: Path, **importance: int) -> Path:
    from conftest import write_config

    return write_config(
        tmp_path,
        sampler={"steps": 30, "burn_in": 10, "checkpoint_every": 5},
        importance={"draws": 200, "batch": 32, **importance},
    )


def _assert_same_draws(a: object, b: object) -> None:
    for name in ("z", "theta", "log_post", "log_q", "blobs", "log_weights"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_stage2_resume_after_interruption_is_bit_identical(tmp_path: Path) -> None:
    cfg = load_config(_toy_two_stage(tmp_path))
    chain = run_sampler(cfg, tmp_path / "s1", workers=1)
    full = run_importance(cfg, chain, tmp_path / "full", workers=1)
    assert full.draws == 200
    assert full.complete

    def stop_after_3_batches(done: int, total: int, run: object) -> None:
        if done >= 96:
            raise _Stop

    with pytest.raises(_Stop):
        run_importance(cfg, chain, tmp_path / "cut", workers=1, on_batch=stop_after_3_batches)
    assert load_importance(tmp_path / "cut" / CHECKPOINT_IS).draws == 96
    resumed = run_importance(cfg, chain, tmp_path / "cut", workers=1)
    _assert_same_draws(full, resumed)
    np.testing.assert_array_equal(psis(full.log_weights).weights, psis(resumed.log_weights).weights)
    # more draws extend the same run; fewer use its first draws
    more = cfg.model_copy(
        update={"importance": cfg.importance.model_copy(update={"draws": 232})}  # type: ignore[union-attr]
    )
    ext = run_importance(more, chain, tmp_path / "cut", workers=1)
    np.testing.assert_array_equal(ext.log_weights[:200], full.log_weights)
    # a stage-2 checkpoint of other proposal settings is refused
    other = cfg.model_copy(
        update={"importance": cfg.importance.model_copy(update={"scale": 2.0})}  # type: ignore[union-attr]
    )
    with pytest.raises(InputError, match="same config and stage 1"):
        run_importance(other, chain, tmp_path / "cut", workers=1)


def test_stage2_same_with_one_and_two_workers_and_dask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(_toy_two_stage(tmp_path, draws=64))
    chain = run_sampler(cfg, tmp_path / "s1", workers=1)
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(HERE), old) if p))
    one = run_importance(cfg, chain, tmp_path / "one", workers=1)
    two = run_importance(cfg, chain, tmp_path / "two", workers=2)
    np.testing.assert_array_equal(one.log_weights, two.log_weights)
    np.testing.assert_array_equal(one.blobs, two.blobs)
    from distributed import Client

    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as c:
        dask = run_importance(cfg, chain, tmp_path / "dask", scheduler=c)
    np.testing.assert_array_equal(one.log_weights, dask.log_weights)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("draws", 0, "importance.draws"),
        ("defensive", 1.0, "importance.defensive"),
        ("df", -1, "importance.df"),
        ("scale", 0, "importance.scale"),
        ("batch", 0, "importance.batch"),
        ("mixture", 3, "importance.mixture"),
    ],
)
def test_bad_importance_values_give_one_line_errors(
    tmp_path: Path, field: str, value: float, match: str
) -> None:
    from conftest import write_config

    p = write_config(tmp_path, importance={field: value})
    with pytest.raises(InputError, match=match) as err:
        load_config(p)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(str(p))


def test_config_without_importance_keeps_its_hashes(tmp_path: Path) -> None:
    from conftest import write_config

    plain = load_config(write_config(tmp_path))
    assert plain.importance is None
    assert "importance" not in json.dumps(plain.digest())
    two = load_config(_toy_two_stage(tmp_path))
    one = plain.model_copy(update={"sampler": two.sampler})
    # stage 1 does not depend on stage 2: same chain digest, other config digest
    assert one.chain_digest() == two.chain_digest()
    assert one.digest() != two.digest()


def test_cli_two_stages_writes_diagnostics_and_shows(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from blinasim.calibrate.ensemble import load_posterior
    from blinasim.cli import _register, app

    _register()
    config = _toy_two_stage(tmp_path)
    out = tmp_path / "out"
    args = ["calibrate", "--config", str(config), "--workers", "1", "--out", str(out)]
    r = CliRunner().invoke(app, [*args, "--no-checks"])
    assert r.exit_code == 0, r.output
    assert "k-hat" in r.output
    ens = load_posterior(out)
    assert len(ens) == 20
    assert "importance sampling" in ens.meta["method"]
    d = ens.meta["diagnostics"]
    assert d["importance"]["draws"] == 200
    assert d["n_evaluations"] == 8 * 31 + 200
    assert "split_rhat" in d["stage1_emcee"]
    khat_max = 1 - 1 / math.log10(200)  # 0.565: PSIS's threshold for 200 draws
    assert d["importance"]["pareto_k_threshold"] == pytest.approx(khat_max)
    assert d["converged"] == (
        d["importance"]["pareto_k"] < khat_max and d["importance"]["ess"] >= 20
    )
    html = (out / "report.html").read_text()
    assert "Pareto k-hat" in html
    assert "not medical advice" in html
    r = CliRunner().invoke(app, ["calibrate", "show", str(out)])
    assert r.exit_code == 0, r.output
    assert "importance sampling" in " ".join(r.output.split())
    r = CliRunner().invoke(app, ["calibrate", "check", str(out), "--draws", "2"])
    assert r.exit_code == 0, r.output
    # a second invocation resumes both stages and re-writes the same posterior
    before = user_posterior(out).read_text()
    r = CliRunner().invoke(app, [*args, "--no-checks"])
    assert r.exit_code == 0, r.output
    assert user_posterior(out).read_text() == before


@pytest.mark.slow
def test_sigkill_during_stage2_then_restart_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """Three CLI subprocesses (about 20 s unloaded): SIGKILL in stage 2, restart, compare."""
    import signal
    import subprocess
    import sys
    import time

    import pandas as pd

    config = _toy_two_stage(tmp_path, draws=320)

    def args(out: Path) -> list[str]:
        return [
            sys.executable,
            *("-m", "blinasim", "calibrate", "--config", str(config)),
            *("--workers", "1", "--out", str(out), "--no-checks"),
        ]

    env = {**os.environ, "PYTHONPATH": str(HERE), "BLINASIM_TOY_SLEEP_S": "0"}
    ref = subprocess.run(args(tmp_path / "ref"), env=env, capture_output=True, timeout=120)
    assert ref.returncode == 0, ref.stderr.decode()
    cut = tmp_path / "cut"
    slow = {**env, "BLINASIM_TOY_SLEEP_S": "0.01"}
    proc = subprocess.Popen(
        args(cut), env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ck = cut / CHECKPOINT_IS
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if ck.exists() and load_importance(ck).draws >= 64:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    at_kill = load_importance(ck).draws
    assert 0 < at_kill < 320
    again = subprocess.run(args(cut), env=env, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    a = pd.read_csv(user_posterior(tmp_path / "ref"))
    b = pd.read_csv(user_posterior(cut))
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(
        load_importance(tmp_path / "ref" / CHECKPOINT_IS).log_weights,
        load_importance(ck).log_weights,
    )


def test_process_pool_unpickles_the_function_once_per_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The log posterior's set-up is paid once per worker, not at every evaluation."""
    from blinasim.calibrate.sampler import ProcessPool

    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(HERE), old) if p))
    from toy_sim import WhoAmI

    pool = ProcessPool(2)
    try:
        fn = WhoAmI()
        res = pool.map(fn, range(12)) + pool.map(fn, range(12, 24))
    finally:
        pool.close()
    assert [r[2] for r in res] == list(range(24))
    assert {r[1] for r in res} == {1}  # every worker unpickled the function once


def test_adaptive_rounds_recover_from_a_poor_stage1(tmp_path: Path) -> None:
    """Stage 1 off-centre and half as wide: three adaptive rounds (deterministic-mixture
    weights) still give the exact posterior, with more effective draws than one round."""
    cfg = load_config(_normal_config(tmp_path, rounds=3))
    post = LogPosterior(cfg)
    exact = _exact_marginals(post)
    chain = _fake_stage1(post, [0.15, 0.95], [0.01, 0.05])
    cfg0 = cfg.model_copy(update={"sampler": cfg.sampler.model_copy(update={"burn_in": 0})})
    one = cfg0.model_copy(
        update={"importance": cfg0.importance.model_copy(update={"rounds": 1})}  # type: ignore[union-attr]
    )
    run = run_importance(cfg0, chain, tmp_path / "is3", workers=1, posterior=post)
    run1 = run_importance(one, chain, tmp_path / "is1", workers=1, posterior=post)
    assert len(run.proposals) == 3
    assert run.round_counts() == [1000, 1000, 1000]
    res, res1 = psis(run.log_weights), psis(run1.log_weights)
    assert res.ess > 1.5 * res1.ess
    assert res.pareto_k < 0.7
    w = res.weights
    for j, (m, s) in enumerate(exact):
        x = run.theta[:, j]
        wm = float(np.sum(w * x))
        wsd = float(np.sqrt(np.sum(w * (x - wm) ** 2)))
        assert abs(wm - m) < 4 * s / math.sqrt(res.ess), (j, wm, m)
        assert abs(wsd / s - 1) < 0.1, (j, wsd, s)
    assert importance_diagnostics(run, 200).from_prior > 0


def test_adaptive_rounds_resume_bit_identically(tmp_path: Path) -> None:
    cfg = load_config(_toy_two_stage(tmp_path, rounds=2))
    chain = run_sampler(cfg, tmp_path / "s1", workers=1)
    full = run_importance(cfg, chain, tmp_path / "full", workers=1)
    assert len(full.proposals) == 2
    assert full.round_counts() == [100, 100]

    def stop_in_round_2(done: int, total: int, run: object) -> None:
        if done >= 132:
            raise _Stop

    with pytest.raises(_Stop):
        run_importance(cfg, chain, tmp_path / "cut", workers=1, on_batch=stop_in_round_2)
    assert load_importance(tmp_path / "cut" / CHECKPOINT_IS).draws == 132
    resumed = run_importance(cfg, chain, tmp_path / "cut", workers=1)
    _assert_same_draws(full, resumed)
    # with rounds, the number of draws sets the round boundaries: part of the checkpoint key
    more = cfg.model_copy(
        update={"importance": cfg.importance.model_copy(update={"draws": 232})}  # type: ignore[union-attr]
    )
    with pytest.raises(InputError, match="same config and stage 1"):
        run_importance(more, chain, tmp_path / "cut", workers=1)
