"""The HTML report of ``blinasim compare``, from its results folder.

Reads ``comparison.json`` (per stratum and arm: n, DFS at 3 and 5 years with SEs, relapse,
CD19-negative share, paired difference versus the reference arm with its SE; the children,
the seed, the protocols) and ``patients.parquet`` (stratum, arm label, DFS time and event
of every child on every arm) for the curves.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from blinasim.reports import curves, figures, tables
from blinasim.reports.folder import ResultsFolder
from blinasim.reports.html import Section, render

PATIENT_COLS = ("stratum", "label", "dfs_days", "dfs_event")


def _with_se(v: Any, se: Any, digits: int = 1, sign: bool = False) -> str:
    if tables.is_missing(v):
        return "–"
    est = f"{float(v):+.{digits}%}" if sign else tables.pct(v, digits)
    return est if tables.is_missing(se) else f"{est} (SE {tables.pct(se, digits)})"


def arms_table(rows: list[dict[str, Any]], years: list[str]) -> pd.DataFrame:
    """Outcomes by arm with standard errors; the paired difference versus the reference."""
    out = []
    for r in rows:
        row: dict[str, Any] = {"arm": r["arm"], "children": f"{r['n']:,}"}
        for y in years:
            row[f"{y}-year DFS (SE)"] = _with_se(r.get(f"dfs_{y}y"), r.get(f"dfs_{y}y_se"))
        row["relapse (any time)"] = tables.pct(r.get("relapse"))
        row["CD19-negative share of relapses"] = tables.pct(r.get("cd19_negative_share"), 0)
        y0 = years[0]
        diff = r.get(f"paired_difference_{y0}y")
        row[f"{y0}-year DFS difference vs reference (SE)"] = (
            "reference arm"
            if r.get("reference") is None
            else _with_se(diff, r.get(f"paired_difference_{y0}y_se"), sign=True)
        )
        out.append(row)
    return pd.DataFrame(out)


def render_comparison(folder: ResultsFolder) -> str:
    """The comparison report's HTML, from its results folder."""
    doc = folder.json("comparison.json")
    pts = folder.table("patients", PATIENT_COLS)
    arms = doc["arms"]
    years = sorted(
        {k[4:-1] for r in arms for k in r if k.startswith("dfs_") and k.endswith("y")},
        key=float,
    )
    protocols = [p["protocol"] for p in doc.get("inputs", {}).get("protocols", [])]
    intro = Section(
        "Comparison",
        lead="The same virtual children on every arm (common random numbers): differences "
        "between arms are the protocols', not the sampling's.",
    ).kv(
        [
            ("protocols", ", ".join(protocols) or "–"),
            ("virtual children", f"{doc['n_children']:,}"),
            ("seed", doc["seed"]),
            (
                "reference arm per stratum",
                ", ".join(f"{k}: {v}" for k, v in doc["reference"].items()),
            ),
        ]
    )
    sections = [intro]
    for stratum, g in pts.groupby("stratum", sort=True):
        cs = curves.km_curves(g, group="label", time="dfs_days", event="dfs_event")
        xmax = 5.0
        floor = curves.survival_floor(cs, xmax_days=xmax * curves.DAYS_PER_YEAR)
        sec = Section(f"{stratum}", lead="Same children on every arm (common random numbers).")
        sec.figure(
            figures.step_plot(
                cs,
                title=f"DFS from randomization, {stratum}",
                ylabel="Disease-free survival",
                xmax=xmax,
                ylim=(floor, 1.0),
                xlabel="Years since randomization",
            ),
            "Kaplan-Meier estimates over the model horizon (no censoring before it), 95% "
            "confidence bands; numbers at risk."
            + (f" The y axis starts at {floor:.0%} (marked //)." if floor > 0 else ""),
        )
        rows = [r for r in arms if r["stratum"] == stratum]
        sec.table(
            arms_table(rows, years),
            "Outcomes by arm (SE: standard error); paired difference versus the reference arm",
        )
        sections.append(sec)
    return render(
        "Protocol comparison",
        sections,
        subtitle=f"{doc['n_children']:,} virtual children, seed {doc['seed']}",
    )


__all__ = ["arms_table", "render_comparison"]
