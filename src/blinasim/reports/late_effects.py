"""Late effects per arm in a run report, from the ``late_<effect>_day`` columns of patients.

Each randomized child's model history carries the start day (from diagnosis) of every late
effect of :mod:`blinasim.model.after_relapse.late_effects` (``inf``: never, or not before
death). The table gives, per arm, the share of children with each effect within 10 years of
diagnosis and ever (to age 100): the mean over the pooled trials and the 2.5-97.5% range of
one trial. A model, not medical advice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from blinasim.model.after_relapse.late_effects import DESCRIPTIONS, LATE_EFFECTS, column
from blinasim.units import DAYS_PER_YEAR

LATE_COLUMNS = tuple(column(e) for e in LATE_EFFECTS)
"""The patients-table columns the table reads."""


def _share(d: pd.DataFrame, col: str, within_days: float) -> str:
    day = d[col].to_numpy(dtype=float)
    hit = (np.isfinite(day) & (day <= within_days)).astype(float)
    per = pd.Series(hit).groupby(d["replicate"].to_numpy()).mean().to_numpy()
    est = float(hit.mean())
    if per.size < 2:
        return f"{100 * est:.1f}%"
    lo, hi = np.quantile(per, [0.025, 0.975])
    return f"{100 * est:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def late_effects_table(pts: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Rows: late effects; columns: each arm's share within 10 years and ever."""
    rows = []
    for e, col in zip(LATE_EFFECTS, LATE_COLUMNS, strict=True):
        if col not in pts.columns:
            continue
        row: dict[str, str] = {"late effect": DESCRIPTIONS[e]}
        for a in arms:
            d = pts[pts["arm"] == a]
            if d.empty:
                continue
            row[f"{a}: 10 years"] = _share(d, col, 10 * DAYS_PER_YEAR)
            row[f"{a}: ever"] = _share(d, col, np.inf)
        rows.append(row)
    return pd.DataFrame(rows)
