"""Individual patient data reconstructed from a published Kaplan-Meier curve (Guyot 2012).

Guyot P, Ades AE, Ouwens MJ, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
2012;12:9. The inputs are points read off the curve (time, survival) and the published
numbers at risk under the figure; optionally the total number of events. The algorithm, as
the paper's published R code (and R ``IPDfromKM::getIPD``, Liu, Zhou and Lee 2021, whose
code was read at cran/IPDfromKM commit 16ea3e1):

1. Between consecutive at-risk times, the number censored is first guessed from the drop in
   survival (``n_i S(t_{i+1}) / S(t_i) - n_{i+1}``), spread evenly over the interval, and
   the events at each read-in point are those that reproduce the read-in survival
   (``d_k = round(n_k (1 - S_k / KM(last event)))``); the number censored is then corrected
   by the difference between the estimated and the published number at risk at the next
   at-risk time, until they agree.
2. In the last interval (no published number at its end) censoring continues at the average
   rate of the earlier intervals; with a total number of events the last interval's
   censoring is adjusted until the events add up to it.
3. Events are placed at the read-in times, censorings at the midpoints between read-in
   points; those still at risk at the end are censored at the last read-in time.

Guards the paper's code lacks: the events at a point are kept within 0..(number at risk),
and the correction of an interval's censoring stops at IPDfromKM's bound (more censored
than the fall in the number at risk plus one) or after 10,000 rounds.

Preprocessing follows ``IPDfromKM::preprocess``: points sorted by time, survival forced
non-increasing, the curve started at (0, 1). At-risk rows after the last read-in point, and
rows whose interval holds no read-in point, are left out (and counted).

Checks, as IPDfromKM reports them (its ``precision`` and ``kstest``): the Kaplan-Meier of the
reconstruction at every read-in time against the read-in survival (RMSE with ``n - 1`` in
the denominator, mean and maximum absolute difference, two-sample Kolmogorov-Smirnov test;
at a time read twice, the ends of a drop, the upper reading is compared with the curve just
before the drop),
and per at-risk interval the published and estimated numbers at risk (at the interval's
first read-in point, as IPDfromKM's ``riskmat``), the censored and the events.
IPDfromKM rounds these to 3 decimals and reports the signed maximum; here they are unrounded
and the maximum is of the absolute difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from blinasim.errors import InputError
from blinasim.stats._common import FloatArray, IntArray, as_float
from blinasim.stats.km import kaplan_meier

_MAX_ITER = 10_000  # the paper's loops have no bound; a correction that cycles stops here


@dataclass(frozen=True)
class GuyotChecks:
    """How well the reconstruction reproduces its inputs (see the module docstring)."""

    rmse: float
    mean_abs_error: float
    max_abs_error: float
    ks_statistic: float
    ks_p: float
    points: pd.DataFrame  # time, survival (read in), estimated (KM of the reconstruction)
    at_risk: pd.DataFrame  # time, n_risk (published), n_risk_estimated, censored, events
    dropped_at_risk_rows: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the tables as records)."""
        return {
            "rmse": self.rmse,
            "mean_abs_error": self.mean_abs_error,
            "max_abs_error": self.max_abs_error,
            "ks_statistic": self.ks_statistic,
            "ks_p": self.ks_p,
            "dropped_at_risk_rows": self.dropped_at_risk_rows,
            "at_risk": self.at_risk.to_dict(orient="records"),
        }


@dataclass(frozen=True)
class Reconstruction:
    """Reconstructed individual data: one row per patient, and the checks."""

    time: FloatArray
    event: IntArray
    n_events: int
    checks: GuyotChecks


def _prepare(
    time: Any, surv: Any, risk_time: Any, n_risk: Any
) -> tuple[FloatArray, FloatArray, FloatArray, IntArray, int]:
    t = as_float(time, "time", nonnegative=True)
    s = as_float(surv, "survival")
    if len(t) != len(s):
        raise InputError(f"length {len(t)} (same as time)", field="survival", got=len(s))
    if len(t) < 2:
        raise InputError("at least two read-in points", field="time", got=len(t))
    if ((s < 0) | (s > 1)).any():
        bad = float(s[(s < 0) | (s > 1)][0])
        raise InputError(
            "survival in [0, 1] (divide percentages by 100)", field="survival", got=bad
        )
    order = np.lexsort((-s, t))  # by time; at one time the higher reading first
    t, s = t[order], np.minimum.accumulate(s[order])
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = (t[1:] != t[:-1]) | (s[1:] != s[:-1])  # exact duplicates add nothing
    t, s = t[keep], s[keep]
    if t[0] != 0.0 or s[0] != 1.0:
        t, s = np.concatenate([[0.0], t]), np.concatenate([[1.0], s])
    rt = as_float(risk_time, "at-risk time", nonnegative=True)
    nr_f = as_float(n_risk, "n_risk", nonnegative=True)
    if len(rt) != len(nr_f):
        raise InputError(f"length {len(rt)} (same as the at-risk times)", field="n_risk")
    if len(rt) == 0 or (np.diff(rt) <= 0).any():
        raise InputError("at-risk times increasing from 0", field="at-risk time", got=rt.tolist())
    if rt[0] != 0.0:
        raise InputError(
            "the first at-risk time 0 (the number randomized)",
            field="at-risk time",
            got=float(rt[0]),
        )
    if (nr_f != np.round(nr_f)).any() or (np.diff(nr_f) > 0).any() or nr_f[0] < 1:
        raise InputError(
            "whole numbers at risk, not increasing, the first >= 1",
            field="n_risk",
            got=nr_f.tolist(),
        )
    nr = nr_f.astype(np.int64)
    # rows past the last read-in point, or whose interval holds no point, carry no information
    first = np.searchsorted(t, rt, side="left")
    nxt = np.append(first[1:], len(t))
    usable = (first < len(t)) & (first < nxt)
    usable[0] = True
    return t, s, rt[usable], nr[usable], int((~usable).sum())


