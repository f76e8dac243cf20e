"""issue #11: the reference arm, files of several replicates, not-estimable quantities,
the statement real data carry, and the output folder of ``blinasim analyze``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinasim.analysis.arms import resolve_control
from blinasim.analysis.core import analyze_endpoint
from blinasim.analysis.read import validate_adtte
from blinasim.analysis.run import analyze_table, veteran_adtte
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.jobs.analyze import analyze_file

YEAR = 365.25


def trial_frame(
    n: int = 300,
    *,
    seed: int = 1,
    arms: tuple[str, str] = ("chemotherapy", "blinatumomab"),
    follow_years: float = 5.0,
) -> pd.DataFrame:
    """A small two-arm ADTTE table; the second arm has a third of the first one's hazard."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(arms, n // 2)
    rate = np.where(arm == arms[0], 0.10, 0.033) / YEAR
    t = rng.exponential(1 / rate)
    c = rng.uniform(0.5, follow_years, len(arm)) * YEAR
    return pd.DataFrame(
        {
            "USUBJID": [f"S-{i:04d}" for i in range(len(arm))],
            "PARAMCD": "DFS",
            "TRT01P": arm,
            "AVAL": np.minimum(t, c),
            "CNSR": (t > c).astype(int),
        }
    )


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blinasim", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
    )


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


# --- reference arm ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arms", "control", "column"),
    [
        (("chemotherapy", "blinatumomab"), "chemotherapy", "TRT01P"),
        (("Chemotherapy", "Blinatumomab + chemotherapy"), "Chemotherapy", "TRT01P"),
        (("Placebo", "Drug X"), "Placebo", "TRT01P"),
        (("standard", "test"), "standard", "TRT01P"),
        (("Standard of care", "Intensified chemotherapy"), "Standard of care", "TRT01P"),
        (("control arm", "experimental"), "control arm", "ARM"),
    ],
)
def test_control_recognised_from_labels(arms: tuple[str, str], control: str, column: str) -> None:
    # the recognised arm is the reference whatever the alphabetical order
    df = validate_adtte(trial_frame(arms=arms).rename(columns={"TRT01P": column}))
    a = analyze_endpoint(df, paramcd="DFS")
    assert a.control == control
    assert a.control_reason == f"recognised from {column} value {control!r}"


def test_control_recognised_from_armcd() -> None:
    raw = trial_frame(arms=("Arm 1", "Arm 2"))
    raw["ARMCD"] = np.where(raw["TRT01P"] == "Arm 2", "PBO", "DRUGX")
    a = analyze_endpoint(validate_adtte(raw), paramcd="DFS")
    assert a.control == "Arm 2"
    assert a.control_reason == "recognised from ARMCD value 'PBO'"


def test_hazard_ratio_is_treatment_versus_recognised_control() -> None:
    # the project's own data once read "chemotherapy vs blinatumomab, HR 3.49" (inverted)
    run = analyze_table(validate_adtte(trial_frame(n=2000)), source="x.csv")
    a = run.analyses[0]
    assert (a.treatment, a.control) == ("blinatumomab", "chemotherapy")
    assert a.hazard_ratio.estimate < 0.5
    assert run.lines()[0] == (
        "reference arm: chemotherapy (recognised from TRT01P value 'chemotherapy')"
    )


@pytest.mark.parametrize(
    "arms",
    [
        ("drug A", "drug B"),  # nothing names a control
        ("placebo", "placebo + drug"),  # fine: only one plain placebo arm ...
        ("standard dose", "standard dose, longer"),  # ... but two "standard" arms: ambiguous
    ],
)
def test_unrecognisable_control_asks_for_it(arms: tuple[str, str]) -> None:
    df = validate_adtte(trial_frame(arms=arms))
    if arms[0] == "placebo":
        assert analyze_endpoint(df, paramcd="DFS").control == "placebo"
        return
    with pytest.raises(InputError, match="--control naming the reference arm") as err:
        analyze_endpoint(df, paramcd="DFS")
    assert "\n" not in str(err.value)


def test_given_control_wins_and_must_be_an_arm() -> None:
    df = validate_adtte(trial_frame(arms=("drug A", "drug B")))
    ref = resolve_control(df, ["drug A", "drug B"], "Drug B")
    assert (ref.arm, ref.reason) == ("drug B", "given by --control")
    with pytest.raises(InputError, match="--control naming one of the arms"):
        resolve_control(df, ["drug A", "drug B"], "drug C")


# --- several replicates -----------------------------------------------------------------


def replicates_frame(r: int = 4, n: int = 400) -> pd.DataFrame:
    frames = [trial_frame(n=n, seed=10 + k).assign(REPLICATE=k) for k in range(r)]
    return pd.concat(frames, ignore_index=True)  # USUBJIDs repeat across replicates


