"""Fine-Gray proportional subdistribution hazards regression, matching R ``cmprsk::crr``.

:func:`fine_gray` fits the model of Fine and Gray (1999) for the subdistribution hazard of
one cause exactly as ``crr`` (cmprsk 2.2) does with its defaults (no ``cengroup``, no
time-varying ``cov2``):

* codes: ``failcode`` is the cause of interest, ``cencode`` is censored, every other code is
  a competing event;
* censoring weights: the Kaplan-Meier curve ``G`` of the censoring distribution (censorings
  as events), read just before each follow-up time as ``crr`` does; a subject with a
  competing event at ``s`` stays in the risk set at ``t > s`` with weight ``G(t-) / G(s-)``;
* ties: Breslow (each of ``d`` tied events of the cause at ``t`` counts ``log S0(t)``);
* Newton-Raphson from beta = 0 with ``crr``'s backtracking line search (halve the step
  while the pseudo log-likelihood does not rise by ``1e-4`` of the predicted rise, at most
  20 halvings); stop when ``max |score_j| * max(|b_j|, 1) < max(|loglik|, 1) * gtol``
  (``gtol = 1e-6``), at most ``maxiter = 10`` steps;
* variance: ``crr``'s robust sandwich ``I^-1 (sum_i (eta_i + psi_i)^2) I^-1``, where
  ``eta_i`` is subject i's score residual and ``psi_i`` the term for the estimated
  censoring distribution (Fortran ``crrvv``);
* z, p (two-sided normal), hazard-ratio limits as ``summary.crr``; the pseudo likelihood
  ratio test ``2 (loglik - loglik_null)``;
* :meth:`FineGrayFit.predict` is ``predict.crr``: the CIF ``1 - exp(-exp(x b) L0(t))`` at
  each distinct time of an event of the cause, ``L0`` the Breslow-type baseline.

Every risk-set sum is a cumulative sum over the time-sorted data (the subjects still at
risk are a suffix, the weighted competing-event subjects a prefix), so a Newton step and
the variance are O(n p^2) after one O(n log n) sort (``crr`` is O(n^2)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.errors import InputError
from blinasim.stats._common import FloatArray, IntArray, as_float, check_lengths, to_numpy
from blinasim.stats.cox import ChiSquareTest, _design, wald_hazard_ratios

_GTOL = 1e-6  # crr gtol
_MAXITER = 10  # crr maxiter
_MAX_HALVING = 20  # crr's backtracking limit
_ARMIJO = 1e-4  # crr's sufficient-decrease constant
_DBL_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class FineGrayPrediction:
    """Predicted cumulative incidence curves (``predict.crr``), one row per covariate row.

    ``time`` holds the distinct times of an event of the cause (ascending); ``estimate[k, j]``
    is the CIF of covariate row ``k`` just after ``time[j]``. Each curve is 0 before the
    first time and constant after the last.
    """

    time: FloatArray
    estimate: FloatArray
    rows: FloatArray

    def at(self, times: Any) -> FloatArray:
        """The curves at ``times`` (>= 0): shape ``(n_rows, len(times))``, right-continuous."""
        tp = as_float(np.atleast_1d(np.asarray(times, dtype=np.float64)), "times", nonnegative=True)
        idx = np.searchsorted(self.time, tp, side="right")
        padded = np.concatenate((np.zeros((self.estimate.shape[0], 1)), self.estimate), axis=1)
        return np.asarray(padded[:, idx], dtype=np.float64)

    def to_frame(self) -> pd.DataFrame:
        """Long table: row (index of the covariate row), time, estimate."""
        k, m = self.estimate.shape
        return pd.DataFrame(
            {
                "row": np.repeat(np.arange(k), m),
                "time": np.tile(self.time, k),
                "estimate": self.estimate.ravel(),
            }
        )


@dataclass(frozen=True, eq=False)
class FineGrayFit:
    """A fitted Fine-Gray model (R ``crr`` + ``summary.crr``).

    ``var`` is ``crr``'s robust sandwich variance and ``se`` its square-root diagonal;
    ``information`` is the observed information (``crr``'s ``inf``) at ``coef``. ``loglik``
    and ``loglik_null`` are the pseudo log-likelihoods at ``coef`` and at 0; ``lr_test`` is
    ``summary.crr``'s pseudo likelihood ratio test and ``wald_test`` is ``b' V^-1 b``.
    ``baseline_time``/``baseline_jumps`` are ``crr``'s ``uftime``/``bfitj``.
    """

    names: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    var: FloatArray
    z: FloatArray
    p: FloatArray
    hr: FloatArray
    hr_lower: FloatArray
    hr_upper: FloatArray
    loglik: float
    loglik_null: float
    score: FloatArray
    information: FloatArray
    lr_test: ChiSquareTest
    wald_test: ChiSquareTest
    iterations: int
    converged: bool
    n: int
    n_events: int
    n_competing: int
    failcode: int
    cencode: int
    conf_level: float
    baseline_time: FloatArray
    baseline_jumps: FloatArray

    def predict(self, rows: Any) -> FineGrayPrediction:
        """CIF curves of the cause for covariate ``rows`` (``predict.crr``).

        Args:
            rows: one covariate row (length p) or a ``(k, p)`` array / DataFrame with the
                model's columns in the fitted order.

        Returns:
            A :class:`FineGrayPrediction`.
        """
        p = len(self.coef)
        if isinstance(rows, pd.DataFrame) or (
            hasattr(rows, "columns") and hasattr(rows, "to_numpy")
        ):
            cols = [str(c) for c in rows.columns]
            if cols != list(self.names):
                raise InputError(f"columns {list(self.names)}", field="rows", got=cols)
            rows = rows.to_numpy()
        try:
            arr = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("numeric covariate rows", field="rows") from None
        if arr.ndim == 1 and arr.shape[0] == p:
            arr = arr.reshape(1, p)
        elif arr.ndim == 1 and p == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != p or arr.shape[0] == 0:
            raise InputError(
                f"a non-empty array of rows with {p} covariates",
                field="rows",
                got=f"shape {arr.shape}",
            )
        if not np.isfinite(arr).all():
            i, j = (int(v) for v in np.argwhere(~np.isfinite(arr))[0])
            raise InputError("finite numbers (no NaN or inf)", field=f"rows[{i}][{j}]")
        cumhaz = np.cumsum(self.baseline_jumps)
        lp = arr @ self.coef
        est = -np.expm1(-np.exp(lp)[:, None] * cumhaz[None, :])
        return FineGrayPrediction(time=self.baseline_time.copy(), estimate=est, rows=arr.copy())

    def to_frame(self) -> pd.DataFrame:
        """One row per covariate: coef, HR with CI, SE, z and p (``summary.crr``)."""
        return pd.DataFrame(
            {
                "coef": self.coef,
                "hr": self.hr,
                "se": self.se,
                "z": self.z,
                "p": self.p,
                "hr_lower": self.hr_lower,
                "hr_upper": self.hr_upper,
            },
            index=pd.Index(list(self.names), name="covariate"),
        )


@dataclass(frozen=True, eq=False)
class _Layout:
    """Time-sorted data and the index maps the cumulative sums need."""

    time: FloatArray  # sorted
    status: IntArray  # 1 = cause of interest, 2 = competing event, 0 = censored
    x: FloatArray  # sorted, column-centred
    g: FloatArray  # censoring KM just before each time (crr's uuu)
    first: NDArray[np.intp]  # first index of each row's tie group
    last: NDArray[np.intp]  # last index of each row's tie group
    fail: NDArray[np.intp]  # indices of the events of the cause


def _censoring_weights(t: FloatArray, status: IntArray) -> FloatArray:
    """KM of the censoring distribution at ``t * (1 - 100 eps)`` (crr's ``approx`` call)."""
    ut, inv = np.unique(t, return_inverse=True)
    n = len(t)
    at_risk = n - np.concatenate(([0], np.cumsum(np.bincount(inv))[:-1]))
    ncens = np.bincount(inv, weights=(status == 0).astype(np.float64), minlength=len(ut))
    surv = np.cumprod(1.0 - ncens / at_risk)
    xout = t * (1.0 - 100.0 * _DBL_EPS)
    idx = np.searchsorted(ut, xout, side="right")
    return np.asarray(np.concatenate(([1.0], surv))[idx], dtype=np.float64)


def _risk_sums(
    lay: _Layout, beta: FloatArray, second: bool
) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray]:
    """S0, S1 (and S2) over the weighted risk set at each event of the cause; exp(x b)."""
    n, p = lay.x.shape
    w = np.exp(lay.x @ beta)
    comp = lay.status == 2
    wc = np.where(comp, w / lay.g, 0.0)
    # suffix sums (subjects with T >= t) and prefix sums (competing events with T < t)
    fi = lay.first[lay.fail]
    gt = lay.g[lay.fail]

    def at_fail(v: FloatArray, vc: FloatArray) -> FloatArray:
        suffix = np.cumsum(v[::-1], axis=0)[::-1]
        prefix = np.concatenate((np.zeros((1, *v.shape[1:])), np.cumsum(vc, axis=0)))
        gshape = gt.reshape((-1,) + (1,) * (v.ndim - 1))
        return np.asarray(suffix[fi] + gshape * prefix[fi], dtype=np.float64)

    s0 = at_fail(w, wc)
    s1 = at_fail(w[:, None] * lay.x, wc[:, None] * lay.x)
    s2 = None
    if second:
        xx = (lay.x[:, :, None] * lay.x[:, None, :]).reshape(n, p * p)
        s2 = at_fail(w[:, None] * xx, wc[:, None] * xx).reshape(-1, p, p)
    return s0, s1, s2, w


def _s0(lay: _Layout, beta: FloatArray) -> FloatArray:
    """S0 over the weighted risk set at each event of the cause (crr's ``crrf`` sums)."""
    w = np.exp(lay.x @ beta)
    wc = np.where(lay.status == 2, w / lay.g, 0.0)
    fi = lay.first[lay.fail]
    suffix = np.cumsum(w[::-1])[::-1]
    prefix = np.concatenate(([0.0], np.cumsum(wc)))
    return np.asarray(suffix[fi] + lay.g[lay.fail] * prefix[fi], dtype=np.float64)


def _objective(lay: _Layout, beta: FloatArray) -> float:
    """Minus the pseudo log-likelihood (crr's ``crrf``)."""
    return float(np.sum(np.log(_s0(lay, beta))) - np.sum(lay.x[lay.fail] @ beta))


def _value_score_info(lay: _Layout, beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """Minus the pseudo log-likelihood, its gradient and Hessian (crr's ``crrfsv``)."""
    s0, s1, s2, _ = _risk_sums(lay, beta, second=True)
    assert s2 is not None
    xf = lay.x[lay.fail]
    ebar = s1 / s0[:, None]
    f = float(np.sum(np.log(s0)) - np.sum(xf @ beta))
    grad = ebar.sum(axis=0) - xf.sum(axis=0)
    info = (s2 / s0[:, None, None]).sum(axis=0) - ebar.T @ ebar
    return f, grad, info


def _sandwich_middle(lay: _Layout, beta: FloatArray) -> FloatArray:
    """``sum_i (eta_i + psi_i)(eta_i + psi_i)'`` of crr's Fortran ``crrvv``."""
    n, p = lay.x.shape
    s0, s1, _, w = _risk_sums(lay, beta, second=False)
    ebar = s1 / s0[:, None]
    fail = lay.fail
    gf = lay.g[fail]
    # per-event increments (each tied event of the cause counts, as crrvv)
    c0 = np.zeros(n)
    c1 = np.zeros((n, p))
    c0[fail] = 1.0 / s0
    c1[fail] = ebar / s0[:, None]
    d0 = np.zeros(n)
    d1 = np.zeros((n, p))
    d0[fail] = gf / s0
    d1[fail] = gf[:, None] * ebar / s0[:, None]
    cum_c0 = np.cumsum(c0)
    cum_c1 = np.cumsum(c1, axis=0)
    cum_d0 = np.cumsum(d0)
    cum_d1 = np.cumsum(d1, axis=0)
    last = lay.last
    # events j with T_j <= T_i: sum (x_i - Ebar_j) / S0_j
    c0_i = cum_c0[last]
    c1_i = cum_c1[last]
    # events j with T_j > T_i: sum G_j (x_i - Ebar_j) / S0_j
    d0_i = cum_d0[-1] - cum_d0[last]
    d1_i = cum_d1[-1] - cum_d1[last]
    x = lay.x
    eta = -w[:, None] * (x * c0_i[:, None] - c1_i)
    comp = lay.status == 2
    wc = np.where(comp, w / lay.g, 0.0)
    eta -= wc[:, None] * (x * d0_i[:, None] - d1_i)
    eta[fail] += x[fail] - ebar

    # psi: the censoring-distribution term, through q(u) at each censoring time u
    first = lay.first
    # A: competing events with T < u, weight w / G; B: events of the cause with T >= u
    a0 = np.concatenate(([0.0], np.cumsum(wc)))[first]
    a1 = np.concatenate((np.zeros((1, p)), np.cumsum(wc[:, None] * x, axis=0)))[first]
    b0 = (cum_d0[-1] - np.concatenate(([0.0], cum_d0))[first])[:, None]
    b1 = cum_d1[-1] - np.concatenate((np.zeros((1, p)), cum_d1))[first]
    q = a1 * b0 - a0[:, None] * b1  # q(T_i), equal within a tie group
    at_risk = (n - first).astype(np.float64)
    cens = lay.status == 0
    # running sum over censorings at times <= T_i of q / Y^2 (own tie group included)
    dec = np.where(cens[:, None], q / (at_risk**2)[:, None], 0.0)
    cum_dec = np.cumsum(dec, axis=0)[last]
    psi = -cum_dec
    psi[cens] += q[cens] / at_risk[cens, None]
    r = eta + psi
    return np.asarray(r.T @ r, dtype=np.float64)


def _as_code(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        raise InputError("an integer code", field=name, got=v)
    return int(v)


def _status_input(cause: Any, n: int) -> IntArray:
    arr = to_numpy(cause, "cause")
    check_lengths(n, cause=arr)
    f = as_float(arr, "cause")
    if (f != np.round(f)).any():
        i = int(np.flatnonzero(f != np.round(f))[0])
        raise InputError("integer codes", field=f"cause[{i}]", got=float(f[i]))
    return f.astype(np.int64)


def fine_gray(
    time: Any,
    cause: Any,
    covariates: Any,
    *,
    failcode: int = 1,
    cencode: int = 0,
    conf_level: float = 0.95,
) -> FineGrayFit:
    """Fit the Fine-Gray subdistribution hazards model as R ``cmprsk::crr``.

    Args:
        time: follow-up times (>= 0).
        cause: integer codes: ``failcode`` = the event of interest, ``cencode`` =
            censored, any other code = a competing event.
        covariates: a 1-D or 2-D numeric array, a Series or a (pandas/polars) DataFrame;
            DataFrame column names (or the Series name) are kept, arrays get ``x``/``x1..xp``.
        failcode: the code of the cause of interest (crr's ``failcode``).
        cencode: the code of censored observations (crr's ``cencode``).
        conf_level: level of the hazard-ratio confidence intervals.

    Returns:
        A :class:`FineGrayFit`.
    """
    t = as_float(time, "time", nonnegative=True)
    n = len(t)
    if n == 0:
        raise InputError("at least one observation", field="time", got="empty")
    codes = _status_input(cause, n)
    fc = _as_code(failcode, "failcode")
    cc = _as_code(cencode, "cencode")
    if fc == cc:
        raise InputError("failcode different from cencode", field="failcode", got=fc)
    if not (isinstance(conf_level, int | float) and 0.0 < float(conf_level) < 1.0):
        raise InputError("a number in (0, 1)", field="conf_level", got=conf_level)
    x, names = _design(covariates, n)
    if not (codes == fc).any():
        present = sorted({int(k) for k in np.unique(codes)})
        raise InputError(
            f"at least one event of the cause failcode={fc} (codes present: {present})",
            field="cause",
            got="no events",
        )
    for j, nm in enumerate(names):
        if np.all(x[:, j] == x[0, j]):
            raise InputError("a non-constant covariate", field=f"covariates[{nm}]", got=x[0, j])

    status = np.where(codes == fc, 1, np.where(codes == cc, 0, 2)).astype(np.int64)
    order = np.argsort(t, kind="stable")
    ts = np.ascontiguousarray(t[order])
    ss = np.ascontiguousarray(status[order])
    centre = x.mean(axis=0)
    xs = np.ascontiguousarray((x - centre)[order])
    lay = _Layout(
        time=ts,
        status=ss,
        x=xs,
        g=_censoring_weights(ts, ss),
        first=np.searchsorted(ts, ts, side="left"),
        last=np.searchsorted(ts, ts, side="right") - 1,
        fail=np.flatnonzero(ss == 1),
    )
    p = x.shape[1]

    # crr's Newton-Raphson with backtracking (on minus the pseudo log-likelihood)
    b = np.zeros(p)
    converged = False
    iterations = 0
    f, grad, info = _value_score_info(lay, b)
    for ll in range(_MAXITER + 1):
        iterations = ll
        if np.max(np.abs(grad) * np.maximum(np.abs(b), 1.0)) < max(abs(f), 1.0) * _GTOL:
            converged = True
            break
        if ll == _MAXITER:
            break
        try:
            sc = -np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            raise InputError(
                "covariates of full column rank (no collinear or event-free column)",
                field="covariates",
                got="singular information matrix",
            ) from None
        bn = b + sc
        with np.errstate(over="ignore", invalid="ignore"):
            fbn = _objective(lay, bn)
            halvings = 0
            while not np.isfinite(fbn) or fbn > f + _ARMIJO * float(sc @ grad):
                halvings += 1
                sc = sc * 0.5
                bn = b + sc
                fbn = _objective(lay, bn)
                if halvings > _MAX_HALVING:
                    break
        if halvings > _MAX_HALVING:
            break
        b = bn
        f, grad, info = _value_score_info(lay, b)

    try:
        inv_info = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        raise InputError(
            "covariates of full column rank (no collinear or event-free column)",
            field="covariates",
            got="singular information matrix",
        ) from None
    var = inv_info @ _sandwich_middle(lay, b) @ inv_info.T
    f0 = _objective(lay, np.zeros(p))

    # baseline jumps d_k / S0(t_k) at the distinct event times (crrfit), uncentred
    s0 = _s0(lay, b)
    ft = ts[lay.fail]
    uft, first_pos, counts = np.unique(ft, return_index=True, return_counts=True)
    jumps = counts / s0[first_pos] * np.exp(-float(centre @ b))

    se = np.sqrt(np.diag(var))
    z, pval, hr, hr_lower, hr_upper = wald_hazard_ratios(b, se, conf_level)
    loglik = -f
    loglik_null = -f0
    try:
        wald = float(b @ np.linalg.solve(var, b))
    except np.linalg.LinAlgError:
        wald = float("nan")
    return FineGrayFit(
        names=names,
        coef=b,
        se=se,
        var=var,
        z=z,
        p=pval,
        hr=hr,
        hr_lower=hr_lower,
        hr_upper=hr_upper,
        loglik=float(loglik),
        loglik_null=float(loglik_null),
        score=-grad,
        information=info,
        lr_test=ChiSquareTest.of(2.0 * (loglik - loglik_null), p),
        wald_test=ChiSquareTest.of(wald, p),
        iterations=int(iterations),
        converged=converged,
        n=n,
        n_events=len(lay.fail),
        n_competing=int((ss == 2).sum()),
        failcode=fc,
        cencode=cc,
        conf_level=float(conf_level),
        baseline_time=uft,
        baseline_jumps=np.asarray(jumps, dtype=np.float64),
    )
