"""``blinasim trial ...`` end to end (subprocess, as a user runs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from blinasim.cli import main

from .conftest import small_doc


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``blinasim trial ...`` in-process; (exit code, stdout, stderr)."""
    code = 0
    try:
        main(["trial", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blinasim", "trial", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(cwd or Path.cwd())},
    )


def test_list_and_boundaries(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "list")
    assert code == 0, err
    assert "aall1731_parametric" in out
    code, out, err = call(capsys, "boundaries", "aall1731_parametric")
    assert code == 0, err
    assert "2.9626" in out  # asOF first look at 50% information


def test_run_is_bit_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design = tmp_path / "small.yaml"
    design.write_text(yaml.safe_dump(small_doc()))
    # once as a user runs it (a fresh process), once in this process
    out = run("run", str(design), "--seed", "4", "--out", str(tmp_path / "a"))
    assert out.returncode == 0, out.stderr
    assert "not medical advice" in out.stdout
    code, _, err = call(capsys, "run", str(design), "--seed", "4", "--out", str(tmp_path / "b"))
    assert code == 0, err
    for table in ("adtte", "looks", "consort", "estimates"):
        a = (tmp_path / "a" / f"{table}.parquet").read_bytes()
        b = (tmp_path / "b" / f"{table}.parquet").read_bytes()
        assert a == b, table
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["seed"] == 4
    assert man["design"]["name"] == "small"
    assert "run_trial" in man["timings_s"]
    assert man["blinasim_version"]
    ad = pd.read_parquet(tmp_path / "a" / "adtte.parquet")
    assert set(ad["PARAMCD"]) == {"DFS", "OS", "EFS"}


def test_replicate_writes_tables(tmp_path: Path) -> None:
    design = tmp_path / "small.yaml"
    design.write_text(yaml.safe_dump(small_doc()))
    out = run(
        "replicate",
        str(design),
        "--n",
        "30",
        "--workers",
        "1",
        "--block-size",
        "10",
        "--out",
        str(tmp_path / "oc"),
    )
    assert out.returncode == 0, out.stderr
    assert "rejection probability" in out.stdout
    assert "not medical advice" in out.stdout
    reps = pd.read_parquet(tmp_path / "oc" / "replicates.parquet")
    assert len(reps) == 30
    assert len(list((tmp_path / "oc" / "checkpoints").glob("block-*.npz"))) == 3
    man = json.loads((tmp_path / "oc" / "manifest.json").read_text())
    assert man["n_replicates"] == 30


def test_bad_design_is_one_line_exit_2(tmp_path: Path) -> None:
    doc = small_doc()
    doc["accrual"]["periods"][0]["rate_per_month"] = "fast"
    design = tmp_path / "bad.yaml"
    design.write_text(yaml.safe_dump(doc))
    out = run("run", str(design))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "bad.yaml" in out.stderr
    assert "accrual.periods[0].rate_per_month" in out.stderr


def test_unknown_design_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = call(capsys, "run", "no_such_design")
    assert code == 2
    assert "shipped designs" in err


def test_checkpoint_of_another_seed_is_refused(tmp_path: Path) -> None:
    design = tmp_path / "small.yaml"
    design.write_text(yaml.safe_dump(small_doc()))
    args = [
        "replicate",
        str(design),
        "--n",
        "10",
        "--workers",
        "1",
        "--block-size",
        "10",
        "--checkpoint-dir",
        str(tmp_path / "ck"),
    ]
    assert run(*args, "--seed", "1", "--out", str(tmp_path / "o1")).returncode == 0
    out = run(*args, "--seed", "2", "--out", str(tmp_path / "o2"))
    assert out.returncode == 2
    assert "seed" in out.stderr
    assert "Traceback" not in out.stderr
