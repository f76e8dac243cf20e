"""HTML report and terminal summary of an ADTTE analysis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from blinasim.analysis.core import DAYS_PER_YEAR, EndpointAnalysis, Estimate
from blinasim.reports import figures
from blinasim.reports.html import Section
from blinasim.stats import kaplan_meier

if TYPE_CHECKING:
    from blinasim.analysis.run import PooledEndpoint

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
    lows = [
        float(np.min(c.lower[np.isfinite(c.lower)]))
        for c in curves
        if c.lower is not None and np.isfinite(c.lower).any()
    ]
    lo = min(lows, default=1.0)
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
                "95% CI": m.interval() if m.estimable else "–",
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
                "value": f"not estimable: {a.logrank_note}"
                if a.logrank_note
                else f"χ² = {a.logrank_chisq:.2f}",
                "p-value": _p(a.logrank_p),
            },
            {
                "statistic": f"Cox hazard ratio{strat}, {a.treatment} vs {a.control}",
                "value": hr_text(hr),
                "p-value": _p(a.hazard_ratio_p),
            },
            {
                "statistic": f"RMST difference to {a.tau_days:,.0f} days",
                "value": rd.flag()
                if not rd.estimable
                else f"{rd.estimate:,.1f} days (95% CI {rd.lower:,.1f} to {rd.upper:,.1f})",
                "p-value": "",
            },
        ]
    )


def hr_text(hr: Estimate) -> str:
    """``0.327 (95% CI 0.210 to 0.510)`` or why there is no hazard ratio."""
    if not hr.estimable:
        return hr.flag()
    return f"{hr.estimate:.3f} (95% CI {hr.lower:.3f} to {hr.upper:.3f})"


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
            notes = t.pop("not_estimable").tolist() if "not_estimable" in t else [""] * len(t)
            t["cause"] = [(cause_names or {}).get(int(c), f"cause {c}") for c in t["cause"]]
            t["estimate"] = [
                f"not estimable: {n}" if n else f"{v:.2%}"
                for v, n in zip(t["estimate"], notes, strict=True)
            ]
            t["std_err"] = [
                "–" if n else f"{v:.2%}" for v, n in zip(t["std_err"], notes, strict=True)
            ]
            t = t.drop(columns=["variance", "time"])
            t["Gray p"] = [_p(a.gray_p.get(int(k), float("nan"))) for k in a.cif_milestone["cause"]]
            sec.table(t, f"Cumulative incidence at {yrs:g} years")
        out.append(sec)
    return out


def pooled_km_figure(p: PooledEndpoint) -> Figure:
    """KM curves of all replicates' patients stacked, numbers at risk per replicate."""
    r = max(int(p.data["REPLICATE"].nunique()), 1)
    curves = []
    for arm in (p.control, p.treatment):
        d = p.data[p.data["ARM"] == arm]
        time = d["AVAL"].to_numpy(dtype=np.float64)
        km = kaplan_meier(time, d["EVENT"].to_numpy(dtype=np.int64))
        curves.append(
            figures.StepCurve(
                label=arm,
                time=km.time,
                value=km.survival,
                at_risk_time=time,
                at_risk_weight=1.0 / r,
            )
        )
    lo = min((float(c.value.min()) for c in curves if len(c.value)), default=1.0)
    return figures.step_plot(
        curves,
        title=f"{endpoint_name(p.paramcd)}, {r} replicates pooled",
        ylabel=endpoint_name(p.paramcd),
        ylim=(max(0.0, np.floor((lo - 0.05) * 10) / 10), 1.0),
    )


def _pooled_value(q: str, v: float) -> str:
    if v != v:
        return "–"
    if q.startswith("hazard"):
        return f"{v:.3f}"
    if q.startswith("RMST"):
        return f"{v:,.1f}"
    if q.startswith("log-rank p"):
        return f"{v:.3g}"
    return f"{v:.1%}"


def pooled_table(p: PooledEndpoint) -> pd.DataFrame:
    """Per quantity: mean and 2.5%-97.5% quantiles across replicates, or why not."""
    rows = []
    for r in p.pooled.to_dict(orient="records"):
        q = str(r["quantity"])
        if r["not_estimable"]:
            mean, rng = f"not estimable: {r['not_estimable']}", "–"
        else:
            mean = _pooled_value(q, float(r["mean"]))
            lo, hi = float(r["q2.5"]), float(r["q97.5"])
            rng = "–" if lo != lo else f"{_pooled_value(q, lo)} to {_pooled_value(q, hi)}"
        rows.append({"quantity": q, "mean": mean, "2.5%-97.5%": rng, "estimable": r["estimable"]})
    return pd.DataFrame(rows)


def per_replicate_table(p: PooledEndpoint) -> pd.DataFrame:
    """One row per replicate, numbers formatted; not-estimable values explained."""
    t = p.per_replicate.copy()
    for c in t.columns:
        if c in ("replicate", "not estimable") or c.startswith(("n ", "events ")):
            continue
        t[c] = [_pooled_value(c, float(v)) for v in t[c]]
    return t


def pooled_sections(pooled: Sequence[PooledEndpoint]) -> list[Section]:
    """One report section per endpoint of a multi-replicate file."""
    out = []
    for p in pooled:
        yrs = p.milestone_days / DAYS_PER_YEAR
        r = len(p.per_replicate)
        sec = Section(
            endpoint_name(p.paramcd),
            lead=f"{p.treatment} versus {p.control}; milestone {yrs:g} years; {r} replicates "
            f"({p.replicate_column}) analysed one by one, then pooled.",
        )
        sec.figure(
            pooled_km_figure(p),
            "Kaplan-Meier estimates of all replicates' patients together (no bands: the "
            "spread across replicates is in the table); numbers at risk per replicate.",
        )
        sec.table(pooled_table(p), "Pooled across replicates: mean and 2.5%-97.5% quantiles")
        sec.table(per_replicate_table(p), "Each replicate")
        out.append(sec)
    return out
