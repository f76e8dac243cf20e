"""Tests for non-proportional hazards in the two-arm analysis of one endpoint.

Beside the log-rank test and the Cox hazard ratio, trials whose curves overlap early and
separate later (AALL1731's) are tested with weighted log-rank tests and MaxCombo
(:mod:`blinasim.stats.nph`, simtrial's formulas): Fleming-Harrington FH(0, 0) (the
log-rank test), FH(0, 0.5), FH(0.5, 0), FH(0.5, 0.5), the Magirr-Burman modestly weighted
test with maximum weight 2 (Magirr 2021; no delay, so no time unit to choose), the MaxCombo
of the four FH tests, and the milestone test at the report's milestone. Stratified when
the endpoint's analysis is. z > 0 favours the treatment arm; p-values are one-sided (the
treatment arm does better), as simtrial reports them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from blinasim.analysis.core import years_text
from blinasim.stats.nph import FH, MagirrBurman, maxcombo, milestone_test, weighted_logrank

TESTS = (
    FH(0.0, 0.0),
    FH(0.0, 0.5),
    FH(0.5, 0.0),
    FH(0.5, 0.5),
    MagirrBurman(float("inf"), 2.0),
)


def nph_tests(
    data: pd.DataFrame, *, control: str, treatment: str, stratified: bool, milestone_days: float
) -> dict[str, Any]:
    """The tests of the module docstring on one endpoint's rows (ARM, AVAL, EVENT[, STRATUM]).

    Returns a JSON-ready record; ``not_estimable`` says why there are no tests (an arm
    without events).
    """
    time = data["AVAL"].to_numpy(dtype=np.float64)
    event = data["EVENT"].to_numpy(dtype=np.int64)
    arm = data["ARM"].to_numpy()
    group = (arm == treatment).astype(np.int64)
    for a, g in ((control, 0), (treatment, 1)):
        if event[group == g].sum() == 0:
            return {"not_estimable": f"no events in arm {a}"}
    strata = data["STRATUM"].to_numpy() if stratified else None
    rows = []
    for w in TESTS:
        r = weighted_logrank(time, event, group, strata=strata, weight=w)
        rows.append({"test": r.weight, "z": r.z, "p_one_sided": r.p_value})
    mc = maxcombo(time, event, group, strata=strata)
    last = min(float(time[group == g].max()) for g in (0, 1))
    if milestone_days > last:
        milestone: dict[str, Any] = {
            "days": milestone_days,
            "not_estimable": f"last follow-up {years_text(last)}",
        }
    else:
        ms = milestone_test(time, event, group, milestone_days)
        milestone = {
            "days": milestone_days,
            "difference": ms.estimate,
            "se": ms.se,
            "z": ms.z,
            "p_one_sided": float(norm.sf(ms.z)) if np.isfinite(ms.z) else float("nan"),
        }
    return {
        "stratified": stratified,
        "weighted_logrank": rows,
        "maxcombo": {
            "tests": [f"FH(rho={r:g}, gamma={g:g})" for r, g in mc.rho_gamma],
            "z": -mc.z_min,
            "p_one_sided": mc.p_value,
        },
        "milestone": milestone,
    }


__all__ = ["TESTS", "nph_tests"]
