"""Figures of the CEA report: CE plane, CEAC, tornado, costs by category and over time.

Each function takes plain arrays or small frames, draws on a new
:class:`matplotlib.figure.Figure` in the blinasim style (:mod:`blinasim.reports.figures`)
and returns it; labels are drawn literally (a ``$`` is a dollar sign).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import NDArray

from blinasim.reports.figures import (
    ARM_COLORS,
    PALETTE,
    literal,
    literal_legend,
    percent_axis,
    style,
    tick_text,
)

FloatArray = NDArray[np.float64]
# eleven distinguishable colours for the cost categories (Okabe-Ito, then muted tones)
CATEGORY_COLORS = (
    *PALETTE[:7],
    "#999999",
    "#882255",
    "#44AA99",
    "#332288",
    "#DDCC77",
)


def _money(currency: str) -> matplotlib.ticker.FuncFormatter:
    def fmt(x: float, _pos: object = None) -> str:
        return tick_text(f"{x:,.0f}")

    return matplotlib.ticker.FuncFormatter(fmt)


def ce_plane(
    d_qalys: FloatArray,
    d_costs: FloatArray,
    *,
    threshold: float,
    currency: str,
    title: str = "Cost-effectiveness plane",
) -> Figure:
    """Incremental QALYs (x) against incremental costs (y) per PSA iteration."""
    with style():
        fig = Figure(figsize=(6.2, 4.4))
        ax = fig.subplots()
        ax.scatter(d_qalys, d_costs, s=9, alpha=0.45, color=PALETTE[0], label="PSA iterations")
        ax.scatter(
            [float(np.mean(d_qalys))],
            [float(np.mean(d_costs))],
            s=60,
            marker="D",
            color=PALETTE[1],
            label="mean",
            zorder=3,
        )
        lim = max(float(np.max(np.abs(d_qalys))) * 1.15, 1e-6)
        xs = np.array([-lim, lim])
        ax.plot(
            xs,
            threshold * xs,
            color="#555555",
            linestyle="--",
            linewidth=1.0,
            label=f"threshold {threshold:,.0f} {currency}/QALY",
        )
        ax.axhline(0.0, color="#999999", linewidth=0.8)
        ax.axvline(0.0, color="#999999", linewidth=0.8)
        ax.set_xlim(-lim, lim) if np.min(d_qalys) < 0 else ax.set_xlim(0.0, lim)
        top = max(float(np.max(d_costs)), 0.0)
        bottom = min(float(np.min(d_costs)), 0.0)
        pad = 0.15 * max(top - bottom, 1.0)
        ax.set_ylim(bottom - pad, top + pad)
        ax.set_xlabel("Incremental QALYs per child (blinatumomab - chemotherapy)")
        ax.set_ylabel(f"Incremental costs per child ({currency})")
        ax.yaxis.set_major_formatter(_money(currency))
        t = ax.set_title(title)
        literal(t, ax.xaxis.label, ax.yaxis.label)
        literal_legend(ax.legend(loc="upper left"))
    return fig


def ceac(
    thresholds: Sequence[float],
    probability: Sequence[float],
    *,
    threshold: float,
    currency: str,
) -> Figure:
    """Probability that blinatumomab is cost-effective against willingness to pay."""
    with style():
        fig = Figure(figsize=(6.2, 3.8))
        ax = fig.subplots()
        p = np.asarray(probability, dtype=float)
        x = np.asarray(thresholds, dtype=float)
        ax.plot(x, p, color=ARM_COLORS["blinatumomab"], label="chemotherapy + blinatumomab")
        ax.plot(x, 1.0 - p, color=ARM_COLORS["chemotherapy"], label="chemotherapy")
        ax.axvline(threshold, color="#555555", linestyle="--", linewidth=1.0)
        ax.set_ylim(-0.02, 1.02)
        percent_axis(ax.yaxis)
        ax.xaxis.set_major_formatter(_money(currency))
        ax.set_xlabel(f"Willingness to pay per QALY ({currency})")
        ax.set_ylabel("Probability cost-effective")
        t = ax.set_title("Cost-effectiveness acceptability curve")
        literal(t, ax.xaxis.label, ax.yaxis.label)
        literal_legend(ax.legend(loc="center right"))
    return fig


def tornado(rows: pd.DataFrame, *, currency: str, top: int = 15) -> Figure:
    """Incremental NMB at each input's low and high bound (widest swing on top)."""
    r = rows.head(top).iloc[::-1]
    base = float(rows["nmb_base"].iloc[0]) if len(rows) else 0.0
    with style():
        fig = Figure(figsize=(7.4, 0.9 + 0.32 * max(len(r), 1)))
        ax = fig.subplots()
        y = np.arange(len(r))
        lo = r["nmb_low"].to_numpy(dtype=float)
        hi = r["nmb_high"].to_numpy(dtype=float)
        ax.barh(y, lo - base, left=base, color=PALETTE[5], label="input at its low value")
        ax.barh(y, hi - base, left=base, color=PALETTE[0], label="input at its high value")
        ax.axvline(base, color="#333333", linewidth=1.0)
        ax.set_yticks(y, [tick_text(str(s)) for s in r["input"]])
        ax.xaxis.set_major_formatter(_money(currency))
        ax.set_xlabel(f"Incremental net monetary benefit per child ({currency})")
        t = ax.set_title("One-way sensitivity analysis (base case)")
        literal(t, ax.xaxis.label)
        literal_legend(ax.legend(loc="lower right", fontsize=7))
    return fig


