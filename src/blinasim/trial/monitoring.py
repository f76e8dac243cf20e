"""Group-sequential monitoring: alpha spending, boundaries and exit probabilities.

The boundaries are computed by the recursive numerical integration of Armitage, McPherson
and Rowe (1969) on the grid of Jennison & Turnbull (2000, ch. 19): the density of the
standardized statistic ``Z_k`` on the continuation region of look ``k`` is propagated to
look ``k + 1`` by Simpson's rule, and the exit probabilities at each look follow in closed
form from the normal CDF. With the default grid (``r = 64``, about 770 points per look) the
boundaries agree with R ``rpact::getDesignGroupSequential`` to better than 1e-7.

Conventions follow rpact:

* information rates ``t_1 < ... < t_K = 1``; ``Z_k`` is the cumulative z-statistic, larger
  is better for the experimental arm (for a log-rank test, ``Z = -(O - E)/sqrt(V)`` in the
  experimental arm);
* one-sided designs reject at look ``k`` when ``Z_k >= c_k``; two-sided designs when
  ``|Z_k| >= c_k`` (symmetric bounds; as in rpact, each side spends ``alpha/2`` by the
  one-sided spending function);
* futility bounds are on the z-scale (stop for futility when ``Z_k <= f_k``, ``k < K``);
  *non-binding* bounds (the default, as in rpact) are ignored when computing the efficacy
  bounds, *binding* ones are part of the continuation region;
* spending functions ``asOF`` (Lan-DeMets O'Brien-Fleming-like:
  ``2 - 2 Phi(Phi^-1(1 - alpha/2) / sqrt(t))``), ``asP`` (Pocock-like:
  ``alpha log(1 + (e - 1) t)``), ``asHSD`` (Hwang-Shih-DeCani with ``gamma``), ``asKD``
  (Kim-DeMets power ``alpha t^gamma``), and the classic ``OF`` (``c / sqrt(t_k)``), ``P``
  (constant ``c``) and ``WT`` (Wang-Tsiatis ``c t_k^(Delta - 1/2)``) boundaries.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from blinasim.errors import InputError

FloatArray = NDArray[np.float64]

SpendingType = Literal["asOF", "asP", "asHSD", "asKD", "OF", "P", "WT"]
SPENDING_TYPES: tuple[str, ...] = ("asOF", "asP", "asHSD", "asKD", "OF", "P", "WT")
_ALPHA_SPENDING = ("asOF", "asP", "asHSD", "asKD")

GRID_R = 64
"""Jennison-Turnbull grid parameter: about ``12 r`` Simpson points per look."""

_SQRT2 = math.sqrt(2.0)


def _phi(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _cdf(x: FloatArray | float) -> FloatArray:
    return np.asarray(special.ndtr(x), dtype=np.float64)


def _sf(x: FloatArray | float) -> FloatArray:
    return np.asarray(special.ndtr(-np.asarray(x, dtype=np.float64)), dtype=np.float64)


def _norm_ppf(p: float) -> float:
    return float(special.ndtri(p))


def spending_function(
    t: FloatArray | float,
    alpha: float,
    kind: str,
    gamma: float | None = None,
) -> FloatArray:
    """Cumulative alpha spent at information rates ``t`` (0 <= t <= 1).

    ``kind`` is one of the alpha-spending types ``asOF``, ``asP``, ``asHSD`` (``gamma``
    required; ``gamma = 0`` is linear spending) or ``asKD`` (``gamma > 0`` required).
    """
    x = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    if kind == "asOF":
        with np.errstate(divide="ignore"):
            q = _norm_ppf(1.0 - alpha / 2.0) / np.sqrt(x)
        return np.asarray(2.0 * _sf(q), dtype=np.float64)
    if kind == "asP":
        return np.asarray(alpha * np.log(1.0 + (math.e - 1.0) * x), dtype=np.float64)
    if kind == "asHSD":
        if gamma is None:
            raise InputError("a gamma for asHSD spending", field="gamma", got=None)
        if gamma == 0:
            return np.asarray(alpha * x, dtype=np.float64)
        return np.asarray(
            alpha * (1.0 - np.exp(-gamma * x)) / (1.0 - math.exp(-gamma)), dtype=np.float64
        )
    if kind == "asKD":
        if gamma is None or gamma <= 0:
            raise InputError("a gamma > 0 for asKD spending", field="gamma", got=gamma)
        return np.asarray(alpha * x**gamma, dtype=np.float64)
    raise InputError(f"one of {list(_ALPHA_SPENDING)}", field="spending", got=kind)


# ----------------------------------------------------------------------------------------
# Recursive numerical integration (Jennison & Turnbull 2000, section 19.2)


def _grid(mean: float, lo: float, hi: float, r: int) -> tuple[FloatArray, FloatArray]:
    """Simpson nodes and weights on [lo, hi] (possibly infinite) around ``mean``."""
    i = np.arange(1, 6 * r, dtype=np.float64)
    x = np.where(
        i < r,
        mean - 3.0 - 4.0 * np.log(r / i),
        np.where(
            i <= 5 * r,
            mean - 3.0 + 3.0 * (i - r) / (2.0 * r),
            mean + 3.0 + 4.0 * np.log(r / np.maximum(6.0 * r - i, 1.0)),
        ),
    )
    inside = x[(x > lo) & (x < hi)]
    pts = [inside]
    if math.isfinite(lo) and lo > x[0]:
        pts.insert(0, np.array([lo]))
    if math.isfinite(hi) and hi < x[-1]:
        pts.append(np.array([hi]))
    odd = np.concatenate(pts)
    if odd.size < 2:
        # the continuation region lies far out in a tail: a tiny uniform grid is exact enough
        a = max(lo, x[0]) if math.isfinite(lo) else x[0]
        b = min(hi, x[-1]) if math.isfinite(hi) else x[-1]
        if not b > a:
            return np.zeros(1), np.zeros(1)
        odd = np.linspace(a, b, 3)
    d = np.diff(odd)
    nodes = np.empty(2 * odd.size - 1)
    nodes[0::2] = odd
    nodes[1::2] = odd[:-1] + d / 2.0
    w = np.zeros_like(nodes)
    w[0::2][:-1] += d / 6.0
    w[0::2][1:] += d / 6.0
    w[1::2] = 4.0 * d / 6.0
    return nodes, w


@dataclasses.dataclass(frozen=True)
class ExitProbabilities:
    """Probabilities of stopping at each look under a given drift.

    ``drift`` is the expected z-statistic at full information (``theta * sqrt(I_max)``).
    ``upper[k]``: reject (efficacy, ``Z_k >= c_k``) at look ``k``; ``lower[k]``: cross the
    lower bound (futility, or the lower rejection bound of a two-sided design);
    ``rejection`` sums the rejections (both sides for a two-sided design).
    """

    drift: float
    upper: FloatArray
    lower: FloatArray
    rejection: float
    expected_information_rate: float


class _Recursion:
    """State of the forward recursion: the sub-density of ``Z_k`` on its continuation grid."""

    def __init__(self, t: FloatArray, drift: float, r: int) -> None:
        self.t = t
        self.drift = drift
        self.r = r
        self.k = 0
        self.nodes: FloatArray = np.zeros(0)
        self.dens: FloatArray = np.zeros(0)  # density * Simpson weight at the nodes

    def _cond(self) -> tuple[float, float, float]:
        k = self.k
        tk, tp = float(self.t[k]), float(self.t[k - 1])
        dt = tk - tp
        return math.sqrt(tk), math.sqrt(tp), dt

    def exit_above(self, b: float) -> float:
        """P(continue up to look k-1, Z_k >= b)."""
        if math.isinf(b):
            return 0.0 if b > 0 else self.mass()
        if self.k == 0:
            return float(_sf(b - self.drift * math.sqrt(self.t[0])))
        sk, sp, dt = self._cond()
        z = (b * sk - self.nodes * sp - self.drift * dt) / math.sqrt(dt)
        return float(np.dot(self.dens, _sf(z)))

    def exit_below(self, a: float) -> float:
        """P(continue up to look k-1, Z_k <= a)."""
        if math.isinf(a):
            return 0.0 if a < 0 else self.mass()
        if self.k == 0:
            return float(_cdf(a - self.drift * math.sqrt(self.t[0])))
        sk, sp, dt = self._cond()
        z = (a * sk - self.nodes * sp - self.drift * dt) / math.sqrt(dt)
        return float(np.dot(self.dens, _cdf(z)))

    def mass(self) -> float:
        """P(continue up to look k-1)."""
        return 1.0 if self.k == 0 else float(self.dens.sum())

    def advance(self, lo: float, hi: float) -> None:
        """Restrict look k to the continuation region (lo, hi) and move to look k+1."""
        mean = self.drift * math.sqrt(float(self.t[self.k]))
        nodes, w = _grid(mean, lo, hi, self.r)
        if self.k == 0:
            dens = _phi(nodes - mean) * w
        else:
            sk, sp, dt = self._cond()
            sd = math.sqrt(dt)
            z = (nodes[:, None] * sk - self.nodes[None, :] * sp - self.drift * dt) / sd
            dens = (_phi(z) @ self.dens) * (sk / sd) * w
        self.nodes, self.dens = nodes, dens
        self.k += 1


def exit_probabilities(
    critical_values: FloatArray,
    information_rates: FloatArray,
    *,
    drift: float = 0.0,
    sided: int = 1,
    futility_bounds: FloatArray | None = None,
    r: int = GRID_R,
) -> ExitProbabilities:
    """Stopping probabilities at each look for given bounds (futility treated as binding).

    For a two-sided design the lower bound is ``-critical_values``; otherwise it is the
    futility bound (``-inf`` where none, and always at the final look).
    """
    c = np.asarray(critical_values, dtype=np.float64)
    t = np.asarray(information_rates, dtype=np.float64)
    kmax = c.size
    lower_b = _lower_bounds(c, futility_bounds, sided)
    rec = _Recursion(t, drift, r)
    up = np.zeros(kmax)
    lo = np.zeros(kmax)
    for k in range(kmax):
        up[k] = rec.exit_above(float(c[k]))
        lo[k] = rec.exit_below(float(lower_b[k])) if k < kmax - 1 or sided == 2 else 0.0
        if k < kmax - 1:
            rec.advance(float(lower_b[k]), float(c[k]))
    rejection = float(up.sum() + (lo.sum() if sided == 2 else 0.0))
    stop = up + lo
    stop_before = np.concatenate([[0.0], np.cumsum(stop)[:-1]])
    # expected information: look k is reached with probability 1 - P(stopped before k)
    reach = 1.0 - stop_before
    inc = np.diff(np.concatenate([[0.0], t]))
    return ExitProbabilities(
        drift=float(drift),
        upper=up,
        lower=lo,
        rejection=rejection,
        expected_information_rate=float(np.dot(reach, inc)),
    )


def _lower_bounds(c: FloatArray, futility: FloatArray | None, sided: int) -> FloatArray:
    kmax = c.size
    if sided == 2:
        return np.asarray(-c, dtype=np.float64)
    low = np.full(kmax, -np.inf)
    if futility is not None:
        low[: kmax - 1] = futility
    return low


# ----------------------------------------------------------------------------------------
# Designs


@dataclasses.dataclass(frozen=True)
class GroupSequentialDesign:
    """Efficacy (and optional futility) boundaries of a group-sequential test.

    Arrays have one entry per look. ``critical_values`` are z-scale efficacy bounds,
    ``alpha_spent`` the cumulative type I error spent (as rpact's ``alphaSpent``),
    ``stage_levels`` the one-sided nominal levels ``1 - Phi(c_k)``, ``futility_bounds``
    the z-scale futility bounds of looks ``1..K-1`` (empty when none).
    """

    kind: str
    information_rates: FloatArray
    alpha: float
    sided: int
    gamma: float | None
    delta_wt: float | None
    critical_values: FloatArray
    alpha_spent: FloatArray
    stage_levels: FloatArray
    futility_bounds: FloatArray
    binding_futility: bool

    @property
    def kmax(self) -> int:
        """Number of looks."""
        return int(self.information_rates.size)

    def lower_bounds(self) -> FloatArray:
        """Lower stopping bound per look (futility, or ``-c`` two-sided; ``-inf`` if none)."""
        fut = self.futility_bounds if self.futility_bounds.size else None
        return _lower_bounds(self.critical_values, fut, self.sided)

    def exit_probabilities(self, drift: float = 0.0) -> ExitProbabilities:
        """Stopping probabilities under ``drift`` (futility bounds obeyed)."""
        return exit_probabilities(
            self.critical_values,
            self.information_rates,
            drift=drift,
            sided=self.sided,
            futility_bounds=self.futility_bounds if self.futility_bounds.size else None,
        )


def _check_rates(information_rates: FloatArray | list[float]) -> FloatArray:
    t = np.asarray(information_rates, dtype=np.float64)
    if t.ndim != 1 or t.size < 1:
        raise InputError("a non-empty list of information rates", field="information_rates")
    bad = not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0)
    if bad or abs(t[-1] - 1.0) > 1e-12:
        raise InputError(
            "strictly increasing information rates in (0, 1] ending at 1",
            field="information_rates",
            got=t.tolist(),
        )
    return t


def group_sequential_design(
    information_rates: FloatArray | list[float],
    *,
    alpha: float = 0.025,
    sided: int = 1,
    kind: str = "asOF",
    gamma: float | None = None,
    delta_wt: float | None = None,
    futility_bounds: FloatArray | list[float] | None = None,
    binding_futility: bool = False,
    r: int = GRID_R,
) -> GroupSequentialDesign:
    """Boundaries of a group-sequential design, as ``rpact::getDesignGroupSequential``.

    ``kind`` is an alpha-spending function (``asOF``, ``asP``, ``asHSD`` with ``gamma``,
    ``asKD`` with ``gamma``) or a classic boundary shape (``OF``, ``P``, ``WT`` with
    ``delta_wt``). ``futility_bounds`` (z-scale, one per interim look) are allowed for
    one-sided designs only; they are non-binding unless ``binding_futility``.
    """
    t = _check_rates(information_rates)
    kmax = t.size
    if not 0 < alpha < 0.5:
        raise InputError("alpha in (0, 0.5)", field="alpha", got=alpha)
    if sided not in (1, 2):
        raise InputError("sided 1 or 2", field="sided", got=sided)
    if kind not in SPENDING_TYPES:
        raise InputError(f"one of {list(SPENDING_TYPES)}", field="spending", got=kind)
    fut = np.zeros(0)
    if futility_bounds is not None:
        fut = np.asarray(futility_bounds, dtype=np.float64)
        if sided == 2:
            raise InputError(
                "no futility bounds in a two-sided design",
                field="futility_bounds",
                got=fut.tolist(),
            )
        if fut.shape != (kmax - 1,):
            raise InputError(
                f"{kmax - 1} futility bounds (one per interim look)",
                field="futility_bounds",
                got=fut.tolist(),
            )
    binding = bool(binding_futility and fut.size)
    use_fut = fut if binding else None
    lower_for = (lambda c: -c) if sided == 2 else None

    if kind in _ALPHA_SPENDING:
        # rpact: a two-sided design spends alpha/2 per side, each by the one-sided function
        cum = sided * spending_function(t, alpha / sided, kind, gamma)
        crit = np.zeros(kmax)
        rec = _Recursion(t, 0.0, r)
        spent_before = 0.0
        for k in range(kmax):
            target = float(cum[k] - spent_before)
            fk = float(use_fut[k]) if use_fut is not None and k < kmax - 1 else -np.inf

            def excess(b: float, target: float = target) -> float:
                p = rec.exit_above(b)
                if lower_for is not None:
                    p += rec.exit_below(-b)
                return p - target

            crit[k] = _solve_bound(excess, 0.0 if sided == 2 else -8.0)
            if k < kmax - 1:
                lo = -crit[k] if sided == 2 else fk
                rec.advance(float(lo), float(crit[k]))
            # rpact reports the spending function itself as alphaSpent
            spent_before = float(cum[k])
        alpha_spent = cum
    else:
        if kind == "OF":
            shape = 1.0 / np.sqrt(t)
        elif kind == "P":
            shape = np.ones(kmax)
        else:
            if delta_wt is None:
                raise InputError("delta_wt for a Wang-Tsiatis design", field="delta_wt", got=None)
            shape = t ** (delta_wt - 0.5)

        def total(cc: float) -> float:
            ep = exit_probabilities(cc * shape, t, sided=sided, futility_bounds=use_fut, r=r)
            return ep.rejection - alpha

        cc = _solve_bound(total, 0.0, 10.0)
        crit = cc * shape
        ep = exit_probabilities(crit, t, sided=sided, futility_bounds=use_fut, r=r)
        up = ep.upper + (ep.lower if sided == 2 else 0.0)
        alpha_spent = np.cumsum(up)
    stage_levels = _sf(crit)
    return GroupSequentialDesign(
        kind=kind,
        information_rates=t,
        alpha=float(alpha),
        sided=sided,
        gamma=gamma,
        delta_wt=delta_wt,
        critical_values=crit,
        alpha_spent=np.asarray(alpha_spent, dtype=np.float64),
        stage_levels=stage_levels,
        futility_bounds=fut,
        binding_futility=binding,
    )


def _solve_bound(fn: Callable[[float], float], lo: float = -8.0, hi: float = 40.0) -> float:
    """Root of a decreasing function of the bound ``b`` on ``[lo, hi]``."""
    flo, fhi = fn(lo), fn(hi)
    if flo < 0:
        return lo  # nothing to spend beyond what the bound already spends
    while fhi > 0 and hi < 40.0:  # widen a tight first bracket
        hi = min(2.0 * hi, 40.0)
        fhi = fn(hi)
    if fhi > 0:
        return hi
    return float(optimize.brentq(fn, lo, hi, xtol=1e-13, rtol=1e-14, maxiter=500))


def z_to_hazard_ratio(
    z: FloatArray | float, events: FloatArray | float, allocation: float = 1.0
) -> FloatArray:
    """Hazard ratio on the boundary: ``exp(-z (1 + a) / sqrt(a D))`` (Schoenfeld).

    ``allocation`` ``a`` is experimental:control; ``events`` the total events ``D`` at the
    look. Positive ``z`` favours the experimental arm (HR < 1).
    """
    zz = np.asarray(z, dtype=np.float64)
    d = np.asarray(events, dtype=np.float64)
    return np.asarray(np.exp(-zz * (1.0 + allocation) / np.sqrt(allocation * d)), dtype=np.float64)


def drift_for_events(hazard_ratio: float, events: float, allocation: float = 1.0) -> float:
    """Expected final z of the log-rank test with ``events`` events (Schoenfeld).

    ``drift = -log(HR) sqrt(D a) / (1 + a)``: the drift argument of
    :func:`exit_probabilities` for power at a given number of events.
    """
    if hazard_ratio <= 0 or events <= 0:
        raise InputError("hazard ratio and events > 0", field="hazard_ratio", got=hazard_ratio)
    return -math.log(hazard_ratio) * math.sqrt(events * allocation) / (1.0 + allocation)


__all__ = [
    "GRID_R",
    "SPENDING_TYPES",
    "ExitProbabilities",
    "GroupSequentialDesign",
    "drift_for_events",
    "exit_probabilities",
    "group_sequential_design",
    "spending_function",
    "z_to_hazard_ratio",
]