def test_replicates_are_analysed_one_by_one_and_pooled() -> None:
    raw = replicates_frame()
    df = validate_adtte(raw)
    run = analyze_table(df, source="adtte.parquet")
    assert run.analyses == ()
    (p,) = run.pooled
    assert list(p.per_replicate["replicate"]) == [0, 1, 2, 3]
    hrs = []
    for k in range(4):
        one = validate_adtte(raw[raw["REPLICATE"] == k].drop(columns="REPLICATE"))
        hrs.append(analyze_endpoint(one, paramcd="DFS").hazard_ratio.estimate)
    np.testing.assert_allclose(p.per_replicate["hazard ratio"], hrs, rtol=1e-12)
    row = p.pooled.set_index("quantity").loc["hazard ratio"]
    assert row["mean"] == pytest.approx(np.mean(hrs), rel=1e-12)
    assert row["q2.5"] == pytest.approx(np.quantile(hrs, 0.025), rel=1e-12)
    assert row["q97.5"] == pytest.approx(np.quantile(hrs, 0.975), rel=1e-12)
    assert "4 replicates (REPLICATE) analysed one by one and pooled" in run.lines()[2]
    assert run.origin.simulated  # a REPLICATE column is blinasim's simulated ADTTE


def test_studyid_per_trial_is_a_replicate_column() -> None:
    raw = replicates_frame(r=3)
    raw["STUDYID"] = "SIM-" + raw.pop("REPLICATE").astype(str)
    run = analyze_table(validate_adtte(raw), source="sim.csv")
    assert run.replicate_column == "STUDYID"
    assert len(run.pooled[0].per_replicate) == 3


def test_duplicate_ids_without_replicate_column_still_refused() -> None:
    raw = replicates_frame(r=2).drop(columns="REPLICATE")
    with pytest.raises(InputError, match="one row per USUBJID and PARAMCD"):
        validate_adtte(raw)


