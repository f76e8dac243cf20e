"""Diagrams of a report: the CONSORT flow of a trial and the timelines of a protocol's arms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.patches
from matplotlib.figure import Figure

from blinasim.reports.figures import PALETTE, literal, literal_legend, style, tick_text


def consort_diagram(boxes: Sequence[tuple[str, Sequence[str]]], *, title: str) -> Figure:
    """A vertical CONSORT-style flow: each box a heading and lines, linked by arrows.

    A heading containing ``" | "`` is split into side-by-side boxes (e.g. the two arms).
    """
    with style():
        fig = Figure(figsize=(6.4, 1.2 + 1.05 * len(boxes)))
        ax = fig.add_subplot(1, 1, 1)
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, len(boxes))
        for i, (head, lines) in enumerate(boxes):
            yc = len(boxes) - i - 0.5
            heads = head.split(" | ")
            groups = _split_lines(lines, len(heads))
            width = 0.9 / len(heads)
            for j, (h, ls) in enumerate(zip(heads, groups, strict=True)):
                xc = 0.05 + width * (j + 0.5)
                text = h + ("\n" + "\n".join(ls) if ls else "")
                ax.text(
                    xc,
                    yc,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    parse_math=False,
                    bbox={"boxstyle": "round,pad=0.4", "fc": "#f4f7fb", "ec": "#4a6a8a", "lw": 0.8},
                )
                if i + 1 < len(boxes):
                    ax.annotate(
                        "",
                        xy=(
                            xc if len(heads) == len(boxes[i + 1][0].split(" | ")) else 0.5,
                            yc - 0.62,
                        ),
                        xytext=(xc, yc - 0.38),
                        arrowprops={"arrowstyle": "->", "color": "#4a6a8a", "lw": 0.8},
                    )
        literal(ax.set_title(title, loc="left"))
    return fig


def _split_lines(lines: Sequence[str], k: int) -> list[list[str]]:
    if k == 1:
        return [list(lines)]
    out: list[list[str]] = [[] for _ in range(k)]
    for line in lines:
        if " | " in line:
            parts = line.split(" | ")
            for j in range(k):
                out[j].append(parts[j] if j < len(parts) else "")
        else:
            for j in range(k):
                out[j].append(line)
    return out


def timeline_plot(
    arms: Mapping[str, Sequence[tuple[str, str, float, float]]],
    *,
    title: str,
    kind_colors: Mapping[str, str] | None = None,
) -> Figure:
    """Gantt chart of protocol arms: per arm, ``(phase name, kind, start day, end day)``."""
    colors = dict(kind_colors or {})
    with style():
        fig = Figure(figsize=(7.2, 0.8 + 0.55 * len(arms)))
        ax = fig.add_subplot(1, 1, 1)
        kinds: dict[str, str] = {}
        for yi, (_arm, phases) in enumerate(reversed(list(arms.items()))):
            for name, kind, start, end in phases:
                col = colors.get(kind) or kinds.get(kind) or PALETTE[len(kinds) % len(PALETTE)]
                kinds.setdefault(kind, col)
                ax.barh(
                    yi,
                    (end - start) / 7.0,
                    left=start / 7.0,
                    color=col,
                    height=0.6,
                    edgecolor="white",
                    lw=0.5,
                )
                if (end - start) >= 42:
                    ax.text(
                        (start + end) / 14.0,
                        yi,
                        name,
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white",
                        parse_math=False,
                    )
        ax.set_yticks(range(len(arms)))
        ax.set_yticklabels([tick_text(a) for a in reversed(list(arms))])
        literal(ax.set_xlabel("Weeks from diagnosis"), ax.set_title(title, loc="left"))
        handles = [mpl.patches.Patch(color=c, label=k.replace("_", " ")) for k, c in kinds.items()]
        literal_legend(
            ax.legend(handles=handles, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.28))
        )
        ax.grid(axis="y", visible=False)
    return fig


__all__ = ["consort_diagram", "timeline_plot"]
