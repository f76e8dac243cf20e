"""Integer codes of label columns (relapse site, risk group) of the engine's tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray


def label_codes(values: pd.Series | NDArray[Any], labels: Sequence[str]) -> NDArray[np.int8]:
    """Index of each value in ``labels`` (-1: missing or any other value).

    A categorical column is mapped through its categories (no per-row Python comparison).
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        cats = [labels.index(c) if c in labels else -1 for c in values.cat.categories]
        lut = np.array([*cats, -1], dtype=np.int8)  # code -1 (missing) reads the last entry
        return lut[values.cat.codes.to_numpy()]
    s = np.asarray(values, dtype=object)
    out = np.full(s.shape, -1, dtype=np.int8)
    for i, name in enumerate(labels):
        out[s == name] = i
    return out
