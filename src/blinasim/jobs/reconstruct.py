"""``blinasim reconstruct``: an ADTTE file rebuilt from a published Kaplan-Meier figure.

Inputs are two small tables (CSV, Parquet or XPT; column names in any case):

* the points read off the curve: ``time``, ``survival`` (a proportion in [0, 1]) and, for a
  figure with several curves, ``arm``;
* the numbers at risk printed under the figure: ``time``, ``n_risk`` (and ``arm``); the
  first row of each arm is at time 0 (the number randomized).

Each arm is reconstructed by :func:`blinasim.stats.guyot.reconstruct_ipd` (Guyot et al.
2012). The output is an ADaM ADTTE table (``STUDYID, USUBJID, PARAMCD, PARAM, TRT01P, AVAL,
AVALU, CNSR``; AVAL in days, converted from ``--time-unit``) that ``blinasim analyze``
reads, and ``<out>.checks.json`` with the checks of each arm (in the figure's time unit).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from blinasim.analysis.outputs import shown_path
from blinasim.analysis.read import read_table
from blinasim.errors import InputError
from blinasim.io.checkpoint import atomic_write_bytes
from blinasim.stats.guyot import Reconstruction, reconstruct_ipd
from blinasim.units import DAYS_PER_YEAR

TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_YEAR / 12.0, "years": DAYS_PER_YEAR}
OUT_SUFFIXES = (".csv", ".parquet")
ONE_ARM = "all"


@dataclass(frozen=True, eq=False)
class ReconstructRun:
    """What ``blinasim reconstruct`` wrote: the ADTTE table, the checks, per arm."""

    out: Path
    checks_path: Path
    adtte: pd.DataFrame
    arms: dict[str, Reconstruction]
    time_unit: str


def _numeric(df: pd.DataFrame, col: str, file: str) -> np.ndarray:
    if col not in df.columns:
        raise InputError(
            f"a column {col.lower()}", file=file, field=f"column {col.lower()}", got="missing"
        )
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            "a number in every row",
            file=file,
            field=f"{col.lower()} (row {i + 1})",
            got=df[col].iloc[i],
        )
    return v


def _by_arm(df: pd.DataFrame, file: str) -> dict[str, pd.DataFrame]:
    if "ARM" not in df.columns:
        return {ONE_ARM: df}
    arm = df["ARM"].astype(str).str.strip()
    if (df["ARM"].isna() | (arm == "")).any():
        i = int(np.flatnonzero((df["ARM"].isna() | (arm == "")).to_numpy())[0])
        raise InputError(
            "an arm in every row", file=file, field=f"arm (row {i + 1})", got="missing"
        )
    return {str(a): g for a, g in df.assign(ARM=arm).groupby("ARM", sort=True)}


def _total_events(given: Sequence[str], arms: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in given:
        arm, sep, num = item.rpartition("=")
        if not sep:
            if len(arms) != 1:
                raise InputError(
                    f"ARM=N for one of the arms {list(arms)}", field="--total-events", got=item
                )
            arm = arms[0]
        if arm not in arms:
            raise InputError(f"one of the arms {list(arms)}", field="--total-events", got=arm)
        try:
            out[arm] = int(num)
        except ValueError:
            raise InputError("a whole number of events", field="--total-events", got=item) from None
    return out


def check_out_path(out: str | Path) -> Path:
    """The output file: ends in .csv or .parquet, is not a folder; its folder exists."""
    p = Path(out)
    if p.suffix.lower() not in OUT_SUFFIXES:
        raise InputError("a file ending in .csv or .parquet", file=p, field="--out", got=p.suffix)
    if p.is_dir():
        raise InputError("a file name, not a folder", file=p, field="--out")
    if not p.parent.is_dir():
        raise InputError("an existing folder for the output file", file=p.parent, field="--out")
    return p


def reconstruct_files(
    points: str | Path,
    at_risk: str | Path,
    *,
    out: str | Path,
    total_events: Sequence[str] = (),
    time_unit: str = "days",
    paramcd: str = "OS",
) -> ReconstructRun:
    """Read the two tables, reconstruct every arm, write the ADTTE file and its checks."""
    if time_unit not in TIME_UNITS:
        raise InputError(f"one of {', '.join(TIME_UNITS)}", field="--time-unit", got=time_unit)
    if not paramcd.strip():
        raise InputError("a PARAMCD such as OS or PFS", field="--paramcd", got=paramcd)
    out_p = check_out_path(out)
    pf, rf = shown_path(points), shown_path(at_risk)
    pts = _by_arm(read_table(points), pf)
    risk = _by_arm(read_table(at_risk), rf)
    if set(pts) != set(risk):
        raise InputError(
            f"the arms of the points file {sorted(pts)}", file=rf, field="arm", got=sorted(risk)
        )
    arms = sorted(pts)
    events = _total_events(total_events, arms)
    results: dict[str, Reconstruction] = {}
    for arm in arms:
        where = "" if arm == ONE_ARM else f" (arm {arm})"
        t = _numeric(pts[arm], "TIME", pf + where)
        s = _numeric(pts[arm], "SURVIVAL", pf + where)
        rt = _numeric(risk[arm], "TIME", rf + where)
        nr = _numeric(risk[arm], "N_RISK", rf + where)
        order = np.argsort(rt, kind="stable")
        try:
            results[arm] = reconstruct_ipd(t, s, rt[order], nr[order], total_events=events.get(arm))
        except InputError as exc:
            file = rf if exc.field in ("n_risk", "at-risk time") else pf
            raise InputError(
                exc.expected, file=file + where, field=exc.field, got=exc.got
            ) from None
    scale = TIME_UNITS[time_unit]
    frames = []
    for arm, r in results.items():
        n = len(r.time)
        frames.append(
            pd.DataFrame(
                {
                    "STUDYID": "RECONSTRUCTED",
                    "USUBJID": [f"{arm}-{i + 1:05d}" for i in range(n)],
                    "PARAMCD": paramcd.strip(),
                    "PARAM": f"{paramcd.strip()} reconstructed from a published Kaplan-Meier curve",
                    "TRT01P": arm,
                    "AVAL": r.time * scale,
                    "AVALU": "DAYS",
                    "CNSR": 1 - r.event,
                }
            )
        )
    adtte = pd.concat(frames, ignore_index=True)
    if out_p.suffix.lower() == ".csv":
        atomic_write_bytes(out_p, adtte.to_csv(index=False).encode("utf-8"))
    else:
        buf = io.BytesIO()
        adtte.to_parquet(buf, index=False)
        atomic_write_bytes(out_p, buf.getvalue())
    checks = {
        "method": "Guyot et al. 2012 (BMC Med Res Methodol 12:9), as R IPDfromKM::getIPD",
        "points": pf,
        "at_risk": rf,
        "time_unit": time_unit,
        "arms": {
            a: {"n": len(r.time), "events": r.n_events, **r.checks.as_dict()}
            for a, r in results.items()
        },
    }
    checks_path = out_p.with_name(out_p.name + ".checks.json")
    text = json.dumps(checks, indent=2, sort_keys=True, allow_nan=True) + "\n"
    atomic_write_bytes(checks_path, text.encode("utf-8"))
    return ReconstructRun(out_p, checks_path, adtte, results, time_unit)


__all__ = ["TIME_UNITS", "ReconstructRun", "check_out_path", "reconstruct_files"]