def _spread(n: int, a: float, b: float, breaks: FloatArray) -> IntArray:
    """``n`` censorings evenly in (a, b), counted per bin of ``breaks`` (R ``hist``)."""
    nb = len(breaks) - 1
    if n <= 0 or nb <= 0:
        return np.zeros(max(nb, 0), np.int64)
    ct = a + np.arange(1, n + 1) * (b - a) / (n + 1)
    # hist(right = TRUE, include.lowest = TRUE): (b0, b1] with b0 included, (b1, b2], ...
    idx = np.clip(np.searchsorted(breaks, ct, side="left") - 1, 0, nb - 1)
    return np.bincount(idx, minlength=nb).astype(np.int64)


def _events(
    lo: int,
    hi: int,
    s: FloatArray,
    n_hat: IntArray,
    d: IntArray,
    cen: IntArray,
    km: FloatArray,
    last: int,
    *,
    first_interval: bool,
    clip: bool,
) -> int:
    """Events at points ``lo..hi`` that reproduce the read-in survival; the last event index."""
    for k in range(lo, hi + 1):
        if first_interval and k == lo:
            d[k] = 0
            km[k] = 1.0
        else:
            d[k] = int(np.round(n_hat[k] * (1.0 - s[k] / km[last]))) if km[last] != 0 else 0
            d[k] = min(max(d[k], 0), max(int(n_hat[k]), 0))
            km[k] = km[last] * (1.0 - d[k] / n_hat[k]) if n_hat[k] > 0 else km[last]
        n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
        if clip and n_hat[k + 1] < 0:
            n_hat[k + 1] = 0
            cen[k] = n_hat[k] - d[k]
        if d[k] != 0:
            last = k
    return last


