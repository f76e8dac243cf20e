"""Event history as state occupancy: the share of children in each state over time.

A child's state at time ``t`` is ``dead`` once dead, else the state entered by the latest of
their events at or before ``t`` (e.g. HSCT, second relapse, CAR-T), else the starting state.
Model histories are complete (no censoring), so the shares are plain proportions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from blinasim.reports.figures import literal, literal_legend, percent_axis, style

FloatArray = NDArray[np.float64]
DEAD = "dead"
PALETTE = ("#56B4E9", "#009E73", "#E69F00", "#CC79A7", "#0072B2", "#999999")


def occupancy(
    events: Mapping[str, FloatArray], death: FloatArray, grid: FloatArray, *, start: str
) -> dict[str, FloatArray]:
    """Share of children in each state at each ``grid`` time (same unit as the days).

    ``events`` maps a state to the day each child enters it (``inf``/NaN: never); the
    states are ``start``, the keys of ``events`` and :data:`DEAD`; shares sum to 1.
    """
    d = np.asarray(death, dtype=np.float64)
    d = np.where(np.isnan(d), np.inf, d)
    g = np.asarray(grid, dtype=np.float64)
    names = list(events)
    n = d.size
    latest = np.full((n, g.size), -1, dtype=np.int64)
    when = np.full((n, g.size), -np.inf)
    for k, name in enumerate(names):
        e = np.asarray(events[name], dtype=np.float64)
        e = np.where(np.isnan(e), np.inf, e)
        past = e[:, None] <= g[None, :]
        newer = past & (e[:, None] > when)
        latest = np.where(newer, k, latest)
        when = np.where(newer, e[:, None], when)
    dead = d[:, None] <= g[None, :]
    out = {start: np.mean(~dead & (latest < 0), axis=0) if n else np.zeros(g.size)}
    for k, name in enumerate(names):
        out[name] = np.mean(~dead & (latest == k), axis=0) if n else np.zeros(g.size)
    out[DEAD] = np.mean(dead, axis=0) if n else np.zeros(g.size)
    return out


def occupancy_figure(
    panels: Mapping[str, Mapping[str, FloatArray]],
    grid_years: FloatArray,
    *,
    title: str,
    xlabel: str,
    order: Sequence[str] | None = None,
    ymin: float = 0.0,
) -> Figure:
    """Stacked areas of state shares, one panel per group (e.g. arm).

    ``ymin`` > 0 zooms on the top of the stack (the first state's band is cut; its share
    is read on the axis).
    """
    with style():
        fig = Figure(figsize=(6.4 * min(len(panels), 2) * 0.75 + 1.0, 3.8))
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        for ax, (group, shares) in zip(axes, panels.items(), strict=True):
            states = list(order) if order is not None else list(shares)
            ys = [np.asarray(shares[s], dtype=np.float64) for s in states]
            colors = [
                "#444444" if s == DEAD else PALETTE[i % len(PALETTE)] for i, s in enumerate(states)
            ]
            ax.stackplot(grid_years, ys, labels=states, colors=colors, alpha=0.85, lw=0)
            ax.set_xlim(float(grid_years[0]), float(grid_years[-1]))
            ax.set_ylim(ymin, 1.0)
            percent_axis(ax.yaxis)
            literal(ax.set_title(f"{title}: {group}", loc="left"), ax.set_xlabel(xlabel))
        literal(axes[0].set_ylabel("Share of children"))
        literal_legend(axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7.5))
    return fig
