"""The HTML page of ``blinasim validate --out DIR``, rendered from its ``validate.json`` alone.

Every target with its role, the published value and interval, the posterior predictive value
and 95% interval, and whether the published value is inside; counts per role, with only the
held-out targets called validation; the what-if backbone comparisons when present.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.io.checkpoint import atomic_write_bytes
from blinasim.reports import tables
from blinasim.reports.figures import PALETTE, style
from blinasim.reports.html import Section, render

DOCUMENT = "validate.json"
ROLE_COLORS = {
    "held_out": PALETTE[1],
    "fitted": PALETTE[0],
    "derived": PALETTE[2],
    "closed_form": PALETTE[3],
    "input": PALETTE[7],
}


def fmt(v: Any) -> str:
    """A number to 4 significant digits (``–`` if missing)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{float(v):.4g}"


def interval_text(d: dict[str, Any] | None) -> str:
    """``{estimate, lower, upper}`` as ``0.96 [0.94, 0.98]``; None as ``not simulated``."""
    if d is None:
        return "not simulated"
    return f"{fmt(d.get('estimate'))} [{fmt(d.get('lower'))}, {fmt(d.get('upper'))}]"


def inside_text(v: bool | None) -> str:
    """``yes`` / ``NO`` / ``–`` (not simulated)."""
    return "–" if v is None else ("yes" if v else "NO")


def read_document(folder: str | Path) -> dict[str, Any]:
    """``validate.json`` of a results folder (one line if missing or unreadable)."""
    f = Path(folder) / DOCUMENT
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{DOCUMENT} in the results folder (missing)", file=folder) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"a readable {DOCUMENT}", file=folder, got=str(exc)) from None
    if not isinstance(doc, dict) or "targets" not in doc:
        raise InputError(f"a {DOCUMENT} of 'blinasim validate'", file=folder)
    return doc


def targets_figure(targets: list[dict[str, Any]]) -> Figure:
    """Each simulated target on its published-interval scale, coloured by role."""
    shown = [t for t in targets if t.get("predicted") is not None]
    with style():
        fig = Figure(figsize=(7.0, 1.0 + 0.19 * max(len(shown), 1)))
        ax = fig.add_subplot(1, 1, 1)
        y = np.arange(len(shown))[::-1]
        for yi, t in zip(y, shown, strict=True):
            pub, pred = t["published"], t["predicted"]
            half = (pub["upper"] - pub["lower"]) / 2 if pub["upper"] is not None else None
            if not half or not all(
                isinstance(pred[k], int | float) for k in ("estimate", "lower", "upper")
            ):
                continue
            c = ROLE_COLORS.get(t["role"], PALETTE[7])
            lo = (pred["lower"] - pub["estimate"]) / half
            hi = (pred["upper"] - pub["estimate"]) / half
            mid = (pred["estimate"] - pub["estimate"]) / half
            ax.plot([max(lo, -9), min(hi, 5.5)], [yi, yi], color=c, lw=1.2)
            ax.plot([min(max(mid, -9), 5.5)], [yi], "o", color=c, ms=3.5)
            ax.text(-9.8, yi, str(t["id"]), fontsize=6.0, va="center", ha="left")
        ax.axvline(0, color="#333333", lw=0.8)
        for v in (-1, 1):
            ax.axvline(v, color="#999999", lw=0.6, ls="--")
        ax.set_xlim(-10, 6)
        ax.set_yticks([])
        ax.set_xlabel(
            "(prediction - published) / half-width of the published 95% interval; "
            "bar: 95% predictive interval",
            fontsize=7,
        )
        names = ", ".join(f"{tables.label(r)}: {c}" for r, c in ROLE_COLORS.items())
        ax.set_title(f"Targets by role ({names})", loc="left", fontsize=7)
    return fig


