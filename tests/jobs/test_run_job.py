import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from blinasim.errors import InputError
from blinasim.jobs.run import RunConfig, run

CFG = RunConfig(replicates=2, seed=11, posterior=None)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run(CFG, out, workers=1)


def test_summary_has_the_documented_keys(finished):
    s = json.loads((finished.out_dir / "summary.json").read_text())
    for key in (
        "n_randomized",
        "dfs_3y",
        "dfs_3y_by_stratum",
        "os_3y",
        "hazard_ratio_dfs",
        "logrank_p_stratified",
        "rmst_difference_days",
        "relapse_cumulative_incidence_3y",
        "ae_grade3plus",
        "published",
    ):
        assert key in s, key
    assert set(s["n_randomized"]) == {"blinatumomab", "chemotherapy"}
    for arm in ("blinatumomab", "chemotherapy"):
        d = s["dfs_3y"][arm]
        assert set(d) == {"estimate", "se", "lower", "upper"}
        assert 0.5 < d["estimate"] < 1.0
        assert d["lower"] <= d["estimate"] <= d["upper"]
        assert set(s["relapse_cumulative_incidence_3y"][arm]) == {
            "marrow",
            "cns_isolated",
            "combined",
        }
        assert 0.0 <= s["ae_grade3plus"][arm]["febrile_neutropenia"] <= 1.0
    assert set(s["dfs_3y_by_stratum"]) == {"SR-Average", "SR-High"}
    assert s["rmst_difference_days"]["tau_days"] > 0
    assert s["published"]["dfs_3y"]["chemotherapy"]["estimate"] == 0.879
    assert "not medical advice" in s["disclaimer"]
    # blinatumomab helps in the model, as in the trial
    assert s["dfs_3y"]["blinatumomab"]["estimate"] > s["dfs_3y"]["chemotherapy"]["estimate"]
    assert s["hazard_ratio_dfs"]["estimate"] < 1


def test_outputs_written(finished):
    for name in ("patients", "adtte", "looks", "estimates"):
        assert (finished.out_dir / f"{name}.parquet").exists()
    adtte = pd.read_parquet(finished.out_dir / "adtte.parquet")
    assert set(adtte["PARAMCD"]) == {"DFS", "OS", "EFS"}
    assert set(adtte["CNSR"]) <= {0, 1}
    html = (finished.out_dir / "report.html").read_text()
    assert "not medical advice" in html
    assert html.count("data:image/png;base64,") >= 8
    manifest = json.loads((finished.out_dir / "manifest.json").read_text())
    assert manifest["seed"] == 11
    assert manifest["replicates"] == 2


def test_patient_details_agree_with_the_trial_data(finished):
    """The children behind the ADTTE rows are the trial's own: same DFS events."""
    adtte = pd.read_parquet(finished.out_dir / "adtte.parquet")
    patients = pd.read_parquet(finished.out_dir / "patients.parquet")
    dfs = adtte[(adtte["PARAMCD"] == "DFS") & (adtte["REPLICATE"] == 0)]
    p = patients[patients["replicate"] == 0]
    assert len(p) == len(dfs)
    np.testing.assert_array_equal(p["dfs_event"].to_numpy(), (dfs["CNSR"] == 0).to_numpy())
    # an event that is a relapse has a site; non-relapse events are cause 4
    rel = dfs["EVNTDESC"].to_numpy() == "RELAPSE"
    assert (p["dfs_cause"].to_numpy()[rel] > 0).all()
    assert set(p.loc[~rel & (p["dfs_event"] == 1), "dfs_cause"]) <= {4}
    assert set(p["protocol_arm"]) <= {"A", "B", "C", "D"}
    assert (p.loc[p["arm"] == "blinatumomab", "protocol_arm"].isin(["B", "D"])).all()


def test_interrupted_run_resumes_to_the_same_numbers(finished, tmp_path):
    class Stop(Exception):
        pass

    calls = {"n": 0}

    def stop_after_first(done: int, total: int) -> None:
        calls["n"] += 1
        if done == 1:
            raise Stop

    with pytest.raises(Stop):
        run(CFG, tmp_path, workers=1, progress=stop_after_first)
    assert len(list((tmp_path / "checkpoints").glob("*.done.json"))) == 1
    resumed = run(CFG, tmp_path, workers=1)
    assert (tmp_path / "summary.json").read_bytes() == (
        finished.out_dir / "summary.json"
    ).read_bytes()
    assert resumed.summary == finished.summary


def test_other_config_in_the_same_folder_is_refused(finished):
    with pytest.raises(InputError, match=r"made with other inputs.*seed differ"):
        run(RunConfig(replicates=2, seed=12, posterior=None), finished.out_dir, workers=1)


def test_bad_workers_leave_no_folder(tmp_path):
    with pytest.raises(InputError, match="--workers: expected workers >= 1"):
        run(CFG, tmp_path / "w0", workers=0)
    assert not (tmp_path / "w0").exists()


def test_bad_arguments():
    with pytest.raises(InputError, match="at least 1 replicate"):
        run(RunConfig(replicates=0, posterior=None), None)
    with pytest.raises(InputError, match="known trial"):
        run(RunConfig(trial="aall0932", posterior=None), None)


def test_two_workers_same_numbers(finished, tmp_path):
    two = run(CFG, tmp_path, workers=2, report=False)
    assert (tmp_path / "summary.json").read_bytes() == (
        finished.out_dir / "summary.json"
    ).read_bytes()
    assert two.summary == finished.summary


def test_cli_bad_protocol_is_one_line(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\narms: 3\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "blinasim",
            "run",
            "aall1731",
            "-r",
            "1",
            "--protocol",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "p.yaml" in out.stderr


def test_cli_twice_same_seed_byte_identical_summary(tmp_path):
    outs = []
    procs = []
    for i in range(2):
        out = tmp_path / f"o{i}"
        outs.append(out)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "blinasim",
                    "run",
                    "aall1731",
                    "-r",
                    "1",
                    "--seed",
                    "5",
                    "--workers",
                    "1",
                    "--out",
                    str(out),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr
        assert "not medical advice" in " ".join(stdout.split())
        assert "report:" in stdout
    a, b = ((o / "summary.json").read_bytes() for o in outs)
    assert a == b
    assert len(a) > 1000


def test_shipped_posterior_is_the_default(tmp_path):
    """By default each replicate draws one parameter set of the shipped posterior."""
    assert RunConfig().posterior == "shipped"
    res = run(RunConfig(replicates=2, seed=11), tmp_path, workers=1, report=False)
    assert res.calibration.startswith("calibrated: posterior")
    assert [e.draw for e in res.estimates] == [0, 1]
    none = run(
        RunConfig(replicates=1, seed=11, posterior="none"), tmp_path / "n", workers=1, report=False
    )
    assert "--posterior none" in none.calibration
    assert none.estimates[0].draw == 0
    with pytest.raises(InputError, match="posterior"):
        run(RunConfig(replicates=1, posterior=str(tmp_path / "none.csv")), tmp_path / "x")
