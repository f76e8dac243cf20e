"""Reading and validating CDISC ADaM ADTTE files (SAS XPT v5/v8, CSV, Parquet).

ADTTE conventions (CDISC ADaM BDS for time-to-event): one row per subject and parameter;
``AVAL`` the analysis time, ``CNSR`` 0 for an event and 1 (or another positive integer)
for a censored observation. A bad file raises one :class:`~blinasim.errors.InputError`
naming the file, the column and the first offending rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from blinasim.errors import InputError

ARM_COLUMNS = ("TRT01P", "ARM", "TRTP", "TRT01A", "ACTARM")
REQUIRED = ("USUBJID", "PARAMCD", "AVAL", "CNSR")
SUFFIXES = {".xpt": "xpt", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _rows(mask: np.ndarray, df: pd.DataFrame) -> str:
    idx = np.flatnonzero(mask)
    # report data rows as a user sees them: 1-based, after the header line
    shown = ", ".join(str(int(i) + 1) for i in idx[:5])
    return f"rows {shown}" + (f" and {len(idx) - 5} more" if len(idx) > 5 else "")


def _check(
    bad: np.ndarray,
    df: pd.DataFrame,
    col: str,
    expected: str,
    file: str | Path,
    got: object = None,
) -> None:
    """Raise one InputError naming ``col`` and the first offending rows, if any is bad."""
    if bad.any():
        if got is None:
            got = df[col].iloc[int(np.flatnonzero(bad)[0])]
        raise InputError(expected, file=file, field=f"{col} ({_rows(bad, df)})", got=got)


def check_table_path(path: str | Path) -> str:
    """The kind of table file at ``path`` (xpt, csv, parquet); one line if it is none."""
    p = Path(path)
    kind = SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise InputError(
            "a file ending in .xpt, .csv or .parquet", file=p, field="file type", got=p.suffix
        )
    if not p.is_file():
        raise InputError("an existing file", file=p)
    return kind


def read_table(path: str | Path) -> pd.DataFrame:
    """Read an XPT, CSV or Parquet file into a DataFrame; a bad file is an InputError."""
    p = Path(path)
    kind = check_table_path(p)
    try:
        if kind == "xpt":
            import pyreadstat

            df, _meta = pyreadstat.read_xport(str(p))
        elif kind == "csv":
            df = pd.read_csv(p, low_memory=False)
        else:
            df = pd.read_parquet(p)
    except Exception as exc:  # any parser failure is a bad file, said in one line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"a readable {kind.upper()} file", file=p, got=msg[:120]) from None
    df.columns = [str(c).upper() for c in df.columns]
    return df


def validate_adtte(
    df: pd.DataFrame, *, file: str | Path = "<data>", arm_column: str | None = None
) -> pd.DataFrame:
    """Check an ADTTE table and return a clean copy with columns standardized.

    The result has ``USUBJID, PARAMCD, ARM, AVAL (float), CNSR (int), EVENT (0/1)`` and, when
    present, ``STRATUM``, ``CAUSE`` (integer competing-risk code, 0 = censored), ``ARMCD``
    and ``REPLICATE``. A file of several simulated trials (a ``REPLICATE`` column, or a
    ``STUDYID`` per trial with subject IDs repeating across trials) has one row per
    replicate, subject and parameter; ``REPLICATE`` then names the trial. ``attrs`` records
    the source columns: ``arm_column`` and ``replicate_column`` (None for one data set).
    """
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"ADTTE columns {', '.join(REQUIRED)}",
            file=file,
            field=f"column {missing[0]}",
            got="missing",
        )
    arm = (
        arm_column.upper()
        if arm_column
        else next((c for c in ARM_COLUMNS if c in df.columns), None)
    )
    if arm is None or arm not in df.columns:
        raise InputError(
            f"a treatment column (one of {', '.join(ARM_COLUMNS)})",
            file=file,
            field="column ARM",
            got="missing",
        )
    if len(df) == 0:
        raise InputError("at least one row", file=file, got="empty table")
    aval = pd.to_numeric(df["AVAL"], errors="coerce")
    bad = aval.isna().to_numpy() | ~np.isfinite(aval.to_numpy(dtype=float, na_value=np.nan))
    _check(bad, df, "AVAL", "numeric, non-missing AVAL", file)
    neg = (aval < 0).to_numpy()
    _check(neg, df, "AVAL", "AVAL >= 0", file)
    cnsr = pd.to_numeric(df["CNSR"], errors="coerce")
    cvals = cnsr.to_numpy(dtype=float, na_value=np.nan)
    badc = ~np.isin(cvals, (0.0, 1.0))
    _check(badc, df, "CNSR", "CNSR 0 (event) or 1 (censored)", file)
    for col in ("USUBJID", "PARAMCD", arm):
        miss = df[col].isna().to_numpy() | (df[col].astype(str).str.strip() == "").to_numpy()
        _check(miss, df, col, f"a value in every row of {col}", file, got="missing")
    rep_col = replicate_column(df)
    if rep_col is not None:
        miss = df[rep_col].isna().to_numpy() | (df[rep_col].astype(str).str.strip() == "")
        _check(np.asarray(miss), df, rep_col, f"a value in every row of {rep_col}", file, "missing")
        dup = df.duplicated(subset=[rep_col, "USUBJID", "PARAMCD"]).to_numpy()
        _check(
            dup,
            df,
            "USUBJID",
            f"one row per {rep_col}, USUBJID and PARAMCD",
            file,
            got="duplicate",
        )
    else:
        dup = df.duplicated(subset=["USUBJID", "PARAMCD"]).to_numpy()
        _check(dup, df, "USUBJID", "one row per USUBJID and PARAMCD", file, got="duplicate")
    out = pd.DataFrame(
        {
            "USUBJID": df["USUBJID"].astype(str).str.strip(),
            "PARAMCD": df["PARAMCD"].astype(str).str.strip(),
            "ARM": df[arm].astype(str).str.strip(),
            "AVAL": aval.astype(float),
            "CNSR": cnsr.astype(int),
        }
    )
    out["EVENT"] = (out["CNSR"] == 0).astype(int)
    if "STRATUM" in df.columns:
        s = df["STRATUM"]
        _check(
            s.isna().to_numpy(),
            df,
            "STRATUM",
            "a value in every row of STRATUM",
            file,
            got="missing",
        )
        out["STRATUM"] = s.astype(str).str.strip()
    if "CAUSE" in df.columns:
        cause = pd.to_numeric(df["CAUSE"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        badk = ~np.isfinite(cause) | (cause < 0) | (cause != np.round(cause))
        _check(badk, df, "CAUSE", "CAUSE a non-negative integer code (0 = censored)", file)
        incons = (cause > 0) != (out["EVENT"].to_numpy() == 1)
        _check(
            incons,
            df,
            "CAUSE",
            "CAUSE > 0 exactly when CNSR = 0",
            file,
            got="inconsistent with CNSR",
        )
        out["CAUSE"] = cause.astype(int)
    if "ARMCD" in df.columns and arm != "ARMCD":
        out["ARMCD"] = df["ARMCD"].astype(str).str.strip()
    if rep_col is not None:
        rep = df[rep_col]
        num = pd.to_numeric(rep, errors="coerce")
        if num.notna().all() and (num == np.round(num)).all():
            out["REPLICATE"] = num.astype(np.int64).to_numpy()
        else:
            out["REPLICATE"] = rep.astype(str).str.strip().to_numpy()
    out.attrs["arm_column"] = arm
    out.attrs["replicate_column"] = rep_col
    return out


def replicate_column(df: pd.DataFrame) -> str | None:
    """The column that tells simulated trials apart, if the table holds several.

    ``REPLICATE`` (blinasim's simulated ADTTE), or ``STUDYID`` when it takes several values
    and subject IDs repeat across them (real multi-study data have unique ``USUBJID``).
    """
    if "REPLICATE" in df.columns:
        return "REPLICATE"
    if "STUDYID" in df.columns and df["STUDYID"].nunique(dropna=True) > 1:
        per_study = df.drop_duplicates(subset=["STUDYID", "USUBJID"])
        if per_study.duplicated(subset=["USUBJID"]).any():
            return "STUDYID"
    return None


def read_adtte(
    path: str | Path, *, arm_column: str | None = None, params: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read and validate an ADTTE file; optionally keep only some PARAMCDs (all must exist)."""
    df = validate_adtte(read_table(path), file=path, arm_column=arm_column)
    if params:
        have = set(df["PARAMCD"])
        for prm in params:
            if prm not in have:
                raise InputError(
                    f"PARAMCD {prm} in the data (found {', '.join(sorted(have))})",
                    file=path,
                    field="PARAMCD",
                )
        df = df[df["PARAMCD"].isin(list(params))].reset_index(drop=True)
    return df
