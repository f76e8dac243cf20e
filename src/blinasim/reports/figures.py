"""Journal-style figures for blinasim reports (matplotlib, no display needed).

Every function takes plain arrays or small records, draws on a new
:class:`matplotlib.figure.Figure` (not through pyplot: importing this module changes no
global state, such as a notebook's backend) and returns it; :func:`to_svg` /
:func:`to_png_base64` turn a figure into text that an HTML report embeds without touching
the network. Labels (arm names, titles) are drawn literally: a ``$`` in a label is a dollar
sign, never matplotlib mathtext or LaTeX.
"""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import matplotlib as mpl
import matplotlib.patches
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text
from numpy.typing import ArrayLike, NDArray

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
ARM_COLORS = {"blinatumomab": "#0072B2", "chemotherapy": "#D55E00"}

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "lines.linewidth": 1.6,
    "figure.dpi": 110,
    "savefig.dpi": 160,
    "savefig.bbox": "tight",
    "svg.fonttype": "none",
    "text.usetex": False,
}


@contextmanager
def style() -> Iterator[None]:
    """Apply the blinasim figure style inside a ``with`` block."""
    with mpl.rc_context(RC):  # type: ignore[arg-type]
        yield


def literal(*texts: Text | None) -> None:
    """Draw ``texts`` exactly as written: no mathtext (``$...$``), no LaTeX."""
    for t in texts:
        if t is not None:
            t.set_parse_math(False)
            t.set_usetex(False)


def tick_text(label: str) -> str:
    r"""``label`` escaped for a tick label, drawn literally.

    Matplotlib re-creates tick texts when it draws, so ``parse_math`` set on them does not
    stick; an escaped ``\$`` is drawn as ``$`` and never starts mathtext.
    """
    return label.replace("$", "\\$")


def literal_legend(leg: Legend | None) -> None:
    """Draw a legend's texts and title literally (no mathtext)."""
    if leg is not None:
        literal(*leg.get_texts(), leg.get_title())


def color_for(label: str, i: int) -> str:
    """Colour of a series: fixed for the two AALL1731 arms, the palette otherwise."""
    return ARM_COLORS.get(label, PALETTE[i % len(PALETTE)])


@dataclass(frozen=True)
class StepCurve:
    """A right-continuous step function (survival or cumulative incidence) with a band."""

    label: str
    time: NDArray[np.float64]
    value: NDArray[np.float64]
    lower: NDArray[np.float64] | None = None
    upper: NDArray[np.float64] | None = None
    censor_times: NDArray[np.float64] | None = None
    at_risk_time: NDArray[np.float64] | None = field(default=None, repr=False)
    """Observed times (all subjects) of the group, used for the numbers-at-risk row."""
    at_risk_weight: float = 1.0
    """Multiplies the numbers at risk (e.g. 1/R for the mean over R pooled trials)."""