def _frame(targets: list[dict[str, Any]]) -> pd.DataFrame:
    recs = []
    for t in targets:
        recs.append(
            {
                "target": t["id"],
                "role": tables.label(t["role"]),
                "study": t.get("study", ""),
                "published [95% interval]": interval_text(t["published"]),
                "predicted [95% predictive]": "a what-if pair (below)"
                if t.get("predicted") is None and "what-if" in str(t.get("note", ""))
                else interval_text(t.get("predicted")),
                "inside": inside_text(t.get("inside")),
                "note": t.get("note", ""),
                "flag": t.get("inside") is False,
            }
        )
    return pd.DataFrame(recs)


def render_validation(folder: str | Path) -> str:
    """The validation page's HTML, from ``validate.json`` in ``folder``."""
    doc = read_document(folder)
    targets = list(doc["targets"])
    settings = doc.get("settings") or {}
    s_sum = Section("Summary", str(doc.get("validation_note", ""))).kv(
        [
            ("posterior", doc.get("posterior", "?")),
            ("model version", doc.get("model_version", "?")),
            ("posterior draws simulated", settings.get("draws")),
            ("children per draw", settings.get("children_per_draw")),
            ("seed (the fit used)", f"{settings.get('seed')} ({settings.get('fitted_seed')})"),
            ("target files", ", ".join(settings.get("target_files") or [])),
            ("run time", f"{float(doc.get('timing_s') or 0):.1f} s"),
        ]
        + [(f"line {i + 1}", line) for i, line in enumerate(doc.get("summary_lines") or [])]
    )
    s_t = Section(
        "Targets",
        "Published value with its 95% interval (as published, or estimate ± 1.96 SE), the "
        "posterior mean of the simulated counterpart with its 95% posterior predictive "
        "interval (each draw's value plus the trial's sampling noise), and whether the "
        f"published value is inside. {settings.get('predictive_interval', '')} " + tables.ROLE_NOTE,
    )
    s_t.figure(targets_figure(targets), "Simulated targets; dashed: the published interval.")
    order = ["held_out", "fitted", "derived", "closed_form", "input"]
    for role in order + sorted({t["role"] for t in targets} - set(order)):
        mine = [t for t in targets if t["role"] == role]
        if mine:
            what = "validation" if role == "held_out" else "not validation"
            s_t.table(
                _frame(mine),
                f"{tables.label(role)} ({what}): flagged rows are outside their interval.",
                flag_column="flag",
                wrap=True,
            )
    sections = [s_sum, s_t]
    s_w = Section(
        "What-if backbone comparisons",
        "Published comparisons of backbone intensity written as protocol variants and "
        "predicted without tuning: predicted versus published effect.",
    )
    if doc.get("whatif"):
        rows = [
            {
                "comparison": w.get("description", w.get("id")),
                "end point": f"{w.get('years', '')}-y {str(w.get('endpoint', '')).upper()}",
                "published effect [95% CI]": interval_text(w.get("published")),
                "predicted effect [95%]": interval_text(w.get("predicted")),
                "hit": "yes" if w.get("hit") else "NO",
                "model population": w.get("population", ""),
                "flag": not w.get("hit"),
            }
            for w in doc["whatif"]
        ]
        s_w.text(str(doc.get("whatif_note") or ""))
        s_w.table(
            pd.DataFrame(rows),
            "Effect = experimental minus control, in event-free proportion; hit: the predicted "
            "point inside the published 95% CI.",
            flag_column="flag",
            wrap=True,
        )
    else:
        s_w.text(str(doc.get("whatif_note") or "none"))
    sections.append(s_w)
    return render(
        f"Validation of {doc.get('posterior', 'the model')}",
        sections,
        subtitle="Every published target beside the model's posterior prediction.",
        disclaimer=doc.get("disclaimer") or DISCLAIMER,
    )


def write_validation_report(folder: str | Path) -> Path:
    """Render ``folder/validate.json`` into ``folder/report.html``."""
    html = render_validation(folder)
    return atomic_write_bytes(Path(folder) / "report.html", html.encode("utf-8"))


__all__ = ["read_document", "render_validation", "write_validation_report"]
