"""CDISC ADaM ADTTE layout of simulated trial data.

One row per randomized patient and parameter: ``DFS`` and ``OS`` from randomization,
``EFS`` from enrolment (diagnosis). ``AVAL`` is in days (continuous simulated time;
``AVALU = "DAYS"``), ``CNSR`` is 0 for an event and 1 for a censored time, with
``EVNTDESC`` (event) or ``CNSDTDSC`` (censoring reason) filled. ``STARTDT``, ``ADT`` and
``RANDDT`` are calendar dates (the simulated day floored). The table reads back with
:func:`blinasim.analysis.read.validate_adtte`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from numpy.typing import NDArray

ADTTE_COLUMNS = (
    "STUDYID",
    "USUBJID",
    "SUBJID",
    "ARM",
    "ARMCD",
    "TRT01P",
    "STRATUM",
    "PARAMCD",
    "PARAM",
    "AVAL",
    "AVALU",
    "CNSR",
    "EVNTDESC",
    "CNSDTDSC",
    "STARTDT",
    "ADT",
    "RANDDT",
)

_PARAMS = {
    "DFS": "Disease-free survival from randomization (days)",
    "OS": "Overall survival from randomization (days)",
    "EFS": "Event-free survival from enrolment (days)",
}


def _dates(start: dt.date, day: NDArray[np.float64]) -> NDArray[np.datetime64]:
    base = np.datetime64(start, "D")
    return base + np.floor(day).astype("timedelta64[D]")


def adtte_frame(
    *,
    study: str,
    patient: NDArray[np.int64],
    arm: NDArray[np.object_] | NDArray[np.str_],
    armcd: NDArray[np.object_] | NDArray[np.str_],
    stratum: NDArray[np.object_],
    start_date: dt.date,
    rand_day: NDArray[np.float64],
    enroll_day: NDArray[np.float64],
    dfs_time: NDArray[np.float64],
    dfs_event: NDArray[np.bool_],
    dfs_desc: NDArray[np.object_],
    os_time: NDArray[np.float64],
    os_event: NDArray[np.bool_],
    censor_reason: NDArray[np.object_] | NDArray[np.str_],
) -> pd.DataFrame:
    """Build the ADTTE table; times in days (DFS/OS from randomization)."""
    subj = np.array([f"{i + 1:06d}" for i in patient], dtype=object)
    usubjid = np.array([f"{study}-{s}" for s in subj], dtype=object)
    rand_dt = _dates(start_date, rand_day)
    enr_dt = _dates(start_date, enroll_day)
    delay = rand_day - enroll_day
    blocks = []
    for code, aval, ev, start_day, start_dt, desc in (
        ("DFS", dfs_time, dfs_event, rand_day, rand_dt, dfs_desc),
        ("OS", os_time, os_event, rand_day, rand_dt, np.full(patient.size, "DEATH", object)),
        ("EFS", dfs_time + delay, dfs_event, enroll_day, enr_dt, dfs_desc),
    ):
        blocks.append(
            pd.DataFrame(
                {
                    "STUDYID": study,
                    "USUBJID": usubjid,
                    "SUBJID": subj,
                    "ARM": arm,
                    "ARMCD": armcd,
                    "TRT01P": arm,
                    "STRATUM": stratum,
                    "PARAMCD": code,
                    "PARAM": _PARAMS[code],
                    "AVAL": aval.astype(np.float64),
                    "AVALU": "DAYS",
                    "CNSR": np.where(ev, 0, 1).astype(np.int64),
                    "EVNTDESC": np.where(ev, desc, ""),
                    "CNSDTDSC": np.where(ev, "", censor_reason),
                    "STARTDT": start_dt,
                    "ADT": _dates(start_date, start_day + aval),
                    "RANDDT": rand_dt,
                }
            )
        )
    out = pd.concat(blocks, ignore_index=True)
    return out.sort_values(["USUBJID", "PARAMCD"], kind="stable", ignore_index=True)


__all__ = ["ADTTE_COLUMNS", "adtte_frame"]
