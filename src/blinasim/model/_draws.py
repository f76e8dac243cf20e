"""Per-patient random draws keyed by patient id (not by position in a chunk).

Patient ``i`` always gets the ``i``-th number of stream ``name`` (via
:func:`blinasim.rng.uniforms` blocks), whatever the cohort, the chunk or the subset of
patients it is simulated with: this gives bit-identity across chunk sizes and common random
numbers across arms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from blinasim import rng

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _by_block(seed: int, name: str, ids: IntArray, k: int, normal: bool) -> FloatArray:
    ids = np.asarray(ids, dtype=np.int64)
    n = ids.size
    if n == 0:
        return np.empty((0, k), dtype=np.float64)
    step = np.diff(ids)
    ascending = bool(np.all(step >= 0))
    if (ids[0] if ascending else ids.min()) < 0:
        raise ValueError("patient ids must be non-negative integers")
    draw = rng.normals if normal else rng.uniforms
    if ascending and ids[-1] - ids[0] == n - 1 and np.all(step == 1):
        # contiguous ids (the usual chunk): let rng slice the blocks
        vals = draw(seed, name, int(ids[0]), n, k=k)
        return np.asarray(vals, dtype=np.float64).reshape(n, k)
    if not ascending:
        order = np.argsort(ids, kind="stable")
        back = np.empty(n, dtype=np.intp)
        back[order] = np.arange(n)
        return np.take(_sorted_by_block(seed, name, ids[order], k, draw), back, axis=0)
    return _sorted_by_block(seed, name, ids, k, draw)


def _sorted_by_block(
    seed: int, name: str, ids: IntArray, k: int, draw: Callable[..., FloatArray]
) -> FloatArray:
    """Draws for ascending (possibly repeated, non-contiguous) ids, one block at a time.

    Each block's patients are one slice of ``ids``; its draws run from the block's first
    patient to the last one asked for (:func:`blinasim.rng.uniforms` draws no further).
    """
    out = np.empty((ids.size, k), dtype=np.float64)
    first, last = int(ids[0]) // rng.PATIENT_BLOCK, int(ids[-1]) // rng.PATIENT_BLOCK
    cuts = np.searchsorted(ids, np.arange(first + 1, last + 1) * rng.PATIENT_BLOCK).tolist()
    lo = 0
    for b, hi in zip(range(first, last + 1), [*cuts, ids.size], strict=True):
        if hi > lo:
            base = b * rng.PATIENT_BLOCK
            rows = ids[lo:hi] - base
            vals = draw(seed, name, base, int(rows[-1]) + 1, k=k).reshape(-1, k)
            # np.take: ~10x faster than vals[rows] on 2-d arrays; rows are in range here
            np.take(vals, rows, axis=0, out=out[lo:hi], mode="clip")
        lo = hi
    return out


class ChunkDraws:
    """Per-chunk memo of uniform and normal streams, drawn once for all the chunk's children.

    Subsets (e.g. the children on one arm) are sliced from the memo.

    Identical numbers to uncached draws; it only saves regenerating random blocks when the
    same stream is read for several arms. The row positions of the last few ``ids`` arrays
    asked for are remembered too (the engine reads many streams for one arm's children),
    and checked against the chunk on every reuse.
    """

    def __init__(self, seed: int, ids: IntArray) -> None:
        self.seed = seed
        self.ids = np.asarray(ids, dtype=np.int64)
        n = self.ids.size
        step = np.diff(self.ids)
        self._contiguous = bool(n == 0 or np.all(step == 1))
        self._ascending = bool(np.all(step >= 0))
        self._order = None if self._ascending else np.argsort(self.ids, kind="stable")
        self._memo: dict[tuple[str, int, bool], FloatArray] = {}
        self._rows: dict[int, tuple[IntArray, NDArray[np.intp]]] = {}

    def rows(self, ids: IntArray) -> NDArray[np.intp]:
        """Row positions of ``ids`` in the chunk (all must belong to it)."""
        if self._contiguous:
            ids = np.asarray(ids, dtype=np.int64)
            rows = ids - (self.ids[0] if self.ids.size else 0)
            if ids.size and (rows.min() < 0 or rows.max() >= self.ids.size):
                raise ValueError("ids outside the chunk")
            return np.asarray(rows, dtype=np.intp)
        seen = self._rows.get(id(ids))
        if seen is not None and seen[0] is ids and np.array_equal(self.ids[seen[1]], ids):
            return seen[1]
        arr = np.asarray(ids, dtype=np.int64)
        if self.ids.size == 0:
            if arr.size:
                raise ValueError("ids outside the chunk")
            return np.empty(0, dtype=np.intp)
        if self._order is None:
            rows = np.minimum(np.searchsorted(self.ids, arr), self.ids.size - 1)
        else:
            pos = np.searchsorted(self.ids, arr, sorter=self._order)
            rows = self._order[np.minimum(pos, self.ids.size - 1)]
        if arr.size and not np.array_equal(self.ids[rows], arr):
            raise ValueError("ids outside the chunk")
        rows = np.asarray(rows, dtype=np.intp)
        if isinstance(ids, np.ndarray):
            if len(self._rows) >= _ROWS_KEPT:
                del self._rows[next(iter(self._rows))]
            self._rows[id(ids)] = (ids, rows)
        return rows

    def uniforms(self, name: str, ids: IntArray, k: int = 1) -> FloatArray:
        """Like :func:`uniforms` for ``ids`` of this chunk."""
        return self.uniforms_at(name, self.rows(ids), k)

    def uniforms_at(self, name: str, rows: NDArray[np.intp], k: int = 1) -> FloatArray:
        """:meth:`uniforms` for the children at ``rows`` (from :meth:`rows`) of the chunk.

        For a caller reading many streams for the same children: their rows found once.
        """
        return np.take(self._stream(name, k, normal=False), rows, axis=0)

    def normals(self, name: str, ids: IntArray, k: int = 1) -> FloatArray:
        """Like :func:`normals` for ``ids`` of this chunk."""
        return np.take(self._stream(name, k, normal=True), self.rows(ids), axis=0)

    def check_seed(self, seed: int) -> None:
        """Refuse to serve draws of another root seed than the chunk's."""
        if seed != self.seed:
            raise ValueError("cache seed differs from seed")

    def _stream(self, name: str, k: int, *, normal: bool) -> FloatArray:
        """The whole chunk's draws of stream ``name`` (drawn on first use)."""
        key = (name, k, normal)
        if key not in self._memo:
            self._memo[key] = (_normals if normal else _uniforms)(self.seed, name, self.ids, k)
        return self._memo[key]


_ROWS_KEPT = 8
"""``ids`` arrays whose row positions a :class:`ChunkDraws` remembers."""


def uniforms(
    seed: int, name: str, ids: IntArray, k: int = 1, cache: ChunkDraws | None = None
) -> FloatArray:
    """Uniform(0, 1) draws for patients ``ids``: shape ``(n,)`` if ``k == 1`` else ``(n, k)``.

    Values are shifted into the open interval (0, 1) so inverse CDFs stay finite. With a
    ``cache`` (whose seed must be ``seed``), streams are drawn once per chunk.
    """
    if cache is not None:
        cache.check_seed(seed)
        return cache.uniforms(name, ids, k)
    return _uniforms(seed, name, ids, k)


def _uniforms(seed: int, name: str, ids: IntArray, k: int) -> FloatArray:
    u = _by_block(seed, name, ids, k, normal=False)
    # in place, one pass (numpy 2's clip is ~5x faster than a maximum then a minimum)
    np.clip(u, 1e-16, 1.0 - 1e-16, out=u)
    return u[:, 0] if k == 1 else u


def normals(
    seed: int, name: str, ids: IntArray, k: int = 1, cache: ChunkDraws | None = None
) -> FloatArray:
    """Standard-normal draws for patients ``ids``: shape ``(n,)`` if ``k == 1`` else ``(n, k)``.

    With a ``cache`` (whose seed must be ``seed``), streams are drawn once per chunk.
    """
    if cache is not None:
        cache.check_seed(seed)
        return cache.normals(name, ids, k)
    return _normals(seed, name, ids, k)


def _normals(seed: int, name: str, ids: IntArray, k: int) -> FloatArray:
    z = _by_block(seed, name, ids, k, normal=True)
    return z[:, 0] if k == 1 else z
