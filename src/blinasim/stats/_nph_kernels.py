"""Numba kernel of the weighted log-rank statistics for many simulated trials at once.

Per replicate (row) the rows are laid out in cells ``(stratum * 2 + group) * 2 + event``
by :func:`blinasim.stats._kernels.sorted_cells`; the kernel merges each stratum's four
cells in time order and, at each time with an event and someone at risk in both groups
(simtrial's ``counting_process``), accumulates for every Fleming-Harrington weight
``S^rho (1 - S)^gamma`` the weighted observed-minus-expected of group 1 and the weighted
covariances, S being the left-continuous pooled Kaplan-Meier of the stratum over those
times. Same arithmetic as :func:`blinasim.stats.nph.counting_process` and ``weights``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from blinasim.stats._kernels import replicate_cells


@njit(cache=True)
def fh_cells(tt: Any, offsets: Any, n_strata: int, rg: Any) -> Any:  # pragma: no cover
    """``(u, cov)``: weighted sums of O - E (group 1) and their covariance, per weight."""
    m = rg.shape[0]
    u = np.zeros(m)
    cov = np.zeros((m, m))
    w = np.empty(m)
    pos = np.empty(4, np.int64)
    end = np.empty(4, np.int64)
    cnt = np.empty(4, np.int64)
    for st in range(n_strata):
        for c in range(4):
            pos[c] = offsets[st * 4 + c]
            end[c] = offsets[st * 4 + c + 1]
        n0 = end[0] - pos[0] + end[1] - pos[1]
        n1 = end[2] - pos[2] + end[3] - pos[3]
        km = 1.0
        while True:
            found = False
            ti = 0.0
            for c in range(4):
                if pos[c] < end[c] and (not found or tt[pos[c]] < ti):
                    ti = tt[pos[c]]
                    found = True
            if not found:
                break
            for c in range(4):
                cnt[c] = 0
                while pos[c] < end[c] and tt[pos[c]] == ti:
                    cnt[c] += 1
                    pos[c] += 1
            d = cnt[1] + cnt[3]
            d1 = cnt[3]
            n = n0 + n1
            if d > 0 and n0 > 0 and n1 > 0:
                fd = float(d)
                fn = float(n)
                ome = d1 - n1 / fn * fd
                var = (fn - n1) * n1 * fd * (fn - fd) / (fn * fn) / (fn - 1.0)
                for k in range(m):
                    w[k] = km ** rg[k, 0] * (1.0 - km) ** rg[k, 1]
                    u[k] += w[k] * ome
                for k in range(m):
                    for j in range(m):
                        cov[k, j] += w[k] * w[j] * var
                km = km * (1.0 - fd / fn)
            n0 -= cnt[0] + cnt[1]
            n1 -= cnt[2] + cnt[3]
    return u, cov


@njit(cache=True, parallel=True)
def fh_batched(
    time: Any,
    event: Any,
    group: Any,
    strata: Any,
    has_strata: bool,
    mask: Any,
    has_mask: bool,
    n_strata: int,
    rg: Any,
) -> Any:  # pragma: no cover - compiled
    """Per replicate: ``u`` (reps, m) and ``cov`` (reps, m, m) of :func:`fh_cells`."""
    reps = time.shape[0]
    n = time.shape[1]
    m = rg.shape[0]
    n_cells = 4 * n_strata
    u = np.empty((reps, m))
    cov = np.empty((reps, m, m))
    everyone = np.ones(n, np.bool_)
    for r in prange(reps):
        row_mask = mask[r] if has_mask else everyone
        buf, off = replicate_cells(time, event, group, strata, has_strata, row_mask, r, n_cells)
        ur, cr = fh_cells(buf, off, n_strata, rg)
        u[r] = ur
        cov[r] = cr
    return u, cov
