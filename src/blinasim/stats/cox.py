"""Cox proportional hazards regression, matching R ``survival::coxph`` (3.x).

:func:`cox_ph` fits the model by Newton-Raphson exactly as R's ``coxph.fit`` / ``coxfit6``:

* covariates that are not all in {-1, 0, 1} are centred and scaled (weighted mean and mean
  absolute deviation) before fitting, as R does, so the iterations follow R's path;
* start at beta = 0; stop when ``|1 - loglik_old / loglik_new| <= eps`` (1e-9), at most 20
  iterations; a step that lowers the log-likelihood is halved (R's step halving);
* ties by Efron (default) or Breslow; strata give separate risk sets; case weights as R;
* the score test is at beta = 0, the Wald test ``b' V^-1 b`` uses the reported variance,
  the likelihood-ratio test is ``2 (loglik - loglik_null)``;
* ``robust=True`` gives the sandwich variance ``D'D`` from weighted dfbeta residuals (R's
  ``robust=TRUE`` without clusters), and the robust score test; z, p, confidence intervals
  and the Wald test then use the robust variance, as ``summary.coxph``.

The risk-set sums are reverse cumulative sums in one sorted pass (numba), so a fit is
linear in n per iteration after one sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import chi2, norm

from blinasim.errors import InputError
from blinasim.stats import _cox_kernels as _k
from blinasim.stats._common import (
    FloatArray,
    IntArray,
    as_float,
    check_lengths,
    factorize,
    survival_input,
)

Ties = Literal["efron", "breslow"]

_EPS = 1e-9  # coxph.control eps
_TOLER_CHOL = float(np.finfo(np.float64).eps ** 0.75)  # coxph.control toler.chol
_TOLER_INF = float(np.sqrt(_EPS))  # coxph.control toler.inf
_ITER_MAX = 20  # coxph.control iter.max


@dataclass(frozen=True)
class ChiSquareTest:
    """A chi-square test: statistic, degrees of freedom and upper-tail p-value."""

    statistic: float
    df: int
    p: float

    @classmethod
    def of(cls, statistic: float, df: int) -> ChiSquareTest:
        """The test with its p-value ``P(chi2_df > statistic)``."""
        p = float(chi2.sf(statistic, df)) if np.isfinite(statistic) else float("nan")
        return cls(float(statistic), int(df), p)


@dataclass(frozen=True, eq=False)
class CoxResult:
    """A fitted Cox model (R ``coxph`` + ``summary.coxph``).

    ``se`` is the model-based standard error (``sqrt(diag(naive_var))``); ``robust_se`` is
    set when ``robust=True``. ``var`` is the variance used for inference (the robust one when
    robust). ``hr_lower``/``hr_upper`` are the ``conf_level`` Wald limits of the hazard ratio.
    ``warnings`` holds R's convergence messages (non-convergence, possibly infinite
    coefficients) instead of emitting them.
    """

    names: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    robust_se: FloatArray | None
    var: FloatArray
    naive_var: FloatArray
    hr: FloatArray
    hr_lower: FloatArray
    hr_upper: FloatArray
    z: FloatArray
    p: FloatArray
    loglik_null: float
    loglik: float
    score_test: ChiSquareTest
    wald_test: ChiSquareTest
    lr_test: ChiSquareTest
    robust_score_test: ChiSquareTest | None
    iterations: int
    converged: bool
    n: int
    n_events: int
    ties: str
    robust: bool
    conf_level: float
    warnings: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per covariate: coef, HR with CI, SE(s), z and p (``summary.coxph``)."""
        data: dict[str, Any] = {
            "coef": self.coef,
            "hr": self.hr,
            "se": self.se,
        }
        if self.robust_se is not None:
            data["robust_se"] = self.robust_se
        data.update(
            {"z": self.z, "p": self.p, "hr_lower": self.hr_lower, "hr_upper": self.hr_upper}
        )
        return pd.DataFrame(data, index=pd.Index(list(self.names), name="covariate"))

    def tests_frame(self) -> pd.DataFrame:
        """The global tests (likelihood ratio, Wald, score, robust score) as a table."""
        rows = [("likelihood_ratio", self.lr_test), ("wald", self.wald_test)]
        rows.append(("score", self.score_test))
        if self.robust_score_test is not None:
            rows.append(("robust_score", self.robust_score_test))
        return pd.DataFrame(
            {
                "statistic": [t.statistic for _, t in rows],
                "df": [t.df for _, t in rows],
                "p": [t.p for _, t in rows],
            },
            index=pd.Index([name for name, _ in rows], name="test"),
        )


