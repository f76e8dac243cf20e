"""Numba kernel of :func:`blinasim.economics.evaluate`: each child's discounted exposures.

One pass over the children computes, for one discount rate, every *exposure* (a
discounted count of point events or discounted years of a spell) that a price or a utility
multiplies: :data:`COLUMNS`. Costs and QALYs are then dot products of the exposures with the
setting's numbers, so the kernel never sees a price. Closed forms as in
:mod:`~.discount` (continuous: ``(1 - exp(-delta t)) / delta``; annual: whole-year steps).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]

N_KINDS = 7
"""Phase kinds (:data:`~.setting.PHASE_KINDS`), columns 0..6: discounted years on each."""
VIALS, BAGS, PUMP_DAYS, CYCLES = 7, 8, 9, 10
REINDUCTION, CONSOLIDATION, THIRD_LINE, HSCT, CART, END_OF_LIFE = 11, 12, 13, 14, 15, 16
RELAPSE_FOLLOW_UP, FOLLOW_UP, SURVIVORSHIP = 17, 18, 19
AE_COUNT = 20
"""8 columns: adverse event ``type * 2 + (grade >= 4)``, discounted episodes."""
AE_YEARS = 28
"""8 columns: discounted years within each episode's duration (for its disutility)."""
OFF_THERAPY, LONG_TERM, RELAPSE_SHORT, RELAPSE_LONG, HSCT_SHORT, HSCT_LONG = 36, 37, 38, 39, 40, 41
LIFE_YEARS = 42
LATE = 43
"""Then 2 x L columns: each late effect's discounted onsets, then discounted years after onset."""
CYCLE_DAYS = 28.0
CYCLE_EVERY_DAYS = 35.0
"""A post-relapse blinatumomab cycle: 28 days of infusion every 35 days (as a first-line block)."""

# structural numbers (params vector)
P_BAG_DAYS, P_VIAL_UG, P_CAP, P_WASTAGE, P_REL_DOSE, P_REL_CYCLES = 0, 1, 2, 3, 4, 5
P_FU_YEARS, P_RFU_YEARS, P_SURV_FROM, P_LT_FROM, P_R_SHORT, P_H_SHORT = 6, 7, 8, 9, 10, 11
P_AE_DUR = 12
"""8 values: duration in days of each adverse-event column."""
N_PARAMS = 20
Y = DAYS_PER_YEAR


def n_columns(n_late: int) -> int:
    """Number of exposure columns with ``n_late`` late effects."""
    return LATE + 2 * n_late


@numba.njit(cache=True, inline="always")
def _g(t: float, delta: float, annual: bool) -> float:
    """Discounted years from 0 to ``t`` days (``delta = log(1 + r)``, 0: undiscounted)."""
    x = t / Y
    if delta == 0.0:
        return x
    if not annual:
        return -math.expm1(-delta * x) / delta
    k = math.floor(x)
    return -math.expm1(-delta * k) / -math.expm1(-delta) + (x - k) * math.exp(-delta * k)


@numba.njit(cache=True, inline="always")
def _d(t: float, delta: float, annual: bool) -> float:
    x = t / Y
    if delta == 0.0:
        return 1.0
    if annual:
        x = math.floor(x)
    return math.exp(-delta * x)


@numba.njit(cache=True, inline="always")
def _sp(
    x: FloatArray, col: int, a: float, b: float, o: float, e: float, delta: float, annual: bool
) -> None:
    """Add the spell ``[a, b)`` cut to ``[o, e]`` (row 0 discounted, row 1 not)."""
    lo = max(a, o)
    hi = min(b, e)
    if hi > lo:
        x[0, col] += _g(hi - o, delta, annual) - _g(lo - o, delta, annual)
        x[1, col] += (hi - lo) / Y


@numba.njit(cache=True, inline="always")
def _pt(x: FloatArray, col: int, w: float, t: float, o: float, e: float, delta: float,
        annual: bool) -> None:  # fmt: skip
    """Add ``w`` events at ``t`` (if in ``[o, e]``) to column ``col``."""
    if t >= o and t <= e:
        x[0, col] += w * _d(t - o, delta, annual)
        x[1, col] += w


@numba.njit(cache=True, inline="always")
def _bag_factors(
    f: FloatArray, a: float, days: float, o: float, e: float, delta: float, annual: bool,
    bag: float,
) -> int:  # fmt: skip
    """Each bag's start factor (row 0: discounted, row 1: not) and length (row 2).

    Returns the number of bags.
    """
    nb = math.ceil(days / bag - 1e-9)
    for j in range(nb):
        t = a + j * bag
        ok = t >= o and t <= e
        f[0, j] = _d(t - o, delta, annual) if ok else 0.0
        f[1, j] = 1.0 if ok else 0.0
        f[2, j] = min(max(days - j * bag, 0.0), bag)
    return nb


@numba.njit(cache=True, inline="always")
def _vials(x: FloatArray, f: FloatArray, nb: int, daily: float, p: FloatArray) -> None:
    for j in range(nb):
        nv = daily * f[2, j] / p[P_VIAL_UG]
        if p[P_WASTAGE] > 0.0:
            nv = math.ceil(nv - 1e-9)
        for r in range(2):
            x[r, VIALS] += f[r, j] * nv
            x[r, BAGS] += f[r, j]


