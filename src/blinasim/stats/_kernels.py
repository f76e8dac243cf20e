"""Numba kernels shared by the single-trial and the batched survival statistics.

The single-trial functions (:func:`~blinasim.stats.kaplan_meier`,
:func:`~blinasim.stats.logrank_test`) and their batched variants call the *same* compiled
per-sample kernels, so a batched replicate equals the single-trial result bit for bit.

Conventions: every kernel receives observations already sorted by time (ascending). Tied
times are processed as one block and counted in integers before any floating-point
arithmetic, so the order of rows within a tie (which differs between sort algorithms)
never changes a result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

# ----------------------------------------------------------------------------------------
# Kaplan-Meier / Nelson-Aalen table
# ----------------------------------------------------------------------------------------


@njit(cache=True)
def km_table(t: Any, e: Any) -> Any:  # pragma: no cover - compiled
    """Kaplan-Meier table from time-sorted data.

    Returns ``(times, n_risk, n_event, n_censor, surv, greenwood, cumhaz, var_cumhaz)``
    over the distinct times (events and censorings). ``greenwood`` is the cumulative
    sum of ``d / (n (n - d))`` (``inf`` once ``n == d``); ``cumhaz``/``var_cumhaz`` are the
    Nelson-Aalen estimate ``sum d/n`` and its variance ``sum d/n^2`` (R survival 3.x).
    """
    n = t.shape[0]
    m = 0
    for i in range(n):
        if i == 0 or t[i] != t[i - 1]:
            m += 1
    times = np.empty(m, np.float64)
    n_risk = np.empty(m, np.int64)
    n_event = np.empty(m, np.int64)
    n_censor = np.empty(m, np.int64)
    surv = np.empty(m, np.float64)
    gw = np.empty(m, np.float64)
    ch = np.empty(m, np.float64)
    vch = np.empty(m, np.float64)
    s = 1.0
    g = 0.0
    h = 0.0
    vh = 0.0
    at_risk = n
    i = 0
    j = 0
    while i < n:
        ti = t[i]
        d = 0
        c = 0
        while i < n and t[i] == ti:
            if e[i] != 0:
                d += 1
            else:
                c += 1
            i += 1
        nr = at_risk
        if d > 0:
            fn = float(nr)
            fd = float(d)
            s = s * (1.0 - fd / fn)
            g = np.inf if nr == d else g + fd / (fn * (fn - fd))
            h = h + fd / fn
            vh = vh + fd / (fn * fn)
        times[j] = ti
        n_risk[j] = nr
        n_event[j] = d
        n_censor[j] = c
        surv[j] = s
        gw[j] = g
        ch[j] = h
        vch[j] = vh
        at_risk -= d + c
        j += 1
    return times, n_risk, n_event, n_censor, surv, gw, ch, vch


@njit(cache=True)
def km_at(t: Any, e: Any, at: Any, surv_out: Any, se_out: Any) -> None:  # pragma: no cover
    """Kaplan-Meier survival and Greenwood SE of S at the sorted-or-not times ``at``.

    Uses :func:`km_table`, then the right-continuous step function (S = 1, SE = 0 before
    the first time; the last value carries forward). SE is ``S * sqrt(greenwood)``, NaN
    where S = 0 (as R's ``summary.survfit``).
    """
    times, _nr, _ne, _nc, surv, gw, _ch, _vch = km_table(t, e)
    m = times.shape[0]
    for k in range(at.shape[0]):
        idx = np.searchsorted(times, at[k], side="right") - 1
        if idx < 0 or m == 0:
            surv_out[k] = 1.0
            se_out[k] = 0.0
        else:
            s = surv[idx]
            surv_out[k] = s
            se_out[k] = se_from_greenwood(s, gw[idx])


@njit(cache=True)
def se_from_greenwood(s: float, g: float) -> Any:  # pragma: no cover - compiled
    """SE of S from the Greenwood sum: ``S sqrt(g)``; NaN when S == 0 (R's convention)."""
    if s == 0.0:
        return np.nan
    return s * np.sqrt(g)


@njit(cache=True, parallel=True)
def km_at_batched(
    time: Any, event: Any, group: Any, mask: Any, n_groups: int, at: Any
) -> Any:  # pragma: no cover - compiled
    """KM survival and SE at ``at`` for each replicate (row) and group code."""
    reps = time.shape[0]
    surv = np.empty((reps, n_groups, at.shape[0]), np.float64)
    se = np.empty((reps, n_groups, at.shape[0]), np.float64)
    counts = np.zeros((reps, n_groups), np.int64)
    for r in prange(reps):
        order = np.argsort(time[r])
        for gcode in range(n_groups):
            k = 0
            for i in order:
                if mask[r, i] and group[r, i] == gcode:
                    k += 1
            counts[r, gcode] = k
            tt = np.empty(k, np.float64)
            ee = np.empty(k, np.int64)
            k = 0
            for i in order:
                if mask[r, i] and group[r, i] == gcode:
                    tt[k] = time[r, i]
                    ee[k] = event[r, i]
                    k += 1
            if k == 0:
                for q in range(at.shape[0]):
                    surv[r, gcode, q] = np.nan
                    se[r, gcode, q] = np.nan
            else:
                km_at(tt, ee, at, surv[r, gcode], se[r, gcode])
    return surv, se, counts


# ----------------------------------------------------------------------------------------
# Log-rank (survdiff) kernel
# ----------------------------------------------------------------------------------------


@njit(cache=True)
def logrank_sorted(
    t: Any, e: Any, g: Any, s: Any, n_groups: int, n_strata: int, rho: float
) -> Any:  # pragma: no cover - compiled
    """G-rho log-rank sums from time-sorted data (R ``survdiff``).

    ``g`` are group codes ``0..n_groups-1``, ``s`` stratum codes ``0..n_strata-1``.
    Returns ``(observed, expected, var)`` summed over strata: ``observed`` and
    ``expected`` are (n_groups,) and weighted by ``S(t-)^rho`` (the pooled Kaplan-Meier
    just before ``t`` within the stratum), ``var`` is the (n_groups, n_groups) covariance
    of ``observed - expected``.
    """
    n = t.shape[0]
    risk = np.zeros((n_strata, n_groups), np.int64)
    for i in range(n):
        risk[s[i], g[i]] += 1
    km = np.ones(n_strata, np.float64)
    d = np.zeros((n_strata, n_groups), np.int64)
    rem = np.zeros((n_strata, n_groups), np.int64)
    touched = np.empty(n_strata, np.int64)
    seen = np.zeros(n_strata, np.bool_)
    obs = np.zeros(n_groups, np.float64)
    exp = np.zeros(n_groups, np.float64)
    var = np.zeros((n_groups, n_groups), np.float64)
    i = 0
    while i < n:
        ti = t[i]
        nt = 0
        while i < n and t[i] == ti:
            si = s[i]
            if not seen[si]:
                seen[si] = True
                touched[nt] = si
                nt += 1
            rem[si, g[i]] += 1
            if e[i] != 0:
                d[si, g[i]] += 1
            i += 1
        # strata in code order, whatever the order of rows within the tie
        for q in range(1, nt):
            v = touched[q]
            p = q - 1
            while p >= 0 and touched[p] > v:
                touched[p + 1] = touched[p]
                p -= 1
            touched[p + 1] = v
        for q in range(nt):
            st = touched[q]
            seen[st] = False
            deaths = 0
            nrisk = 0
            for k in range(n_groups):
                deaths += d[st, k]
                nrisk += risk[st, k]
            if deaths > 0:
                fd = float(deaths)
                fn = float(nrisk)
                wt = 1.0 if rho == 0.0 else km[st] ** rho
                for k in range(n_groups):
                    obs[k] += wt * d[st, k]
                    exp[k] += wt * fd * risk[st, k] / fn
                if nrisk > 1:
                    for j in range(n_groups):
                        tmp = wt * wt * fd * risk[st, j] * (fn - fd) / (fn * (fn - 1.0))
                        var[j, j] += tmp
                        for k in range(n_groups):
                            var[k, j] -= tmp * risk[st, k] / fn
                km[st] = km[st] * (fn - fd) / fn
            for k in range(n_groups):
                risk[st, k] -= rem[st, k]
                rem[st, k] = 0
                d[st, k] = 0
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


@njit(cache=True, parallel=True)
def logrank_batched(
    time: Any, event: Any, group: Any, strata: Any, mask: Any, n_strata: int, rho: float
) -> Any:  # pragma: no cover - compiled
    """Two-group (stratified) log-rank per replicate: ``(o1, e1, v11, z, chisq)``."""
    reps = time.shape[0]
    o1 = np.empty(reps, np.float64)
    e1 = np.empty(reps, np.float64)
    v11 = np.empty(reps, np.float64)
    z = np.empty(reps, np.float64)
    chisq = np.empty(reps, np.float64)
    for r in prange(reps):
        order = np.argsort(time[r])
        k = 0
        for i in order:
            if mask[r, i]:
                k += 1
        tt = np.empty(k, np.float64)
        ee = np.empty(k, np.int64)
        gg = np.empty(k, np.int64)
        ss = np.empty(k, np.int64)
        k = 0
        for i in order:
            if mask[r, i]:
                tt[k] = time[r, i]
                ee[k] = event[r, i]
                gg[k] = group[r, i]
                ss[k] = strata[r, i]
                k += 1
        obs, exp, var = logrank_sorted(tt, ee, gg, ss, 2, n_strata, rho)
        o1[r] = obs[1]
        e1[r] = exp[1]
        v11[r] = var[1, 1]
        zr, cr = two_group_stat(obs, exp, var)
        z[r] = zr
        chisq[r] = cr
    return o1, e1, v11, z, chisq
