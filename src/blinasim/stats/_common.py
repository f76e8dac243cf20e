"""Input validation shared by the statistics: arrays in, clear ``ValueError`` out.

Every public statistic accepts numpy arrays, Python sequences, pandas Series and polars
Series. Problems raise :class:`blinasim.errors.InputError` (a ``ValueError``) naming the
argument and what was expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from blinasim.errors import InputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def to_numpy(x: Any, name: str) -> NDArray[Any]:
    """Convert array-like input (numpy, list, pandas, polars) to a 1-D numpy array."""
    if x is None:
        raise InputError("an array", field=name, got=None)
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise InputError("a one-dimensional array", field=name, got=f"shape {arr.shape}")
    return arr


def as_float(x: Any, name: str, *, nonnegative: bool = False) -> FloatArray:
    """A finite float64 array (optionally >= 0)."""
    arr = to_numpy(x, name)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError("numeric values", field=name, got=str(arr.dtype)) from None
    out = np.ascontiguousarray(arr, dtype=np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("finite numbers (no NaN or inf)", field=f"{name}[{i}]", got=float(out[i]))
    if nonnegative and (out < 0).any():
        i = int(np.flatnonzero(out < 0)[0])
        raise InputError("non-negative values", field=f"{name}[{i}]", got=float(out[i]))
    return out


def as_codes(x: Any, name: str, *, max_code: int | None = None) -> IntArray:
    """Integer codes >= 0 (booleans accepted), optionally <= ``max_code``."""
    arr = to_numpy(x, name)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu" and arr.size:
        lo, hi = arr.min(), arr.max()
        if lo >= 0 and (max_code is None or hi <= max_code):  # fast path: already valid
            return np.ascontiguousarray(arr, dtype=np.int64)
    f = as_float(arr, name)
    if (f != np.round(f)).any():
        i = int(np.flatnonzero(f != np.round(f))[0])
        raise InputError("integer codes", field=f"{name}[{i}]", got=float(f[i]))
    codes = f.astype(np.int64)
    if (codes < 0).any() or (max_code is not None and (codes > max_code).any()):
        bad = (codes < 0) | (codes > (max_code if max_code is not None else np.inf))
        i = int(np.flatnonzero(bad)[0])
        rng = f"0..{max_code}" if max_code is not None else ">= 0"
        raise InputError(f"codes in {rng}", field=f"{name}[{i}]", got=int(codes[i]))
    return codes


def check_lengths(n: int, **arrays: NDArray[Any] | None) -> None:
    """Every given array has length ``n``."""
    for name, arr in arrays.items():
        if arr is not None and len(arr) != n:
            raise InputError(f"length {n} (same as time)", field=name, got=f"length {len(arr)}")


def survival_input(time: Any, event: Any) -> tuple[FloatArray, IntArray]:
    """Validate (time, event): equal lengths, non-empty, time >= 0 and finite, event 0/1."""
    t = as_float(time, "time", nonnegative=True)
    e = as_codes(event, "event", max_code=1)
    check_lengths(len(t), event=e)
    if len(t) == 0:
        raise InputError("at least one observation", field="time", got="empty")
    return t, e


def factorize(x: Any, name: str, n: int) -> tuple[IntArray, list[Any]]:
    """Group labels to codes 0..k-1 in sorted label order (R's factor order) and the labels."""
    arr = to_numpy(x, name)
    check_lengths(n, **{name: arr})
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr))[0])
        raise InputError("no missing labels", field=f"{name}[{i}]", got="NaN")
    if arr.dtype == object and any(v is None for v in arr):
        i = next(j for j, v in enumerate(arr) if v is None)
        raise InputError("no missing labels", field=f"{name}[{i}]", got=None)
    if arr.dtype.kind in "iu" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo <= 4 * arr.size + 1024:  # small integer range: O(n), no sort
            present = np.bincount(arr - lo, minlength=hi - lo + 1) > 0
            if lo == 0 and present.all():  # already codes 0..k-1
                return np.ascontiguousarray(arr, dtype=np.int64), list(range(hi + 1))
            lookup = np.cumsum(present) - 1
            return lookup[arr - lo].astype(np.int64), (np.flatnonzero(present) + lo).tolist()
    try:
        labels, codes = np.unique(arr, return_inverse=True)
    except TypeError:
        raise InputError("labels of one comparable type", field=name) from None
    return codes.astype(np.int64), labels.tolist()