@numba.njit(cache=True, inline="always")
def _infusion(
    x: FloatArray, f: FloatArray, a: float, days: float, daily: float, o: float, e: float,
    delta: float, annual: bool, p: FloatArray,
) -> None:  # fmt: skip
    """Add one infusion's vials, bags, pump days and cycle to ``x`` (days > 0)."""
    nb = _bag_factors(f, a, days, o, e, delta, annual, p[P_BAG_DAYS])
    _vials(x, f, nb, daily, p)
    lo = max(a, o)
    hi = min(a + days, e)
    if hi > lo:
        x[0, PUMP_DAYS] += (_g(hi - o, delta, annual) - _g(lo - o, delta, annual)) * Y
        x[1, PUMP_DAYS] += hi - lo
    _pt(x, CYCLES, 1.0, a, o, e, delta, annual)


@numba.njit(cache=True, inline="always")
def _two_level(
    x: FloatArray, a: float, b: float, c0: float, years: float, cs: int, cl: int, o: float,
    e: float, delta: float, annual: bool,
) -> None:  # fmt: skip
    m = c0 + years * Y
    _sp(x, cs, a, min(b, m), o, e, delta, annual)
    _sp(x, cl, max(a, m), b, o, e, delta, annual)


@numba.njit(cache=True)
def _first_line_full(
    c: FloatArray, fb: FloatArray, nbs: NDArray[np.int64], ti: int, o: float, e: float,
    tab_start: FloatArray, tab_end: FloatArray, tab_kind: NDArray[np.int64],
    inf_start: FloatArray, inf_end: FloatArray, delta: float, annual: bool, p: FloatArray,
) -> None:  # fmt: skip
    """A complete first line of table ``ti`` from origin ``o`` (cached per table).

    Phase years, pump days and cycles in ``c``; each infusion's bag factors in ``fb``.
    """
    c[:, :] = 0.0
    for j in range(tab_kind.shape[1]):
        k = tab_kind[ti, j]
        if k >= 0:
            _sp(c, k, tab_start[ti, j], tab_end[ti, j], o, e, delta, annual)
    for j in range(inf_start.shape[1]):
        a = inf_start[ti, j]
        b = inf_end[ti, j]
        nbs[j] = 0
        if b > a:
            nbs[j] = _bag_factors(fb[j], a, b - a, o, e, delta, annual, p[P_BAG_DAYS])
            lo, hi = max(a, o), min(b, e)
            if hi > lo:
                c[0, PUMP_DAYS] += (_g(hi - o, delta, annual) - _g(lo - o, delta, annual)) * Y
                c[1, PUMP_DAYS] += hi - lo
            _pt(c, CYCLES, 1.0, a, o, e, delta, annual)


