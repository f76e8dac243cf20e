"""Inline SVG drawn on the server: survival curves with their bands, and icon arrays.

No chart library and no script: the SVG is part of the page, its colours come from the
app's style sheet through class names (the Content-Security-Policy allows no inline
style), and every piece of text in it is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

_CLASS = re.compile(r"^[a-z][a-z0-9-]*$")


def _cls(name: str) -> str:
    if not _CLASS.match(name):
        raise ValueError(f"not a CSS class token: {name!r}")
    return name


@dataclass(frozen=True)
class Series:
    """One curve: values (0-1) at times in years, with an optional 95% band."""

    label: str
    css: str
    years: Sequence[float]
    values: Sequence[float]
    lower: Sequence[float] | None = None
    upper: Sequence[float] | None = None
    dashed: bool = False


W, H = 640, 330
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 74


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def curves_svg(
    series: Sequence[Series], *, title: str, years_max: float = 10.0, y_label: str = ""
) -> Markup:
    """A line chart of ``series`` from 0 to ``years_max`` years, y in percent."""
    lows = [min(s.lower or s.values) for s in series if len(s.values)]
    y_min = max(0.0, min([*lows, 1.0]) - 0.02)
    y_min = min(0.9, (int(y_min * 10)) / 10)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + pw * min(max(t, 0.0), years_max) / years_max

    def y(v: float) -> float:
        return TOP + ph * (1.0 - (min(max(v, y_min), 1.0) - y_min) / (1.0 - y_min))

    out = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    step = 0.05 if 1.0 - y_min <= 0.3 else 0.1
    k = 0
    while True:
        v = round(y_min + k * step, 4)
        if v > 1.0 + 1e-9:
            break
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{_fmt(y(v))}" y2="{_fmt(y(v))}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{_fmt(y(v) + 4)}" text-anchor="end">'
            f"{v * 100:.0f}%</text>"
        )
        k += 1
    for t in range(int(years_max) + 1):
        out.append(
            f'<text class="tick" x="{_fmt(x(t))}" y="{TOP + ph + 16}" text-anchor="middle">'
            f"{t}</text>"
        )
    out.append(
        f'<text class="axis-label" x="{LEFT + pw / 2}" y="{TOP + ph + 34}" '
        'text-anchor="middle">years from diagnosis</text>'
    )
    if y_label:
        out.append(
            f'<text class="axis-label" transform="rotate(-90)" x="{-(TOP + ph / 2)}" y="14" '
            f'text-anchor="middle">{escape(y_label)}</text>'
        )
    out.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + ph}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + ph}" y2="{TOP + ph}"/>'
    )
    for s in series:
        css = _cls(s.css)
        pts = list(zip(s.years, s.values, strict=True))
        if s.lower is not None and s.upper is not None:
            top = [f"{_fmt(x(t))},{_fmt(y(v))}" for t, v in zip(s.years, s.upper, strict=True)]
            bot = [f"{_fmt(x(t))},{_fmt(y(v))}" for t, v in zip(s.years, s.lower, strict=True)]
            out.append(f'<polygon class="band {css}" points="{" ".join(top + bot[::-1])}"/>')
        line = " ".join(f"{_fmt(x(t))},{_fmt(y(v))}" for t, v in pts)
        dash = " dashed" if s.dashed else ""
        out.append(f'<polyline class="line {css}{dash}" points="{line}"/>')
    ly = H - 22
    lx = LEFT
    for s in series:
        css = _cls(s.css)
        dash = " dashed" if s.dashed else ""
        out.append(
            f'<line class="line {css}{dash}" x1="{lx}" x2="{lx + 24}" y1="{ly}" y2="{ly}"/>'
            f'<text class="legend" x="{lx + 30}" y="{ly + 4}">{escape(s.label)}</text>'
        )
        lx += 36 + 7 * len(s.label)
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class IconGroup:
    """``count`` icons of one kind (a CSS class) with what they stand for."""

    count: int
    css: str
    label: str


# A person in a 22 x 25 cell: a head (a circle drawn as two arcs) above rounded shoulders.
_PERSON = (
    "M{hx},{hy} a4.2,4.2 0 1,0 8.4,0 a4.2,4.2 0 1,0 -8.4,0z "
    "M{bx},{by} v-5.5 q0,-6.5 8,-6.5 q8,0 8,6.5 v5.5z"
)


def icon_array_svg(groups: Sequence[IconGroup], *, title: str) -> Markup:
    """100 people in a 10 x 10 grid, coloured group by group (counts must sum to 100)."""
    counts = [g.count for g in groups]
    if any(c < 0 for c in counts) or sum(counts) != 100:
        raise ValueError(f"icon counts must be >= 0 and sum to 100, got {counts}")
    size_x, size_y = 22, 25
    out = [
        f'<svg class="icons" viewBox="0 0 {10 * size_x} {10 * size_y}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    i = 0
    for g in groups:
        css = _cls(g.css)
        for _ in range(g.count):
            row, col = divmod(i, 10)
            ox, oy = col * size_x, row * size_y
            d = _PERSON.format(hx=ox + 6.8, hy=oy + 6, bx=ox + 3, by=oy + 24)
            out.append(f'<path class="icon {css}" data-group="{css}" d="{d}"/>')
            i += 1
    out.append("</svg>")
    return Markup("".join(out))
