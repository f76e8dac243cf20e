"""``blinasim reconstruct``: points and at-risk CSVs in, an ADTTE file and its checks out
(the two arms of survival::colon from tests/golden/guyot.json), bad files as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from blinasim.analysis.read import read_adtte
from blinasim.errors import InputError
from blinasim.jobs.reconstruct import reconstruct_files

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "guyot.json"


def write_inputs(folder: Path) -> tuple[Path, Path, dict[str, int]]:
    g = json.loads(GOLDEN.read_text())
    pts, risk, events = [], [], {}
    for a in g["arms"]:
        pts.append(pd.DataFrame({"arm": a["arm"], **a["points"]}))
        risk.append(pd.DataFrame({"Arm": a["arm"], "Time": a["at_risk"]["time"],
                                  "N_Risk": a["at_risk"]["n_risk"]}))  # fmt: skip
        events[a["arm"]] = a["total_events"]
    p, r = folder / "points.csv", folder / "risk.csv"
    pd.concat(pts).to_csv(p, index=False)
    pd.concat(risk).to_csv(r, index=False)
    return p, r, events


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blinasim", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_reconstruct_then_analyze(tmp_path: Path) -> None:
    p, r, events = write_inputs(tmp_path)
    out = tmp_path / "adtte.parquet"
    res = cli(
        "reconstruct", str(p), "--at-risk", str(r), "--out", str(out),
        *(f"--total-events={a}={n}" for a, n in events.items()),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Reconstruction checks" in res.stdout
    df = read_adtte(out)
    assert sorted(df["ARM"].unique()) == ["Lev+5FU", "Obs"]
    assert df.groupby("ARM")["EVENT"].sum().to_dict() == events
    checks = json.loads(out.with_name("adtte.parquet.checks.json").read_text())
    assert checks["arms"]["Obs"]["max_abs_error"] < 0.01
    res = cli("analyze", str(out), "--milestone-years", "5", "--out", str(tmp_path / "a"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert s["reference_arm"]["arm"] == "Obs"
    assert 0.55 < s["endpoints"]["OS"]["hazard_ratio"]["estimate"] < 0.8  # true 0.689


def test_time_unit_converts_to_days(tmp_path: Path) -> None:
    p, r, _ = write_inputs(tmp_path)
    days = reconstruct_files(p, r, out=tmp_path / "d.csv")
    years = reconstruct_files(p, r, out=tmp_path / "y.csv", time_unit="years")
    assert years.adtte["AVAL"].max() == pytest.approx(days.adtte["AVAL"].max() * 365.25)


@pytest.mark.parametrize(
    ("points", "risk", "extra", "message"),
    [
        ("time,surv\n0,1\n", "time,n_risk\n0,10\n", (), "points.csv: column survival: expected a column survival"),
        ("time,survival\n0,1\n2,x\n", "time,n_risk\n0,10\n", (), "points.csv: survival (row 2): expected a number in every row"),
        ("time,survival\n0,1\n2,90\n", "time,n_risk\n0,10\n", (), "points.csv: survival: expected survival in [0, 1]"),
        ("time,survival\n0,1\n2,0.9\n", "time,n_risk\n1,10\n", (), "risk.csv: at-risk time: expected the first at-risk time 0"),
        ("time,survival\n0,1\n2,0.9\n", "time,n_risk\n0,10\n1,12\n", (), "risk.csv: n_risk: expected whole numbers at risk"),
        ("time,survival,arm\n0,1,a\n2,0.9,a\n", "time,n_risk,arm\n0,10,b\n", (), "risk.csv: arm: expected the arms of the points file"),
        ("time,survival\n0,1\n2,0.9\n", "time,n_risk\n0,10\n", ("--total-events", "x=3"), "--total-events: expected one of the arms"),
        ("time,survival\n0,1\n2,0.9\n", "time,n_risk\n0,10\n", ("--time-unit", "fortnights"), "--time-unit: expected one of days"),
    ],
)  # fmt: skip
def test_bad_inputs_one_line_exit_2(
    tmp_path: Path, points: str, risk: str, extra: tuple[str, ...], message: str
) -> None:
    (tmp_path / "points.csv").write_text(points)
    (tmp_path / "risk.csv").write_text(risk)
    res = cli(
        "reconstruct", "points.csv", "--at-risk", "risk.csv", "--out", "o.csv", *extra,
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert message in " ".join(res.stderr.split())
    assert not (tmp_path / "o.csv").exists()


def test_out_must_be_a_table_file(tmp_path: Path) -> None:
    p, r, _ = write_inputs(tmp_path)
    with pytest.raises(InputError, match=r"ending in \.csv or \.parquet"):
        reconstruct_files(p, r, out=tmp_path / "o.xlsx")
