"""Multiplicity adjustment of p-values: Holm's step-down method, as R ``p.adjust``.

Holm (1979): order the m p-values ascending, multiply the i-th smallest (1-based) by
``m - i + 1``, take the running maximum and cap at 1. It controls the family-wise error
rate under any dependence between the tests and is uniformly more powerful than
Bonferroni. NaN p-values are left NaN and do not count in m (``p.adjust``'s ``n``
defaults to the number of non-missing values).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blinasim.errors import InputError
from blinasim.stats._common import FloatArray, to_numpy


def holm(p: Any) -> FloatArray:
    """Holm-adjusted p-values, in the order given (R ``p.adjust(p, method = "holm")``)."""
    arr = to_numpy(p, "p")
    try:
        x = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("numeric p-values", field="p", got=str(arr.dtype)) from None
    ok = ~np.isnan(x)
    if ((x[ok] < 0) | (x[ok] > 1)).any():
        raise InputError(
            "p-values in [0, 1]", field="p", got=float(x[ok][(x[ok] < 0) | (x[ok] > 1)][0])
        )
    out = np.full(len(x), np.nan)
    v = x[ok]
    m = len(v)
    if m == 0:
        return out
    order = np.argsort(v, kind="stable")
    adj = np.minimum(np.maximum.accumulate((m - np.arange(m)) * v[order]), 1.0)
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


__all__ = ["holm"]
