"""Global sensitivity analysis on the toy trial simulator (tests/calibrate/toy_sensitivity)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_config
from toy_sensitivity import CNS_SLOPE, DFS3_SLOPE, read_factors

from blinasim.calibrate.config import load_config
from blinasim.calibrate.sensitivity import (
    CHECKPOINT,
    EPS,
    Settings,
    run_sensitivity,
    select_factors,
    to_values,
)
from blinasim.calibrate.sensitivity_indices import classify
from blinasim.calibrate.sensitivity_outputs import CNS
from blinasim.cli import main
from blinasim.config import ParameterSet
from blinasim.errors import InputError
from blinasim.reports.sensitivity import write_sensitivity

HERE = Path(__file__).parent
FREE = "chemo.kill_induction_per_day"
SIM = {"simulator": "toy_sensitivity:ToyTrialSimulator", "n_patients": 4000}


class _Stop(Exception):
    pass


def _config(tmp_path: Path, **sim: object) -> Path:
    d = tmp_path / "cfg"
    d.mkdir(exist_ok=True)
    return write_config(d, free_parameters=[FREE], simulation={**SIM, **sim})


def _run(tmp_path: Path, out: str, **kw: object) -> object:
    cfg = load_config(_config(tmp_path))
    s = Settings(trajectories=6, noise_seeds=2, batch=16)
    return run_sensitivity(cfg, tmp_path / out, s, **kw)  # type: ignore[arg-type]


def test_morris_recovers_the_toy_effects_through_the_prior_mapping(tmp_path: Path) -> None:
    """mu* of a factor that drives an output equals its slope per prior quantile times the
    central 99% (it would not if values skipped the prior inverse CDF), and it ranks first;
    parameters the toy does not read are reported as not read."""
    res = _run(tmp_path, "a", workers=1)
    fr, fc = read_factors((FREE,))
    ind = res.indices  # type: ignore[attr-defined]
    span = 1 - 2 * EPS

    def mu(factor: str, output: str) -> float:
        row = ind[(ind["factor"] == factor) & (ind["output"] == output)]
        return float(row["mu_star"].iloc[0])

    assert mu(fr.key, "dfs3_arm_A") == pytest.approx(DFS3_SLOPE * span, rel=0.15)
    assert mu(fc.key, CNS) == pytest.approx(CNS_SLOPE * span, rel=0.15)
    for output, top in (("dfs3_arm_A", fr.key), (CNS, fc.key)):
        d = ind[ind["output"] == output].sort_values("mu_star", ascending=False)
        assert d["factor"].iloc[0] == top
        assert d["verdict"].iloc[0] == "matters"
    verdicts = res.factor_verdicts.set_index("factor")["verdict"]  # type: ignore[attr-defined]
    assert verdicts[fr.key] == verdicts[fc.key] == "matters"
    others = verdicts.drop([fr.key, fc.key])
    assert len(others) > 0
    assert (others == "not read").all()
    assert FREE not in set(ind["factor"])  # the free parameter is held fixed
    ev = res.evaluations  # type: ignore[attr-defined]
    assert (ev.loc[ev["kind"] != "design", FREE] == ev[FREE].iloc[0]).all()
    # the values of every design row are the prior quantiles of its unit coordinates
    design = ev[ev["kind"] == "design"]
    u = design[f"u:{fc.key}"].to_numpy()
    np.testing.assert_allclose(
        design[fc.key].to_numpy(), [fc.ppf(EPS + (1 - 2 * EPS) * x) for x in u], rtol=1e-12
    )
    paths = write_sensitivity(res, tmp_path / "a")  # type: ignore[arg-type]
    doc = json.loads(paths["json"].read_text())
    assert doc["method"] == "morris"
    assert doc["rule"]
    assert doc["disclaimer"]
    assert len(pd.read_parquet(paths["parquet"])) == len(ev)
    md = paths["markdown"].read_text()
    assert fr.key in md
    assert "does not matter" in md
    assert paths["html"].read_text().startswith("<!DOCTYPE html>")


def test_unit_to_values_follows_each_prior() -> None:
    ps = ParameterSet.load()
    cfg = load_config(HERE / "toy_config.yaml")
    factors = select_factors(ps, cfg)
    lo = to_values(factors, np.zeros(len(factors)))
    hi = to_values(factors, np.ones(len(factors)))
    for f in factors:
        assert f.cdf(lo[f.key]) == pytest.approx(EPS, abs=1e-9)
        assert f.cdf(hi[f.key]) == pytest.approx(1 - EPS, abs=1e-9)
    assert not set(cfg.free_parameters) & {f.key for f in factors}
    every = select_factors(ps, cfg, all_priors=True)
    assert set(cfg.free_parameters) <= {f.key for f in every}
    plus = select_factors(ps, cfg, include=[cfg.free_parameters[0]])
    assert len(plus) == len(factors) + 1


def test_classify_rule() -> None:
    assert classify(0.0, 0.9, 1.0) == "does not matter"
    assert classify(1.0, 3.0, 1.0) == "matters"
    assert classify(0.5, 1.5, 1.0) == "unclear"
    assert classify(0.0, float("nan"), 1.0) == "unclear"


def test_resume_after_interruption_gives_identical_results(tmp_path: Path) -> None:
    full = _run(tmp_path, "full", workers=1)
    calls = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise _Stop

    with pytest.raises(_Stop):
        _run(tmp_path, "cut", workers=1, on_batch=stop)
    assert (tmp_path / "cut" / CHECKPOINT).exists()
    again = _run(tmp_path, "cut", workers=1, on_batch=lambda done, total: calls.append(done))
    assert calls[2] > 16  # resumed after the saved batches, not from the start
    pd.testing.assert_frame_equal(full.evaluations, again.evaluations)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(full.indices, again.indices)  # type: ignore[attr-defined]


def test_two_workers_and_dask_give_the_same_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(HERE), old) if p))
    one = _run(tmp_path, "one", workers=1)
    two = _run(tmp_path, "two", workers=2)
    pd.testing.assert_frame_equal(one.evaluations, two.evaluations)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(one.indices, two.indices)  # type: ignore[attr-defined]
    from distributed import Client

    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as c:
        dask = _run(tmp_path, "dask", scheduler=c)
    pd.testing.assert_frame_equal(one.evaluations, dask.evaluations)  # type: ignore[attr-defined]


def test_sobol_finds_the_same_drivers(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path))
    s = Settings(method="sobol", trajectories=16, noise_seeds=0, include=(), batch=200)
    res = run_sensitivity(cfg, tmp_path / "s", s, workers=1)
    fr, fc = read_factors((FREE,))
    v = res.factor_verdicts.set_index("factor")["verdict"]
    assert v[fr.key] == v[fc.key] == "matters"
    assert (v.drop([fr.key, fc.key]) == "not read").all()


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``blinasim calibrate sensitivity ARGS`` in this process: (exit status, stderr)."""
    capsys.readouterr()
    try:
        main(["calibrate", "sensitivity", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_cli_runs_and_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, n_patients=1000))
    out = str(tmp_path / "out")
    code, err = _cli(capsys, config, "-r", "3", "--noise-seeds", "1", "-w", "1", "--out", out)
    assert code == 0, err
    assert (tmp_path / "out" / "sensitivity.html").exists()
    assert (tmp_path / "out" / "sensitivity_evaluations.parquet").exists()
    bad = [
        ([config, "--method", "fast"], "--method"),
        ([config, "--method", "sobol", "-r", "10"], "power of 2"),
        ([config, "-r", "1"], "--trajectories"),
        ([config, "--n", "3"], "--n"),
        ([config, "--noise-seeds", "-1"], "--noise-seeds"),
        ([config, "--workers", "0"], "--workers"),
        ([config, "--workers", "1", "--scheduler", "tcp://x:1"], "--scheduler"),
        ([config, "--include", "no.such_parameter", "-w", "1"], "--include"),
        ([str(tmp_path / "missing.yaml")], "missing.yaml"),
        ([config, "--out", "/dev/null"], "--out"),
        ([config, "--posterior", str(tmp_path / "none.csv"), "-w", "1"], "none.csv"),
    ]
    for args, word in bad:
        code, err = _cli(capsys, *args)
        assert code == 2, (args, err)
        lines = [x for x in err.splitlines() if x.strip()]
        assert len(lines) == 1, err
        assert word in err
    # another analysis in the same folder: its checkpoint is refused, --fresh starts over
    other = [config, "-r", "4", "--noise-seeds", "1", "-w", "1", "--out", out]
    code, err = _cli(capsys, *other)
    assert code == 2
    assert "--fresh" in err
    code, err = _cli(capsys, *other, "--fresh")
    assert code == 0, err


def test_a_simulator_without_outcomes_is_refused(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, simulator="toy_sensitivity:NoOutcomes"))
    with pytest.raises(InputError, match="outcomes"):
        run_sensitivity(cfg, tmp_path / "x", Settings(trajectories=2))
