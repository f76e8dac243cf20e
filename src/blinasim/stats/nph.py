"""Tests for non-proportional hazards: weighted log-rank, MaxCombo, RMST and milestone tests.

The formulas are those of R ``simtrial`` (Merck), read at github.com/Merck/simtrial:
``R/counting_process.R`` (commit 0f06d96), ``R/fh_weight.R`` (9949336), ``R/mb_weight.R``
(e1b35d1), ``R/early_zero_weight.R`` (the ``early_period`` version), ``R/wlr.R`` (e291015),
``R/maxcombo.R`` (e4dc1af), ``R/pvalue_maxcombo.R`` (38cec00), ``R/rmst.R`` (031a422) and
``R/milestone.R`` (62399f1). simtrial is not installable here (not in Debian); the golden
values (tests/golden/nph.json, scripts/golden/nph.R) come from R ``survival::survdiff(rho =)``
for FH(rho, 0), and from a base-R transcription of simtrial's formulas with ``mvtnorm`` for
everything else; the test file says which peer each value comes from.

Counting process (two groups, code 1 = experimental): within each stratum, at each distinct
time with an event and someone at risk in both groups, the events ``d``, the experimental
events ``d1``, the numbers at risk ``n`` and ``n1``; ``O - E = d1 - n1 d / n`` and its
hypergeometric variance ``(n - n1) n1 d (n - d) / (n^2 (n - 1))``; ``S`` is the pooled
Kaplan-Meier just before the time, the product over those rows only (simtrial's ``s``).

Weights: Fleming-Harrington ``FH(rho, gamma) = S^rho (1 - S)^gamma``; Magirr-Burman
``min(w_max, 1 / S(min(t, delay)))`` per stratum; early zero ``0`` before the early period
and ``1`` after (simtrial's unstratified rule; simtrial's stratified version needs the
design's failure rates and weights by the late hazard ratio, which is not done here).

Signs: :class:`WeightedLogRank` follows simtrial's ``wlr``: ``z = -sum w (O - E) / se``, so
z > 0 favours the experimental group; MaxCombo follows ``fh_weight``/``pvalue_maxcombo``:
``z_k = sum w_k (O - E) / se_k`` (negative favours the experimental group) and the one-sided
p-value ``1 - P(Z_1 >= z_min, ..., Z_K >= z_min)`` under the multivariate normal with the
tests' correlation ``corr(k, l) = sum w_k w_l V / (se_k se_l)``. That probability is
computed by Genz's quasi-Monte Carlo algorithm (scipy, as mvtnorm's ``GenzBretz``) with a
fixed seed, so the same inputs give the same p-value. It is a numerical integral: the
correlation of the four default tests is nearly singular (smallest eigenvalue ~1e-6), which
slows every such algorithm; the tests compare with mvtnorm's deterministic ``Miwa``
algorithm and allow 5e-5 absolute. (simtrial's own setting, ``GenzBretz(maxpts = 50000,
abseps = 1e-5)``, is 1e-4 below Miwa on R's colon data: see tests/golden/nph.json.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import multivariate_normal, norm

from blinasim.errors import InputError
from blinasim.stats import _nph_kernels as _nk
from blinasim.stats import batched as _batched
from blinasim.stats._common import FloatArray, as_codes, check_lengths, factorize, survival_input
from blinasim.stats.km import is_real, kaplan_meier

MAXCOMBO_DEFAULT = ((0.0, 0.0), (0.0, 0.5), (0.5, 0.0), (0.5, 0.5))
_MVN_SEED = 20_170_101  # a fixed quasi-Monte Carlo seed: reproducible p-values


@dataclass(frozen=True)
class FH:
    """Fleming-Harrington weight ``S(t-)^rho (1 - S(t-))^gamma``."""

    rho: float = 0.0
    gamma: float = 0.0

    def label(self) -> str:
        """``FH(rho=0, gamma=0.5)`` (simtrial's parameter text)."""
        return f"FH(rho={self.rho:g}, gamma={self.gamma:g})"


@dataclass(frozen=True)
class MagirrBurman:
    """Magirr-Burman modest weight ``min(w_max, 1 / S(min(t, delay)))``."""

    delay: float = 4.0
    w_max: float = float("inf")

    def label(self) -> str:
        """``MB(delay = 4, max_weight = 2)`` (simtrial's parameter text)."""
        return f"MB(delay = {self.delay:g}, max_weight = {self.w_max:g})"


@dataclass(frozen=True)
class EarlyZero:
    """Zero weight before ``early_period``, one after (Xu et al. 2017)."""

    early_period: float

    def label(self) -> str:
        """``Xu 2017 with first 4 months of 0 weights``, in the data's time unit."""
        return f"Xu 2017 with first {self.early_period:g} time units of 0 weights"


Weight = FH | MagirrBurman | EarlyZero


@dataclass(frozen=True)
class CountingProcess:
    """simtrial's ``counting_process``: one entry per stratum and informative event time."""

    stratum: np.ndarray
    time: FloatArray
    events: FloatArray
    n_risk: FloatArray
    surv: FloatArray  # pooled KM just before the time (over these rows, per stratum)
    o_minus_e: FloatArray
    var_o_minus_e: FloatArray


@dataclass(frozen=True)
class WeightedLogRank:
    """A weighted log-rank test (simtrial ``wlr``); z > 0 favours the experimental group.

    ``p_value`` is one-sided, ``P(N(0, 1) > z)`` (a small value: the experimental group does
    better); ``chisq = z^2`` is the two-sided statistic of R ``survdiff``.
    """

    weight: str
    estimate: float
    se: float
    z: float
    p_value: float
    chisq: float


@dataclass(frozen=True)
class MaxComboResult:
    """MaxCombo (simtrial ``maxcombo``): the tests, their correlation and the p-value."""

    rho_gamma: tuple[tuple[float, float], ...]
    z: FloatArray  # fh_weight signs: negative favours the experimental group
    corr: FloatArray
    z_min: float
    p_value: float


@dataclass(frozen=True)
class ContrastTest:
    """A two-group contrast (experimental minus control) with SE and z (RMST, milestone)."""

    method: str
    parameter: float
    control: float
    experimental: float
    estimate: float
    se: float
    z: float
    lower: float
    upper: float


def _two_groups(time: Any, event: Any, group: Any) -> tuple[FloatArray, Any, Any]:
    t, e = survival_input(time, event)
    g = as_codes(group, "group", max_code=1)
    check_lengths(len(t), group=g)
    if (np.bincount(g, minlength=2) == 0).any():
        raise InputError("both groups (0 = control, 1 = experimental)", field="group")
    return t, e, g


def _distinct(t: FloatArray) -> tuple[FloatArray, np.ndarray]:
    """Distinct sorted times and each row's index among them (``np.unique``'s inverse).

    Integer-valued times (days) in a small range are counted in O(n), without a sort.
    """
    top = float(t.max()) if len(t) else 0.0
    if len(t) >= 4096 and top <= 4 * len(t):
        ti = t.astype(np.int64)
        if np.array_equal(ti, t):
            present = np.bincount(ti, minlength=int(top) + 1) > 0
            lookup = np.cumsum(present) - 1
            return np.flatnonzero(present).astype(np.float64), lookup[ti]
    times, inv = np.unique(t, return_inverse=True)
    return times, inv


def counting_process(time: Any, event: Any, group: Any, *, strata: Any = None) -> CountingProcess:
    """Simtrial's counting process of two groups (``group`` 1 = experimental)."""
    t, e, g = _two_groups(time, event, group)
    if strata is None:
        s, n_strata = None, 1
    else:
        s, labels = factorize(strata, "strata", len(t))
        n_strata = len(labels)
    parts: list[tuple[np.ndarray, ...]] = []
    for st in range(n_strata):
        ts, es, gs = (t, e, g) if s is None else (t[s == st], e[s == st], g[s == st])
        times, inv = _distinct(ts)
        k = len(times)
        at = np.bincount(inv, minlength=k).astype(np.float64)
        at1 = np.bincount(inv, weights=gs, minlength=k)
        d = np.bincount(inv, weights=es, minlength=k)
        d1 = np.bincount(inv, weights=es * gs, minlength=k)
        n = np.cumsum(at[::-1])[::-1]
        n1 = np.cumsum(at1[::-1])[::-1]
        keep = (d > 0) & (n - n1 > 0) & (n1 > 0)
        times, d, d1, n, n1 = times[keep], d[keep], d1[keep], n[keep], n1[keep]
        factor = 1.0 - d / n
        surv = np.concatenate([[1.0], np.cumprod(factor)[:-1]]) if len(d) else d
        ome = d1 - n1 / n * d
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (n - n1) * n1 * d * (n - d) / n**2 / (n - 1.0)
        parts.append((np.full(len(d), st), times, d, n, surv, ome, var))
    cols = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    return CountingProcess(*cols)


def _check_weight(weight: Weight) -> None:
    if isinstance(weight, FH):
        ok = all(is_real(v) and np.isfinite(v) and v >= 0 for v in (weight.rho, weight.gamma))
        if not ok:
            raise InputError("rho and gamma >= 0", field="weight", got=weight.label())
    elif isinstance(weight, MagirrBurman):
        if not (is_real(weight.delay) and weight.delay > 0 and is_real(weight.w_max)):
            raise InputError("delay > 0 and a maximum weight", field="weight", got=weight.label())
        if not weight.w_max > 0:
            raise InputError("a positive maximum weight", field="weight", got=weight.label())
    elif isinstance(weight, EarlyZero):
        if not (is_real(weight.early_period) and weight.early_period >= 0):
            raise InputError("an early period >= 0", field="weight", got=weight.label())
    else:
        raise InputError("FH, MagirrBurman or EarlyZero", field="weight", got=type(weight).__name__)


def weights(cp: CountingProcess, weight: Weight) -> FloatArray:
    """The weight of each counting-process row."""
    _check_weight(weight)
    s = cp.surv
    if isinstance(weight, FH):
        return np.asarray(s**weight.rho * (1.0 - s) ** weight.gamma, dtype=np.float64)
    if isinstance(weight, EarlyZero):
        return np.where(cp.time < weight.early_period, 0.0, 1.0)
    out = np.empty(len(s))
    for st in np.unique(cp.stratum):
        m = cp.stratum == st
        early = m & (cp.time <= weight.delay)
        top = float(np.max(1.0 / s[early])) if early.any() else 1.0
        out[m] = np.minimum(min(weight.w_max, top), 1.0 / s[m])
    return out


def weighted_logrank(
    time: Any, event: Any, group: Any, *, strata: Any = None, weight: Weight | None = None
) -> WeightedLogRank:
    """Weighted log-rank test of two groups (``group`` 1 = experimental), as simtrial ``wlr``.

    ``weight`` defaults to ``FH(0, 0)``, the log-rank test.
    """
    w_spec = weight if weight is not None else FH()
    cp = counting_process(time, event, group, strata=strata)
    w = weights(cp, w_spec)
    est = float(np.sum(cp.o_minus_e * w))
    se = float(np.sqrt(np.sum(cp.var_o_minus_e * w**2)))
    z = -est / se if se > 0 else 0.0
    return WeightedLogRank(
        weight=w_spec.label(),
        estimate=est,
        se=se,
        z=z,
        p_value=float(norm.sf(z)),
        chisq=z * z,
    )


def maxcombo(
    time: Any,
    event: Any,
    group: Any,
    *,
    strata: Any = None,
    rho_gamma: Sequence[tuple[float, float]] = MAXCOMBO_DEFAULT,
) -> MaxComboResult:
    """MaxCombo test of FH(rho, gamma) tests, as simtrial ``maxcombo`` (default: 4 tests)."""
    rg = tuple((float(r), float(gm)) for r, gm in rho_gamma)
    if len(rg) < 2:
        raise InputError("at least two (rho, gamma) pairs", field="rho_gamma", got=len(rg))
    for r, gm in rg:
        _check_weight(FH(r, gm))
    cp = counting_process(time, event, group, strata=strata)
    s, ome, var = cp.surv, cp.o_minus_e, cp.var_o_minus_e
    w = np.array([s**r * (1.0 - s) ** gm for r, gm in rg])
    cov = (w * var) @ w.T
    sd = np.sqrt(np.diag(cov))
    if not np.all(sd > 0):
        raise InputError("events in both groups before the curves reach 0", field="event")
    z = (w @ ome) / sd
    corr = cov / np.outer(sd, sd)
    z_min = float(z.min())
    p = mvn_upper_orthant_complement(z_min, corr)
    return MaxComboResult(rho_gamma=rg, z=z, corr=corr, z_min=z_min, p_value=p)


def mvn_upper_orthant_complement(z_min: float, corr: FloatArray) -> float:
    """``1 - P(Z_k >= z_min for all k)`` for standard normals with correlation ``corr``."""
    k = corr.shape[0]
    inside = multivariate_normal.cdf(
        np.full(k, -z_min),
        mean=np.zeros(k),
        cov=corr,
        allow_singular=True,
        maxpts=250_000 * k,
        abseps=1e-6,
        releps=0.0,
        rng=_MVN_SEED,
    )
    return float(min(max(1.0 - float(inside), 0.0), 1.0))


@dataclass(frozen=True)
class BatchedWeightedLogRank:
    """Fleming-Harrington tests per replicate (:func:`weighted_logrank_batched`).

    ``z`` (replicates, tests) has simtrial ``wlr``'s sign (z > 0 favours group 1); ``corr``
    (replicates, tests, tests) is the tests' correlation.
    """

    rho_gamma: tuple[tuple[float, float], ...]
    z: FloatArray
    corr: FloatArray

    def maxcombo_p(self) -> FloatArray:
        """MaxCombo p-value of each replicate (one multivariate-normal integral each)."""
        out = np.full(self.z.shape[0], np.nan)
        for r in range(self.z.shape[0]):
            if np.all(np.isfinite(self.z[r])):
                out[r] = mvn_upper_orthant_complement(float(np.min(-self.z[r])), self.corr[r])
        return out


def weighted_logrank_batched(
    time: Any,
    event: Any,
    group: Any,
    strata: Any = None,
    *,
    mask: Any = None,
    rho_gamma: Sequence[tuple[float, float]] = MAXCOMBO_DEFAULT,
) -> BatchedWeightedLogRank:
    """FH(rho, gamma) weighted log-rank tests for each replicate (one numba pass each).

    Inputs as :func:`blinasim.stats.logrank_test_batched` (``(replicates, patients)``
    arrays, ``group`` 0/1, optional integer ``strata`` and ``mask``). Replicate ``r``, test
    ``k`` equals :func:`weighted_logrank` on that replicate with ``FH(*rho_gamma[k])``; a
    replicate without information has z = NaN.
    """
    rg = tuple((float(r), float(gm)) for r, gm in rho_gamma)
    if not rg:
        raise InputError("at least one (rho, gamma) pair", field="rho_gamma", got=0)
    for r, gm in rg:
        _check_weight(FH(r, gm))
    t, e, m, shape = _batched._prepare(time, event, mask)
    g = _batched._codes(group, "group", shape, m, np.int8, 1)
    if strata is None:
        s = np.zeros((1, 1), dtype=np.int8)
        n_strata = 1
    else:
        s = _batched._codes(strata, "strata", shape, m, None, np.iinfo(np.int32).max - 1)
        used = s if m is None else s[m]
        n_strata = int(used.max()) + 1 if used.size else 1
    km, has_mask = _batched._kernel_mask(m)
    u, cov = _nk.fh_batched(
        t, e, g, s, strata is not None, km, has_mask, n_strata, np.asarray(rg, dtype=np.float64)
    )
    sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = -u / sd
        corr = cov / (sd[:, :, None] * sd[:, None, :])
    return BatchedWeightedLogRank(rho_gamma=rg, z=z, corr=corr)


def rmst_test(time: Any, event: Any, group: Any, tau: float) -> ContrastTest:
    """RMST difference (experimental minus control) at ``tau`` with SE, as simtrial ``rmst``.

    simtrial's variance of each arm's RMST is the Greenwood-type sum times ``D / (D - 1)``
    (``D`` the events up to ``tau``); ``tau`` must not pass either arm's last time.
    """
    t, e, g = _two_groups(time, event, group)
    if not (is_real(tau) and np.isfinite(tau) and tau >= 0):
        raise InputError("a finite number >= 0", field="tau", got=tau)
    last = min(float(t[g == k].max()) for k in (0, 1))
    if tau > last:
        raise InputError(f"tau <= {last:g} (the shorter group's last time)", field="tau", got=tau)
    est, var = [], []
    for k in (0, 1):
        m_est, m_var = _rmst_simtrial(t[g == k], e[g == k], float(tau))
        est.append(m_est)
        var.append(m_var)
    d = est[1] - est[0]
    se = float(np.sqrt(var[0] + var[1]))
    z = float(norm.ppf(0.975))
    return ContrastTest("RMST", float(tau), est[0], est[1], d, se, d / se, d - z * se, d + z * se)


def _rmst_simtrial(t: FloatArray, e: Any, tau: float) -> tuple[float, float]:
    km = kaplan_meier(t, e)
    keep = km.time <= tau
    times = np.concatenate([[0.0], km.time[keep]])
    surv = np.concatenate([[1.0], km.survival[keep]])
    n_risk = np.concatenate([[np.nan], km.n_risk[keep].astype(np.float64)])
    n_event = np.concatenate([[np.nan], km.n_event[keep].astype(np.float64)])
    if times[-1] != tau:
        times = np.append(times, tau)
        surv = np.append(surv, np.nan)
        n_risk = np.append(n_risk, np.nan)
        n_event = np.append(n_event, np.nan)
    dt = np.append(np.diff(times), np.nan)
    area = dt * surv
    big_a = np.append(np.cumsum(area[:-1][::-1])[::-1], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = n_event / (n_risk * (n_risk - n_event)) * big_a**2
    n_ev = float(np.nansum(n_event))
    var = float(np.nansum(dev)) * n_ev / (n_ev - 1.0) if n_ev > 1 else float("nan")
    return float(np.nansum(area)), var


def milestone_test(time: Any, event: Any, group: Any, ms_time: float) -> ContrastTest:
    """Difference of Kaplan-Meier survival at ``ms_time`` (Greenwood SEs), simtrial ``milestone``.

    An arm whose SE is not estimable contributes 0 to the variance; with neither, z = -inf.
    """
    t, e, g = _two_groups(time, event, group)
    if not (is_real(ms_time) and np.isfinite(ms_time) and ms_time >= 0):
        raise InputError("a finite number >= 0", field="ms_time", got=ms_time)
    s, se = [], []
    for k in (0, 1):
        at = kaplan_meier(t[g == k], e[g == k]).at([float(ms_time)])
        s.append(float(at.survival[0]))
        se.append(float(at.std_err[0]))
    d = s[1] - s[0]
    if all(np.isnan(se)):
        z, sd = float("-inf"), float("nan")
    else:
        sd = float(np.sqrt(sum(0.0 if np.isnan(v) else v * v for v in se)))
        z = d / sd if sd > 0 else float("nan")
    q = float(norm.ppf(0.975))
    return ContrastTest("milestone", float(ms_time), s[0], s[1], d, sd, z, d - q * sd, d + q * sd)


__all__ = [
    "FH",
    "MAXCOMBO_DEFAULT",
    "BatchedWeightedLogRank",
    "ContrastTest",
    "CountingProcess",
    "EarlyZero",
    "MagirrBurman",
    "MaxComboResult",
    "WeightedLogRank",
    "counting_process",
    "maxcombo",
    "milestone_test",
    "rmst_test",
    "weighted_logrank",
    "weighted_logrank_batched",
    "weights",
]
