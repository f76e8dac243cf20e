"""HTML report and terminal summary of an ADTTE analysis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from blinasim.analysis.core import DAYS_PER_YEAR, EndpointAnalysis
from blinasim.report import figures
from blinasim.report.html import Section

ENDPOINT_NAMES = {
    "DFS": "Disease-free survival",
    "EFS": "Event-free survival",
    "OS": "Overall survival",
    "PFS": "Progression-free survival",
}


def endpoint_name(paramcd: str) -> str:
    """Readable name of an endpoint code."""
    return ENDPOINT_NAMES.get(paramcd, paramcd)


def km_figure(
    a: EndpointAnalysis,
    *,
    published: Mapping[str, tuple[float, float, float]] | None = None,
    title: str | None = None,
) -> Figure:
    """KM curves of both arms with 95% bands, censor ticks and numbers at risk."""
    curves = []
    for arm in a.arms:
        d = a.data[a.data["ARM"] == arm.arm]
        censored = d.loc[d["EVENT"] == 0, "AVAL"].to_numpy(dtype=np.float64)
        curves.append(
            figures.StepCurve(
                label=arm.arm,
                time=arm.km.time,
                value=arm.km.survival,
                lower=arm.km.lower,
                upper=arm.km.upper,
                censor_times=censored if len(censored) <= 3000 else None,
                at_risk_time=d["AVAL"].to_numpy(dtype=np.float64),
            )
        )
    lo = min(
        float(np.nanmin(c.lower)) if c.lower is not None and len(c.lower) else 1.0 for c in curves
    )
    ymin = max(0.0, np.floor((lo - 0.05) * 10) / 10)
    return figures.step_plot(
        curves,
        title=title or endpoint_name(a.paramcd),
        ylabel=endpoint_name(a.paramcd),
        ylim=(ymin, 1.0),
        published=published,
    )


def cif_figure(a: EndpointAnalysis, cause_names: Mapping[int, str] | None = None) -> Figure:
    """Cumulative incidence of each cause by arm (competing risks)."""
    assert a.cif is not None
    curves = []
    for c in a.cif.curves:
        name = (cause_names or {}).get(c.cause, f"cause {c.cause}")
        curves.append(figures.StepCurve(label=f"{c.group}: {name}", time=c.time, value=c.estimate))
    top = max((float(c.value.max()) for c in curves if len(c.value)), default=0.1)
    return figures.step_plot(
        curves,
        title="Cumulative incidence by cause (competing risks)",
        ylabel="Cumulative incidence",
        ylim=(0.0, min(1.0, max(0.05, top * 1.25))),
        start_value=0.0,
    )


def milestone_table(a: EndpointAnalysis) -> pd.DataFrame:
    """Per arm: n, events, milestone survival with 95% CI, median."""
    yrs = a.milestone_days / DAYS_PER_YEAR
    rows = []
    for arm in a.arms:
        m = arm.milestone
        rows.append(
            {
                "arm": arm.arm,
                "n": arm.n,
                "events": arm.events,
                f"{yrs:g}-year estimate": m.percent(),
                "95% CI": f"{m.lower:.1%} to {m.upper:.1%}",
                "median (days)": "not reached"
                if np.isnan(arm.median_days)
                else f"{arm.median_days:,.0f}",
            }
        )
    return pd.DataFrame(rows)


def tests_table(a: EndpointAnalysis) -> pd.DataFrame:
    """Log-rank, Cox HR and RMST difference in one table."""
    hr, rd = a.hazard_ratio, a.rmst_difference
    strat = " (stratified)" if a.stratified else ""
    return pd.DataFrame(
        [
            {
                "statistic": f"log-rank{strat}",
                "value": f"χ² = {a.logrank_chisq:.2f}",
                "p-value": _p(a.logrank_p),
            },
            {
                "statistic": f"Cox hazard ratio{strat}, {a.treatment} vs {a.control}",
                "value": f"{hr.estimate:.3f} (95% CI {hr.lower:.3f} to {hr.upper:.3f})",
                "p-value": _p(a.hazard_ratio_p),
            },
            {
                "statistic": f"RMST difference to {a.tau_days:,.0f} days",
                "value": f"{rd.estimate:,.1f} days (95% CI {rd.lower:,.1f} to {rd.upper:,.1f})",
                "p-value": "",
            },
        ]
    )


def _p(p: float) -> str:
    if np.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def stratum_table(a: EndpointAnalysis) -> pd.DataFrame:
    """Milestone survival per stratum and arm."""
    rows: list[dict[str, Any]] = []
    for s, arms in a.by_stratum.items():
        row: dict[str, Any] = {"stratum": s}
        for arm, e in arms.items():
            row[arm] = e.percent()
        rows.append(row)
    return pd.DataFrame(rows)


def endpoint_sections(
    analyses: Sequence[EndpointAnalysis],
    *,
    published: Mapping[str, Mapping[str, tuple[float, float, float]]] | None = None,
    cause_names: Mapping[int, str] | None = None,
) -> list[Section]:
    """One report section per endpoint."""
    out = []
    for a in analyses:
        yrs = a.milestone_days / DAYS_PER_YEAR
        sec = Section(
            endpoint_name(a.paramcd),
            lead=f"{a.treatment} versus {a.control}; milestone {yrs:g} years.",
        )
        sec.figure(
            km_figure(a, published=(published or {}).get(a.paramcd)),
            "Kaplan-Meier estimates with 95% pointwise confidence bands (log-log) and "
            "numbers at risk; ticks mark censored observations.",
        )
        sec.table(milestone_table(a), "Estimates by arm")
        sec.table(tests_table(a), "Comparison")
        if a.by_stratum and len(a.by_stratum) > 1:
            sec.table(stratum_table(a), f"{yrs:g}-year estimate by stratum")
        if a.cif is not None:
            sec.figure(cif_figure(a, cause_names), "Aalen-Johansen cumulative incidence by cause.")
            assert a.cif_milestone is not None
            t = a.cif_milestone.copy()
            t["cause"] = [(cause_names or {}).get(int(c), f"cause {c}") for c in t["cause"]]
            t["estimate"] = [f"{v:.2%}" for v in t["estimate"]]
            t["std_err"] = [f"{v:.2%}" for v in t["std_err"]]
            t = t.drop(columns=["variance", "time"])
            t["Gray p"] = [_p(a.gray_p.get(int(k), float("nan"))) for k in a.cif_milestone["cause"]]
            sec.table(t, f"Cumulative incidence at {yrs:g} years")
        out.append(sec)
    return out
