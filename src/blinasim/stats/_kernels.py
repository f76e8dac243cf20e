"""Numba kernels shared by the single-trial and the batched survival statistics.

The single-trial functions (:func:`~blinasim.stats.kaplan_meier`,
:func:`~blinasim.stats.logrank_test`) and their batched variants call the *same* compiled
kernels, so a batched replicate equals the single-trial result bit for bit.

Data layout ("cells"): observations are split by cell, a small integer code such as
``(stratum * n_groups + group) * 2 + event``, and the times of each cell are stored
sorted in one contiguous segment ``times[offsets[c]:offsets[c + 1]]``. The kernels merge
the segments of a stratum in time order. Sorting plain float segments (a SIMD sort in
numpy) is several times faster than an ``argsort`` of all rows, and the result can not
depend on the order of rows within tied times: ties are counted in integers before any
floating-point arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

# ----------------------------------------------------------------------------------------
# Kaplan-Meier / Nelson-Aalen table
# ----------------------------------------------------------------------------------------


@njit(cache=True)
def km_counts(te: Any, tc: Any) -> Any:  # pragma: no cover - compiled
    """Distinct times and their event/censoring counts from sorted ``te`` and ``tc``."""
    ne = te.shape[0]
    nc = tc.shape[0]
    times = np.empty(ne + nc, np.float64)
    n_event = np.empty(ne + nc, np.int64)
    n_censor = np.empty(ne + nc, np.int64)
    i = 0
    k = 0
    j = 0
    while i < ne or k < nc:
        ti = te[i] if (k >= nc or (i < ne and te[i] <= tc[k])) else tc[k]
        d = 0
        while i < ne and te[i] == ti:
            d += 1
            i += 1
        c = 0
        while k < nc and tc[k] == ti:
            c += 1
            k += 1
        times[j] = ti
        n_event[j] = d
        n_censor[j] = c
        j += 1
    return times[:j], n_event[:j], n_censor[:j]


@njit(cache=True)
def km_from_counts(times: Any, n_event: Any, n_censor: Any) -> Any:  # pragma: no cover
    """Kaplan-Meier table from distinct sorted times and their event/censoring counts.

    Returns ``(times, n_risk, n_event, n_censor, surv, greenwood)``; ``greenwood`` is the
    cumulative sum of ``d / (n (n - d))`` (``inf`` once ``n == d``).
    """
    m = times.shape[0]
    n_risk = np.empty(m, np.int64)
    surv = np.empty(m, np.float64)
    gw = np.empty(m, np.float64)
    at_risk = 0
    for j in range(m):
        at_risk += n_event[j] + n_censor[j]
    s = 1.0
    g = 0.0
    for j in range(m):
        d = n_event[j]
        nr = at_risk
        if d > 0:
            fn = float(nr)
            fd = float(d)
            s = s * (1.0 - fd / fn)
            g = np.inf if nr == d else g + fd / (fn * (fn - fd))
        n_risk[j] = nr
        surv[j] = s
        gw[j] = g
        at_risk -= d + n_censor[j]
    return times, n_risk, n_event, n_censor, surv, gw


@njit(cache=True)
def nelson_aalen_sums(n_risk: Any, n_event: Any) -> Any:  # pragma: no cover - compiled
    """Nelson-Aalen ``sum d/n`` and its variance ``sum d/n^2`` (R survival 3.x, ctype 1)."""
    m = n_risk.shape[0]
    ch = np.empty(m, np.float64)
    vch = np.empty(m, np.float64)
    h = 0.0
    vh = 0.0
    for j in range(m):
        d = n_event[j]
        if d > 0:
            fn = float(n_risk[j])
            fd = float(d)
            h = h + fd / fn
            vh = vh + fd / (fn * fn)
        ch[j] = h
        vch[j] = vh
    return ch, vch


@njit(cache=True)
def km_table(te: Any, tc: Any) -> Any:  # pragma: no cover - compiled
    """Kaplan-Meier table (see :func:`km_from_counts`) from sorted event/censoring times."""
    times, n_event, n_censor = km_counts(te, tc)
    return km_from_counts(times, n_event, n_censor)


@njit(cache=True)
def se_from_greenwood(s: float, g: float) -> Any:  # pragma: no cover - compiled
    """SE of S from the Greenwood sum: ``S sqrt(g)``; NaN when S == 0 (R's convention)."""
    if s == 0.0:
        return np.nan
    return s * np.sqrt(g)


@njit(cache=True)
def km_at(te: Any, tc: Any, at: Any, surv_out: Any, se_out: Any) -> None:  # pragma: no cover
    """Kaplan-Meier survival and Greenwood SE of S at the times ``at``.

    Uses :func:`km_table`, then the right-continuous step function (S = 1, SE = 0 before
    the first time; the last value carries forward). SE is ``S * sqrt(greenwood)``, NaN
    where S = 0 (as R's ``summary.survfit``).
    """
    times, _nr, _ne, _nc, surv, gw = km_table(te, tc)
    for k in range(at.shape[0]):
        idx = np.searchsorted(times, at[k], side="right") - 1
        if idx < 0:
            surv_out[k] = 1.0
            se_out[k] = 0.0
        else:
            s = surv[idx]
            surv_out[k] = s
            se_out[k] = se_from_greenwood(s, gw[idx])


@njit(cache=True)
def cell_layout(
    time: Any, code: Any, mask: Any, n_cells: int, buf: Any, offsets: Any, sort: bool
) -> None:  # pragma: no cover - compiled
    """Counting sort of the masked rows by cell code into ``buf``; segments sorted if ``sort``.

    ``offsets`` (length ``n_cells + 1``) receives the segment bounds.
    """
    offsets[:] = 0
    for i in range(time.shape[0]):
        if mask[i]:
            offsets[code[i] + 1] += 1
    for c in range(n_cells):
        offsets[c + 1] += offsets[c]
    fill = offsets[:-1].copy()
    for i in range(time.shape[0]):
        if mask[i]:
            c = code[i]
            buf[fill[c]] = time[i]
            fill[c] += 1
    if sort:
        for c in range(n_cells):
            if offsets[c + 1] - offsets[c] > 1:
                buf[offsets[c] : offsets[c + 1]].sort()


@njit(cache=True)
def radix_sort(t: Any, c: Any) -> None:  # pragma: no cover - compiled
    """Sort finite times ``t >= 0`` (not -0.0) in place, carrying the codes ``c`` along.

    The bit patterns of non-negative doubles sort like the doubles, so an LSD radix sort
    on the top 32 bits (four 8-bit passes, skipped when every key shares the byte) is
    followed by an insertion pass that orders keys equal in their top 32 bits (times
    within about 1e-6 relative of each other: rare and adjacent). If that pass has to
    move too much, an argsort finishes the job. Faster than a comparison sort on the
    ~1,000-row rows of a simulated trial; the result is the same sorted sequence.
    """
    n = t.shape[0]
    keys = t.view(np.uint64)
    hist = np.zeros((8, 256), np.int64)
    for i in range(n):
        k = keys[i]
        for b in range(4, 8):
            hist[b, (k >> np.uint64(8 * b)) & np.uint64(255)] += 1
    src_k = keys
    src_c = c
    dst_k = np.empty(n, np.uint64)
    dst_c = np.empty(n, c.dtype)
    swapped = False
    for b in range(4, 8):
        if np.max(hist[b]) == n:
            continue
        pos = np.empty(256, np.int64)
        acc = 0
        for v in range(256):
            pos[v] = acc
            acc += hist[b, v]
        shift = np.uint64(8 * b)
        for i in range(n):
            k = src_k[i]
            v = (k >> shift) & np.uint64(255)
            p = pos[v]
            dst_k[p] = k
            dst_c[p] = src_c[i]
            pos[v] = p + 1
        src_k, dst_k = dst_k, src_k
        src_c, dst_c = dst_c, src_c
        swapped = not swapped
    if swapped:
        keys[:] = src_k
        c[:] = src_c
    budget = 16 * n
    for i in range(1, n):
        k = keys[i]
        if keys[i - 1] > k:
            v = c[i]
            j = i - 1
            while j >= 0 and keys[j] > k:
                keys[j + 1] = keys[j]
                c[j + 1] = c[j]
                j -= 1
                budget -= 1
            keys[j + 1] = k
            c[j + 1] = v
            if budget < 0:
                order = np.argsort(keys)
                keys[:] = keys[order]
                c[:] = c[order]
                return


@njit(cache=True)
def sorted_cells(
    time: Any, code: Any, mask: Any, n_cells: int, buf: Any, offsets: Any
) -> None:  # pragma: no cover - compiled
    """:func:`cell_layout` with sorted segments, via one :func:`radix_sort` of the row."""
    m = 0
    for i in range(time.shape[0]):
        if mask[i]:
            m += 1
    tt = np.empty(m, np.float64)
    cc = np.empty(m, np.int64)
    m = 0
    for i in range(time.shape[0]):
        if mask[i]:
            tt[m] = time[i] + 0.0  # -0.0 becomes +0.0
            cc[m] = code[i]
            m += 1
    radix_sort(tt, cc)
    everyone = np.ones(m, np.bool_)
    cell_layout(tt, cc, everyone, n_cells, buf, offsets, False)  # stable: segments sorted


@njit(cache=True, parallel=True)
def km_at_batched(
    time: Any,
    event: Any,
    group: Any,
    has_group: bool,
    mask: Any,
    has_mask: bool,
    n_groups: int,
    at: Any,
) -> Any:  # pragma: no cover - compiled
    """KM survival and SE at ``at`` for each replicate (row) and group code.

    Cells are ``group * 2 + event``. Without ``has_group`` (``has_mask``) the ``group``
    (``mask``) argument is a dummy: one group (every cell used).
    """
    reps = time.shape[0]
    n = time.shape[1]
    n_cells = 2 * n_groups
    surv = np.empty((reps, n_groups, at.shape[0]), np.float64)
    se = np.empty((reps, n_groups, at.shape[0]), np.float64)
    counts = np.zeros((reps, n_groups), np.int64)
    everyone = np.ones(n, np.bool_)
    for r in prange(reps):
        row_mask = mask[r] if has_mask else everyone
        code = np.empty(n, np.int64)
        for i in range(n):
            if row_mask[i]:
                code[i] = 2 * group[r, i] + event[r, i] if has_group else event[r, i]
            else:
                code[i] = 0
        buf = np.empty(n, np.float64)
        off = np.empty(n_cells + 1, np.int64)
        sorted_cells(time[r], code, row_mask, n_cells, buf, off)
        for gcode in range(n_groups):
            tc = buf[off[2 * gcode] : off[2 * gcode + 1]]
            te = buf[off[2 * gcode + 1] : off[2 * gcode + 2]]
            counts[r, gcode] = te.shape[0] + tc.shape[0]
            if counts[r, gcode] == 0:
                for q in range(at.shape[0]):
                    surv[r, gcode, q] = np.nan
                    se[r, gcode, q] = np.nan
            else:
                km_at(te, tc, at, surv[r, gcode], se[r, gcode])
    return surv, se, counts


# ----------------------------------------------------------------------------------------
# Log-rank (survdiff) kernel
# ----------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _logrank_block(
    d: Any, rem: Any, risk: Any, n_groups: int, km: float, rho: float, obs: Any, exp: Any, var: Any
) -> float:  # pragma: no cover - compiled
    """Add one distinct time of one stratum (deaths ``d``, removals ``rem`` per group).

    Updates ``obs``/``exp``/``var`` and the at-risk counts ``risk``; returns the pooled
    Kaplan-Meier of the stratum after this time.
    """
    deaths = 0
    nrisk = 0
    for k in range(n_groups):
        deaths += d[k]
        nrisk += risk[k]
    if deaths > 0:
        fd = float(deaths)
        fn = float(nrisk)
        wt = 1.0 if rho == 0.0 else km**rho
        for k in range(n_groups):
            obs[k] += wt * d[k]
            exp[k] += wt * fd * risk[k] / fn
        if nrisk > 1:
            for j in range(n_groups):
                tmp = wt * wt * fd * risk[j] * (fn - fd) / (fn * (fn - 1.0))
                var[j, j] += tmp
                for k in range(n_groups):
                    var[k, j] -= tmp * risk[k] / fn
        km = km * (fn - fd) / fn
    for k in range(n_groups):
        risk[k] -= rem[k]
    return km


