"""``blinasim report DIR`` re-renders a report from its results folder, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinasim.cli import main
from blinasim.disclaimer import DISCLAIMER


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def rerender_is_identical(capsys: pytest.CaptureFixture[str], folder: Path) -> str:
    first = (folder / "report.html").read_bytes()
    (folder / "report.html").unlink()
    code, out, err = call(capsys, "report", str(folder))
    assert code == 0, err
    assert "report.html" in out
    again = (folder / "report.html").read_bytes()
    assert again == first
    return again.decode("utf-8")


def test_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code, _, err = call(
        capsys, "run", "-r", "2", "--posterior", "none", "--workers", "1", "--out", str(out)
    )
    assert code == 0, err
    html = rerender_is_identical(capsys, out)
    assert DISCLAIMER in html
    assert "isolated CNS" in html
    assert "cns_isolated" not in html
    assert "not published" in html
    assert "(SE " in html
    assert "blinatumomab phases in arms B and D" in html


def test_analysis_and_example_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = call(capsys, "example", "--out", str(tmp_path / "ex"))
    assert code == 0, err
    html = rerender_is_identical(capsys, tmp_path / "ex")
    assert "Analysis of the data in survival::veteran" in html
    rng = np.random.default_rng(1)
    n = 200
    pd.DataFrame(
        {
            "USUBJID": [f"S{i}" for i in range(n)],
            "PARAMCD": "DFS",
            "TRT01P": np.where(np.arange(n) % 2, "chemotherapy", "blinatumomab"),
            "AVAL": rng.exponential(900, n).round() + 1,
            "CNSR": (rng.uniform(size=n) < 0.6).astype(int),
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    code, _, err = call(capsys, "analyze", str(tmp_path / "t.csv"), "--out", str(tmp_path / "a"))
    assert code == 0, err
    rerender_is_identical(capsys, tmp_path / "a")


def test_compare_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = call(capsys, "compare", "aall1731", "--n", "300", "--out", str(tmp_path / "c"))
    assert code == 0, err
    html = rerender_is_identical(capsys, tmp_path / "c")
    assert "paired_difference" not in html
    assert "3-year DFS (SE)" in html
    assert DISCLAIMER in html


def calibration_folder(d: Path) -> Path:
    """A small hand-made calibration folder: report.json and the posterior CSV."""
    d.mkdir()
    rng = np.random.default_rng(0)
    keys = ["a.x", "b.y"]
    draws = pd.DataFrame(
        {"draw": range(20), "a.x": rng.normal(size=20), "b.y": rng.normal(size=20)}
    )
    draws.to_csv(d / "posterior_toy_v1.csv", index=False)
    targets = [
        {
            "target": t, "description": t, "used": used, "role": role, "published": 0.9,
            "published_se": 0.02, "predicted_mean": 0.89, "model_q025": 0.87,
            "model_q975": 0.91, "ppi_q025": 0.85, "ppi_q975": 0.93, "z": 0.5,
            "within_2se": True, "inside_ppi": True, "mc_se": 0.001, "source": "s",
        }
        for t, used, role in (("dfs3_all_blina", "fit", "fitted"), ("t2", "held out", "held_out"))
    ]  # fmt: skip
    doc = {
        "config": {
            "fit": ["dfs3_all_blina"],
            "hold_out": ["t2"],
            "simulation": {"n_patients": 100},
            "sampler": {"walkers": 4, "burn_in": 2},
        },
        "posterior": {
            "name": "toy",
            "version": 1,
            "method": "emcee",
            "free_parameters": keys,
            "steps": 10,
            "ensemble_size": 20,
            "diagnostics": {
                "acceptance_fraction": 0.3,
                "effective_samples": 12.0,
                "chain_shorter_than_50_tau": True,
                "split_rhat": {"a.x": 1.01, "b.y": 1.2},
                "n_evaluations": 40,
                "sampler_wall_time_s": 1.0,
            },
        },
        "parameters": [{"parameter": k, "mean": 0.0, "sd": 1.0} for k in keys],
        "targets": targets,
        "warnings": ["convergence: emcee chain shorter than 50 autocorrelation times"],
        "converged": False,
        "timing": {"total": 1.0},
        "stage_comparison": None,
        "fresh_seed_check": None,
        "dfs_curves": None,
        "disclaimer": DISCLAIMER,
        "posterior_file": "posterior_toy_v1.csv",
    }
    (d / "report.json").write_text(json.dumps(doc))
    return d


def test_calibrate_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = calibration_folder(tmp_path / "cal")
    code, _, err = call(capsys, "report", str(d))
    assert code == 0, err
    html = rerender_is_identical(capsys, d)
    assert "held out" in html
    assert "fitted" in html
    assert "NO: emcee chain shorter than 50 autocorrelation times" in html


@pytest.mark.parametrize("kind", ["missing", "empty", "other"])
def test_not_a_results_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    d = tmp_path / "d"
    if kind != "missing":
        d.mkdir()
    if kind == "other":
        (d / "manifest.json").write_text(json.dumps({"kind": "something else"}))
    code, _, err = call(capsys, "report", str(d))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: ")
    assert "expected a results folder" in err
    assert not (d / "report.html").exists()
