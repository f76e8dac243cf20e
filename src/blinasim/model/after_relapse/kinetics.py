"""The relapsing clone through salvage therapy: log-linear blocks, extinction, regrowth.

The same kinetics as the first-line kernel (:mod:`blinasim.model.leukemia`), for the marrow
burden of one clone: within a chemotherapy block the log count changes at ``g - k * s`` (``k``
the block's drug-class kill at sensitivity 1, ``s`` the clone's sensitivity times the
fitted ``salvage_sensitivity_factor``); a blinatumomab block runs
:func:`blinasim.model.pd.infusion_response` (concentration, T-cell fitness and the
effector-to-target balance, so high residual burdens respond less; antigen loss makes a
CD19-negative variant population); an allogeneic HSCT removes ``hsct_log10_kill`` logs
(conditioning and graft-versus-leukemia); after therapy the clone regrows at ``g``.

A path is a sequence of points ``(t_j, x_j)`` (days from relapse, natural-log count), linear
in between. Extinction is decided at the nadir before the relapse burden is reached: the
number of surviving lineages is Poisson with mean ``exp(m) * p_est``, ``p_est = g / (g + d)``
(birth-death establishment, as in the first-line kernel); a survivor restarts from
``max(exp(m), 1 / p_est)`` cells and the path is followed from there to the relapse burden.
A research model, not medical advice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass
class Path:
    """Points of the log count of one population per child (grown with :meth:`add`)."""

    t: list[FloatArray] = field(default_factory=list)
    x: list[FloatArray] = field(default_factory=list)

    def start(self, t0: FloatArray, x0: FloatArray) -> None:
        """The first point."""
        self.t.append(np.asarray(t0, dtype=np.float64))
        self.x.append(np.asarray(x0, dtype=np.float64))

    @property
    def now(self) -> FloatArray:
        """The last log count."""
        return self.x[-1]

    def linear(self, days: float | FloatArray, rate: FloatArray) -> None:
        """A segment of ``days`` at net log rate ``rate`` (per day)."""
        self.t.append(self.t[-1] + days)
        self.x.append(self.x[-1] + rate * days)

    def jump(self, x_new: FloatArray, where: NDArray[np.bool_] | None = None) -> None:
        """An instantaneous change (an infusion's end, a transplant) where ``where``."""
        self.t.append(self.t[-1].copy())
        self.x.append(x_new if where is None else np.where(where, x_new, self.x[-1]))

    def stacked(self, other: Path) -> Path:
        """The children of both paths (these, then ``other``'s) as one, with the same points."""
        return Path(
            [np.concatenate(ab) for ab in zip(self.t, other.t, strict=True)],
            [np.concatenate(ab) for ab in zip(self.x, other.x, strict=True)],
        )

    def arrays(self) -> tuple[FloatArray, FloatArray]:
        """``(t, x)`` as ``(n, points)`` arrays."""
        return np.stack(self.t, axis=1), np.stack(self.x, axis=1)


def _crossing(
    t: FloatArray,
    x: FloatArray,
    growth: FloatArray,
    level: float | FloatArray,
    start: NDArray[np.int64],
) -> FloatArray:
    """First time from point ``start`` at which the path reaches ``level`` (inf: never).

    All segments at once: the first segment ``j >= start`` that goes from below ``level`` to
    at or above it, interpolated linearly; past the last point the path grows at ``growth``.
    """
    n, k = x.shape
    t, x = np.ascontiguousarray(t), np.ascontiguousarray(x)
    first = np.arange(n) * k  # flat index of each row's first point
    lev = np.asarray(level, dtype=np.float64)
    col = lev[:, None] if lev.ndim else lev
    hit = np.full(n, np.inf)
    if k > 1:
        a, b = x[:, :-1], x[:, 1:]
        cross = (np.arange(k - 1)[None, :] >= start[:, None]) & (a < col) & (b >= col)
        j = np.argmax(cross, axis=1)
        at = first + j
        a_j, b_j, t_j = np.take(x, at), np.take(x, at + 1), np.take(t, at)
        frac = (level - a_j) / np.where(b_j > a_j, b_j - a_j, 1.0)
        found = np.take(cross, np.arange(n) * (k - 1) + j)
        hit = np.where(found, t_j + frac * (np.take(t, at + 1) - t_j), hit)
    at = first + start
    out = np.where(np.take(x, at) >= level, np.take(t, at), hit)
    tail = np.isinf(out) & (growth > 0) & (x[:, -1] < level)
    return np.where(tail, t[:, -1] + (level - x[:, -1]) / np.where(growth > 0, growth, 1.0), out)


def relapse_time(
    path: Path,
    growth: FloatArray,
    level: float | FloatArray,
    death_rate: float,
    u: FloatArray,
    *,
    after: int = 1,
) -> FloatArray:
    """Days from relapse to the next relapse of this population (inf: extinct or never).

    ``after``: the first point the search starts from (1: after the reinduction block, whose
    start is above the relapse burden by definition).
    """
    t, x = path.arrays()
    n, k = x.shape
    g = np.asarray(growth, dtype=np.float64)
    start = np.full(n, after, dtype=np.int64)
    det = _crossing(t, x, g, level, start)
    # nadir before the deterministic crossing
    before = t <= det[:, None]
    before[:, :after] = False
    xm = np.where(before, x, np.inf)
    j_m = np.argmin(xm, axis=1)
    m = np.take(xm, np.arange(n) * k + j_m)  # xm[row, j_m] (a flat take: faster)
    p_est = np.where(g > 0, g / np.maximum(g + death_rate, 1e-300), 0.0)
    lam = np.exp(np.minimum(m, 700.0)) * p_est
    extinct = (g <= 0) | (u < np.exp(-lam))
    restart = np.maximum(m, -np.log(np.maximum(p_est, 1e-300)))
    shifted = x + np.where(np.arange(k)[None, :] >= j_m[:, None], (restart - m)[:, None], 0.0)
    again = _crossing(t, shifted, g, level, j_m.astype(np.int64))
    return np.where(extinct | ~np.isfinite(m), np.inf, np.minimum(det, again))


def log_fraction_to_log_count(log10_fraction: float, normal_cells: float) -> float:
    """Natural-log leukemic count at a marrow fraction (``f / (1 - f) * normal``)."""
    f = 10.0**log10_fraction
    return math.log(f / (1.0 - f) * normal_cells)