def reconstruct_ipd(
    time: Any, survival: Any, risk_time: Any, n_risk: Any, *, total_events: int | None = None
) -> Reconstruction:
    """Guyot's reconstruction of individual data from read-in points and numbers at risk.

    Args:
        time: times of the points read off the curve (>= 0).
        survival: survival at those times, in [0, 1].
        risk_time: times of the published numbers at risk, increasing, the first 0.
        n_risk: the published numbers at risk (the first: the number randomized).
        total_events: the published total number of events, if any.

    Returns:
        A :class:`Reconstruction`: one time and event indicator per patient, and checks.
    """
    t, s, rt, nr, dropped = _prepare(time, survival, risk_time, n_risk)
    if total_events is not None and not (0 <= int(total_events) <= int(nr[0])):
        raise InputError(
            f"a whole number in 0..{int(nr[0])}", field="total events", got=total_events
        )
    n_int = len(rt)
    n_t = len(t)
    lower = np.searchsorted(t, rt, side="left")
    upper = np.append(lower[1:] - 1, n_t - 1)
    n_risk_adj = nr.copy()
    n_censor = np.zeros(n_int, np.int64)
    n_hat = np.full(n_t + 1, nr[0] + 1, np.int64)
    cen = np.zeros(n_t, np.int64)
    d = np.zeros(n_t, np.int64)
    km = np.ones(n_t)
    last_i = np.zeros(n_int, np.int64)
    last = 0
    for i in range(n_int - 1):
        lo, hi, nxt = int(lower[i]), int(upper[i]), int(lower[i + 1])
        n_censor[i] = (
            int(np.round(n_risk_adj[i] * s[nxt] / s[lo] - n_risk_adj[i + 1])) if s[lo] > 0 else 0
        )
        for _ in range(_MAX_ITER):
            if not (
                n_hat[nxt] > n_risk_adj[i + 1]
                or (n_hat[nxt] < n_risk_adj[i + 1] and n_censor[i] > 0)
            ):
                break
            n_censor[i] = max(n_censor[i], 0)
            cen[lo : hi + 1] = _spread(int(n_censor[i]), t[lo], t[nxt], t[lo : nxt + 1])
            n_hat[lo] = n_risk_adj[i]
            last = _events(
                lo, hi, s, n_hat, d, cen, km, int(last_i[i]), first_interval=i == 0, clip=False
            )
            n_censor[i] += n_hat[nxt] - n_risk_adj[i + 1]
            if n_censor[i] > n_risk_adj[i] - n_risk_adj[i + 1] + 1:  # IPDfromKM's bound
                break
        if n_hat[nxt] < n_risk_adj[i + 1]:
            n_risk_adj[i + 1] = n_hat[nxt]
        last_i[i + 1] = last
    lo, hi = int(lower[-1]), int(upper[-1])

    def last_interval(nc: int) -> int:
        cen[lo:hi] = _spread(nc, t[lo], t[hi], t[lo : hi + 1]) if nc > 0 else 0
        n_hat[lo] = n_risk_adj[-1]
        return _events(
            lo, hi, s, n_hat, d, cen, km, int(last_i[-1]), first_interval=n_int == 1, clip=True
        )

    if n_int > 1 and t[upper[-2]] > t[lower[0]]:
        rate = n_censor[:-1].sum() * (t[hi] - t[lo]) / (t[upper[-2]] - t[lower[0]])
        n_censor[-1] = min(int(np.round(rate)), int(n_risk_adj[-1]))
    n_censor[-1] = max(n_censor[-1], 0)
    last_interval(int(n_censor[-1]))
    if total_events is not None:
        before = int(d[:lo].sum())
        if before >= total_events and n_int > 1:
            d[lo : hi + 1] = 0
            cen[lo:hi] = 0
            n_hat[lo + 1 : hi + 2] = n_risk_adj[-1]
        else:
            for _ in range(_MAX_ITER):
                sumd = int(d.sum())
                if not (sumd > total_events or (sumd < total_events and n_censor[-1] > 0)):
                    break
                n_censor[-1] = max(n_censor[-1] + sumd - total_events, 0)
                last_interval(int(n_censor[-1]))
    return _assemble(t, s, rt, nr, d, cen, dropped, lower)


def _assemble(
    t: FloatArray,
    s: FloatArray,
    rt: FloatArray,
    nr: IntArray,
    d: IntArray,
    cen: IntArray,
    dropped: int,
    lower: IntArray,
) -> Reconstruction:
    n = int(nr[0])
    mid = (t[:-1] + t[1:]) / 2.0
    ev_t = np.repeat(t, d)
    ce_t = np.repeat(mid, cen[:-1])
    ev_t, ce_t = ev_t[:n], ce_t[: max(n - len(ev_t), 0)]
    rest = n - len(ev_t) - len(ce_t)
    time = np.concatenate([ev_t, ce_t, np.full(rest, t[-1])])
    event = np.concatenate([np.ones(len(ev_t), np.int64), np.zeros(len(ce_t) + rest, np.int64)])
    fit = kaplan_meier(time, event)
    est = fit.at(t).survival
    # two readings at one time are the ends of a drop: the upper one is S just before it
    top = np.append(t[1:] == t[:-1], False)
    est[top] = fit.at(np.nextafter(t[top], -np.inf)).survival
    diff = est - s
    # as IPDfromKM's riskmat: at risk at the first read-in point of each interval (events
    # sit on read-in points, censorings between them), and what happens until the next one
    starts = t[lower]
    at_n = fit.at(starts).n_risk
    ends = np.append(starts[1:], np.inf)
    rows = []
    for j in range(len(rt)):
        inside = (time >= starts[j]) & (time < ends[j])
        rows.append(
            {
                "time": float(rt[j]),
                "n_risk": int(nr[j]),
                "n_risk_estimated": int(at_n[j]),
                "censored": int((inside & (event == 0)).sum()),
                "events": int((inside & (event == 1)).sum()),
            }
        )
    # exact without ties for small samples, asymptotic otherwise (R ks.test before 4.3)
    ties = len(np.unique(np.concatenate([est, s]))) < 2 * len(s)
    ks = ks_2samp(est, s, method="asymp" if ties or len(s) ** 2 >= 10_000 else "exact")
    checks = GuyotChecks(
        rmse=float(np.sqrt(np.sum(diff**2) / max(len(diff) - 1, 1))),
        mean_abs_error=float(np.mean(np.abs(diff))),
        max_abs_error=float(np.max(np.abs(diff))),
        ks_statistic=float(ks.statistic),
        ks_p=float(ks.pvalue),
        points=pd.DataFrame({"time": t, "survival": s, "estimated": est}),
        at_risk=pd.DataFrame(rows),
        dropped_at_risk_rows=dropped,
    )
    return Reconstruction(time=time, event=event, n_events=int(event.sum()), checks=checks)


__all__ = ["GuyotChecks", "Reconstruction", "reconstruct_ipd"]
