"""Stratified permuted-block randomization.

Within each stratum, patients in order of randomization fill consecutive blocks; each
block's size is drawn among ``block_sizes`` and holds the arms in the allocation ratio, in
a random order. The block sizes and the within-block order come from the stream
``trial.randomization`` keyed by replicate, stratum and page (of :data:`BLOCKS_PER_PAGE`
blocks): patient ``i``'s arm never depends on the stratum size or on the other strata.
:func:`stratified_assignments_many` does many trials at once with the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from blinasim import rng
from blinasim.trial.design import Allocation

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

BLOCKS_PER_PAGE = 512
"""Blocks drawn per generator page."""


def _pages(
    n: int, allocation: Allocation, *, seed: int, replicate: int, stratum: int
) -> tuple[IntArray, FloatArray]:
    """Block sizes and within-block sort keys covering at least ``n`` patients."""
    sizes = np.asarray(allocation.block_sizes, dtype=np.int64)
    size_pages: list[IntArray] = []
    key_pages: list[FloatArray] = []
    total = 0
    page = 0
    while total < n:
        g = rng.generator(seed, "trial.randomization", replicate, stratum, page)
        bs = sizes[g.integers(0, sizes.size, BLOCKS_PER_PAGE)]
        size_pages.append(bs)
        key_pages.append(g.random(int(bs.sum())))
        total += int(bs.sum())
        page += 1
    bs = np.concatenate(size_pages) if len(size_pages) > 1 else size_pages[0]
    keys = np.concatenate(key_pages) if len(key_pages) > 1 else key_pages[0]
    ends = np.cumsum(bs)
    n_blocks = int(np.searchsorted(ends, n, side="left")) + 1
    return bs[:n_blocks], keys[: int(ends[n_blocks - 1])]


def _labels(
    counts: Sequence[int], parts: Sequence[tuple[IntArray, FloatArray]], ratio: tuple[int, int]
) -> IntArray:
    """Arm labels of consecutive block sequences (one per count), concatenated."""
    if not parts:
        return np.zeros(0, dtype=np.int64)
    bs = np.concatenate([p[0] for p in parts])
    keys = np.concatenate([p[1] for p in parts])
    total = keys.size
    a, b = ratio
    ends = np.cumsum(bs)
    start = np.repeat(ends - bs, bs)
    pos = np.arange(total) - start
    # position within the block -> arm before shuffling: the first a/(a+b) are control
    label = (pos >= np.repeat(bs * a // (a + b), bs)).astype(np.int64)
    # shuffle within blocks: element i goes to its key's rank among its block's keys
    # (ties broken by position), found by comparing with the neighbours of the block
    rank = np.zeros(total, dtype=np.int64)
    for d in range(1, int(bs.max())):
        same = start[d:] == start[:-d]
        rank[d:] += same & (keys[:-d] <= keys[d:])
        rank[:-d] += same & (keys[d:] < keys[:-d])
    shuffled = np.empty(total, dtype=np.int64)
    shuffled[start + rank] = label
    # keep the first `count` patients of each sequence
    seq_len = np.array([p[1].size for p in parts], dtype=np.int64)
    starts = np.cumsum(seq_len) - seq_len
    keep = np.concatenate(
        [np.arange(s, s + c, dtype=np.int64) for s, c in zip(starts, counts, strict=True)]
    )
    out: IntArray = shuffled[keep]
    return out


def block_assignments(
    n: int, allocation: Allocation, *, seed: int, replicate: int, stratum: int
) -> IntArray:
    """Arm codes (0 control, 1 experimental) of the first ``n`` patients of a stratum."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    part = _pages(n, allocation, seed=seed, replicate=replicate, stratum=stratum)
    return _labels([n], [part], allocation.ratio)


def stratified_assignments_many(
    strata: IntArray,
    n_strata: int,
    allocation: Allocation,
    *,
    seed: int,
    replicates: Sequence[int],
) -> IntArray:
    """Arm codes for ``(trials, patients)`` stratum codes in order of randomization.

    Row ``i`` equals :func:`stratified_assignments` of trial ``replicates[i]``.
    """
    s2 = np.atleast_2d(strata)
    arm = np.zeros(s2.shape, dtype=np.int64)
    groups = range(n_strata) if allocation.stratified else [None]
    for s in groups:
        rows: list[NDArray[np.intp]] = []
        counts: list[int] = []
        parts: list[tuple[IntArray, FloatArray]] = []
        for i, r in enumerate(replicates):
            idx = np.flatnonzero(s2[i] == s) if s is not None else np.arange(s2.shape[1])
            rows.append(idx)
            counts.append(int(idx.size))
            if idx.size:
                parts.append(_pages(idx.size, allocation, seed=seed, replicate=r, stratum=s or 0))
        labels = _labels([c for c in counts if c], parts, allocation.ratio)
        at = 0
        for i, idx in enumerate(rows):
            arm[i, idx] = labels[at : at + idx.size]
            at += idx.size
    return arm


def stratified_assignments(
    strata: IntArray, n_strata: int, allocation: Allocation, *, seed: int, replicate: int
) -> IntArray:
    """Arm codes for patients listed in order of randomization with stratum codes."""
    out: IntArray = stratified_assignments_many(
        strata[None, :], n_strata, allocation, seed=seed, replicates=[replicate]
    )[0]
    return out


__all__ = [
    "BLOCKS_PER_PAGE",
    "block_assignments",
    "stratified_assignments",
    "stratified_assignments_many",
]
