"""Survival statistics for many simulated trials at once (one row per replicate).

Layout: every per-patient input is a 2-D array of shape ``(replicates, patients)``; a
1-D array of length ``patients`` is broadcast to every replicate (e.g. a fixed
randomization list). Trials of different sizes share one array through ``mask``
(``True`` = the patient is in that replicate's analysis): padded cells may hold anything,
including NaN, because they are never read. Without ``mask`` every cell is used and must
be valid.

Codes: ``event`` is 0/1 (or bool); ``group`` is an integer code (0/1 for the log-rank
test, ``0..G-1`` for Kaplan-Meier); ``strata`` an integer code ``0..S-1``.

Each replicate runs the same compiled kernel as the single-trial function
(:func:`~blinasim.stats.logrank_test`, :func:`~blinasim.stats.kaplan_meier`), so replicate
``r`` equals the single-trial result on ``time[r, mask[r]]`` etc. bit for bit. Replicates
run in parallel threads (numba ``prange``, ``numba.set_num_threads`` caps them). Inside a
process pool use one numba thread per worker and a ``spawn``/``forkserver`` start method
(as :mod:`blinasim.parallel` does): numba's OpenMP layer is not fork-safe.

Cost: one counting sort plus small per-cell sorts per replicate, O(n log(n / cells));
``benchmarks/stats.py`` times 10,000 replicates x 1,440 patients (3 strata) on all
threads and on one. The first call in a fresh environment compiles the kernels (15-40 s
on a busy 2-core machine); the compiled code is cached on disk for later processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import chi2

from blinasim.errors import InputError
from blinasim.stats import _kernels
from blinasim.stats._common import FloatArray, IntArray
from blinasim.stats.logrank import _check_rho


def _as_2d(x: Any, name: str, shape: tuple[int, int] | None) -> NDArray[Any]:
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        x = x.to_numpy()
    arr = np.asarray(x)
    if shape is None:
        if arr.ndim != 2:
            raise InputError(
                "a 2-D array (replicates x patients)", field=name, got=f"shape {arr.shape}"
            )
        return arr
    if arr.ndim == 1 and arr.shape[0] == shape[1]:
        return np.broadcast_to(arr, shape)
    if arr.shape != shape:
        raise InputError(
            f"shape {shape} (or ({shape[1]},) shared by all replicates)",
            field=name,
            got=f"shape {arr.shape}",
        )
    return arr


def _codes(
    x: Any,
    name: str,
    shape: tuple[int, int],
    mask: NDArray[np.bool_] | None,
    dtype: type | None,
    top: int,
) -> NDArray[Any]:
    arr = _as_2d(x, name, shape)
    if arr.dtype == bool:
        return np.ascontiguousarray(arr, dtype=dtype)
    if arr.dtype.kind not in "iuf":
        raise InputError("integer codes", field=name, got=str(arr.dtype))
    if arr.dtype.kind == "f":
        used = arr if mask is None else arr[mask]
        if not np.all(np.isfinite(used)) or np.any(used != np.round(used)):
            raise InputError("integer codes (no NaN)", field=name, got="non-integer values")
        if mask is not None:
            arr = np.where(mask, arr, 0)
    used = arr if mask is None else arr[mask]
    if used.size and (used.min() < 0 or used.max() > top):
        bad = used[(used < 0) | (used > top)][0]
        raise InputError(f"codes in 0..{top}", field=name, got=bad.item())
    if dtype is None:  # the narrowest of int8 / int32 (one compiled kernel for each)
        dtype = np.int8 if not used.size or used.max() <= 127 else np.int32
    return np.ascontiguousarray(arr, dtype=dtype)


def _prepare(
    time: Any, event: Any, mask: Any
) -> tuple[FloatArray, NDArray[np.int8], NDArray[np.bool_] | None, tuple[int, int]]:
    t = _as_2d(time, "time", None)
    shape = (int(t.shape[0]), int(t.shape[1]))
    if shape[0] == 0 or shape[1] == 0:
        raise InputError("at least one replicate and one patient", field="time", got=shape)
    if t.dtype.kind not in "iuf":
        raise InputError("numeric times", field="time", got=str(t.dtype))
    t = np.ascontiguousarray(t, dtype=np.float64)
    if mask is None:
        m = None
        used = t
    else:
        m = np.ascontiguousarray(_as_2d(mask, "mask", shape), dtype=bool)
        used = t[m]
    if not np.all(np.isfinite(used)):
        raise InputError("finite times for every included patient", field="time", got="NaN/inf")
    if used.size and used.min() < 0:
        raise InputError("non-negative times", field="time", got=float(used.min()))
    e = _codes(event, "event", shape, m, np.int8, 1)
    return t, e, m, shape


def _kernel_mask(m: NDArray[np.bool_] | None) -> tuple[NDArray[np.bool_], bool]:
    """The mask argument of the kernels: a dummy when every cell is used."""
    return (np.ones((1, 1), dtype=bool), False) if m is None else (m, True)


def _counts(m: NDArray[np.bool_] | None, shape: tuple[int, int]) -> IntArray:
    if m is None:
        return np.full(shape[0], shape[1], dtype=np.int64)
    out: IntArray = m.sum(axis=1).astype(np.int64)
    return out


@dataclass(frozen=True)
class BatchedLogRank:
    """Two-group (stratified) log-rank per replicate; arrays of shape ``(replicates,)``.

    ``observed``/``expected`` are for group code 1; ``z = (O - E) / sqrt(V)`` (z > 0: more
    events than expected in group 1); ``chisq = z^2``; ``p_value`` two-sided (chi-square,
    1 df). A replicate without information (V = 0) has z = 0, chisq = 0, p = 1.
    """

    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    z: FloatArray
    chisq: FloatArray
    p_value: FloatArray
    n: IntArray
    rho: float

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate."""
        return pd.DataFrame(
            {
                "replicate": np.arange(len(self.z)),
                "n": self.n,
                "observed": self.observed,
                "expected": self.expected,
                "variance": self.variance,
                "z": self.z,
                "chisq": self.chisq,
                "p_value": self.p_value,
            }
        )