@njit(cache=True)
def logrank_cells(
    tt: Any, offsets: Any, n_groups: int, n_strata: int, rho: float
) -> Any:  # pragma: no cover - compiled
    """G-rho log-rank sums (R ``survdiff``) from the cell layout.

    Cell ``(s * n_groups + g) * 2 + e`` holds the sorted times of stratum ``s``, group
    ``g``, event indicator ``e``. Strata are processed one after another, as R does.
    Returns ``(observed, expected, var)`` summed over strata: ``observed`` and
    ``expected`` are (n_groups,) and weighted by ``S(t-)^rho`` (the pooled Kaplan-Meier
    just before ``t`` within the stratum), ``var`` is the (n_groups, n_groups) covariance
    of ``observed - expected``.
    """
    n_cells = 2 * n_groups
    pos = np.empty(n_cells, np.int64)
    end = np.empty(n_cells, np.int64)
    risk = np.empty(n_groups, np.int64)
    d = np.empty(n_groups, np.int64)
    rem = np.empty(n_groups, np.int64)
    obs = np.zeros(n_groups, np.float64)
    exp = np.zeros(n_groups, np.float64)
    var = np.zeros((n_groups, n_groups), np.float64)
    for st in range(n_strata):
        base = st * n_cells
        for c in range(n_cells):
            pos[c] = offsets[base + c]
            end[c] = offsets[base + c + 1]
        for k in range(n_groups):
            risk[k] = end[2 * k] - pos[2 * k] + end[2 * k + 1] - pos[2 * k + 1]
        km = 1.0
        while True:
            found = False
            ti = 0.0
            for c in range(n_cells):
                if pos[c] < end[c] and (not found or tt[pos[c]] < ti):
                    ti = tt[pos[c]]
                    found = True
            if not found:
                break
            for k in range(n_groups):
                ce = 2 * k + 1
                dk = 0
                while pos[ce] < end[ce] and tt[pos[ce]] == ti:
                    dk += 1
                    pos[ce] += 1
                cc = 2 * k
                ck = 0
                while pos[cc] < end[cc] and tt[pos[cc]] == ti:
                    ck += 1
                    pos[cc] += 1
                d[k] = dk
                rem[k] = dk + ck
            km = _logrank_block(d, rem, risk, n_groups, km, rho, obs, exp, var)
    return obs, exp, var