def test_run_output_is_analysed(tmp_path: Path) -> None:
    """The layout of ``blinasim run``'s adtte.parquet (with its manifest) is accepted."""
    folder = tmp_path / "run"
    folder.mkdir()
    raw = replicates_frame(r=2)
    raw["ARM"] = raw["TRT01P"]
    raw["ARMCD"] = np.where(raw["TRT01P"] == "chemotherapy", "chemo", "blina")
    raw["STUDYID"] = "aall1731"
    raw.to_parquet(folder / "adtte.parquet")
    (folder / "manifest.json").write_text(
        json.dumps({"kind": "aall1731-replication", "files": {"adtte": "adtte.parquet"}})
    )
    out = cli("analyze", str(folder / "adtte.parquet"), "--out", "a", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert first == "reference arm: chemotherapy (recognised from TRT01P value 'chemotherapy')"
    assert "2 replicates (REPLICATE) analysed one by one and pooled" in out.stdout
    s = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert s["data"] == "simulated"
    assert s["disclaimer"] == DISCLAIMER
    assert len(s["endpoints"]["DFS"]["per_replicate"]) == 2
    # the run's own folder is not overwritten by an analysis
    line = one_line_error(
        cli("analyze", str(folder / "adtte.parquet"), "--out", str(folder), cwd=tmp_path)
    )
    assert "aall1731-replication" in line


# --- not estimable ----------------------------------------------------------------------


def test_all_censored_is_refused_in_one_line(tmp_path: Path) -> None:
    f = tmp_path / "cens.csv"
    trial_frame().assign(CNSR=1).to_csv(f, index=False)
    with pytest.raises(InputError, match=r"at least one event \(CNSR = 0\)"):
        analyze_file(f, out_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()  # no empty results folder left behind
    line = one_line_error(cli("analyze", "cens.csv", cwd=tmp_path))
    assert "every row is censored" in line
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_milestone_past_last_follow_up_is_not_estimable() -> None:
    df = validate_adtte(trial_frame(follow_years=2.1))
    a = analyze_endpoint(df, paramcd="DFS", milestone_days=3 * YEAR)
    for arm in a.arms:
        m = arm.milestone
        assert not m.estimable
        assert np.isnan(m.estimate)
        assert m.percent().startswith("not estimable: last follow-up 2.")
        assert m.as_dict()["not_estimable"].startswith("last follow-up 2.")
    # inside the follow-up: an estimate
    b = analyze_endpoint(df, paramcd="DFS", milestone_days=1 * YEAR)
    assert all(x.milestone.estimable for x in b.arms)


def test_hazard_ratio_without_events_in_an_arm_is_not_estimable() -> None:
    raw = trial_frame()
    raw.loc[raw["TRT01P"] == "blinatumomab", "CNSR"] = 1
    a = analyze_endpoint(validate_adtte(raw), paramcd="DFS", milestone_days=YEAR)
    assert a.hazard_ratio.note == "no events in arm blinatumomab"
    assert np.isfinite(a.logrank_p)  # the test itself is fine


def test_cli_flags_not_estimable_and_never_prints_nan(tmp_path: Path) -> None:
    trial_frame(follow_years=2.1).to_csv(tmp_path / "short.csv", index=False)
    out = cli("analyze", "short.csv", "--out", "o", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "not estimable: last follow-up 2." in out.stdout
    assert "nan" not in out.stdout.lower()
    html = (tmp_path / "o" / "report.html").read_text()
    assert "not estimable: last follow-up 2." in html
    assert "nan%" not in html


# --- statements, paths, modes -----------------------------------------------------------


def test_real_data_carry_a_real_data_statement(tmp_path: Path) -> None:
    f = tmp_path / "trial.csv"
    trial_frame().to_csv(f, index=False)
    run = analyze_file(f.resolve(), out_dir=tmp_path / "o")
    assert not run.origin.simulated
    html = (tmp_path / "o" / "report.html").read_text()
    summary = (tmp_path / "o" / "summary.json").read_text()
    for text in (html, summary):
        assert "Analysis of the data in trial.csv" in text
        assert "agree with R survival" in text
        assert "predictions are simulations" not in text
        assert str(tmp_path) not in text  # no absolute machine path
    assert json.loads(summary)["source"] == "trial.csv"
    for name in ("report.html", "summary.json", "manifest.json"):
        assert stat.S_IMODE((tmp_path / "o" / name).stat().st_mode) == 0o644


def test_relative_path_is_shown_as_given(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    trial_frame().to_csv(tmp_path / "data" / "t.csv", index=False)
    out = cli("analyze", "data/t.csv", "--out", "o", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["source"] == "data/t.csv"


def test_simulated_data_keep_the_disclaimer(tmp_path: Path) -> None:
    replicates_frame(r=2).to_csv(tmp_path / "sim.csv", index=False)
    run = analyze_file(tmp_path / "sim.csv", out_dir=tmp_path / "o")
    assert run.origin.simulated
    assert DISCLAIMER in (tmp_path / "o" / "report.html").read_text()


# --- bad options, one line each ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--out", "afile"],
            "afile: --out: expected a folder for the results (this path is a file)",
        ),
        (["--out", "/dev/null"], "/dev/null: --out: expected a folder"),
        (["--out", "cmp"], "cmp: --out: expected a folder for analysis results"),
        (["--milestone-years", "0"], "--milestone-years: expected a positive number of years"),
        (["--milestone-years", "nan"], "--milestone-years: expected a positive number"),
        (["--tau-years", "-1"], "--tau-years: expected a positive number of years"),
        (["--control", "surgery"], "--control: expected --control naming one of the arms"),
        (["--param", "OS"], "PARAMCD OS in the data"),
    ],
)
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    trial_frame().to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "afile").write_text("")
    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "manifest.json").write_text(json.dumps({"kind": "compare"}))
    line = one_line_error(cli("analyze", "t.csv", *args, cwd=tmp_path))
    assert expected in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_read_only_out_is_one_line(tmp_path: Path) -> None:
    trial_frame().to_csv(tmp_path / "t.csv", index=False)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        line = one_line_error(cli("analyze", "t.csv", "--out", "ro", cwd=tmp_path))
        assert "ro: --out: expected a writable folder" in line
    finally:
        ro.chmod(0o755)


def test_unrecognisable_control_cli_asks_for_it(tmp_path: Path) -> None:
    trial_frame(arms=("drug A", "drug B")).to_csv(tmp_path / "t.csv", index=False)
    line = one_line_error(cli("analyze", "t.csv", "--out", "o", cwd=tmp_path))
    assert "expected --control naming the reference arm" in line
    out = cli("analyze", "t.csv", "--out", "o", "--control", "drug B", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "reference arm: drug B (given by --control)"


def test_same_inputs_may_rewrite_their_folder_other_inputs_may_not(tmp_path: Path) -> None:
    trial_frame().to_csv(tmp_path / "t.csv", index=False)
    assert cli("analyze", "t.csv", "--out", "o", cwd=tmp_path).returncode == 0
    assert cli("analyze", "t.csv", "--out", "o", cwd=tmp_path).returncode == 0
    line = one_line_error(
        cli("analyze", "t.csv", "--out", "o", "--milestone-years", "2", cwd=tmp_path)
    )
    assert "o: --out: expected a folder of an earlier analysis run with the same inputs" in line


def test_veteran_control_is_recognised() -> None:
    a = analyze_endpoint(validate_adtte(veteran_adtte()), paramcd="OS", milestone_days=180)
    assert a.control_reason == "recognised from TRT01P value 'standard'"
