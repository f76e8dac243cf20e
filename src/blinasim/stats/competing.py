"""Competing risks: Aalen-Johansen cumulative incidence and Gray's test, as R ``cmprsk``.

* :func:`cumulative_incidence` is ``cmprsk::cuminc``'s estimate for every cause (codes > 0;
  0 = censored) in every group: the CIF jumps by ``S(t-) d_k / n`` at each time with a
  cause-k event, where ``S`` is the all-cause Kaplan-Meier curve. Its variance is exactly
  the one ``cuminc`` reports (Gray's Fortran ``cinc``: the delta-method terms accumulate at
  every event time but are reported only at times of the cause's own events).
  :meth:`CumulativeIncidence.at` evaluates the curves like ``cmprsk::timepoints``: the value
  after the last jump at or before ``t``, NaN past the group's last follow-up time.
* :func:`gray_test` is Gray's (1988) k-sample test of the subdistribution hazards of one
  cause (``cuminc(...)$Tests``; Fortran ``crstm``), with the weight ``(1 - F(t-))^rho``
  and optional strata (scores and variances summed over strata).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numba import njit
from numpy.typing import NDArray
from scipy.linalg import qr
from scipy.stats import chi2

from blinasim.errors import InputError
from blinasim.stats._common import (
    FloatArray,
    IntArray,
    as_codes,
    as_float,
    check_lengths,
    factorize,
)


@njit(cache=True)
def _cinc(
    y: FloatArray, ic: NDArray[np.int64], icc: NDArray[np.int64]
) -> tuple[FloatArray, FloatArray, FloatArray]:  # pragma: no cover - compiled
    """CIF of one cause in one group (y sorted): jump times, estimates, cmprsk variances."""
    n = len(y)
    xs = np.empty(n)
    fs = np.empty(n)
    vs = np.empty(n)
    nj = 0
    fk = 1.0
    f = 0.0
    v1 = 0.0
    v2 = 0.0
    v3 = 0.0
    rs = float(n)
    ll = 0
    while ll < n:
        ty = y[ll]
        lu = ll
        while lu + 1 < n and y[lu + 1] == ty:
            lu += 1
        nd1 = 0
        nd2 = 0
        for i in range(ll, lu + 1):
            nd1 += icc[i]
            nd2 += ic[i] - icc[i]
        nd = nd1 + nd2
        if nd > 0:
            fkn = fk * (rs - nd) / rs
            if nd1 > 0:
                f = f + fk * nd1 / rs
            if nd2 > 0 and fkn > 0:
                t5 = 1.0
                if nd2 > 1:
                    t5 = 1.0 - (nd2 - 1.0) / (rs - 1.0)
                t6 = fk * fk * t5 * nd2 / (rs * rs)
                t3 = 1.0 / fkn
                t4 = f / fkn
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
            if nd1 > 0:
                t5 = 1.0
                if nd1 > 1:
                    t5 = 1.0 - (nd1 - 1.0) / (rs - 1.0)
                t6 = fk * fk * t5 * nd1 / (rs * rs)
                t3 = 0.0
                if fkn > 0:
                    t3 = 1.0 / fkn
                t4 = 1.0 + t3 * f
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
                xs[nj] = ty
                fs[nj] = f
                vs[nj] = v1 + f * f * v3 - 2.0 * f * v2
                nj += 1
            fk = fkn
        rs = float(n - lu - 1)
        ll = lu + 1
    return xs[:nj].copy(), fs[:nj].copy(), vs[:nj].copy()


# error_model="numpy": a division by zero gives inf/nan as in cmprsk's Fortran (e.g. once a
# stratum's cumulative incidence reaches 1), instead of raising ZeroDivisionError
@njit(cache=True, error_model="numpy")
def _crst(
    y: FloatArray, m: NDArray[np.int64], ig: NDArray[np.int64], ng: int, rho: float
) -> tuple[FloatArray, FloatArray]:  # pragma: no cover - compiled
    """Gray's score (first ng-1 groups) and its variance in one stratum (Fortran crst)."""
    n = len(y)
    ng1 = ng - 1
    rs = np.zeros(ng)
    for i in range(n):
        rs[ig[i]] += 1.0
    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    f1m = np.zeros(ng)
    f1 = np.zeros(ng)
    skmm = np.ones(ng)
    skm = np.ones(ng)
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    c = np.zeros((ng, ng))
    a = np.zeros((ng, ng))
    d = np.zeros((3, ng))
    fm = 0.0
    f = 0.0
    ll = 0
    while ll < n:
        lu = ll
        while lu + 1 < n and y[lu + 1] <= y[ll]:
            lu += 1
        d[:, :] = 0.0
        for i in range(ll, lu + 1):
            d[m[i], ig[i]] += 1.0
        nd1 = 0.0
        nd2 = 0.0
        for i in range(ng):
            nd1 += d[1, i]
            nd2 += d[2, i]
        if nd1 > 0 or nd2 > 0:
            tr = 0.0
            tq = 0.0
            for i in range(ng):
                if rs[i] <= 0:
                    continue
                td = d[1, i] + d[2, i]
                skm[i] = skmm[i] * (rs[i] - td) / rs[i]
                f1[i] = f1m[i] + (skmm[i] * d[1, i]) / rs[i]
                tr += rs[i] / skmm[i]
                tq += rs[i] * (1.0 - f1m[i]) / skmm[i]
            f = fm + nd1 / tr
            fb = (1.0 - fm) ** rho
            for i in range(ng):
                for j in range(i, ng):
                    a[i, j] = 0.0
                if rs[i] <= 0:
                    continue
                t1 = rs[i] / skmm[i]
                a[i, i] = fb * t1 * (1.0 - t1 / tr)
                c[i, i] += a[i, i] * nd1 / (tr * (1.0 - fm))
                for j in range(i + 1, ng):
                    if rs[j] <= 0:
                        continue
                    a[i, j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                    c[i, j] += a[i, j] * nd1 / (tr * (1.0 - fm))
            for i in range(1, ng):
                for j in range(i):
                    a[i, j] = a[j, i]
                    c[i, j] = c[j, i]
            for i in range(ng1):
                if rs[i] <= 0:
                    continue
                s[i] += fb * (d[1, i] - nd1 * rs[i] * (1.0 - f1m[i]) / (skmm[i] * tq))
            if nd1 > 0:
                for k in range(ng):
                    if rs[k] <= 0:
                        continue
                    t4 = 1.0
                    if skm[k] > 0:
                        t4 = 1.0 - (1.0 - f) / skm[k]
                    t5 = 1.0
                    if nd1 > 1:
                        t5 = 1.0 - (nd1 - 1.0) / (tr * skmm[k] - 1.0)
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        t1 = a[i, k] - t4 * c[i, k]
                        v2[i, k] += t1 * t4 * t3
                        for j in range(i + 1):
                            t2 = a[j, k] - t4 * c[j, k]
                            v[i, j] += t1 * t2 * t3
            if nd2 > 0:
                for k in range(ng):
                    if skm[k] <= 0 or d[2, k] <= 0:
                        continue
                    t4 = (1.0 - f) / skm[k]
                    t5 = 1.0
                    if d[2, k] > 1:
                        t5 = 1.0 - (d[2, k] - 1.0) / (rs[k] - 1.0)
                    t3 = t5 * ((skmm[k] ** 2) * d[2, k]) / (rs[k] ** 2)
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        t1 = t4 * c[i, k]
                        v2[i, k] -= t1 * t4 * t3
                        for j in range(i + 1):
                            t2 = t4 * c[j, k]
                            v[i, j] += t1 * t2 * t3
        if lu >= n - 1:
            break
        for i in range(ll, lu + 1):
            rs[ig[i]] -= 1.0
        fm = f
        for i in range(ng):
            f1m[i] = f1[i]
            skmm[i] = skm[i]
        ll = lu + 1
    for i in range(ng1):
        for j in range(i + 1):
            for k in range(ng):
                v[i, j] += c[i, k] * c[j, k] * v3[k]
                v[i, j] += c[i, k] * v2[j, k]
                v[i, j] += c[j, k] * v2[i, k]
    for i in range(ng1):
        for j in range(i):
            v[j, i] = v[i, j]
    return s, v


def _step_at(
    jump_t: FloatArray, values: FloatArray, max_time: float, times: FloatArray
) -> FloatArray:
    """Right-continuous step function from 0, NaN outside [0, max_time] (``tpoi``)."""
    idx = np.searchsorted(jump_t, times, side="right")
    padded = np.concatenate(([0.0], values))
    out = padded[idx]
    return np.where((times > max_time) | (times < 0), np.nan, out)


@dataclass(frozen=True, eq=False)
class CIFCurve:
    """The cumulative incidence of one cause in one group.

    ``time`` holds the distinct times with an event of this cause in this group,
    ``estimate`` the CIF just after each, ``variance`` cmprsk's variance there. The curve
    is 0 before the first time and is defined up to ``max_time``, the group's last
    follow-up time.
    """

    group: Any
    cause: int
    time: FloatArray
    estimate: FloatArray
    variance: FloatArray
    max_time: float
    n: int

    def at(self, times: Any) -> tuple[FloatArray, FloatArray]:
        """Estimate and variance at ``times`` (NaN past ``max_time``), like ``timepoints``."""
        tp = as_float(np.atleast_1d(np.asarray(times, dtype=np.float64)), "times")
        return (
            _step_at(self.time, self.estimate, self.max_time, tp),
            _step_at(self.time, self.variance, self.max_time, tp),
        )

    def to_frame(self) -> pd.DataFrame:
        """The jump points: time, estimate, variance, standard error."""
        return pd.DataFrame(
            {
                "time": self.time,
                "estimate": self.estimate,
                "variance": self.variance,
                "std_err": np.sqrt(np.maximum(self.variance, 0.0)),
            }
        )


@dataclass(frozen=True, eq=False)
class CIFTimepoints:
    """Curves evaluated at fixed times (rows: curves in ``(group, cause)`` order)."""

    times: FloatArray
    groups: tuple[Any, ...]
    causes: tuple[int, ...]
    estimate: FloatArray
    variance: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """Long table: group, cause, time, estimate, variance, std_err."""
        k, m = self.estimate.shape
        return pd.DataFrame(
            {
                "group": np.repeat(np.array(self.groups, dtype=object), m),
                "cause": np.repeat(np.array(self.causes, dtype=np.int64), m),
                "time": np.tile(self.times, k),
                "estimate": self.estimate.ravel(),
                "variance": self.variance.ravel(),
                "std_err": np.sqrt(np.maximum(self.variance.ravel(), 0.0)),
            }
        )


@dataclass(frozen=True, eq=False)
class CumulativeIncidence:
    """Aalen-Johansen cumulative incidence curves for every cause in every group.

    ``curves`` are ordered cause-major then group (as ``cuminc``'s list).
    """

    groups: tuple[Any, ...]
    causes: tuple[int, ...]
    curves: tuple[CIFCurve, ...]

    def curve(self, group: Any, cause: int) -> CIFCurve:
        """The curve of ``cause`` in ``group``."""
        for c in self.curves:
            if c.cause == cause and c.group == group:
                return c
        raise InputError(
            f"a (group, cause) pair among groups {list(self.groups)} and causes "
            f"{list(self.causes)}",
            field="curve",
            got=(group, cause),
        )

    def at(self, times: Any) -> CIFTimepoints:
        """All curves at the sorted distinct ``times`` (``cmprsk::timepoints``)."""
        tp = np.unique(as_float(np.atleast_1d(np.asarray(times, dtype=np.float64)), "times"))
        est = np.empty((len(self.curves), len(tp)))
        var = np.empty_like(est)
        for i, c in enumerate(self.curves):
            est[i], var[i] = c.at(tp)
        return CIFTimepoints(
            times=tp,
            groups=tuple(c.group for c in self.curves),
            causes=tuple(c.cause for c in self.curves),
            estimate=est,
            variance=var,
        )

    def to_frame(self) -> pd.DataFrame:
        """Long table of every curve's jump points: group, cause, time, estimate, variance."""
        frames = []
        for c in self.curves:
            f = c.to_frame()
            f.insert(0, "cause", c.cause)
            f.insert(0, "group", c.group)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True, eq=False)
