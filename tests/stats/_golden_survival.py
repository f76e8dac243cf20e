"""Loader for tests/golden/survival_basic.json (made by scripts/golden/survival_basic.R)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "survival_basic.json"
RTOL = 1e-6
ATOL = 1e-12
_SPECIAL = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}


def arr(x: Any) -> np.ndarray:
    """A JSON number or list (with R's "NA"/"Inf" strings) as a float array."""
    if not isinstance(x, list):
        x = [x]
    return np.array([_SPECIAL[v] if isinstance(v, str) else v for v in x], dtype=float)


def num(x: Any) -> float:
    return float(arr(x)[0])


@cache
def cases() -> list[dict[str, Any]]:
    return json.loads(GOLDEN.read_text())["cases"]


def case_ids() -> list[str]:
    return [c["name"] for c in cases()]


def close(actual: Any, expected: Any, **kw: Any) -> None:
    """assert_allclose at the golden tolerance; NaN/inf must match NaN/inf."""
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        arr(expected) if not isinstance(expected, np.ndarray) else expected,
        rtol=kw.pop("rtol", RTOL),
        atol=kw.pop("atol", ATOL),
        equal_nan=True,
        **kw,
    )