def costs_by_category(
    means: Mapping[str, Mapping[str, float]], *, currency: str, title: str
) -> Figure:
    """Stacked mean cost per child by category for each arm (``means[arm][category]``)."""
    arms = list(means)
    cats = [c for c in next(iter(means.values())) if any(means[a][c] > 0 for a in arms)]
    with style():
        fig = Figure(figsize=(7.4, 3.6))
        ax = fig.subplots()
        left = np.zeros(len(arms))
        for i, c in enumerate(cats):
            w = np.array([means[a][c] for a in arms])
            color = CATEGORY_COLORS[i % len(CATEGORY_COLORS)]
            ax.barh(arms, w, left=left, color=color, label=c.replace("_", " "))
            left += w
        ax.set_yticks(range(len(arms)), [tick_text(a) for a in arms])
        ax.xaxis.set_major_formatter(_money(currency))
        ax.set_xlabel(f"Mean cost per child ({currency})")
        t = ax.set_title(title)
        literal(t, ax.xaxis.label)
        literal_legend(ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7))
    return fig


def costs_over_time(profile: pd.DataFrame, *, currency: str, xmax: float = 100.0) -> Figure:
    """Cumulative undiscounted cost per child over time from the origin, per arm."""
    p = profile[profile["category"] != "qalys"]
    tot = p.groupby(["arm", "years"], sort=True)["cost_undiscounted"].sum().reset_index()
    with style():
        fig = Figure(figsize=(6.6, 3.8))
        ax = fig.subplots()
        for i, (arm, g) in enumerate(tot.groupby("arm", sort=False)):
            x = np.concatenate([[0.0], g["years"].to_numpy(dtype=float)])
            y = np.concatenate([[0.0], g["cost_undiscounted"].to_numpy(dtype=float)])
            ax.plot(x, y, color=ARM_COLORS.get(str(arm), PALETTE[i]), label=str(arm))
        ax.set_xscale("symlog", linthresh=5.0)
        ax.set_xlim(0.0, xmax)
        ax.set_xticks(
            [0, 1, 2, 3, 5, 10, 20, 50, 100], ["0", "1", "2", "3", "5", "10", "20", "50", "100"]
        )
        ax.yaxis.set_major_formatter(_money(currency))
        ax.set_xlabel("Years from the origin (linear to 5, then logarithmic)")
        ax.set_ylabel(f"Cumulative cost per child ({currency}, undiscounted)")
        t = ax.set_title("Costs over time (base case)")
        literal(t, ax.xaxis.label, ax.yaxis.label)
        literal_legend(ax.legend(loc="upper left"))
    return fig


__all__ = ["ce_plane", "ceac", "costs_by_category", "costs_over_time", "tornado"]