class GrayTestResult:
    """Gray's k-sample test for one cause: chi-square ``s' V^-1 s`` on ``k - 1`` df.

    ``score`` and ``variance`` are for the first ``k - 1`` groups. When ``variance`` is
    singular (cmprsk then reports -1) the statistic and p-value are NaN.
    """

    statistic: float
    df: int
    p: float
    cause: int
    groups: tuple[Any, ...]
    rho: float
    score: FloatArray
    variance: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """One row: cause, statistic, df, p."""
        return pd.DataFrame(
            {"cause": [self.cause], "statistic": [self.statistic], "df": [self.df], "p": [self.p]}
        )


def _competing_input(time: Any, cause: Any) -> tuple[FloatArray, IntArray]:
    t = as_float(time, "time", nonnegative=True)
    c = as_codes(cause, "cause")
    check_lengths(len(t), cause=c)
    if len(t) == 0:
        raise InputError("at least one observation", field="time", got="empty")
    if not (c > 0).any():
        raise InputError("at least one event (cause code > 0)", field="cause", got="no events")
    return t, c


def cumulative_incidence(time: Any, cause: Any, *, group: Any = None) -> CumulativeIncidence:
    """Aalen-Johansen CIF of each cause per group, as ``cmprsk::cuminc`` (estimate + variance).

    Args:
        time: follow-up times (>= 0).
        cause: integer codes, 0 = censored, 1, 2, ... = cause of the event.
        group: optional group labels (one curve per cause per group).

    Returns:
        A :class:`CumulativeIncidence`.
    """
    t, c = _competing_input(time, cause)
    n = len(t)
    if group is None:
        gcodes = np.zeros(n, dtype=np.int64)
        labels: list[Any] = ["all"]
    else:
        gcodes, labels = factorize(group, "group", n)
    causes = tuple(int(k) for k in np.unique(c[c > 0]))
    order = np.argsort(t, kind="stable")
    ts, cs, gs = t[order], c[order], gcodes[order]
    curves: list[CIFCurve] = []
    per_group = []
    for gi in range(len(labels)):
        sel = gs == gi
        per_group.append((np.ascontiguousarray(ts[sel]), cs[sel]))
    for k in causes:
        for gi, lab in enumerate(labels):
            yg, cg = per_group[gi]
            ic = (cg > 0).astype(np.int64)
            icc = (cg == k).astype(np.int64)
            jt, est, var = _cinc(yg, ic, icc)
            curves.append(
                CIFCurve(
                    group=lab,
                    cause=k,
                    time=jt,
                    estimate=est,
                    variance=var,
                    max_time=float(yg[-1]),
                    n=len(yg),
                )
            )
    return CumulativeIncidence(groups=tuple(labels), causes=causes, curves=tuple(curves))