@njit(cache=True)
def logrank_counts(
    counts: Any, n_groups: int, n_strata: int, rho: float
) -> Any:  # pragma: no cover - compiled
    """:func:`logrank_cells` from a count table: ``counts[u, cell]`` rows at the u-th time.

    Rows are distinct times in ascending order, columns the cells of
    :func:`logrank_cells`. Same arithmetic in the same order, so the same result bit for
    bit (a time without rows of the stratum changes nothing).
    """
    n_cells = 2 * n_groups
    risk = np.zeros(n_groups, np.int64)
    d = np.empty(n_groups, np.int64)
    rem = np.empty(n_groups, np.int64)
    obs = np.zeros(n_groups, np.float64)
    exp = np.zeros(n_groups, np.float64)
    var = np.zeros((n_groups, n_groups), np.float64)
    for st in range(n_strata):
        base = st * n_cells
        for k in range(n_groups):
            risk[k] = 0
            for u in range(counts.shape[0]):
                risk[k] += counts[u, base + 2 * k] + counts[u, base + 2 * k + 1]
        km = 1.0
        for u in range(counts.shape[0]):
            present = False
            for k in range(n_groups):
                d[k] = counts[u, base + 2 * k + 1]
                rem[k] = d[k] + counts[u, base + 2 * k]
                if rem[k] > 0:
                    present = True
            if present:
                km = _logrank_block(d, rem, risk, n_groups, km, rho, obs, exp, var)
    return obs, exp, var