def _with_origin(
    t: NDArray[np.float64], y: NDArray[np.float64], y0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if len(t) and t[0] == 0:
        return t, y
    return np.concatenate([[0.0], t]), np.concatenate([[y0], y])


def numbers_at_risk(times: ArrayLike, grid: ArrayLike) -> NDArray[np.int64]:
    """Subjects still at risk (observed time >= t) at each grid time."""
    t = np.sort(np.asarray(times, dtype=np.float64))
    g = np.asarray(grid, dtype=np.float64)
    return (len(t) - np.searchsorted(t, g, side="left")).astype(np.int64)


def step_plot(
    curves: Sequence[StepCurve],
    *,
    title: str,
    ylabel: str,
    xlabel: str = "Years",
    time_scale: float = 365.25,
    xmax: float | None = None,
    ylim: tuple[float, float] = (0.0, 1.0),
    start_value: float = 1.0,
    at_risk_every: float = 0.0,
    published: Mapping[str, tuple[float, float, float]] | None = None,
    percent: bool = True,
) -> Figure:
    """Kaplan-Meier-style step curves with CI bands, censor ticks and a numbers-at-risk table.

    ``published`` maps a curve label to ``(time in days, estimate, se)``: drawn as a point
    with a 95% interval, for simulated-versus-published comparisons.
    """
    with style():
        has_risk = any(c.at_risk_time is not None for c in curves)
        n_rows = sum(c.at_risk_time is not None for c in curves)
        fig = Figure(figsize=(6.4, 4.2 + 0.22 * n_rows))
        if has_risk:
            gs = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.35 + 0.22 * n_rows], hspace=0.42)
            ax = fig.add_subplot(gs[0])
            ax_tab = fig.add_subplot(gs[1], sharex=ax)
        else:
            ax = fig.add_subplot(1, 1, 1)
            ax_tab = None
        tmax = xmax
        if tmax is None:
            tmax = max((float(c.time.max()) if len(c.time) else 0.0) for c in curves) / time_scale
        for i, c in enumerate(curves):
            col = color_for(c.label, i)
            t, y = _with_origin(c.time, c.value, start_value)
            ax.step(t / time_scale, y, where="post", color=col, label=c.label)
            if c.lower is not None and c.upper is not None:
                _, lo = _with_origin(c.time, c.lower, start_value)
                _, hi = _with_origin(c.time, c.upper, start_value)
                ax.fill_between(t / time_scale, lo, hi, step="post", color=col, alpha=0.15, lw=0)
            if c.censor_times is not None and len(c.censor_times):
                ct = np.asarray(c.censor_times, dtype=np.float64)
                idx = np.searchsorted(t, ct, side="right") - 1
                ax.plot(
                    ct / time_scale, y[np.clip(idx, 0, len(y) - 1)], "|", color=col, ms=4, mew=0.8
                )
            if published and c.label in published:
                pt, est, se = published[c.label]
                ax.errorbar(
                    [pt / time_scale],
                    [est],
                    yerr=[[1.96 * se], [1.96 * se]],
                    fmt="D",
                    color=col,
                    mfc="white",
                    ms=5,
                    capsize=3,
                    lw=1.0,
                    zorder=5,
                    label=f"{c.label}: published {est * 100 if percent else est:.1f}"
                    + ("%" if percent else ""),
                )
        ax.set_xlim(0, tmax)
        ax.set_ylim(*ylim)
        literal(ax.set_ylabel(ylabel), ax.set_title(title, loc="left"))
        if percent:
            percent_axis(ax.yaxis)
        if start_value == 1.0 and ylim[0] > 0:
            axis_break(ax)
        literal_legend(ax.legend(loc="lower left" if start_value == 1.0 else "upper left"))
        literal(ax.set_xlabel(xlabel))
        if ax_tab is not None:
            ticks = [float(x) for x in ax.get_xticks() if 0 <= x <= tmax + 1e-9]
            grid = np.asarray(
                ticks if at_risk_every <= 0 else np.arange(0.0, tmax + 1e-9, at_risk_every)
            )
            if len(grid) < 3:
                grid = np.asarray(ticks)
            rows = [c for c in curves if c.at_risk_time is not None]
            for j, c in enumerate(rows):
                assert c.at_risk_time is not None
                n = np.rint(
                    numbers_at_risk(c.at_risk_time, grid * time_scale) * c.at_risk_weight
                ).astype(np.int64)
                yrow = len(rows) - 1 - j
                for gx, nv in zip(grid, n, strict=True):
                    ax_tab.text(  # numbers only
                        gx,
                        yrow,
                        f"{nv:,}",
                        ha="center",
                        va="center",
                        fontsize=7.5,
                        color=color_for(c.label, curves.index(c)),
                    )
            ax_tab.set_ylim(-0.6, len(rows) - 0.4)
            ax_tab.set_yticks(range(len(rows)))
            ax_tab.set_yticklabels([tick_text(c.label) for c in reversed(rows)], fontsize=7.5)
            ax_tab.tick_params(axis="y", length=0, pad=16)
            ax_tab.tick_params(axis="x", length=0, labelbottom=False)
            ax_tab.set_title("Number at risk", loc="left", fontsize=8, fontweight="normal")
            ax_tab.grid(False)
            for side in ("left", "bottom", "top", "right"):
                ax_tab.spines[side].set_visible(False)
    return fig