def _qr_rank(m: FloatArray, tol: float = 1e-7) -> int:
    """Numerical rank by pivoted QR with a relative tolerance (as R's ``qr``).

    A matrix with a non-finite entry (a stratum whose cumulative incidence reaches 1 makes
    the variance NaN under IEEE division, as cmprsk's Fortran does) has rank 0: no test.
    """
    if m.size == 0 or not np.isfinite(m).all():
        return 0
    r = qr(m, mode="r", pivoting=True)[0]
    dg = np.abs(np.diag(r))
    if dg.size == 0 or dg[0] == 0 or not np.isfinite(dg).all():
        return 0
    return int((dg > tol * dg[0]).sum())


def gray_test(
    time: Any,
    cause: Any,
    group: Any,
    *,
    cause_of_interest: int = 1,
    strata: Any = None,
    rho: float = 0.0,
) -> GrayTestResult:
    """Gray's test that the CIFs of ``cause_of_interest`` are equal across groups.

    Args:
        time: follow-up times (>= 0).
        cause: integer codes, 0 = censored, 1, 2, ... = cause of the event.
        group: group labels (at least two groups).
        cause_of_interest: the cause code to compare.
        strata: optional strata (the test sums scores and variances over strata).
        rho: power of the weight ``(1 - F(t-))^rho`` (cmprsk's default 0).

    Returns:
        A :class:`GrayTestResult` matching ``cuminc(...)$Tests`` for that cause.
    """
    t, c = _competing_input(time, cause)
    n = len(t)
    gcodes, labels = factorize(group, "group", n)
    ng = len(labels)
    if ng < 2:
        raise InputError("at least two groups", field="group", got=f"{ng} group")
    if not isinstance(rho, int | float) or not np.isfinite(rho):
        raise InputError("a finite number", field="rho", got=rho)
    if isinstance(cause_of_interest, bool) or not isinstance(cause_of_interest, int | np.integer):
        raise InputError("an integer cause code", field="cause_of_interest", got=cause_of_interest)
    if cause_of_interest <= 0 or not (c == cause_of_interest).any():
        present = sorted({int(k) for k in np.unique(c[c > 0])})
        raise InputError(
            f"a cause code present in the data ({present})",
            field="cause_of_interest",
            got=int(cause_of_interest),
        )
    if strata is None:
        scodes = np.zeros(n, dtype=np.int64)
        nst = 1
    else:
        scodes, slabels = factorize(strata, "strata", n)
        nst = len(slabels)
    m = np.where(c == 0, 0, np.where(c == cause_of_interest, 1, 2)).astype(np.int64)
    order = np.argsort(t, kind="stable")
    ts, ms, gs, ss = t[order], m[order], gcodes[order], scodes[order]
    s = np.zeros(ng - 1)
    v = np.zeros((ng - 1, ng - 1))
    for k in range(nst):
        sel = ss == k
        sk, vk = _crst(
            np.ascontiguousarray(ts[sel]),
            np.ascontiguousarray(ms[sel]),
            np.ascontiguousarray(gs[sel]),
            ng,
            float(rho),
        )
        s += sk
        v += vk
    df = ng - 1
    if _qr_rank(v) == df:
        stat = float(s @ np.linalg.solve(v, s))
        p = float(chi2.sf(stat, df))
    else:
        stat = float("nan")
        p = float("nan")
    return GrayTestResult(
        statistic=stat,
        df=df,
        p=p,
        cause=int(cause_of_interest),
        groups=tuple(labels),
        rho=float(rho),
        score=s,
        variance=v,
    )
