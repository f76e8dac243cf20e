"""Per-patient random draws keyed by patient id (not by position in a chunk).

Patient ``i`` always gets the ``i``-th number of stream ``name`` (via
:func:`blinasim.rng.uniforms` blocks), whatever the cohort, the chunk or the subset of
patients it is simulated with: this gives bit-identity across chunk sizes and common random
numbers across arms.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from blinasim import rng

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _by_block(seed: int, name: str, ids: IntArray, k: int, normal: bool) -> FloatArray:
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and ids.min() < 0:
        raise ValueError("patient ids must be non-negative integers")
    out = np.empty((ids.size, k), dtype=np.float64)
    block_of = ids // rng.PATIENT_BLOCK
    draw = rng.normals if normal else rng.uniforms
    for b in np.unique(block_of):
        sel = np.flatnonzero(block_of == b)
        base = int(b) * rng.PATIENT_BLOCK
        vals = draw(seed, name, base, rng.PATIENT_BLOCK, k=k).reshape(rng.PATIENT_BLOCK, k)
        out[sel] = vals[ids[sel] - base]
    return out


def uniforms(seed: int, name: str, ids: IntArray, k: int = 1) -> FloatArray:
    """Uniform(0, 1) draws for patients ``ids``: shape ``(n,)`` if ``k == 1`` else ``(n, k)``.

    Values are shifted into the open interval (0, 1) so inverse CDFs stay finite.
    """
    u = _by_block(seed, name, ids, k, normal=False)
    u = np.clip(u, 1e-16, 1.0 - 1e-16)
    return u[:, 0] if k == 1 else u


def normals(seed: int, name: str, ids: IntArray, k: int = 1) -> FloatArray:
    """Standard-normal draws for patients ``ids``: shape ``(n,)`` if ``k == 1`` else ``(n, k)``."""
    z = _by_block(seed, name, ids, k, normal=True)
    return z[:, 0] if k == 1 else z