def percent_axis(axis: Any) -> None:
    """Percent ticks at round steps (1, 2, 5 or 10 of a decade), decimals only when needed.

    A fixed ``decimals=0`` formatter with ticks every 2.5% reads 0, 2, 5, 8, 10%.
    """
    axis.set_major_locator(mpl.ticker.MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    axis.set_major_formatter(mpl.ticker.FuncFormatter(percent_text))


def percent_text(x: float, _pos: object = None) -> str:
    """A proportion as a percent tick label with no trailing zeros: 0.95 -> ``95%``."""
    return f"{x * 100:.2f}".rstrip("0").rstrip(".") + "%"


def axis_break(ax: Any) -> None:
    """Two short slashes on the bottom of the y axis: the axis does not start at zero."""
    kw: dict[str, Any] = {"transform": ax.transAxes, "clip_on": False}
    ax.plot([0, 0], [0.035, 0.06], color="white", lw=2.5, zorder=6, **kw)
    for y in (0.03, 0.055):
        ax.plot([-0.015, 0.015], [y - 0.012, y + 0.012], color="#333333", lw=0.9, zorder=7, **kw)


@dataclass(frozen=True)
class ForestRow:
    """One subgroup of a forest plot: hazard ratio with its interval and the patients."""

    label: str
    estimate: float
    lower: float
    upper: float
    n: int
    events: int
    header: bool = False


def forest_plot(
    rows: Sequence[ForestRow],
    *,
    title: str,
    xlabel: str = "Hazard ratio",
    favours: str = "blinatumomab",
    trials: int = 1,
) -> Figure:
    """Hazard ratios by subgroup on a log axis, with n/events and the estimate as text.

    ``trials`` > 1: the rows pool that many simulated trials, and n and events are shown
    per trial (the mean), not as patients of one trial.
    """
    per = max(trials, 1)
    with style():
        fig = Figure(figsize=(6.4, 0.9 + 0.28 * len(rows)))
        ax = fig.add_subplot(1, 1, 1)
        y = np.arange(len(rows))[::-1]
        finite = [r for r in rows if not r.header and np.isfinite([r.lower, r.upper]).all()]
        lo = min([r.lower for r in finite] + [0.1])
        hi = max([r.upper for r in finite] + [2.0])
        for yi, r in zip(y, rows, strict=True):
            if r.header:
                literal(
                    ax.text(lo, yi, r.label, fontweight="bold", va="center", ha="left", fontsize=8)
                )
                continue
            if np.isfinite([r.estimate, r.lower, r.upper]).all() and r.estimate > 0:
                ax.plot([r.lower, r.upper], [yi, yi], color="#333333", lw=1.1)
                ax.plot(
                    [r.estimate], [yi], "s", color=PALETTE[0], ms=4 + min(r.n / per, 2000) / 400
                )
                txt = f"{r.estimate:.2f} ({r.lower:.2f}-{r.upper:.2f})"
            else:
                txt = "not estimable"
            ax.text(hi * 1.15, yi, txt, va="center", fontsize=7.5)
            ax.text(
                lo / 1.15,
                yi,
                f"{r.label}  n={r.n:,}, events={r.events:,}"
                if per == 1
                else f"{r.label}  n={r.n / per:,.0f}, events={r.events / per:,.1f}",
                va="center",
                ha="right",
                fontsize=7.5,
                parse_math=False,
            )
        ax.axvline(1.0, color="#777777", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ticks = [v for v in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0) if lo <= v <= hi]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{v:g}" for v in ticks])
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        ax.set_yticks([])
        ax.set_ylim(-0.7, len(rows) - 0.3)
        literal(
            ax.set_xlabel(
                xlabel
                + f"  (< 1 favours {favours})"
                + ("" if per == 1 else f"; n and events: mean per trial over {per} trials")
            ),
            ax.set_title(title, loc="left"),
        )
        ax.spines["left"].set_visible(False)
        ax.grid(axis="y", visible=False)
    return fig


def histogram_log10(
    groups: Mapping[str, ArrayLike],
    *,
    title: str,
    xlabel: str,
    thresholds: Mapping[str, float] | None = None,
    floor: float = 1e-7,
) -> Figure:
    """Distributions of positive quantities (e.g. MRD fractions) on a log10 axis.

    Values at or below ``floor`` (undetectable) are counted in a separate bar at the left.
    """
    with style():
        fig = Figure(figsize=(6.4, 3.4))
        ax = fig.add_subplot(1, 1, 1)
        bins = np.linspace(np.log10(floor), 0, 36)
        for i, (label, vals) in enumerate(groups.items()):
            v = np.asarray(vals, dtype=np.float64)
            v = v[np.isfinite(v)]
            neg = float(np.mean(v <= floor)) if len(v) else 0.0
            pos = np.log10(v[v > floor])
            w = np.full(len(pos), 1.0 / max(len(v), 1))
            ax.hist(
                pos,
                bins=list(bins),
                weights=w,
                histtype="step",
                lw=1.4,
                color=color_for(label, i),
                label=f"{label} (undetectable {neg:.0%})",
            )
        top = ax.get_ylim()[1] * 1.22  # headroom: the threshold labels sit above the bars
        ax.set_ylim(0, top)
        for name, thr in (thresholds or {}).items():
            ax.axvline(np.log10(thr), color="#555555", ls=":", lw=0.9)
            ax.text(
                np.log10(thr),
                top * 0.99,
                f" {name}",
                fontsize=7,
                va="top",
                ha="left",
                parse_math=False,
                bbox={"fc": "white", "ec": "none", "pad": 0.5, "alpha": 0.85},
            )
        literal(
            ax.set_xlabel(xlabel),
            ax.set_ylabel("Proportion of patients"),
            ax.set_title(title, loc="left"),
        )
        ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda x, _: f"$10^{{{int(x)}}}$"))
        # below the axes: inside, it covered the threshold labels and the day-8 peak
        literal_legend(
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=7.5)
        )
    return fig


def _release(fig: Figure) -> None:
    """Close ``fig`` if pyplot manages it (figures made here are not; callers' may be)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None and fig.canvas.manager is not None:
        plt.close(fig)


def to_svg(fig: Figure) -> str:
    """The figure as an inline SVG string (text kept as text); closes a pyplot figure."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _release(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def to_png_base64(fig: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI; closes a pyplot figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=160, bbox_inches="tight", metadata={"Software": None})
    _release(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
