from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinasim.analysis.read import read_adtte, read_table
from blinasim.errors import InputError


def adtte(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [f"S{i}" for i in range(n)],
            "PARAMCD": ["DFS"] * n,
            "TRT01P": ["A", "B"] * (n // 2),
            "AVAL": np.arange(n, dtype=float) * 10,
            "CNSR": [0, 1] * (n // 2),
            "STRATUM": ["X"] * n,
        }
    )


def write(tmp_path: Path, df: pd.DataFrame, suffix: str = ".csv") -> Path:
    p = tmp_path / f"adtte{suffix}"
    if suffix == ".csv":
        df.to_csv(p, index=False)
    elif suffix == ".parquet":
        df.to_parquet(p)
    else:
        import pyreadstat

        pyreadstat.write_xport(df, str(p), file_format_version=5)
    return p


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xpt"])
def test_round_trip_formats(tmp_path, suffix):
    out = read_adtte(write(tmp_path, adtte(), suffix))
    assert list(out.columns) == ["USUBJID", "PARAMCD", "ARM", "AVAL", "CNSR", "EVENT", "STRATUM"]
    assert out["EVENT"].tolist() == [1, 0, 1, 0, 1, 0]
    assert out["AVAL"].tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.drop(columns="CNSR"), r"column CNSR: expected ADTTE columns"),
        (lambda d: d.drop(columns="TRT01P"), r"column ARM: expected a treatment column"),
        (
            lambda d: d.assign(CNSR=[0, 1, 2, 0, 1, 0]),
            r"CNSR \(rows 3\): expected CNSR 0 \(event\) or 1",
        ),
        (lambda d: d.assign(AVAL=[0, -1, 2, -3, 1, 0]), r"AVAL \(rows 2, 4\): expected AVAL >= 0"),
        (lambda d: d.assign(AVAL=["1", "x", 2, 3, 1, 0]), r"AVAL \(rows 2\): expected numeric"),
        (
            lambda d: d.assign(USUBJID=["a"] * 6),
            r"USUBJID \(rows 2, 3, 4, 5, 6\): expected one row per",
        ),
        (
            lambda d: d.assign(CAUSE=[1, 0, 2, 1, 1, 0]),
            r"CAUSE \(rows 4\): expected CAUSE > 0 exactly",
        ),
        (lambda d: d.iloc[:0], r"expected at least one row"),
    ],
)
def test_bad_files_one_line_error(tmp_path, mutate, match):
    p = write(tmp_path, mutate(adtte()))
    with pytest.raises(InputError, match=match) as info:
        read_adtte(p)
    assert str(p) in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="expected a file ending in"):
        read_table(tmp_path / "x.txt")
    with pytest.raises(InputError, match="expected an existing file"):
        read_table(tmp_path / "x.csv")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(InputError, match="expected a readable PARQUET file"):
        read_table(bad)


def test_param_filter(tmp_path):
    p = write(tmp_path, adtte())
    assert len(read_adtte(p, params=["DFS"])) == 6
    with pytest.raises(InputError, match=r"PARAMCD OS in the data \(found DFS\)"):
        read_adtte(p, params=["OS"])