def logrank_test_batched(
    time: Any,
    event: Any,
    group: Any,
    strata: Any = None,
    *,
    mask: Any = None,
    rho: float = 0.0,
) -> BatchedLogRank:
    """Stratified two-group log-rank (or G-rho) test for each replicate.

    Args:
        time: ``(replicates, patients)`` follow-up times >= 0.
        event: 0/1 event indicators, same shape (or 1-D, shared).
        group: 0/1 arm codes, same shape or 1-D.
        strata: optional integer stratum codes ``0..S-1``, same shape or 1-D.
        mask: optional bool array, True where the patient belongs to the replicate.
        rho: Fleming-Harrington exponent (0 = log-rank).

    Returns:
        A :class:`BatchedLogRank`; replicate ``r`` equals :func:`logrank_test` on that
        replicate's data (group 1 vs 0).
    """
    rho = _check_rho(rho)
    t, e, m, shape = _prepare(time, event, mask)
    g = _codes(group, "group", shape, m, np.int8, 1)
    if strata is None:
        s = np.zeros((1, 1), dtype=np.int8)
        n_strata = 1
    else:
        s = _codes(strata, "strata", shape, m, None, np.iinfo(np.int32).max - 1)
        used = s if m is None else s[m]
        n_strata = int(used.max()) + 1 if used.size else 1
    km, has_mask = _kernel_mask(m)
    o1, e1, v11, z, chisq = _kernels.logrank_batched(
        t, e, g, s, strata is not None, km, has_mask, n_strata, rho
    )
    return BatchedLogRank(
        observed=o1,
        expected=e1,
        variance=v11,
        z=z,
        chisq=chisq,
        p_value=chi2.sf(chisq, 1),
        n=_counts(m, shape),
        rho=rho,
    )


@dataclass(frozen=True)
class BatchedSurvivalAt:
    """Kaplan-Meier survival at milestone times per replicate and group.

    ``survival`` and ``std_err`` (Greenwood SE of S) have shape ``(replicates, groups,
    times)``; ``n`` ``(replicates, groups)``. An empty group gives NaN.
    """

    times: FloatArray
    survival: FloatArray
    std_err: FloatArray
    n: IntArray

    def to_frame(self) -> pd.DataFrame:
        """Long table: replicate, group, time, survival, std_err."""
        r, g, k = self.survival.shape
        idx = np.indices((r, g, k)).reshape(3, -1)
        return pd.DataFrame(
            {
                "replicate": idx[0],
                "group": idx[1],
                "time": self.times[idx[2]],
                "survival": self.survival.ravel(),
                "std_err": self.std_err.ravel(),
            }
        )


def km_survival_at_batched(
    time: Any, event: Any, t: Any, group: Any = None, *, mask: Any = None
) -> BatchedSurvivalAt:
    """Kaplan-Meier survival and its Greenwood SE at times ``t`` for each replicate.

    Args:
        time: ``(replicates, patients)`` follow-up times >= 0.
        event: 0/1 event indicators.
        t: one milestone time or a 1-D array of them.
        group: optional integer group codes ``0..G-1`` (same shape or 1-D); one curve per
            code. Without it, one curve per replicate.
        mask: optional bool array, True where the patient belongs to the replicate.

    Returns:
        A :class:`BatchedSurvivalAt`; entry ``[r, g]`` equals
        ``kaplan_meier(...).at(t)`` (survival, std_err) on that replicate's group ``g``.
    """
    tt, e, m, shape = _prepare(time, event, mask)
    at = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if at.ndim != 1 or not np.all(np.isfinite(at)):
        raise InputError("finite milestone time(s)", field="t", got=f"{t!r}")
    if group is None:
        g = np.zeros((1, 1), dtype=np.int8)
        n_groups = 1
    else:
        g = _codes(group, "group", shape, m, None, np.iinfo(np.int32).max - 1)
        used = g if m is None else g[m]
        n_groups = int(used.max()) + 1 if used.size else 1
    km, has_mask = _kernel_mask(m)
    surv, se, counts = _kernels.km_at_batched(
        tt, e, g, group is not None, km, has_mask, n_groups, np.ascontiguousarray(at)
    )
    return BatchedSurvivalAt(times=at, survival=surv, std_err=se, n=counts)
