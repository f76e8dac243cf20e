"""emcee sampling on the toy simulator: reproducible, worker-independent, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import user_posterior

from blinasim.calibrate.config import load_config
from blinasim.calibrate.sampler import (
    CHECKPOINT,
    diagnostics,
    load_chain,
    run_sampler,
    select_ensemble,
)
from blinasim.errors import InputError

HERE = Path(__file__).parent
REPO = HERE.parent.parent


class _Stop(Exception):
    pass


def test_same_seed_same_chain_and_sensible_posterior(toy_config: Path, tmp_path: Path) -> None:
    cfg = load_config(toy_config)
    a = run_sampler(cfg, tmp_path / "a", workers=1)
    b = run_sampler(cfg, tmp_path / "b", workers=1)
    np.testing.assert_array_equal(a.chain, b.chain)
    np.testing.assert_array_equal(a.blobs, b.blobs)
    assert a.steps == cfg.sampler.steps
    assert a.complete
    # toy_a = 0.5 + kill_maintenance ~ 0.62 -> kill ~ 0.12; toy_b = kmax / 2 ~ 0.4 -> kmax ~ 0.8
    post = a.chain[cfg.sampler.burn_in + 1 :].reshape(-1, 2)
    assert abs(post[:, 0].mean() - 0.12) < 0.04
    assert abs(post[:, 1].mean() - 0.8) < 0.25
    d = diagnostics(a, cfg.sampler.burn_in)
    assert 0.05 < d.acceptance_fraction < 0.95
    assert d.n_evals == cfg.sampler.walkers * (cfg.sampler.steps + 1)


def test_resume_after_interruption_gives_the_same_result(toy_config: Path, tmp_path: Path) -> None:
    cfg = load_config(toy_config)
    full = run_sampler(cfg, tmp_path / "full", workers=1)

    def stop_at_12(done: int, total: int, ch: object) -> None:
        if done == 12:
            raise _Stop

    with pytest.raises(_Stop):
        run_sampler(cfg, tmp_path / "cut", workers=1, on_step=stop_at_12)
    assert load_chain(tmp_path / "cut" / CHECKPOINT).steps == 10  # saved every 5 steps
    resumed = run_sampler(cfg, tmp_path / "cut", workers=1)
    np.testing.assert_array_equal(full.chain, resumed.chain)
    np.testing.assert_array_equal(full.log_prob, resumed.log_prob)
    # resuming a finished run does nothing
    again = run_sampler(cfg, tmp_path / "cut", workers=1)
    np.testing.assert_array_equal(again.chain, resumed.chain)


def test_checkpoint_of_another_config_is_refused(toy_config: Path, tmp_path: Path) -> None:
    from conftest import write_config

    cfg = load_config(toy_config)
    run_sampler(cfg, tmp_path / "run", workers=1)
    (tmp_path / "other").mkdir()
    other = load_config(write_config(tmp_path / "other", seed=8))
    with pytest.raises(InputError, match="same config"):
        run_sampler(other, tmp_path / "run", workers=1)


def test_two_workers_and_dask_give_the_same_chain(
    toy_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import write_config

    (tmp_path / "c").mkdir()
    cfg = load_config(write_config(tmp_path / "c", sampler={"steps": 6, "burn_in": 2}))
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(HERE), old) if p))
    one = run_sampler(cfg, tmp_path / "one", workers=1)
    two = run_sampler(cfg, tmp_path / "two", workers=2)
    np.testing.assert_array_equal(one.chain, two.chain)
    np.testing.assert_array_equal(one.blobs, two.blobs)
    from distributed import Client

    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as c:
        dask = run_sampler(cfg, tmp_path / "dask", scheduler=c)
    np.testing.assert_array_equal(one.chain, dask.chain)


def test_ensemble_selection_is_reproducible(toy_config: Path, tmp_path: Path) -> None:
    cfg = load_config(toy_config)
    ch = run_sampler(cfg, tmp_path, workers=1)
    a = select_ensemble(ch, cfg.sampler.burn_in, 20, 3)
    b = select_ensemble(ch, cfg.sampler.burn_in, 20, 3)
    np.testing.assert_array_equal(a, b)
    assert a.max() < (ch.steps - cfg.sampler.burn_in) * cfg.sampler.walkers
    with pytest.raises(InputError, match="longer than its burn-in"):
        select_ensemble(ch, ch.steps, 5, 3)


def _args(config: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "blinasim",
        "calibrate",
        "--config",
        str(config),
        "--workers",
        "1",
        "--out",
        str(out),
        "--no-checks",
    ]


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """Three CLI subprocesses (about 20 s unloaded): SIGKILL mid-run, restart, compare."""
    from conftest import write_config

    (tmp_path / "c").mkdir()
    config = write_config(tmp_path / "c", sampler={"steps": 30, "burn_in": 10})
    env = {**os.environ, "PYTHONPATH": str(HERE), "BLINASIM_TOY_SLEEP_S": "0"}
    ref = subprocess.run(_args(config, tmp_path / "ref"), env=env, capture_output=True, timeout=120)
    assert ref.returncode == 0, ref.stderr.decode()
    cut = tmp_path / "cut"
    slow = {**env, "BLINASIM_TOY_SLEEP_S": "0.004"}
    proc = subprocess.Popen(
        _args(config, cut), env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ck = cut / CHECKPOINT
        if ck.exists() and load_chain(ck).steps >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    steps_at_kill = load_chain(cut / CHECKPOINT).steps
    assert 0 < steps_at_kill < 30
    again = subprocess.run(_args(config, cut), env=env, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    a = pd.read_csv(user_posterior(tmp_path / "ref"))
    b = pd.read_csv(user_posterior(cut))
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(
        load_chain(tmp_path / "ref" / CHECKPOINT).chain, load_chain(cut / CHECKPOINT).chain
    )


def test_differential_evolution_moves(tmp_path: Path) -> None:
    """``moves: de`` samples the same toy posterior, resumes bit-identically, and a config
    with the default moves hashes as before the option existed."""
    from conftest import write_config

    for d in ("s", "d", "bad"):
        (tmp_path / d).mkdir()
    base = load_config(write_config(tmp_path / "s"))
    cfg = load_config(write_config(tmp_path / "d", sampler={"moves": "de"}))
    assert base.sampler.moves == "stretch"
    assert cfg.chain_digest() != base.chain_digest()
    doc = base.model_dump(mode="json")
    assert "moves" in doc["sampler"]  # ...but left out of the hashes when it is the default
    full = run_sampler(cfg, tmp_path / "full", workers=1)
    post = full.chain[cfg.sampler.burn_in + 1 :].reshape(-1, 2)
    assert abs(post[:, 0].mean() - 0.12) < 0.04
    assert abs(post[:, 1].mean() - 0.8) < 0.25

    def stop_at_12(done: int, total: int, ch: object) -> None:
        if done == 12:
            raise _Stop

    with pytest.raises(_Stop):
        run_sampler(cfg, tmp_path / "cut", workers=1, on_step=stop_at_12)
    resumed = run_sampler(cfg, tmp_path / "cut", workers=1)
    np.testing.assert_array_equal(full.chain, resumed.chain)
    with pytest.raises(InputError, match="moves"):
        load_config(write_config(tmp_path / "bad", sampler={"moves": "walk"}))
