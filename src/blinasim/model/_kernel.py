"""The numba kernel of :mod:`blinasim.model.leukemia`: every patient's six sub-populations.

Per patient, first a joint pass over the two marrow CD19+ clones integrates blinatumomab's
effector-to-target kill within each infusion (:mod:`blinasim.model.pd`, same scheme as
:func:`blinasim.model.pd.infusion_response`): it gives each infusion segment's mean kill and
the CD19-negative cells made by antigen loss, which join the CD19-negative marrow clone
(counted back to day 0 along that clone's own trajectory, so that afterwards its
deterministic count is exact; they exist only from the end of the first infusion segment
that made them, so that everything before it, a crossing, a nadir, a readout, is the same on
every arm that shares the schedule up to then: common random numbers). Then each sub-
population runs through the segments log-linearly, with chance extinction at its nadir and,
for survivors regrowing after therapy, a dormancy delay: each of the ``k`` surviving cells
leaves quiescence at ``dormancy_rate`` per day, so regrowth starts after an exponential time
of mean ``1 / (k * dormancy_rate)`` (few survivors: long delays), and a large population
regrows as if it were ``r / (r + dormancy_rate)`` of its size (``r`` its net growth rate:
slow clones wait longest).

Callees of a cached kernel must not change without the kernel changing too: numba's cache
does not track them. Keep the kernel self-contained except for the helpers here.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

CERTAIN_EXTINCTION_LOG = -40.0
"""Below this natural-log count (4e-18 cells) extinction is certain in double precision."""
POISSON_EXACT_MAX_MEAN = 30.0
"""Above this expected number of surviving lineages, survival is certain to double precision."""
PD_STEP_DAYS = 1.0  # = blinasim.model.pd.PD_STEP_DAYS (tested)
ET_SATURATED = 1e-3  # = blinasim.model.pd.ET_SATURATED (tested)


@numba.njit(cache=True)
def _poisson_inv(u: float, lam: float) -> int:
    p = math.exp(-lam)
    cdf = p
    k = 0
    while u > cdf and k < 10_000:
        k += 1
        p *= lam / k
        cdf += p
    return k


@numba.njit(cache=True)
def _grown(r: float, gn: float, span: float) -> float:
    """``∫_0^span e^{r s} e^{gn (span - s)} ds``."""
    d = r - gn
    if abs(d * span) < 1e-8:
        return math.exp(gn * span) * span
    return math.exp(gn * span) * math.expm1(d * span) / d


@numba.njit(cache=True)
def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


@numba.njit(cache=True)
def _infuse(
    x0: float,
    x1: float,
    b: float,
    r0: float,
    r1: float,
    r2: float,
    pot: float,
    span: float,
    et50: float,
    loss_rate: float,
) -> tuple[float, float, float, float, float]:
    """One infusion segment on two CD19+ clones and the normal B cells.

    Returns the clones' log counts, the B cells, the integrated kill and the CD19-negative
    cells made by antigen loss (counted at the segment's end, grown at ``r2``).
    """
    nsteps = max(math.ceil(span / PD_STEP_DAYS - 1e-12), 1)
    h = span / nsteps
    left = span
    sumk = 0.0
    lost = 0.0
    for _ in range(nsteps):
        n0 = math.exp(x0)
        n1 = math.exp(x1)
        targets = n0 + n1 + b
        if targets < ET_SATURATED * et50:
            # saturated: the rest of the infusion in one step at the full kill
            lost = lost * math.exp(r2 * left) + loss_rate * (
                n0 * _grown(r0 - pot, r2, left) + n1 * _grown(r1 - pot, r2, left)
            )
            x0 += (r0 - pot) * left
            x1 += (r1 - pot) * left
            b *= math.exp(-pot * left)
            sumk += pot * left
            break
        kk = pot * et50 / (et50 + targets)
        lost = lost * math.exp(r2 * h) + loss_rate * (
            n0 * _grown(r0 - kk, r2, h) + n1 * _grown(r1 - kk, r2, h)
        )
        x0 += (r0 - kk) * h
        x1 += (r1 - kk) * h
        b *= math.exp(-kk * h)
        sumk += kk * h
        left -= h
    return x0, x1, b, sumk, lost


@numba.njit(cache=True, parallel=True)
def infusion_batch(
    log_n0: FloatArray,
    growth: FloatArray,
    cd19neg_growth: FloatArray,
    pot: FloatArray,
    bcells: FloatArray,
    span: float,
    et50: float,
    loss_rate: float,
    out_log: FloatArray,
    out_b: FloatArray,
    out_mean_kill: FloatArray,
    out_lost: FloatArray,
) -> None:
    """:func:`_infuse` for many patients with one CD19+ population each (pd's engine)."""
    for i in numba.prange(log_n0.size):
        x0, _, b, sumk, lost = _infuse(
            log_n0[i],
            -math.inf,
            bcells[i],
            growth[i],
            0.0,
            cd19neg_growth[i],
            pot[i],
            span,
            et50,
            loss_rate,
        )
        out_log[i] = x0
        out_b[i] = b
        out_mean_kill[i] = sumk / span
        out_lost[i] = lost


@numba.njit(cache=True)
def _marrow_cd19_pass(
    i: int,
    seg_start: FloatArray,
    seg_end: FloatArray,
    chemo_kill: FloatArray,
    blina_pot: FloatArray,
    growth: FloatArray,
    sigma: FloatArray,
    log_n0: FloatArray,
    et50: float,
    bcell0: float,
    loss_rate: float,
    keff: FloatArray,
) -> float:
    """Mean kill per infusion segment (into ``keff``); returns log acquired CD19-neg at day 0."""
    nseg = seg_start.size
    x0 = log_n0[i, 0]
    x1 = log_n0[i, 1]
    x2cum = 0.0
    log_acq = -math.inf
    b = 0.0
    prev_on = False
    for p in range(nseg):
        span = seg_end[p] - seg_start[p]
        r0 = growth[i, 0] - chemo_kill[p] * sigma[i, 0]
        r1 = growth[i, 1] - chemo_kill[p] * sigma[i, 1]
        r2 = growth[i, 2] - chemo_kill[p] * sigma[i, 2]
        pot = blina_pot[i, p]
        if pot > 0.0:
            if not prev_on:
                b = bcell0
            x0, x1, b, sumk, lost = _infuse(x0, x1, b, r0, r1, r2, pot, span, et50, loss_rate)
            keff[p] = sumk / span
            if lost > 0.0:
                log_acq = _logaddexp(log_acq, math.log(lost) - x2cum - r2 * span)
            prev_on = True
        else:
            keff[p] = 0.0
            x0 += r0 * span
            x1 += r1 * span
            prev_on = False
        x2cum += r2 * span
    return log_acq


@numba.njit(cache=True, parallel=True)
def kernel(
    seg_start: FloatArray,
    seg_end: FloatArray,
    chemo_kill: FloatArray,
    it_kill: FloatArray,
    blina_pot: FloatArray,
    growth: FloatArray,
    sigma: FloatArray,
    cns_factor: FloatArray,
    log_n0: FloatArray,
    u_ext: FloatArray,
    u_dorm: FloatArray,
    log_thr: FloatArray,
    death: float,
    cns_sys: float,
    blina_cns: float,
    et50: float,
    bcell0: float,
    loss_rate: float,
    dormancy_rate: float,
    therapy_end: float,
    cd19pos: FloatArray,
    qdays: FloatArray,
    out_cross: FloatArray,
    out_extinct: BoolArray,
    out_logq: FloatArray,
    out_nadir: FloatArray,
) -> None:
    """Fill ``out_*`` for every patient (see the module docstring)."""
    n = growth.shape[0]
    nseg = seg_start.size
    nq = qdays.size
    for i in numba.prange(n):
        rates = np.empty(nseg)
        keff = np.zeros(nseg)
        any_blina = False
        for p in range(nseg):
            if blina_pot[i, p] > 0.0:
                any_blina = True
        log_acq = -math.inf
        first_blina = nseg
        for p in range(nseg):
            if blina_pot[i, p] > 0.0:
                first_blina = p
                break
        if any_blina:
            log_acq = _marrow_cd19_pass(
                i,
                seg_start,
                seg_end,
                chemo_kill,
                blina_pot,
                growth,
                sigma,
                log_n0,
                et50,
                bcell0,
                loss_rate,
                keff,
            )
        for c in range(6):
            clone = c % 3
            g = growth[i, c]
            sig = sigma[i, clone]
            cd19 = cd19pos[clone]
            thr = log_thr[0] if c < 3 else log_thr[1]
            start = log_n0[i, c]
            # cells made by antigen loss enter as their day-0 equivalent (the dynamics are
            # linear), but they exist only from the first infusion: before it, crossings and
            # readouts see the pre-existing cells alone (``off`` below), so the arms agree
            # until they diverge (common random numbers)
            acq = 0.0
            if c == 2:
                start = _logaddexp(start, log_acq)
                acq = start - log_n0[i, c]
            for p in range(nseg):
                if c < 3:
                    rates[p] = g - chemo_kill[p] * sig - keff[p] * cd19
                else:
                    # intrathecal kill does not depend on systemic sensitivity (assumption)
                    rates[p] = (
                        g
                        - (chemo_kill[p] * sig * cns_sys + it_kill[p]) * cns_factor[i]
                        - keff[p] * cd19 * blina_cns
                    )
            # pass 1: deterministic trajectory, first upward crossing once below threshold
            # (``off``: before the first infusion the acquired CD19-negative cells do not
            # exist yet, so the clone is its pre-existing cells alone)
            off0 = acq if first_blina > 0 else 0.0
            cur = start
            armed = cur - off0 < thr
            m = cur - off0
            pm = -1  # nadir at the end of segment pm (-1: at day 0)
            for p in range(nseg):
                r = rates[p]
                off = acq if p < first_blina else 0.0
                nxt = cur + r * (seg_end[p] - seg_start[p])
                if armed and nxt - off >= thr and r > 0.0:
                    break
                if nxt - off < thr:
                    armed = True
                if nxt - off < m:
                    m = nxt - off
                    pm = p
                    if m < CERTAIN_EXTINCTION_LOG and (acq == 0.0 or p >= first_blina - 1):
                        break  # exp(m) < 1e-17: no lineage survives whatever comes later
                cur = nxt
            # chance extinction at the nadir
            tm = 0.0 if pm < 0 else seg_end[pm]
            r_after = rates[pm + 1] if pm + 1 < nseg else g
            birth = max(g + death, 1e-12)
            p_est = min(max(r_after / birth, 1e-12), 1.0)
            lam = math.exp(m) * p_est if m < 700.0 else math.inf
            shift = 0.0
            dead = False
            survivors = lam
            if lam <= POISSON_EXACT_MAX_MEAN:
                k = _poisson_inv(u_ext[i, c], lam)
                if k == 0:
                    dead = True
                else:
                    shift = math.log(k / lam)
                    survivors = float(k)
            # the log offset from the unshifted trajectory after the nadir, once cells made by
            # antigen loss exist: a nadir before the first infusion decides the pre-existing
            # cells only, and the acquired ones join them (assumption: no extinction is drawn
            # for the acquired cells, made in proportion to a large CD19+ burden)
            late_adj = shift
            if acq > 0.0 and pm < first_blina:
                pre = -math.inf if dead else log_n0[i, c] + shift
                late_adj = _logaddexp(pre, log_acq) - start
            out_extinct[i, c] = dead and not (acq > 0.0 and pm < first_blina < nseg)
            out_nadir[i, c] = tm
            # pass 2: realized trajectory; crossing and query values
            cross = math.inf
            cur = start
            armed = cur - off0 < thr
            qi = 0
            for p in range(nseg):
                after = p > pm
                gone = after and dead and (p < first_blina or not acq > 0.0 or pm >= first_blina)
                if gone and qi >= nq:
                    break  # extinct and no query left: nothing more to compute
                r = rates[p]
                s0 = seg_start[p]
                s1 = seg_end[p]
                if p < first_blina:
                    adj = -acq + (shift if after else 0.0)
                else:
                    adj = late_adj if after else 0.0
                while qi < nq and qdays[qi] < s1:
                    if qdays[qi] < s0 or gone:
                        out_logq[i, c, qi] = -math.inf
                    else:
                        out_logq[i, c, qi] = cur + adj + r * (qdays[qi] - s0)
                    qi += 1
                nxt = cur + r * (s1 - s0)
                if not gone and math.isinf(cross):
                    if armed and nxt + adj >= thr and r > 0.0:
                        cross = s0 + (thr - (cur + adj)) / r
                        if cross < s0:
                            # above the threshold at once when the acquired cells join: they
                            # are counted at the end of the infusion segment that made them
                            cross = s1
                    if nxt + adj < thr:
                        armed = True
                cur = nxt
            last_gone = dead and not (acq > 0.0 and pm < first_blina < nseg)
            end_adj = late_adj if pm < nseg - 1 else 0.0
            while qi < nq:
                out_logq[i, c, qi] = -math.inf if last_gone else cur + end_adj
                qi += 1
            # dormancy: survivors held down until the end of therapy regrow after a delay
            if (
                math.isfinite(cross)
                and dormancy_rate > 0.0
                and tm >= therapy_end
                and cross > therapy_end
                and r_after > 0.0
            ):
                # cells leave quiescence one by one at dormancy_rate: a large population regrows
                # as if it were r / (r + rate) of its size (a lag of log(1 + r/rate)/r days);
                # a few survivors also wait for the first of them (exponential, mean 1/(k rate))
                cross += math.log1p(r_after / dormancy_rate) / r_after
                if lam <= POISSON_EXACT_MAX_MEAN:
                    cross += -math.log(u_dorm[i, c]) / (survivors * dormancy_rate)
            out_cross[i, c] = cross