@njit(cache=True)
def two_group_stat(obs: Any, exp: Any, var: Any) -> Any:  # pragma: no cover - compiled
    """``(z, chisq)`` for two groups: z = (O1 - E1)/sqrt(V11) for group code 1.

    Without information (V11 = 0, e.g. no events) both are 0, so p = 1.
    """
    diff = obs[1] - exp[1]
    v = var[1, 1]
    if v > 0.0:
        return diff / np.sqrt(v), diff * diff / v
    return 0.0, 0.0


@njit(cache=True)
def replicate_cells(
    time: Any,
    event: Any,
    group: Any,
    strata: Any,
    has_strata: bool,
    row_mask: Any,
    r: int,
    n_cells: int,
) -> Any:  # pragma: no cover - compiled
    """Replicate ``r``'s times grouped by (stratum, group, event) cell (:func:`sorted_cells`).

    Returns ``(buf, off)``; rows outside ``row_mask`` are left out.
    """
    n = time.shape[1]
    code = np.empty(n, np.int64)
    for i in range(n):
        if row_mask[i]:
            st = strata[r, i] if has_strata else 0
            code[i] = (st * 2 + group[r, i]) * 2 + event[r, i]
        else:
            code[i] = 0
    buf = np.empty(n, np.float64)
    off = np.empty(n_cells + 1, np.int64)
    sorted_cells(time[r], code, row_mask, n_cells, buf, off)
    return buf, off


@njit(cache=True, parallel=True)
def logrank_batched(
    time: Any,
    event: Any,
    group: Any,
    strata: Any,
    has_strata: bool,
    mask: Any,
    has_mask: bool,
    n_strata: int,
    rho: float,
) -> Any:  # pragma: no cover - compiled
    """Two-group (stratified) log-rank per replicate: ``(o1, e1, v11, z, chisq)``.

    Without ``has_strata`` (``has_mask``) the ``strata`` (``mask``) argument is a dummy:
    one stratum (every cell used).
    """
    reps = time.shape[0]
    n = time.shape[1]
    n_cells = 4 * n_strata
    o1 = np.empty(reps, np.float64)
    e1 = np.empty(reps, np.float64)
    v11 = np.empty(reps, np.float64)
    z = np.empty(reps, np.float64)
    chisq = np.empty(reps, np.float64)
    everyone = np.ones(n, np.bool_)
    for r in prange(reps):
        row_mask = mask[r] if has_mask else everyone
        buf, off = replicate_cells(time, event, group, strata, has_strata, row_mask, r, n_cells)
        obs, exp, var = logrank_cells(buf, off, 2, n_strata, rho)
        o1[r] = obs[1]
        e1[r] = exp[1]
        v11[r] = var[1, 1]
        zr, cr = two_group_stat(obs, exp, var)
        z[r] = zr
        chisq[r] = cr
    return o1, e1, v11, z, chisq
