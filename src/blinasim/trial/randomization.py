"""Stratified permuted-block randomization.

Within each stratum, patients in order of randomization fill consecutive blocks; each
block's size is drawn among ``block_sizes`` and holds the arms in the allocation ratio, in
a random order. The block sizes and the within-block order come from the stream
``trial.randomization`` keyed by replicate and stratum: fully vectorized, and independent
of the other strata.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from blinasim import rng
from blinasim.trial.design import Allocation

IntArray = NDArray[np.int64]


BLOCKS_PER_PAGE = 1024
"""Blocks drawn per generator page: patient ``i``'s arm never depends on the stratum size."""


def block_assignments(
    n: int, allocation: Allocation, *, seed: int, replicate: int, stratum: int
) -> IntArray:
    """Arm codes (0 control, 1 experimental) of the first ``n`` patients of a stratum."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sizes = np.asarray(allocation.block_sizes, dtype=np.int64)
    size_pages: list[IntArray] = []
    key_pages: list[NDArray[np.float64]] = []
    total = 0
    page = 0
    while total < n:
        g = rng.generator(seed, "trial.randomization", replicate, stratum, page)
        bs = g.choice(sizes, size=BLOCKS_PER_PAGE)
        keys = g.random(int(bs.sum()))
        size_pages.append(bs)
        key_pages.append(keys)
        total += int(bs.sum())
        page += 1
    bs = np.concatenate(size_pages)
    keys = np.concatenate(key_pages)
    # keep only the blocks that hold the first n patients
    ends = np.cumsum(bs)
    n_blocks = int(np.searchsorted(ends, n, side="left")) + 1
    bs = bs[:n_blocks]
    total = int(ends[n_blocks - 1])
    keys = keys[:total]
    a, b = allocation.ratio
    block_id = np.repeat(np.arange(n_blocks), bs)
    pos = np.arange(total) - np.repeat(ends[:n_blocks] - bs, bs)
    # position within the block -> arm label before shuffling: the first a/(a+b) are control
    n_ctrl = np.repeat(bs * a // (a + b), bs)
    label = (pos >= n_ctrl).astype(np.int64)
    # shuffle within blocks: sort by block, then by a uniform key
    order = np.argsort(block_id + keys, kind="stable")
    out: IntArray = label[order][:n]
    return out


def stratified_assignments(
    strata: IntArray, n_strata: int, allocation: Allocation, *, seed: int, replicate: int
) -> IntArray:
    """Arm codes for patients listed in order of randomization with stratum codes."""
    arm = np.zeros(strata.size, dtype=np.int64)
    if not allocation.stratified:
        return block_assignments(strata.size, allocation, seed=seed, replicate=replicate, stratum=0)
    for s in range(n_strata):
        idx = np.flatnonzero(strata == s)
        arm[idx] = block_assignments(
            idx.size, allocation, seed=seed, replicate=replicate, stratum=s
        )
    return arm


__all__ = ["block_assignments", "stratified_assignments"]
