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
    draw = rng.normals if normal else rng.uniforms
    if ids.size and ids[-1] - ids[0] == ids.size - 1 and np.all(np.diff(ids) == 1):
        # contiguous ids (the usual chunk): let rng slice the blocks
        vals = draw(seed, name, int(ids[0]), ids.size, k=k)
        return np.asarray(vals, dtype=np.float64).reshape(ids.size, k)
    out = np.empty((ids.size, k), dtype=np.float64)
    block_of = ids // rng.PATIENT_BLOCK
    for b in np.unique(block_of):
        sel = np.flatnonzero(block_of == b)
        base = int(b) * rng.PATIENT_BLOCK
        vals = draw(seed, name, base, rng.PATIENT_BLOCK, k=k).reshape(rng.PATIENT_BLOCK, k)
        out[sel] = vals[ids[sel] - base]
    return out


class ChunkDraws:
    """Per-chunk memo of uniform streams, drawn once for all the chunk's children.

    Subsets (e.g. the children on one arm) are sliced from the memo.

    Identical numbers to uncached draws; it only saves regenerating random blocks when the
    same stream is read for several arms.
    """

    def __init__(self, seed: int, ids: IntArray) -> None:
        self.seed = seed
        self.ids = np.asarray(ids, dtype=np.int64)
        self._order = np.argsort(self.ids, kind="stable")
        n = self.ids.size
        self._contiguous = bool(n == 0 or np.all(np.diff(self.ids) == 1))
        self._memo: dict[tuple[str, int], FloatArray] = {}

    def rows(self, ids: IntArray) -> NDArray[np.intp]:
        """Row positions of ``ids`` in the chunk (all must belong to it)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self._contiguous:
            rows = ids - (self.ids[0] if self.ids.size else 0)
            if ids.size and (rows.min() < 0 or rows.max() >= self.ids.size):
                raise ValueError("ids outside the chunk")
            return np.asarray(rows, dtype=np.intp)
        pos = np.searchsorted(self.ids, ids, sorter=self._order)
        rows = self._order[np.minimum(pos, self.ids.size - 1)]
        if ids.size and not np.array_equal(self.ids[rows], ids):
            raise ValueError("ids outside the chunk")
        return np.asarray(rows, dtype=np.intp)

    def uniforms(self, name: str, ids: IntArray, k: int = 1) -> FloatArray:
        """Like :func:`uniforms` for ``ids`` of this chunk."""
        key = (name, k)
        if key not in self._memo:
            self._memo[key] = _uniforms(self.seed, name, self.ids, k)
        return self._memo[key][self.rows(ids)]


def uniforms(
    seed: int, name: str, ids: IntArray, k: int = 1, cache: ChunkDraws | None = None
) -> FloatArray:
    """Uniform(0, 1) draws for patients ``ids``: shape ``(n,)`` if ``k == 1`` else ``(n, k)``.

    Values are shifted into the open interval (0, 1) so inverse CDFs stay finite. With a
    ``cache`` (whose seed must be ``seed``), streams are drawn once per chunk.
    """
    if cache is not None:
        if cache.seed != seed:
            raise ValueError("cache seed differs from seed")
        return cache.uniforms(name, ids, k)
    return _uniforms(seed, name, ids, k)


def _uniforms(seed: int, name: str, ids: IntArray, k: int) -> FloatArray:
    u = _by_block(seed, name, ids, k, normal=False)
    # np.clip's bounds in place (same values, without clip's overhead)
    np.maximum(u, 1e-16, out=u)
    np.minimum(u, 1.0 - 1e-16, out=u)
    return u[:, 0] if k == 1 else u


def normals(seed: int, name: str, ids: IntArray, k: int = 1) -> FloatArray:
    """Standard-normal draws for patients ``ids``: shape ``(n,)`` if ``k == 1`` else ``(n, k)``."""
    z = _by_block(seed, name, ids, k, normal=True)
    return z[:, 0] if k == 1 else z