def wald_hazard_ratios(
    coef: FloatArray, se: FloatArray, conf_level: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Wald z, two-sided p, hazard ratio and its ``conf_level`` limits (as R's summaries)."""
    zq = float(norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = coef / se
        hr = np.exp(coef)
        hr_lower = np.exp(coef - zq * se)
        hr_upper = np.exp(coef + zq * se)
    return z, 2.0 * norm.sf(np.abs(z)), hr, hr_lower, hr_upper


def _design(covariates: Any, n: int) -> tuple[FloatArray, tuple[str, ...]]:
    """Covariates (1-D/2-D array, Series or DataFrame) to an ``(n, p)`` float matrix + names."""
    if covariates is None:
        raise InputError("a covariate array or data frame", field="covariates", got=None)
    names: list[str]
    if isinstance(covariates, pd.DataFrame) or (
        hasattr(covariates, "columns") and hasattr(covariates, "to_numpy")
    ):
        names = [str(c) for c in covariates.columns]
        cols = [np.asarray(covariates[c].to_numpy()) for c in covariates.columns]
        for nm, col in zip(names, cols, strict=True):
            if col.dtype.kind not in "biuf":
                raise InputError(
                    "numeric covariates (dummy-code categories first)",
                    field=f"covariates[{nm}]",
                    got=str(col.dtype),
                )
        arr = np.column_stack(cols) if cols else np.empty((n, 0))
    else:
        name = getattr(covariates, "name", None)
        if hasattr(covariates, "to_numpy") and not isinstance(covariates, np.ndarray):
            covariates = covariates.to_numpy()
        arr = np.asarray(covariates)
        if arr.ndim == 1:
            names = [str(name) if name not in (None, "") else "x"]
            arr = arr.reshape(-1, 1)
        elif arr.ndim == 2:
            names = [f"x{j + 1}" for j in range(arr.shape[1])]
        else:
            raise InputError(
                "a one- or two-dimensional array", field="covariates", got=f"shape {arr.shape}"
            )
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                raise InputError(
                    "numeric covariates", field="covariates", got=str(arr.dtype)
                ) from None
    if arr.shape[0] != n:
        raise InputError(f"{n} rows (same as time)", field="covariates", got=f"{arr.shape[0]} rows")
    if arr.shape[1] == 0:
        raise InputError("at least one covariate", field="covariates", got="0 columns")
    if len(set(names)) != len(names):
        raise InputError("distinct covariate names", field="covariates", got=names)
    x = np.array(arr, dtype=np.float64, order="C")
    nonfinite = ~np.isfinite(x)
    if nonfinite.any():
        i, j = (int(v) for v in np.argwhere(nonfinite)[0])
        raise InputError(
            "finite numbers (no NaN or inf)", field=f"covariates[{names[j]}][{i}]", got=x[i, j]
        )
    return x, tuple(names)


def _sorted_layout(
    time: FloatArray, strata: IntArray | None
) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """Order by (stratum, time) and flag the last row of each stratum."""
    n = len(time)
    if strata is None:
        order = np.argsort(time, kind="stable")
        strata_end = np.zeros(n, dtype=np.int64)
    else:
        order = np.lexsort((time, strata))
        s = strata[order]
        strata_end = np.zeros(n, dtype=np.int64)
        strata_end[:-1] = (s[1:] != s[:-1]).astype(np.int64)
    strata_end[-1] = 1
    return order, strata_end


def _newton(
    time: FloatArray,
    status: NDArray[np.int64],
    x: FloatArray,
    weights: FloatArray,
    strata_end: NDArray[np.int64],
    efron: bool,
    names: tuple[str, ...],
) -> tuple[FloatArray, FloatArray, FloatArray, float, float, float, int, bool]:
    """R's ``coxfit6`` Newton-Raphson on centred/scaled covariates (sorted data).

    Returns scaled beta, final score u, information imat (scaled), loglik at 0, final
    loglik, score test at 0, iterations and whether it converged.
    """
    nvar = x.shape[1]
    beta = np.zeros(nvar)
    loglik0, u, imat = _k.cox_iteration(time, status, x, weights, strata_end, efron, beta)
    lower, diag, rank = _k.cholesky2(imat, _TOLER_CHOL)
    if rank < nvar:
        dropped = [names[j] for j in range(nvar) if diag[j] == 0.0]
        raise InputError(
            "covariates of full column rank (no constant, collinear or event-free column)",
            field="covariates",
            got=f"singular design; redundant: {', '.join(dropped)}",
        )
    step = _k.chsolve2(lower, diag, u)
    sctest = float(u @ step)
    if not np.isfinite(loglik0):
        return beta, u, imat, loglik0, loglik0, sctest, 0, False
    best = loglik0
    newbeta = beta + step
    halving = 0
    for it in range(1, _ITER_MAX + 1):
        newlk, u, imat = _k.cox_iteration(time, status, x, weights, strata_end, efron, newbeta)
        lower, diag, rank = _k.cholesky2(imat, _TOLER_CHOL)
        finite = bool(np.isfinite(newlk) and np.isfinite(u).all() and np.isfinite(imat).all())
        if finite and newlk != 0.0 and abs(1.0 - best / newlk) <= _EPS:
            return newbeta, u, imat, loglik0, newlk, sctest, it, True
        if not finite or newlk < best:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best = newlk
            step = _k.chsolve2(lower, diag, u)
            beta = newbeta
            newbeta = newbeta + step
    # ran out of iterations: recompute at the last good beta
    best, u, imat = _k.cox_iteration(time, status, x, weights, strata_end, efron, beta)
    return beta, u, imat, loglik0, best, sctest, _ITER_MAX, False


def _wtest(var: FloatArray, b: FloatArray) -> float:
    """``b' V^- b`` with R's ``coxph.wtest`` (cholesky2 generalized inverse)."""
    lower, diag, _ = _k.cholesky2(var, _TOLER_CHOL)
    return float(b @ _k.chsolve2(lower, diag, b))


def cox_ph(
    time: Any,
    event: Any,
    covariates: Any,
    *,
    strata: Any = None,
    ties: Ties = "efron",
    weights: Any = None,
    robust: bool = False,
    conf_level: float = 0.95,
) -> CoxResult:
    """Fit a Cox proportional hazards model as R ``coxph`` (see the module docstring).

    Args:
        time: follow-up times (>= 0).
        event: 1 = event, 0 = censored.
        covariates: a 1-D or 2-D numeric array, a Series or a (pandas/polars) DataFrame;
            DataFrame column names (or the Series name) are kept, arrays get ``x``/``x1..xp``.
        strata: optional stratum labels (separate baseline hazards).
        ties: ``"efron"`` (R's default) or ``"breslow"``.
        weights: optional positive case weights.
        robust: use the sandwich (dfbeta) variance for inference, as R ``robust=TRUE``.
        conf_level: level of the hazard-ratio confidence intervals.

    Returns:
        A :class:`CoxResult`.
    """
    t, e = survival_input(time, event)
    n = len(t)
    if ties not in ("efron", "breslow"):
        raise InputError("'efron' or 'breslow'", field="ties", got=ties)
    if not (isinstance(conf_level, int | float) and 0.0 < float(conf_level) < 1.0):
        raise InputError("a number in (0, 1)", field="conf_level", got=conf_level)
    x, names = _design(covariates, n)
    if weights is None:
        w = np.ones(n)
    else:
        w = as_float(weights, "weights")
        check_lengths(n, weights=w)
        if (w <= 0).any():
            i = int(np.flatnonzero(w <= 0)[0])
            raise InputError("positive case weights", field=f"weights[{i}]", got=float(w[i]))
    s_codes = None if strata is None else factorize(strata, "strata", n)[0]
    if not e.any():
        raise InputError("at least one event", field="event", got="no events")

    # centre and scale as coxfit6 (0/1/-1 columns are left alone: R's nocenter)
    nvar = x.shape[1]
    means = np.zeros(nvar)
    scale = np.ones(nvar)
    wsum = float(w.sum())
    xc = x.copy()
    for j in range(nvar):
        col = x[:, j]
        if np.isin(col, (-1.0, 0.0, 1.0)).all():
            continue
        m = float(w @ col) / wsum
        means[j] = m
        xc[:, j] = col - m
        mad = float(w @ np.abs(xc[:, j]))
        scale[j] = wsum / mad if mad > 0 else 1.0
    xs = xc * scale

    order, strata_end = _sorted_layout(t, s_codes)
    ts = np.ascontiguousarray(t[order])
    es = np.ascontiguousarray(e[order])
    xs_s = np.ascontiguousarray(xs[order])
    ws = np.ascontiguousarray(w[order])
    efron = ties == "efron"
    bscaled, u, imat, ll0, ll1, sctest, iters, converged = _newton(
        ts, es, xs_s, ws, strata_end, efron, names
    )
    lower, diag, _ = _k.cholesky2(imat, _TOLER_CHOL)
    var_scaled = _k.chinv2(lower, diag)
    coef = bscaled * scale
    u_orig = u / scale
    naive_var = var_scaled * np.outer(scale, scale)

    warns: list[str] = []
    if not converged:
        warns.append("Ran out of iterations and did not converge")
    else:
        infs = np.abs(u_orig @ naive_var)
        flagged = ~np.isfinite(u_orig) | ((infs > _EPS) & (infs > _TOLER_INF * np.abs(coef)))
        if flagged.any():
            which = ", ".join(names[j] for j in np.flatnonzero(flagged))
            warns.append(f"Loglik converged before variable {which}; coefficient may be infinite")

    robust_se = None
    robust_score = None
    var = naive_var
    if robust:
        xcs = np.ascontiguousarray(xc[order])
        eta = np.ascontiguousarray((xc @ coef)[order])
        resid = _k.score_residuals(ts, es, xcs, ws, strata_end, efron, eta)
        dfbeta = (resid * ws[:, None]) @ naive_var
        var = dfbeta.T @ dfbeta
        robust_se = np.sqrt(np.diag(var))
        resid0 = _k.score_residuals(ts, es, xcs, ws, strata_end, efron, np.zeros(n))
        resid0 = resid0 * ws[:, None]
        u0 = resid0.sum(axis=0)
        robust_score = ChiSquareTest.of(_wtest(resid0.T @ resid0, u0), nvar)

    se = np.sqrt(np.diag(naive_var))
    se_inf = robust_se if robust_se is not None else se
    z, p, hr, hr_lower, hr_upper = wald_hazard_ratios(coef, se_inf, conf_level)
    return CoxResult(
        names=names,
        coef=coef,
        se=se,
        robust_se=robust_se,
        var=var,
        naive_var=naive_var,
        hr=hr,
        hr_lower=hr_lower,
        hr_upper=hr_upper,
        z=z,
        p=p,
        loglik_null=float(ll0),
        loglik=float(ll1),
        score_test=ChiSquareTest.of(sctest, nvar),
        wald_test=ChiSquareTest.of(_wtest(var, coef), nvar),
        lr_test=ChiSquareTest.of(2.0 * (ll1 - ll0), nvar),
        robust_score_test=robust_score,
        iterations=int(iters),
        converged=converged,
        n=n,
        n_events=int(e.sum()),
        ties=ties,
        robust=robust,
        conf_level=float(conf_level),
        warnings=tuple(warns),
    )
