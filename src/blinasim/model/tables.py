"""The engine's output tables: chunk arrays concatenated into frames with fixed categories.

Categories do not depend on the data, so any subset or chunking gives identical frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.cohort.risk import REASONS
from blinasim.model import after_relapse
from blinasim.model.after_relapse.labels import label_codes
from blinasim.model.toxicity import EVENTS

CATEGORIES = {
    "risk_group": ("SR-Favorable", "SR-Average", "SR-High", "off-study"),
    "relapse_site": ("marrow", "cns", "combined"),
    "relapse_risk_group": after_relapse.RISK_GROUPS,
    "death_cause": ("treatment-related", "leukemia", "second malignancy", after_relapse.TRM),
    "event": EVENTS,
}


def codes(values: pd.Series, column: str) -> NDArray[np.int8]:
    """Codes of a categorical ``values`` in the fixed categories of ``column`` (-1: missing).

    ``column`` names a key of :data:`CATEGORIES` or ``risk_reason``; :func:`frame` turns the
    codes back into labels (integer arrays of categorical columns are codes).
    """
    fixed = _fixed().get(column)
    if fixed is None:
        raise KeyError(f"{column} is not a categorical column with fixed categories")
    return label_codes(values, fixed)


def _fixed(phases: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    return {**CATEGORIES, "risk_reason": REASONS, "phase": phases}


def concat(parts: list[dict[str, NDArray[Any]]]) -> dict[str, NDArray[Any]]:
    """Concatenate same-keyed dicts of arrays."""
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def frame(
    parts: list[dict[str, NDArray[Any]]],
    columns: tuple[str, ...],
    plans: Mapping[str, Any],
) -> pd.DataFrame:
    """Concatenate chunk arrays into a DataFrame with categorical labels.

    ``plans`` maps arm names (in code order) to arm plans (their phases name the ``phase``
    categories).
    """
    data = concat([p for p in parts if p])
    arm_names = list(plans)
    phases = list(dict.fromkeys(ph.name for p in plans.values() for ph in p.phases))
    fixed = _fixed(tuple(phases))
    out: dict[str, Any] = {}
    for c in columns:
        v = data.get(c)
        if v is None:
            v = np.empty(0)
        if c == "arm":
            out[c] = pd.Categorical.from_codes(v.astype(np.int64), categories=pd.Index(arm_names))
        elif c in fixed and np.issubdtype(v.dtype, np.integer):  # codes, -1: missing
            out[c] = pd.Categorical.from_codes(v.astype(np.int64), categories=pd.Index(fixed[c]))
        elif c in fixed:
            out[c] = pd.Categorical(v, categories=pd.Index(fixed[c]))
        else:
            out[c] = v
    return pd.DataFrame(out)