@numba.njit(cache=True)
def exposures(
    rate: float,
    annual: bool,
    origin: FloatArray,
    end: FloatArray,
    stop: FloatArray,
    table: NDArray[np.int16],
    bsa: FloatArray,
    relapse: FloatArray,
    cons_day: FloatArray,
    cons_blina: NDArray[np.bool_],
    hsct: FloatArray,
    cart: FloatArray,
    fail: FloatArray,
    death: FloatArray,
    disease_death: NDArray[np.bool_],
    tab_start: FloatArray,
    tab_end: FloatArray,
    tab_kind: NDArray[np.int64],
    inf_start: FloatArray,
    inf_end: FloatArray,
    inf_dose: FloatArray,
    inf_cap: FloatArray,
    ae_ptr: NDArray[np.int64],
    ae_type: NDArray[np.int8],
    ae_grade: NDArray[np.int8],
    ae_day: FloatArray,
    late: FloatArray,
    p: FloatArray,
    per_child: bool,
) -> tuple[FloatArray, FloatArray]:
    """Column sums of the exposures (row 0 at ``rate``, row 1 undiscounted).

    Also the per-child exposures ``(n, 2, columns)`` if ``per_child`` (else empty).

    A child who completes first-line therapy alive reuses its table's first-line factors
    (computed once per table and origin); the others are computed directly.
    """
    n = origin.size
    nl = late.shape[1]
    ncol = LATE + 2 * nl
    delta = math.log1p(rate) if rate >= 1e-12 else 0.0
    bag = p[P_BAG_DAYS]
    sums = np.zeros((2, ncol))
    out = np.zeros((n if per_child else 0, 2, ncol))
    # without per-child output the child's exposures go straight into the sums
    x = np.zeros((2, ncol)) if per_child else sums
    nt, ni = tab_kind.shape[0], inf_start.shape[1]
    maxlen = 0.0
    for t in range(nt):
        for j in range(ni):
            maxlen = max(maxlen, inf_end[t, j] - inf_start[t, j])
    nbmax = int(max(maxlen, CYCLE_DAYS) / bag) + 2
    f = np.zeros((3, nbmax))
    cache = np.zeros((nt, 2, N_KINDS + 4 + 8))
    cache_fb = np.zeros((nt, ni, 3, nbmax))
    cache_nb = np.zeros((nt, ni), dtype=np.int64)
    cache_o = np.full(nt, np.nan)
    last = np.zeros(nt)
    for t in range(nt):
        for j in range(tab_kind.shape[1]):
            if tab_kind[t, j] >= 0:
                last[t] = max(last[t], tab_end[t, j])
    for i in range(n):
        if per_child:
            x[:, :] = 0.0
        o = origin[i]
        e = end[i]
        st = stop[i]
        ti = table[i]
        if st >= last[ti] and e >= last[ti]:
            if cache_o[ti] != o:
                _first_line_full(
                    cache[ti], cache_fb[ti], cache_nb[ti], ti, o, 1e300, tab_start, tab_end,
                    tab_kind, inf_start, inf_end, delta, annual, p,
                )  # fmt: skip
                cache_o[ti] = o
            for r in range(2):
                for k in range(N_KINDS):
                    x[r, k] += cache[ti, r, k]
                x[r, PUMP_DAYS] += cache[ti, r, PUMP_DAYS]
                x[r, CYCLES] += cache[ti, r, CYCLES]
            for j in range(ni):
                if cache_nb[ti, j] > 0:
                    daily = min(inf_dose[ti, j] * bsa[i], min(p[P_CAP], inf_cap[ti, j]))
                    _vials(x, cache_fb[ti, j], cache_nb[ti, j], daily, p)
        else:
            for j in range(tab_kind.shape[1]):
                k = tab_kind[ti, j]
                if k >= 0:
                    _sp(x, k, tab_start[ti, j], min(tab_end[ti, j], st), o, e, delta, annual)
            for j in range(ni):
                a = inf_start[ti, j]
                b = inf_end[ti, j]
                if not b > a:
                    continue
                days = min(max(min(b, st) - a, 0.0), b - a)
                if days > 0.0:
                    daily = min(inf_dose[ti, j] * bsa[i], min(p[P_CAP], inf_cap[ti, j]))
                    _infusion(x, f, a, days, daily, o, e, delta, annual, p)
        # after a first relapse
        r = relapse[i]
        _pt(x, REINDUCTION, 1.0, r, o, e, delta, annual)
        if cons_blina[i]:
            daily = min(p[P_REL_DOSE] * bsa[i], p[P_CAP])
            for c in range(int(p[P_REL_CYCLES] + 0.5)):
                a = cons_day[i] + c * CYCLE_EVERY_DAYS
                days = min(max(death[i] - a, 0.0), CYCLE_DAYS)
                if days > 0.0:
                    _infusion(x, f, a, days, daily, o, e, delta, annual, p)
        else:
            _pt(x, CONSOLIDATION, 1.0, cons_day[i], o, e, delta, annual)
        if not math.isfinite(cart[i]):
            _pt(x, THIRD_LINE, 1.0, fail[i], o, e, delta, annual)
        _pt(x, HSCT, 1.0, hsct[i], o, e, delta, annual)
        _pt(x, CART, 1.0, cart[i], o, e, delta, annual)
        if disease_death[i]:
            _pt(x, END_OF_LIFE, 1.0, death[i], o, e, delta, annual)
        _sp(x, RELAPSE_FOLLOW_UP, r, r + p[P_RFU_YEARS] * Y, o, e, delta, annual)
        _sp(x, FOLLOW_UP, st, min(st + p[P_FU_YEARS] * Y, r), o, e, delta, annual)
        _sp(x, SURVIVORSHIP, p[P_SURV_FROM] * Y, e, o, e, delta, annual)
        # adverse events
        for q in range(ae_ptr[i], ae_ptr[i + 1]):
            col = 2 * ae_type[q] + (1 if ae_grade[q] >= 4 else 0)
            d0 = ae_day[q]
            _pt(x, AE_COUNT + col, 1.0, d0, o, e, delta, annual)
            _sp(x, AE_YEARS + col, d0, d0 + p[P_AE_DUR + col], o, e, delta, annual)
        # states for utilities
        first_end = min(r, e)
        lt = p[P_LT_FROM] * Y
        _sp(x, OFF_THERAPY, st, min(first_end, lt), o, e, delta, annual)
        _sp(x, LONG_TERM, max(st, lt), first_end, o, e, delta, annual)
        h = hsct[i]
        fd = fail[i]
        rs = p[P_R_SHORT]
        _two_level(x, r, min(h, fd), r, rs, RELAPSE_SHORT, RELAPSE_LONG, o, e, delta, annual)
        _two_level(x, h, fd, h, p[P_H_SHORT], HSCT_SHORT, HSCT_LONG, o, e, delta, annual)
        _two_level(x, fd, e, fd, rs, RELAPSE_SHORT, RELAPSE_LONG, o, e, delta, annual)
        _sp(x, LIFE_YEARS, o, e, o, e, delta, annual)
        for m in range(nl):
            d0 = late[i, m]
            if d0 <= e:
                _pt(x, LATE + m, 1.0, d0, o, e, delta, annual)
                _sp(x, LATE + nl + m, d0, e, o, e, delta, annual)
        if per_child:
            sums += x
            out[i] = x
    return sums, out
